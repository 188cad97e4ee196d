/*
 * provider — what the three provider modules (webpush, apns, fcm) share
 * with the sender: a request built for one registration (push_msg), the
 * meaning of an answer (push_outcome), and one alert in the shapes the
 * providers send (push_alert: built once per alert, used for every
 * registration).
 */
#ifndef PUSH_PROVIDER_H
#define PUSH_PROVIDER_H

#include "notif.h"

#include <curl/curl.h>
#include <stddef.h>

enum push_outcome {
    PUSH_DONE,    /* accepted */
    PUSH_GONE,    /* the token or subscription is no more: remove the registration */
    PUSH_REFUSED, /* this request will not be taken: give up */
    PUSH_RETRY,   /* 429, 5xx, no answer: try again later */
    PUSH_REAUTH,  /* the provider credential expired: renew it and try again */
};

/* A request ready to send; every member owned (push_msg_free). */
struct push_msg {
    char *url;
    struct curl_slist *headers;
    char *body;
    size_t len;
    unsigned gen; /* the generation of the credential that signed it */
};

/* One alert as the providers send it (push_alert_free). */
struct push_alert {
    struct notif n;
    char *apns;    /* APNs' JSON body (the same for every device) */
    char *fcm;     /* FCM's message after its token and ttl (fcm.h) */
    int retracted; /* deliver: its story was retracted; its sends stop */
};

/* Appends "fmt with value" to a header list: 0, or -1. */
int push_header(struct curl_slist **list, const char *fmt, const char *value);

void push_msg_free(struct push_msg *m);
void push_alert_free(struct push_alert *a);

#endif
