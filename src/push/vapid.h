/*
 * vapid — Voluntary Application Server Identification for Web Push
 * (RFC 8292): the gateway's P-256 key, its public key as browsers subscribe
 * with it (base64url, uncompressed point), and the Authorization header
 * `vapid t=<JWT>, k=<public key>` for a push service's origin.
 *
 * A JWT is signed once per origin and reused until VAPID_RENEW_SECS before
 * its `exp`; a few push services serve every browser, so the cache is a
 * small table. The key is never logged.
 */
#ifndef PUSH_VAPID_H
#define PUSH_VAPID_H

#include "b64u.h"
#include "es256.h"

#include <stddef.h>
#include <time.h>

#define VAPID_TTL_SECS   (12 * 3600) /* a JWT's exp - now; at most 24 h (RFC 8292) */
#define VAPID_RENEW_SECS 3600
#define VAPID_ORIGINS    32
#define VAPID_ORIGIN_MAX 256

struct vapid_jwt {
    char origin[VAPID_ORIGIN_MAX];
    char *header; /* "vapid t=..., k=..." */
    time_t exp;
};

struct vapid {
    EVP_PKEY *key;
    char public_b64[B64U_LEN(ES256_PUBLIC_LEN) + 1];
    char subject[256]; /* mailto: or https: contact */
    struct vapid_jwt cache[VAPID_ORIGINS];
    unsigned next; /* the slot to reuse when the table is full */
};

/* Loads the key file; the subject must be a mailto: or https: URI.
 * 0, or -1 with err set. On success v owns the key. */
int vapid_load(struct vapid *v, const char *key_path, const char *subject, char *err,
               size_t errlen);

/* The Authorization header value for an endpoint URL at time `now`, owned by
 * v (valid until the next call); NULL when the endpoint has no origin or
 * signing failed. */
const char *vapid_header(struct vapid *v, const char *endpoint, time_t now);

void vapid_free(struct vapid *v);

#endif
