/*
 * webpush — see webpush.h.
 */
#include "webpush.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int webpush_header(struct curl_slist **list, const char *fmt, const char *value)
{
    char line[2048];
    struct curl_slist *l;
    if (snprintf(line, sizeof(line), fmt, value) >= (int)sizeof(line))
        return -1;
    if ((l = curl_slist_append(*list, line)) == NULL)
        return -1;
    *list = l;
    return 0;
}

int webpush_build(struct webpush_msg *m, struct vapid *v, const struct notif *n,
                  const struct reg *r, int64_t now_ms)
{
    char ttl[24];
    const char *auth = vapid_header(v, r->endpoint, (time_t)(now_ms / 1000));
    int64_t secs = (n->expires_ms - now_ms) / 1000;
    m->headers = NULL;
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(secs > 0 ? secs : 0));
    if (auth == NULL ||
        ece_encrypt(r->p256dh, r->auth, (const unsigned char *)n->payload, n->len, m->body,
                    &m->len) ||
        webpush_header(&m->headers, "Authorization: %s", auth) ||
        webpush_header(&m->headers, "TTL: %s", ttl) ||
        webpush_header(&m->headers, "Urgency: %s", n->urgency) ||
        (n->topic[0] && webpush_header(&m->headers, "Topic: %s", n->topic)) ||
        webpush_header(&m->headers, "Content-Encoding: %s", "aes128gcm") ||
        webpush_header(&m->headers, "Content-Type: %s", "application/octet-stream")) {
        webpush_free(m);
        return -1;
    }
    return 0;
}

void webpush_free(struct webpush_msg *m)
{
    curl_slist_free_all(m->headers);
    m->headers = NULL;
}

enum webpush_outcome webpush_outcome(long status)
{
    if (status >= 200 && status < 300)
        return WEBPUSH_DONE;
    if (status == 404 || status == 410)
        return WEBPUSH_GONE;
    if (status == 0 || status == 429 || status >= 500)
        return WEBPUSH_RETRY;
    return WEBPUSH_REFUSED;
}
