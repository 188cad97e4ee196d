/*
 * apns — see apns.h.
 */
#include "apns.h"

#include "es256.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int apns_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isalnum((unsigned char)s[n]))
            return 0;
    return n == APNS_ID_LEN;
}

/* A bundle id or a host[:port]: letters, digits and a few marks. */
static int apns_name_ok(const char *s, const char *marks, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isalnum((unsigned char)s[n]) && !strchr(marks, s[n]))
            return 0;
    return n > 0 && n <= max;
}

int apns_load(struct apns *a, const char *key_path, const char *key_id, const char *team_id,
              const char *bundle_id, const char *host, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (!key_path && !key_id && !team_id && !bundle_id)
        return 0;
    if (!key_path || !key_id || !team_id || !bundle_id) {
        snprintf(err, errlen,
                 "APNs needs --apns-key, --apns-key-id, --apns-team-id and --apns-bundle-id "
                 "together (%s is missing)",
                 !key_path  ? "--apns-key"
                 : !key_id  ? "--apns-key-id"
                 : !team_id ? "--apns-team-id"
                            : "--apns-bundle-id");
        return -1;
    }
    if (!apns_id_ok(key_id) || !apns_id_ok(team_id)) {
        snprintf(err, errlen, "--%s must be the %d letters and digits Apple gives",
                 apns_id_ok(key_id) ? "apns-team-id" : "apns-key-id", APNS_ID_LEN);
        return -1;
    }
    if (!apns_name_ok(bundle_id, ".-", sizeof(a->topic) - 1)) {
        snprintf(err, errlen, "--apns-bundle-id must be a bundle id such as com.example.news");
        return -1;
    }
    if (!apns_name_ok(host, ".-:[]", 253)) {
        snprintf(err, errlen, "--apns-host must be a host name, with a port if not 443");
        return -1;
    }
    memcpy(a->key_id, key_id, APNS_ID_LEN + 1);
    memcpy(a->team_id, team_id, APNS_ID_LEN + 1);
    snprintf(a->topic, sizeof(a->topic), "%s", bundle_id);
    snprintf(a->base, sizeof(a->base), "https://%s/3/device/", host);
    if ((a->key = es256_load(key_path, err, errlen)) == NULL) {
        char inner[256];
        snprintf(inner, sizeof(inner), "%s", err);
        snprintf(err, errlen, "--apns-key: %s", inner);
        return -1;
    }
    return 0;
}

int apns_reload(struct apns *a, const char *key_path, char *err, size_t errlen)
{
    EVP_PKEY *key = es256_load(key_path, err, errlen);
    if (key == NULL)
        return -1;
    EVP_PKEY_free(a->key);
    a->key = key;
    free(a->jwt);
    a->jwt = NULL;
    return 0;
}

/* The provider token, signed again when older than the renewal age. */
static const char *apns_token(struct apns *a, time_t now)
{
    char header[64], claims[64];
    if (a->jwt && now >= a->iat && now - a->iat < APNS_TOKEN_RENEW_SECS)
        return a->jwt;
    snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", a->key_id);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"iat\":%lld}", a->team_id, (long long)now);
    char *jwt = es256_jwt(a->key, header, claims);
    if (jwt == NULL)
        return NULL;
    free(a->jwt);
    a->jwt = jwt;
    a->iat = now;
    a->gen++;
    return a->jwt;
}

void apns_expired(struct apns *a, unsigned gen)
{
    if (gen == a->gen && a->jwt) {
        free(a->jwt);
        a->jwt = NULL;
    }
}

/* A retraction: a background notification (content-available, nothing
 * shown), the payload as it is for the app to withdraw its story. */
static char *apns_prepare_retraction(const struct notif *n)
{
    json_t *data = json_loadb(n->payload, n->len, 0, NULL);
    json_t *o =
        data ? json_pack("{s:{s:i},s:o}", "aps", "content-available", 1, "alert", data) : NULL;
    char *out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (out && strlen(out) > APNS_BODY_MAX) {
        free(out);
        out = NULL;
    }
    return out;
}

