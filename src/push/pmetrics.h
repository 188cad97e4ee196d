/*
 * pmetrics — alertd-push's counters and gauges, and their Prometheus text
 * (names alertd_push_*). The counters of requests to push services are
 * kept per provider and carry a provider="webpush|apns|fcm" label (every
 * provider's series always present; sum them for the total). One
 * process, one loop: plain globals, written only on the loop's thread.
 */
#ifndef PUSH_PMETRICS_H
#define PUSH_PMETRICS_H

#include "reg.h"

#include <stddef.h>
#include <stdint.h>

/* One provider's requests (pmetrics.by[enum reg_provider]). */
struct pmetrics_provider {
    uint64_t sent;      /* accepted by the push service (2xx) */
    uint64_t removed;   /* 404/410: registration removed */
    uint64_t refused;   /* other 4xx: given up */
    uint64_t retried;   /* 429, 5xx, transport errors: tried again */
    uint64_t failed;    /* given up after retries or the alert's TTL */
    uint64_t reauths;   /* provider credentials renewed on an expiry answer */
    uint64_t cancelled; /* not sent: their story was retracted meanwhile */
};

struct pmetrics {
    int64_t redis_connected; /* gauge */
    int64_t in_flight;       /* gauge: requests to push services */
    int64_t jobs_active;     /* gauge: shards being sent */
    uint64_t registrations;  /* registration API: saved (new or refreshed) */
    uint64_t unregistrations;
    uint64_t api_invalid;      /* 400, 413, 415 */
    uint64_t api_rate_limited; /* 429 */
    uint64_t alerts_planned;   /* alerts this gateway split into jobs */
    uint64_t alerts_skipped;   /* not selected, expired, an update of a retracted story */
    uint64_t alerts_invalid;
    uint64_t retractions;         /* retractions this gateway marked */
    uint64_t retractions_planned; /* of them, those whose story was sent: split into jobs */
    uint64_t jobs_done;
    uint64_t jobs_claimed; /* taken over from a silent gateway */
    uint64_t jobs_lost;    /* another gateway took one of ours */
    uint64_t expired_regs; /* registrations removed for not being refreshed */
    uint64_t skipped_done; /* already done by another gateway (a claimed job) */
    uint64_t uncertain;    /* sent again: an earlier request may have reached the provider */
    struct pmetrics_provider by[REG_NPROVIDERS];
};

extern struct pmetrics pmetrics;

/* The Prometheus text into out (as snprintf: the length it needs). */
size_t pmetrics_render(char *out, size_t outlen, const char *name);

#endif
