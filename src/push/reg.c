/*
 * reg — see reg.h.
 */
#include "reg.h"

#include "b64u.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int reg_fail(struct item_error *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static const char *const reg_providers[REG_NPROVIDERS] = {"webpush", "apns", "fcm"};

const char *reg_provider_name(enum reg_provider p)
{
    return (unsigned)p < REG_NPROVIDERS ? reg_providers[p] : "?";
}

static int reg_provider_of(const char *name, enum reg_provider *p)
{
    for (int i = 0; name && i < REG_NPROVIDERS; i++)
        if (strcmp(name, reg_providers[i]) == 0) {
            *p = (enum reg_provider)i;
            return 0;
        }
    return -1;
}

static void reg_identify(struct reg *r)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char input[sizeof("webpush:") + REG_ENDPOINT_MAX];
    static const char hex[] = "0123456789abcdef";
    int n = snprintf(input, sizeof(input), "%s:%s", reg_provider_name(r->provider), r->endpoint);
    SHA256((const unsigned char *)input, (size_t)n, digest);
    for (int i = 0; i < REG_ID_LEN / 2; i++) {
        r->id[2 * i] = hex[digest[i] >> 4];
        r->id[2 * i + 1] = hex[digest[i] & 15];
    }
    r->id[REG_ID_LEN] = '\0';
    r->shard = reg_shard_of(r->id);
}

int reg_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == REG_ID_LEN;
}

int reg_shard_of(const char *id)
{
    unsigned long v =
        strtoul((char[9]){id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], 0}, NULL, 16);
    return (int)(v % PUSH_SHARDS);
}

/* The host of an https URL: [start, end) of what follows "https://" up to
 * the port, path, query or fragment. */
static int reg_url_host(const char *url, const char **start, size_t *len)
{
    const char *h = url + 8;
    size_t n = strcspn(h, ":/?#");
    if (strncmp(url, "https://", 8) != 0 || n == 0 || memchr(h, '@', strcspn(h, "/?#")))
        return -1;
    *start = h;
    *len = n;
    return 0;
}

static int reg_host_allowed(const struct reg_hosts *hosts, const char *h, size_t n)
{
    for (int i = 0; i < hosts->n; i++) {
        const char *a = hosts->host[i];
        size_t an = strlen(a);
        if (a[0] == '.' ? (n > an && strncasecmp(h + n - an, a, an) == 0)
                        : (n == an && strncasecmp(h, a, an) == 0))
            return 1;
    }
    return 0;
}

static int reg_endpoint(struct reg *r, const json_t *v, const struct reg_hosts *hosts,
                        struct item_error *err)
{
    const char *s = json_string_value(v), *host;
    size_t n, hlen;
    if (s == NULL)
        return reg_fail(err, "subscription.endpoint", "must be a string");
    n = strlen(s);
    if (n > REG_ENDPOINT_MAX)
        return reg_fail(err, "subscription.endpoint", "must be at most %d characters",
                        REG_ENDPOINT_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
            strchr("\"<>\\^`{|}", s[i]))
            return reg_fail(err, "subscription.endpoint",
                            "must be a URL of printable ASCII without spaces or quotes");
    if (reg_url_host(s, &host, &hlen))
        return reg_fail(err, "subscription.endpoint", "must be an https:// URL with a host");
    if (!reg_host_allowed(hosts, host, hlen))
        return reg_fail(err, "subscription.endpoint",
                        "names a push service this gateway does not send to (%.*s)",
                        (int)(hlen > 100 ? 100 : hlen), host);
    memcpy(r->endpoint, s, n + 1);
    return 0;
}

static int reg_key(const json_t *keys, const char *name, unsigned char *out, size_t len,
                   struct item_error *err)
{
    char field[64];
    const char *s = json_string_value(json_object_get(keys, name));
    snprintf(field, sizeof(field), "subscription.keys.%s", name);
    if (s == NULL)
        return reg_fail(err, field, "must be a base64url string");
    if (b64u_decode(s, strlen(s), out, len) != (long)len)
        return reg_fail(err, field, "must be %zu bytes in base64url", len);
    return 0;
}

static int reg_subscription(struct reg *r, const json_t *sub, const struct reg_hosts *hosts,
                            struct item_error *err)
{
    const json_t *keys = json_object_get(sub, "keys");
    if (!json_is_object(sub))
        return reg_fail(err, "subscription", "must be an object (PushSubscription.toJSON())");
    if (reg_endpoint(r, json_object_get(sub, "endpoint"), hosts, err))
        return -1;
    if (!json_is_object(keys))
        return reg_fail(err, "subscription.keys", "must be an object with p256dh and auth");
    if (reg_key(keys, "p256dh", r->p256dh, ECE_PUBLIC_LEN, err) ||
        reg_key(keys, "auth", r->auth, ECE_AUTH_LEN, err))
        return -1;
    if (!ece_public_ok(r->p256dh))
        return reg_fail(err, "subscription.keys.p256dh", "is not a P-256 public key");
    return 0;
}

