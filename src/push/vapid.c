/*
 * vapid — see vapid.h.
 */
#include "vapid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vapid_load(struct vapid *v, const char *key_path, const char *subject, char *err, size_t errlen)
{
    unsigned char pub[ES256_PUBLIC_LEN];
    memset(v, 0, sizeof(*v));
    if (strncmp(subject, "mailto:", 7) != 0 && strncmp(subject, "https://", 8) != 0) {
        snprintf(err, errlen, "--vapid-subject must be a mailto: or https: URI, got \"%s\"",
                 subject);
        return -1;
    }
    if (strlen(subject) >= sizeof(v->subject) || strpbrk(subject, "\"\\") != NULL) {
        snprintf(err, errlen, "--vapid-subject must be under %zu characters, without \" or \\",
                 sizeof(v->subject));
        return -1;
    }
    if ((v->key = es256_load(key_path, err, errlen)) == NULL)
        return -1;
    if (es256_public(v->key, pub)) {
        snprintf(err, errlen, "%s: cannot read its public key", key_path);
        EVP_PKEY_free(v->key);
        v->key = NULL;
        return -1;
    }
    b64u_encode(pub, sizeof(pub), v->public_b64);
    snprintf(v->subject, sizeof(v->subject), "%s", subject);
    return 0;
}

/* "https://push.example:8443/abc" -> "https://push.example:8443". */
static int vapid_origin(const char *endpoint, char *out, size_t outlen)
{
    const char *host;
    size_t len;
    if (strncmp(endpoint, "https://", 8) != 0)
        return -1;
    host = endpoint + 8;
    len = 8 + strcspn(host, "/?#");
    if (len == 8 || len >= outlen)
        return -1;
    memcpy(out, endpoint, len);
    out[len] = '\0';
    return 0;
}

static struct vapid_jwt *vapid_slot(struct vapid *v, const char *origin)
{
    for (int i = 0; i < VAPID_ORIGINS; i++)
        if (v->cache[i].header && strcmp(v->cache[i].origin, origin) == 0)
            return &v->cache[i];
    for (int i = 0; i < VAPID_ORIGINS; i++)
        if (v->cache[i].header == NULL)
            return &v->cache[i];
    return &v->cache[v->next++ % VAPID_ORIGINS];
}

const char *vapid_header(struct vapid *v, const char *endpoint, time_t now)
{
    char origin[VAPID_ORIGIN_MAX], claims[VAPID_ORIGIN_MAX + 400];
    struct vapid_jwt *slot;
    if (vapid_origin(endpoint, origin, sizeof(origin)))
        return NULL;
    slot = vapid_slot(v, origin);
    if (slot->header && strcmp(slot->origin, origin) == 0 && now + VAPID_RENEW_SECS < slot->exp)
        return slot->header;
    free(slot->header);
    slot->header = NULL;
    slot->exp = now + VAPID_TTL_SECS;
    snprintf(slot->origin, sizeof(slot->origin), "%s", origin);
    snprintf(claims, sizeof(claims), "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}", origin,
             (long long)slot->exp, v->subject);
    char *jwt = es256_jwt(v->key, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}", claims);
    if (jwt == NULL)
        return NULL;
    size_t cap = strlen(jwt) + strlen(v->public_b64) + 16;
    if ((slot->header = malloc(cap)) != NULL)
        snprintf(slot->header, cap, "vapid t=%s, k=%s", jwt, v->public_b64);
    free(jwt);
    return slot->header;
}

void vapid_free(struct vapid *v)
{
    for (int i = 0; i < VAPID_ORIGINS; i++)
        free(v->cache[i].header);
    EVP_PKEY_free(v->key);
    memset(v, 0, sizeof(*v));
}
