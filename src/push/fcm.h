/*
 * fcm — Firebase Cloud Messaging's HTTP v1 API: a device's request (POST
 * /v1/projects/<project>/messages:send with the access token oauth keeps)
 * and what FCM's answer means.
 *
 * The message is the same for every device but its token and ttl, so the
 * rest of it is made once per alert (fcm_prepare) and a request is three
 * strings joined: {"message":{"token":"T","android":{"ttl":"Ns",<rest>}.
 * Android priority HIGH for every urgency but routine (NORMAL), the story
 * as collapse_key and as the notification's tag (an update replaces its
 * original, pending or shown), the headline and summary as title and body,
 * the device's payload as data.alert (a JSON string). A retraction is a
 * data message (no notification: nothing shown): priority HIGH, the story
 * as collapse_key (FCM, holding the story's message for an offline device,
 * keeps only this one), its payload as data.alert; the app cancels the
 * notification tagged with the story (PROTOCOL.md, section 13).
 */
#ifndef PUSH_FCM_H
#define PUSH_FCM_H

#include "oauth.h"
#include "provider.h"
#include "reg.h"

#include <stdint.h>

#define FCM_HOST_DEFAULT "fcm.googleapis.com"

struct fcm {
    struct oauth oauth; /* oauth.acct.key NULL: FCM is off */
    char *host;
    char *url; /* https://HOST/v1/projects/<project>/messages:send */
};

/* path NULL: FCM stays off. 0, or -1 with err naming the setting. */
int fcm_load(struct fcm *f, const char *path, const char *host, char *err, size_t errlen);

/* Reads the key file again (SIGHUP): 0, or -1 with err set and f unchanged. */
int fcm_reload(struct fcm *f, const char *path, char *err, size_t errlen);

/* The message's rest for an alert; malloc'd, or NULL. */
char *fcm_prepare(const struct notif *n);

/* A device's request with the access token of generation gen: 0, or -1. */
int fcm_build(struct push_msg *m, const struct fcm *f, const struct notif *n, const char *rest,
              const struct reg *r, const char *token, unsigned gen, int64_t now_ms);

/* 200 done; 404, and 400 UNREGISTERED or INVALID_ARGUMENT about
 * message.token, gone; 401 reauth; 429, 5xx, none retry; else refused. */
enum push_outcome fcm_outcome(long status, const char *answer, size_t len);

void fcm_free(struct fcm *f);

#endif