/* A device token: APNs' in hex (kept in lower case), FCM's of the
 * characters Firebase uses (base64url and ':'). */
static int reg_token(struct reg *r, const json_t *v, struct item_error *err)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (s == NULL)
        return reg_fail(err, "token", "must be a string, the device's push token");
    if (r->provider == REG_APNS) {
        if (n < REG_APNS_MIN || n > REG_APNS_MAX || n % 2)
            return reg_fail(err, "token", "must be an APNs device token: %d to %d hex digits",
                            REG_APNS_MIN, REG_APNS_MAX);
        for (size_t i = 0; i < n; i++) {
            if (!isxdigit((unsigned char)s[i]))
                return reg_fail(err, "token", "must be an APNs device token in hex");
            r->endpoint[i] = (char)tolower((unsigned char)s[i]);
        }
        r->endpoint[n] = '\0';
        return 0;
    }
    if (n == 0 || n > REG_FCM_MAX)
        return reg_fail(err, "token", "must be an FCM registration token of 1 to %d characters",
                        REG_FCM_MAX);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_:", s[i]))
            return reg_fail(err, "token",
                            "must be an FCM registration token (letters, digits, - _ :)");
    memcpy(r->endpoint, s, n + 1);
    return 0;
}

/* topics or langs: an array of distinct valid strings, copied into slots
 * of `width` bytes (langs in lower case). */
static int reg_list(const json_t *v, const char *field, int max, char *slots, size_t width,
                    int *count, struct item_error *err)
{
    size_t i;
    const json_t *e;
    int is_lang = strcmp(field, "langs") == 0;
    *count = 0;
    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return reg_fail(err, field, "must be an array of strings");
    if (json_array_size(v) > (size_t)max)
        return reg_fail(err, field, "at most %d", max);
    json_array_foreach (v, i, e) {
        const char *s = json_string_value(e);
        char name[64];
        snprintf(name, sizeof(name), "%s[%zu]", field, i);
        if (s == NULL || !(is_lang ? item_lang_ok(s) : item_topic_ok(s, strlen(s))))
            return reg_fail(err, name,
                            is_lang ? "must be a BCP 47 language tag such as en or pt-BR"
                                    : "must be a topic slug " ITEM_TOPIC_RULE);
        char *slot = slots + (size_t)*count * width;
        size_t n = strlen(s);
        for (size_t k = 0; k <= n; k++)
            slot[k] = is_lang ? (char)tolower((unsigned char)s[k]) : s[k];
        for (int k = 0; k < *count; k++)
            if (strcmp(slots + (size_t)k * width, slot) == 0)
                return reg_fail(err, name, "is there twice");
        (*count)++;
    }
    return 0;
}

int reg_parse_request(const char *body, size_t len, const struct reg_hosts *hosts,
                      unsigned providers, struct reg *r, struct item_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *key, *provider;
    json_t *v;
    int rc = -1;
    memset(r, 0, sizeof(*r));
    if (root == NULL || !json_is_object(root)) {
        reg_fail(err, "", "the body must be one JSON object");
        goto out;
    }
    json_object_foreach (root, key, v) {
        if (strcmp(key, "provider") && strcmp(key, "subscription") && strcmp(key, "token") &&
            strcmp(key, "topics") && strcmp(key, "langs")) {
            reg_fail(err, key, "is not a field of a registration");
            goto out;
        }
    }
    provider = json_string_value(json_object_get(root, "provider"));
    if (reg_provider_of(provider, &r->provider)) {
        reg_fail(err, "provider", "must be \"webpush\", \"apns\" or \"fcm\"");
        goto out;
    }
    if (!(providers & REG_BIT(r->provider))) {
        reg_fail(err, "provider", "%s is not configured on this gateway", provider);
        goto out;
    }
    key = r->provider == REG_WEBPUSH ? "token" : "subscription";
    if (json_object_get(root, key)) {
        reg_fail(err, key, "is not a field of a %s registration", provider);
        goto out;
    }
    if ((r->provider == REG_WEBPUSH
             ? reg_subscription(r, json_object_get(root, "subscription"), hosts, err)
             : reg_token(r, json_object_get(root, "token"), err)) ||
        reg_list(json_object_get(root, "topics"), "topics", REG_MAX_TOPICS, &r->topics[0][0],
                 sizeof(r->topics[0]), &r->ntopics, err) ||
        reg_list(json_object_get(root, "langs"), "langs", REG_MAX_LANGS, &r->langs[0][0],
                 sizeof(r->langs[0]), &r->nlangs, err))
        goto out;
    reg_identify(r);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

char *reg_encode(const struct reg *r)
{
    char k[B64U_LEN(ECE_PUBLIC_LEN) + 1], a[B64U_LEN(ECE_AUTH_LEN) + 1];
    json_t *t = json_array(), *l = json_array();
    char *out = NULL;
    b64u_encode(r->p256dh, ECE_PUBLIC_LEN, k);
    b64u_encode(r->auth, ECE_AUTH_LEN, a);
    for (int i = 0; t && i < r->ntopics; i++)
        json_array_append_new(t, json_string(r->topics[i]));
    for (int i = 0; l && i < r->nlangs; i++)
        json_array_append_new(l, json_string(r->langs[i]));
    json_t *o = NULL;
    if (t && l && r->provider == REG_WEBPUSH)
        o = json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:I}", "p", "webpush", "e", r->endpoint, "k", k,
                      "a", a, "t", t, "l", l, "x", (json_int_t)r->expires_ms);
    else if (t && l)
        o = json_pack("{s:s,s:s,s:O,s:O,s:I}", "p", reg_provider_name(r->provider), "e",
                      r->endpoint, "t", t, "l", l, "x", (json_int_t)r->expires_ms);
    if (o)
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    json_decref(t);
    json_decref(l);
    return out;
}

