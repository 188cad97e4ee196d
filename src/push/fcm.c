/*
 * fcm — see fcm.h.
 */
#include "fcm.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FCM_REST_SKIP (sizeof("{\"android\":{") - 1)

static int fcm_make_url(struct fcm *f, char *err, size_t errlen)
{
    size_t cap = strlen(f->host) + strlen(f->oauth.acct.project) + 64;
    char *url = malloc(cap);
    if (url == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(url, cap, "https://%s/v1/projects/%s/messages:send", f->host, f->oauth.acct.project);
    free(f->url);
    f->url = url;
    return 0;
}

int fcm_load(struct fcm *f, const char *path, const char *host, char *err, size_t errlen)
{
    size_t n = 0;
    memset(f, 0, sizeof(*f));
    if (path == NULL)
        return 0;
    for (; host[n]; n++)
        if (!isalnum((unsigned char)host[n]) && !strchr(".-:[]", host[n]))
            break;
    if (host[n] || n == 0 || n > 253) {
        snprintf(err, errlen, "--fcm-host must be a host name, with a port if not 443");
        return -1;
    }
    if (oauth_load(&f->oauth, path, err, errlen)) {
        char inner[300];
        snprintf(inner, sizeof(inner), "%s", err);
        snprintf(err, errlen, "--fcm-service-account: %s", inner);
        return -1;
    }
    if ((f->host = strdup(host)) == NULL || fcm_make_url(f, err, errlen)) {
        fcm_free(f);
        return -1;
    }
    return 0;
}

int fcm_reload(struct fcm *f, const char *path, char *err, size_t errlen)
{
    return oauth_reload(&f->oauth, path, err, errlen) ? -1 : fcm_make_url(f, err, errlen);
}

char *fcm_prepare(const struct notif *n)
{
    json_t *data = json_loadb(n->payload, n->len, 0, NULL);
    const char *headline = json_string_value(json_object_get(data, "headline"));
    const char *summary = json_string_value(json_object_get(data, "summary"));
    char *out = NULL, *rest = NULL;
    json_t *o;
    if (n->retraction) /* data only: the app removes the story's notification */
        o = json_pack("{s:{s:s,s:s},s:{s:s}}", "android", "priority", "HIGH", "collapse_key",
                      n->story, "data", "alert", n->payload);
    else if (headline == NULL)
        goto out;
    else
        o = json_pack("{s:{s:s,s:s,s:{s:s}},s:{s:s,s:s},s:{s:s}}", "android", "priority",
                      n->urgency_bit == NOTIF_ROUTINE ? "NORMAL" : "HIGH", "collapse_key", n->story,
                      "notification", "tag", n->story, "notification", "title", headline, "body",
                      summary ? summary : "", "data", "alert", n->payload);
    out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (out && strncmp(out, "{\"android\":{", FCM_REST_SKIP) == 0)
        rest = strdup(out + FCM_REST_SKIP);
out:
    free(out);
    json_decref(data);
    return rest;
}

int fcm_build(struct push_msg *m, const struct fcm *f, const struct notif *n, const char *rest,
              const struct reg *r, const char *token, unsigned gen, int64_t now_ms)
{
    int64_t ttl = (n->expires_ms - now_ms) / 1000;
    size_t cap;
    memset(m, 0, sizeof(*m));
    for (const char *p = r->endpoint; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_:", *p))
            return -1; /* reg checked it: a registration Redis altered */
    if (rest == NULL || r->endpoint[0] == '\0')
        return -1;
    cap = strlen(r->endpoint) + strlen(rest) + 96;
    m->gen = gen;
    if ((m->url = strdup(f->url)) == NULL || (m->body = malloc(cap)) == NULL)
        goto fail;
    m->len = (size_t)snprintf(m->body, cap,
                              "{\"message\":{\"token\":\"%s\",\"android\":{\"ttl\":\"%llds\",%s}",
                              r->endpoint, (long long)(ttl > 0 ? ttl : 0), rest);
    if (push_header(&m->headers, "Authorization: Bearer %s", token) ||
        push_header(&m->headers, "Content-Type: %s", "application/json; charset=UTF-8"))
        goto fail;
    return 0;
fail:
    push_msg_free(m);
    return -1;
}

/* An INVALID_ARGUMENT about the token itself (a BadRequest field violation
 * on message.token), not about the message. */
static int fcm_bad_token(const json_t *details)
{
    size_t i, k;
    const json_t *d, *v;
    json_array_foreach (details, i, d) {
        json_array_foreach (json_object_get(d, "fieldViolations"), k, v) {
            const char *field = json_string_value(json_object_get(v, "field"));
            if (field && strcmp(field, "message.token") == 0)
                return 1;
        }
    }
    return 0;
}

static const char *fcm_error_code(const json_t *details)
{
    size_t i;
    const json_t *d;
    json_array_foreach (details, i, d) {
        const char *code = json_string_value(json_object_get(d, "errorCode"));
        if (code)
            return code;
    }
    return NULL;
}

enum push_outcome fcm_outcome(long status, const char *answer, size_t len)
{
    json_t *o, *details;
    const char *code;
    enum push_outcome out = PUSH_REFUSED;
    if (status == 200)
        return PUSH_DONE;
    if (status == 404)
        return PUSH_GONE;
    if (status == 401)
        return PUSH_REAUTH;
    if (status == 0 || status == 429 || status >= 500)
        return PUSH_RETRY;
    o = answer ? json_loadb(answer, len, 0, NULL) : NULL;
    details = json_object_get(json_object_get(o, "error"), "details");
    code = fcm_error_code(details);
    if (status == 400 && code &&
        (strcmp(code, "UNREGISTERED") == 0 ||
         (strcmp(code, "INVALID_ARGUMENT") == 0 && fcm_bad_token(details))))
        out = PUSH_GONE;
    json_decref(o);
    return out;
}

void fcm_free(struct fcm *f)
{
    oauth_free(&f->oauth);
    free(f->host);
    free(f->url);
    memset(f, 0, sizeof(*f));
}
