/*
 * provider — see provider.h.
 */
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int push_header(struct curl_slist **list, const char *fmt, const char *value)
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

void push_msg_free(struct push_msg *m)
{
    curl_slist_free_all(m->headers);
    free(m->url);
    free(m->body);
    memset(m, 0, sizeof(*m));
}

void push_alert_free(struct push_alert *a)
{
    notif_free(&a->n);
    free(a->apns);
    free(a->fcm);
    memset(a, 0, sizeof(*a));
}
