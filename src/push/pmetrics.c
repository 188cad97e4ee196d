/*
 * pmetrics — see pmetrics.h.
 */
#include "pmetrics.h"

#include <stdarg.h>
#include <stdio.h>

struct pmetrics pmetrics;

/* kind: a gauge, a counter, or a counter per provider (offset into
 * struct pmetrics_provider). */
enum pmetrics_kind { PM_GAUGE, PM_COUNTER, PM_PER_PROVIDER };

struct pmetrics_row {
    const char *name;
    enum pmetrics_kind kind;
    size_t offset;
    const char *help;
};

#define PM(f) offsetof(struct pmetrics, f)
#define PP(f) offsetof(struct pmetrics_provider, f)
static const struct pmetrics_row pmetrics_rows[] = {
    {"redis_connected", PM_GAUGE, PM(redis_connected), "1 while both Redis connections are up."},
    {"in_flight", PM_GAUGE, PM(in_flight), "Requests to push services awaiting their answer."},
    {"jobs_active", PM_GAUGE, PM(jobs_active), "Registry shards being sent by this gateway."},
    {"registrations_total", PM_COUNTER, PM(registrations),
     "Registrations saved (new or refreshed)."},
    {"unregistrations_total", PM_COUNTER, PM(unregistrations),
     "Registrations deleted through the API."},
    {"api_invalid_total", PM_COUNTER, PM(api_invalid), "API requests refused as invalid."},
    {"api_rate_limited_total", PM_COUNTER, PM(api_rate_limited), "API requests refused with 429."},
    {"alerts_planned_total", PM_COUNTER, PM(alerts_planned),
     "Alerts this gateway split into jobs."},
    {"alerts_skipped_total", PM_COUNTER, PM(alerts_skipped),
     "Alerts not sent: urgency not selected, expired, an update of a retracted story."},
    {"alerts_invalid_total", PM_COUNTER, PM(alerts_invalid),
     "Stream entries that are not valid items."},
    {"retractions_total", PM_COUNTER, PM(retractions),
     "Retractions this gateway marked: the sends of their story stop in every gateway."},
    {"retractions_planned_total", PM_COUNTER, PM(retractions_planned),
     "Retractions whose story was sent, split into jobs to withdraw it from devices."},
    {"jobs_done_total", PM_COUNTER, PM(jobs_done),
     "Jobs (alert x shard) finished by this gateway."},
    {"jobs_claimed_total", PM_COUNTER, PM(jobs_claimed), "Jobs taken over from a silent gateway."},
    {"jobs_lost_total", PM_COUNTER, PM(jobs_lost), "Jobs another gateway took from this one."},
    {"sent_total", PM_PER_PROVIDER, PP(sent), "Notifications accepted by a push service."},
    {"removed_total", PM_PER_PROVIDER, PP(removed),
     "Registrations removed: the push service says gone."},
    {"refused_total", PM_PER_PROVIDER, PP(refused),
     "Notifications a push service refused for good (4xx)."},
    {"retried_total", PM_PER_PROVIDER, PP(retried),
     "Requests tried again after 429, 5xx or a transport error."},
    {"failed_total", PM_PER_PROVIDER, PP(failed),
     "Notifications given up after retries or their TTL."},
    {"reauths_total", PM_PER_PROVIDER, PP(reauths),
     "Provider credentials renewed because the provider said they expired (APNs 403, FCM 401)."},
    {"cancelled_total", PM_PER_PROVIDER, PP(cancelled),
     "Notifications not sent because their story was retracted while it was being sent."},
    {"expired_registrations_total", PM_COUNTER, PM(expired_regs),
     "Registrations removed for not being refreshed."},
    {"skipped_done_total", PM_COUNTER, PM(skipped_done),
     "Registrations a claimed job found already done."},
    {"resent_uncertain_total", PM_COUNTER, PM(uncertain),
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
        at = pmetrics_put(out, outlen, at, "# HELP alertd_push_%s %s\n# TYPE alertd_push_%s %s\n",
                          r->name, r->help, r->name, r->kind == PM_GAUGE ? "gauge" : "counter");
        if (r->kind == PM_GAUGE)
            at = pmetrics_put(out, outlen, at, "alertd_push_%s %lld\n", r->name,
                              (long long)*(const int64_t *)p);
        else if (r->kind == PM_COUNTER)
            at = pmetrics_put(out, outlen, at, "alertd_push_%s %llu\n", r->name,
                              (unsigned long long)*(const uint64_t *)p);
        for (int k = 0; r->kind == PM_PER_PROVIDER && k < REG_NPROVIDERS; k++)
            at = pmetrics_put(
                out, outlen, at, "alertd_push_%s{provider=\"%s\"} %llu\n", r->name,
                reg_provider_name((enum reg_provider)k),
                (unsigned long long)*(const uint64_t *)((const char *)&pmetrics.by[k] + r->offset));
    }
    return at;
}
