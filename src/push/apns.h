/*
 * apns — Apple Push Notification service over HTTP/2 with token
 * authentication: the provider key (a .p8 PEM P-256 key), its key id and
 * team id, the app's bundle id (apns-topic), the provider token (an ES256
 * JWT: header alg and kid, claims iss = team id and iat), one alert's body
 * and a device's request, and what APNs' answer means.
 *
 * A retraction goes as a background notification (apns-push-type
 * background, priority 5, aps.content-available and no alert): nothing is
 * shown; the app, woken, removes its story's notification (PROTOCOL.md,
 * section 13), and APNs, which keeps one notification per device while it
 * is offline, drops the story's if it still holds it.
 *
 * The token is signed once and reused until APNS_TOKEN_RENEW_SECS after
 * its iat: Apple refuses a token older than an hour and one renewed more
 * often than every 20 minutes. An ExpiredProviderToken answer renews it
 * at once (once per token: the answers of the requests that carried the
 * same one do not renew it again). The key is never logged.
 */
#ifndef PUSH_APNS_H
#define PUSH_APNS_H

#include "provider.h"
#include "reg.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <time.h>

#define APNS_TOKEN_RENEW_SECS (40 * 60)
#define APNS_ID_LEN           10 /* key id and team id: 10 characters */
#define APNS_BODY_MAX         4096
#define APNS_HOST_DEFAULT     "api.push.apple.com"

struct apns {
    EVP_PKEY *key; /* NULL: APNs is off */
    char key_id[APNS_ID_LEN + 1];
    char team_id[APNS_ID_LEN + 1];
    char topic[256]; /* the bundle id */
    char base[300];  /* https://HOST/3/device/ */
    char *jwt;
    time_t iat;
    unsigned gen; /* counts the tokens signed */
};

/* Loads the key and checks the ids (all of key_path, key_id, team_id and
 * bundle_id set, or none: APNs stays off, a->key NULL): 0, or -1 with err
 * naming the setting. */
int apns_load(struct apns *a, const char *key_path, const char *key_id, const char *team_id,
              const char *bundle_id, const char *host, char *err, size_t errlen);

/* Reads the key file again (SIGHUP): 0 (the new key signs the next
 * token), or -1 with err set and a unchanged. */
int apns_reload(struct apns *a, const char *key_path, char *err, size_t errlen);

/* The alert's body: {"aps": {...}, "alert": {id, kind, ref, ...}}
 * ({"aps": {"content-available": 1}, "alert": {...}} for a retraction);
 * malloc'd, or NULL. Push type and priority: apns_build. */
char *apns_prepare(const struct notif *n);

/* A device's request at `now` (its token signed or reused): 0, or -1. */
int apns_build(struct push_msg *m, struct apns *a, const struct notif *n, const char *body,
               const struct reg *r, time_t now);

/* 200 done; 410, and 400 BadDeviceToken or DeviceTokenNotForTopic, gone;
 * 403 ExpiredProviderToken reauth; 429, 5xx, none retry; else refused. */
enum push_outcome apns_outcome(long status, const char *answer, size_t len);

/* The token of generation gen expired: the next request signs another. */
void apns_expired(struct apns *a, unsigned gen);

void apns_free(struct apns *a);

#endif
