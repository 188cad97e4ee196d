/*
 * webpush — one Web Push message (RFC 8030): the request for a
 * registration (the payload encrypted with ece, VAPID's Authorization,
 * TTL, Urgency, Topic) and what the push service's answer means.
 */
#ifndef PUSH_WEBPUSH_H
#define PUSH_WEBPUSH_H

#include "ece.h"
#include "notif.h"
#include "reg.h"
#include "vapid.h"

#include <curl/curl.h>
#include <stdint.h>

/* A request ready to send: headers and the encrypted body. */
struct webpush_msg {
    struct curl_slist *headers;
    unsigned char body[ECE_MAX_BODY];
    size_t len;
};

/* Builds the request at now_ms (TTL counts down to the alert's expiry):
 * 0, or -1 (the VAPID header could not be signed, encryption or memory). */
int webpush_build(struct webpush_msg *m, struct vapid *v, const struct notif *n,
                  const struct reg *r, int64_t now_ms);
void webpush_free(struct webpush_msg *m);

enum webpush_outcome {
    WEBPUSH_DONE,    /* 2xx: accepted */
    WEBPUSH_GONE,    /* 404, 410: the subscription is no more; remove it */
    WEBPUSH_REFUSED, /* other 4xx: the request will not be taken; give up */
    WEBPUSH_RETRY,   /* 429, 5xx, no answer: try again later */
};

enum webpush_outcome webpush_outcome(long status);

#endif
