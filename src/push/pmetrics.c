/*
 * pmetrics — see pmetrics.h.
 */
#include "pmetrics.h"

#include <stdarg.h>
#include <stdio.h>

struct pmetrics pmetrics;

struct pmetrics_row {
    const char *name;
    int counter;
    size_t offset;
    const char *help;
};

#define PM(f) offsetof(struct pmetrics, f)
static const struct pmetrics_row pmetrics_rows[] = {
    {"redis_connected", 0, PM(redis_connected), "1 while both Redis connections are up."},
    {"in_flight", 0, PM(in_flight), "Requests to push services awaiting their answer."},
    {"jobs_active", 0, PM(jobs_active), "Registry shards being sent by this gateway."},
    {"registrations_total", 1, PM(registrations), "Registrations saved (new or refreshed)."},
    {"unregistrations_total", 1, PM(unregistrations), "Registrations deleted through the API."},
    {"api_invalid_total", 1, PM(api_invalid), "API requests refused as invalid."},
    {"api_rate_limited_total", 1, PM(api_rate_limited), "API requests refused with 429."},
    {"alerts_planned_total", 1, PM(alerts_planned), "Alerts this gateway split into jobs."},
    {"alerts_skipped_total", 1, PM(alerts_skipped),
     "Alerts not sent: urgency not selected, retractions, expired."},
    {"alerts_invalid_total", 1, PM(alerts_invalid), "Stream entries that are not valid items."},
    {"jobs_done_total", 1, PM(jobs_done), "Jobs (alert x shard) finished by this gateway."},
    {"jobs_claimed_total", 1, PM(jobs_claimed), "Jobs taken over from a silent gateway."},
    {"jobs_lost_total", 1, PM(jobs_lost), "Jobs another gateway took from this one."},
    {"sent_total", 1, PM(sent), "Notifications accepted by a push service."},
    {"removed_total", 1, PM(removed), "Registrations removed: the push service says gone."},
    {"refused_total", 1, PM(refused), "Notifications a push service refused for good (4xx)."},
    {"retried_total", 1, PM(retried), "Requests tried again after 429, 5xx or a transport error."},
    {"failed_total", 1, PM(failed), "Notifications given up after retries or their TTL."},
    {"reauths_total", 1, PM(reauths),
     "Provider credentials renewed because the provider said they expired (APNs 403, FCM 401)."},
    {"expired_registrations_total", 1, PM(expired_regs),
     "Registrations removed for not being refreshed."},
    {"skipped_done_total", 1, PM(skipped_done), "Registrations a claimed job found already done."},
    {"resent_uncertain_total", 1, PM(uncertain),
     "Requests sent again by a gateway taking a job over: the earlier one was in flight (its "
     "answer unrecorded) and may have reached the provider; same collapse identifiers."},
};

static size_t pmetrics_put(char *out, size_t outlen, size_t at, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(at < outlen ? out + at : NULL, at < outlen ? outlen - at : 0, fmt, ap);
    va_end(ap);
    return at + (n > 0 ? (size_t)n : 0);
}

size_t pmetrics_render(char *out, size_t outlen, const char *name)
{
    size_t at = 0;
    at = pmetrics_put(out, outlen, at,
                      "# HELP alertd_push_info The gateway.\n# TYPE alertd_push_info gauge\n"
                      "alertd_push_info{name=\"%s\"} 1\n",
                      name);
    for (size_t i = 0; i < sizeof(pmetrics_rows) / sizeof(pmetrics_rows[0]); i++) {
        const struct pmetrics_row *r = &pmetrics_rows[i];
        const char *p = (const char *)&pmetrics + r->offset;
        long long v = r->counter ? (long long)*(const uint64_t *)p : (long long)*(const int64_t *)p;
        at = pmetrics_put(out, outlen, at,
                          "# HELP alertd_push_%s %s\n# TYPE alertd_push_%s %s\n"
                          "alertd_push_%s %lld\n",
                          r->name, r->help, r->name, r->counter ? "counter" : "gauge", r->name, v);
    }
    return at;
}
