/*
 * webpush — see webpush.h.
 */
#include "webpush.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int webpush_build(struct push_msg *m, struct vapid *v, struct ece *e, const struct notif *n,
                  const struct reg *r, int64_t now_ms)
{
    char ttl[24];
    const char *auth = vapid_header(v, r->endpoint, (time_t)(now_ms / 1000));
    int64_t secs = (n->expires_ms - now_ms) / 1000;
    memset(m, 0, sizeof(*m));
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(secs > 0 ? secs : 0));
    if (auth == NULL || (m->url = strdup(r->endpoint)) == NULL ||
        (m->body = malloc(ECE_MAX_BODY)) == NULL ||
        ece_encrypt(e, r->p256dh, r->auth, (const unsigned char *)n->payload, n->len,
                    (unsigned char *)m->body, &m->len) ||
        push_header(&m->headers, "Authorization: %s", auth) ||
        push_header(&m->headers, "TTL: %s", ttl) ||
        push_header(&m->headers, "Urgency: %s", n->urgency) ||
        (n->topic[0] && push_header(&m->headers, "Topic: %s", n->topic)) ||
        push_header(&m->headers, "Content-Encoding: %s", "aes128gcm") ||
        push_header(&m->headers, "Content-Type: %s", "application/octet-stream")) {
        push_msg_free(m);
        return -1;
    }
    return 0;
}

enum push_outcome webpush_outcome(long status)
{
    if (status >= 200 && status < 300)
        return PUSH_DONE;
    if (status == 404 || status == 410)
        return PUSH_GONE;
    if (status == 0 || status == 429 || status >= 500)
        return PUSH_RETRY;
    return PUSH_REFUSED;
}