/* A list reg_encode wrote: strings that fit their slots. */
static int reg_decode_list(const json_t *v, int max, char *slots, size_t width, int *count)
{
    size_t i;
    const json_t *e;
    if (!json_is_array(v) || json_array_size(v) > (size_t)max)
        return -1;
    json_array_foreach (v, i, e) {
        const char *s = json_string_value(e);
        if (s == NULL || strlen(s) >= width)
            return -1;
        memcpy(slots + i * width, s, strlen(s) + 1);
    }
    *count = (int)json_array_size(v);
    return 0;
}

int reg_decode(const char *id, const char *text, size_t len, struct reg *r)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    const char *e = json_string_value(json_object_get(o, "e"));
    const char *k = json_string_value(json_object_get(o, "k"));
    const char *a = json_string_value(json_object_get(o, "a"));
    const json_t *x = json_object_get(o, "x");
    int rc = -1;
    memset(r, 0, sizeof(*r));
    if (o == NULL || reg_provider_of(json_string_value(json_object_get(o, "p")), &r->provider))
        goto out;
    if (r->provider == REG_WEBPUSH &&
        (k == NULL || a == NULL ||
         b64u_decode(k, strlen(k), r->p256dh, ECE_PUBLIC_LEN) != ECE_PUBLIC_LEN ||
         b64u_decode(a, strlen(a), r->auth, ECE_AUTH_LEN) != ECE_AUTH_LEN))
        goto out;
    if (!reg_id_ok(id) || e == NULL || strlen(e) > REG_ENDPOINT_MAX || !json_is_integer(x) ||
        reg_decode_list(json_object_get(o, "t"), REG_MAX_TOPICS, &r->topics[0][0],
                        sizeof(r->topics[0]), &r->ntopics) ||
        reg_decode_list(json_object_get(o, "l"), REG_MAX_LANGS, &r->langs[0][0],
                        sizeof(r->langs[0]), &r->nlangs))
        goto out;
    memcpy(r->id, id, REG_ID_LEN + 1);
    r->shard = reg_shard_of(id);
    memcpy(r->endpoint, e, strlen(e) + 1);
    r->expires_ms = (int64_t)json_integer_value(x);
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int reg_matches(const struct reg *r, const json_t *topics, const char *lang)
{
    int topic_ok = r->ntopics == 0, lang_ok = r->nlangs == 0;
    for (int i = 0; !topic_ok && i < r->ntopics; i++) {
        size_t k;
        const json_t *t;
        json_array_foreach (topics, k, t) {
            const char *s = json_string_value(t);
            if (s && strcmp(s, r->topics[i]) == 0)
                topic_ok = 1;
        }
    }
    for (int i = 0; topic_ok && !lang_ok && i < r->nlangs; i++)
        lang_ok = strcasecmp(lang ? lang : "en", r->langs[i]) == 0;
    return topic_ok && lang_ok;
}

int reg_hosts_parse(struct reg_hosts *h, const char *csv, char *err, size_t errlen)
{
    char *copy = strdup(csv), *save = NULL;
    int rc = 0;
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    reg_hosts_free(h);
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        const char *p = tok + (tok[0] == '.');
        int ok = *p != '\0' && strlen(tok) < 254;
        for (; ok && *p; p++)
            ok = isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == ':';
        if (!ok || h->n == REG_MAX_HOSTS) {
            if (ok)
                snprintf(err, errlen, "--webpush-hosts: at most %d hosts", REG_MAX_HOSTS);
            else
                snprintf(err, errlen, "--webpush-hosts: \"%.100s\" is not a host name or .domain",
                         tok);
            rc = -1;
            break;
        }
        if ((h->host[h->n] = strdup(tok)) == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        h->n++;
    }
    free(copy);
    return rc;
}

void reg_hosts_free(struct reg_hosts *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->host[i]);
    memset(h, 0, sizeof(*h));
}