char *apns_prepare(const struct notif *n)
{
    if (n->retraction)
        return apns_prepare_retraction(n);
    json_t *data = json_loadb(n->payload, n->len, 0, NULL);
    json_t *headline = json_incref(json_object_get(data, "headline"));
    json_t *summary = json_incref(json_object_get(data, "summary"));
    char *out = NULL;
    json_object_del(data, "headline");
    json_object_del(data, "summary");
    /* The summary is left out when the whole would not fit. */
    for (int with_summary = summary != NULL; data && headline && with_summary >= 0;
         with_summary--) {
        json_t *o =
            json_pack("{s:{s:o,s:s,s:s},s:O}", "aps", "alert",
                      with_summary ? json_pack("{s:O,s:O}", "title", headline, "body", summary)
                                   : json_pack("{s:O}", "body", headline),
                      "sound", "default", "interruption-level",
                      n->urgency_bit == NOTIF_FLASH ? "time-sensitive" : "active", "alert", data);
        free(out);
        out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (out == NULL || strlen(out) <= APNS_BODY_MAX)
            break;
    }
    if (out && strlen(out) > APNS_BODY_MAX) {
        free(out);
        out = NULL;
    }
    json_decref(headline);
    json_decref(summary);
    json_decref(data);
    return out;
}

int apns_build(struct push_msg *m, struct apns *a, const struct notif *n, const char *body,
               const struct reg *r, time_t now)
{
    const char *jwt = apns_token(a, now);
    char expiration[24];
    size_t tlen = strlen(r->endpoint), blen = strlen(a->base);
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < tlen; i++)
        if (!isxdigit((unsigned char)r->endpoint[i]))
            return -1;
    snprintf(expiration, sizeof(expiration), "%lld", (long long)(n->expires_ms / 1000));
    m->gen = a->gen;
    if (jwt == NULL || body == NULL || (m->url = malloc(blen + tlen + 1)) == NULL ||
        (m->body = strdup(body)) == NULL)
        goto fail;
    memcpy(m->url, a->base, blen);
    memcpy(m->url + blen, r->endpoint, tlen + 1);
    m->len = strlen(body);
    /* Priority 10 (at once) for every urgency but routine; 5 (as the
     * device's power allows) for routine, and for a retraction's
     * background notification, which APNs refuses at 10. */
    if (push_header(&m->headers, "Authorization: bearer %s", jwt) ||
        push_header(&m->headers, "apns-push-type: %s", n->retraction ? "background" : "alert") ||
        push_header(&m->headers, "apns-topic: %s", a->topic) ||
        push_header(&m->headers, "apns-priority: %s",
                    n->retraction || n->urgency_bit == NOTIF_ROUTINE ? "5" : "10") ||
        push_header(&m->headers, "apns-collapse-id: %s", n->story) ||
        push_header(&m->headers, "apns-expiration: %s", expiration) ||
        push_header(&m->headers, "Content-Type: %s", "application/json"))
        goto fail;
    return 0;
fail:
    push_msg_free(m);
    return -1;
}

enum push_outcome apns_outcome(long status, const char *answer, size_t len)
{
    json_t *o;
    const char *reason;
    enum push_outcome out = PUSH_REFUSED;
    if (status == 200)
        return PUSH_DONE;
    if (status == 410)
        return PUSH_GONE;
    if (status == 0 || status == 429 || status >= 500)
        return PUSH_RETRY;
    o = answer ? json_loadb(answer, len, 0, NULL) : NULL;
    reason = json_string_value(json_object_get(o, "reason"));
    if (reason && status == 400 &&
        (strcmp(reason, "BadDeviceToken") == 0 || strcmp(reason, "DeviceTokenNotForTopic") == 0))
        out = PUSH_GONE;
    else if (reason && status == 403 && strcmp(reason, "ExpiredProviderToken") == 0)
        out = PUSH_REAUTH;
    json_decref(o);
    return out;
}

void apns_free(struct apns *a)
{
    EVP_PKEY_free(a->key);
    free(a->jwt);
    memset(a, 0, sizeof(*a));
}
