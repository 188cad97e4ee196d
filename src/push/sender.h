/*
 * sender — the requests to the providers, for deliver: one queue and one
 * bound on requests in flight (--concurrency) per provider, so that a slow
 * provider never holds the others back; each request built by its
 * provider's module (webpush, apns, fcm) and sent through h2; the answer
 * judged by that module. 429, 5xx and transport errors are tried again
 * with full-jitter backoff (Retry-After as a floor) up to
 * SENDER_MAX_ATTEMPTS or the alert's expiry; an expired provider credential
 * (APNs' ExpiredProviderToken, FCM's 401) is renewed and the request tried
 * again at once, once. FCM requests wait for an access token while oauth
 * fetches one.
 *
 * deliver hands a dsend over (sender_add) and gets it back exactly once
 * through `result`: with its final outcome, SENDER_DROPPED when its
 * owner was cancelled (*cancelled set) while it flew, or SENDER_HELD when
 * its owner's lease (*lease_ms, feed.h) ran out before the request was
 * written (it never was, this time); sender_drop takes back, without
 * `result`, those not in flight. `written` tells deliver whether a request
 * of the send was ever handed to h2 (it may have reached the provider).
 * When an alert's story is retracted (pa->retracted), sender_cancel hands
 * back at once, as SENDER_CANCELLED, its sends not in flight, and a send
 * in flight is SENDER_CANCELLED rather than tried again.
 */
#ifndef PUSH_SENDER_H
#define PUSH_SENDER_H

#include "gw.h"
#include "h2.h"
#include "provider.h"
#include "reg.h"

#include <stdint.h>

#define SENDER_MAX_ATTEMPTS  5
#define SENDER_BACKOFF_MS    500 /* full jitter over base * 2^attempt */
#define SENDER_BACKOFF_MAXMS 60000

enum sender_result {
    SENDER_SENT,      /* accepted */
    SENDER_GONE,      /* remove the registration */
    SENDER_REFUSED,   /* refused for good */
    SENDER_FAILED,    /* given up after retries or the alert's expiry */
    SENDER_DROPPED,   /* cancelled: no final answer */
    SENDER_HELD,      /* not written: the owner's lease ran out */
    SENDER_CANCELLED, /* not sent: its story was retracted (final) */
};

struct dsend {
    void *owner;           /* deliver's job */
    const int *cancelled;  /* the owner's flag */
    const int64_t *lease;  /* requests may start until then (sender_clock_ms) */
    int uncertain;         /* deliver's: an earlier request may have reached the provider */
    struct push_alert *pa; /* lives while the owner does */
    struct reg reg;
    /* sender's */
    struct sender *sender;
    int written; /* a request was handed to h2: it may have reached the provider */
    int attempts;
    int reauthed;
    uint64_t due_ms;
    struct dsend *next;
    struct h2_req req;
    struct push_msg msg;
};

typedef void (*sender_result_fn)(struct dsend *s, enum sender_result r, void *user);

struct sender *sender_new(struct gw *gw, sender_result_fn result, void *user);

/* The per-alert parts of the providers that are on: 0, or -1. */
int sender_prepare(const struct gw *gw, struct push_alert *pa);

void sender_add(struct sender *t, struct dsend *s);

/* The clock of leases: monotonic milliseconds (it runs while stopped). */
int64_t sender_clock_ms(void);

/* Takes back the owner's sends not in flight (queued, waiting to be tried
 * again or for an access token) onto *out, linked by `next`; returns how
 * many. */
int sender_drop(struct sender *t, const void *owner, struct dsend **out);

/* The alert's story was retracted: its sends not in flight come back as
 * SENDER_CANCELLED (through `result`, before this returns); returns how
 * many. */
int sender_cancel(struct sender *t, const struct push_alert *pa);

void sender_free(struct sender *t);

#endif
