/*
 * webpush — one Web Push message (RFC 8030): the request for a
 * registration (the payload encrypted with ece, VAPID's Authorization,
 * TTL, Urgency, Topic) and what the push service's answer means.
 */
#ifndef PUSH_WEBPUSH_H
#define PUSH_WEBPUSH_H

#include "ece.h"
#include "provider.h"
#include "reg.h"
#include "vapid.h"

#include <stdint.h>

/* Builds the request at now_ms (TTL counts down to the alert's expiry),
 * the payload encrypted with e: 0, or -1 (the VAPID header could not be
 * signed, encryption or memory). */
int webpush_build(struct push_msg *m, struct vapid *v, struct ece *e, const struct notif *n,
                  const struct reg *r, int64_t now_ms);

/* 2xx done; 404, 410 gone; 429, 5xx, none (0) retry; other 4xx refused. */
enum push_outcome webpush_outcome(long status);

#endif
