/*
 * notif — see notif.h.
 */
#include "notif.h"

#include "ece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
    const char *header; /* RFC 8030 Urgency */
} notif_urgency[] = {
    {"flash", NOTIF_FLASH, "high"},
    {"urgent", NOTIF_URGENT, "high"},
    {"bulletin", NOTIF_BULLETIN, "normal"},
    {"routine", NOTIF_ROUTINE, "low"},
};
#define NOTIF_NURGENCY (sizeof(notif_urgency) / sizeof(notif_urgency[0]))

int notif_urgencies_parse(const char *csv, unsigned *mask, char *err, size_t errlen)
{
    char *copy = strdup(csv), *save = NULL;
    int rc = 0;
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *mask = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok && rc == 0;
         tok = strtok_r(NULL, ", ", &save)) {
        size_t i = 0;
        while (i < NOTIF_NURGENCY && strcmp(tok, notif_urgency[i].name) != 0)
            i++;
        if (i == NOTIF_NURGENCY) {
            snprintf(err, errlen,
                     "--urgencies: \"%.40s\" is not an urgency (flash, urgent, bulletin, routine)",
                     tok);
            rc = -1;
        } else {
            *mask |= notif_urgency[i].bit;
        }
    }
    free(copy);
    if (rc == 0 && *mask == 0) {
        snprintf(err, errlen, "--urgencies: name at least one urgency");
        rc = -1;
    }
    return rc;
}

/* The device's payload: the fields it shows, with the summary only if the
 * whole still fits one Web Push record. */
static int notif_payload(struct notif *n, const json_t *item)
{
    static const char *const fields[] = {"kind",     "ref", "version", "urgency",
                                         "headline", "url", "lang",    "published_at"};
    json_t *p = json_object();
    if (p == NULL || json_object_set_new(p, "id", json_string(n->id)))
        goto fail;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = json_object_get(item, fields[i]);
        if (v && json_object_set(p, fields[i], v))
            goto fail;
    }
    for (int with_summary = 1; with_summary >= 0; with_summary--) {
        json_t *summary = json_object_get(item, "summary");
        if (with_summary && (summary == NULL || json_object_set(p, "summary", summary)))
            continue;
        if (!with_summary)
            json_object_del(p, "summary");
        free(n->payload);
        n->payload = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (n->payload == NULL)
            goto fail;
        n->len = strlen(n->payload);
        if (n->len <= ECE_MAX_PLAINTEXT)
            break;
    }
    json_decref(p);
    return n->len <= ECE_MAX_PLAINTEXT ? 0 : -1;
fail:
    json_decref(p);
    return -1;
}

/* Fills everything but the payload; 0 when not to be sent. */
static int notif_select(struct notif *n, const json_t *item, unsigned urgencies, int ttl_secs,
                        int64_t now_ms, const char **why)
{
    const char *kind = json_string_value(json_object_get(item, "kind"));
    const char *urgency = json_string_value(json_object_get(item, "urgency"));
    const char *ref = json_string_value(json_object_get(item, "ref"));
    const char *expires = json_string_value(json_object_get(item, "expires_at"));
    const char *published = json_string_value(json_object_get(item, "published_at"));
    const char *lang = json_string_value(json_object_get(item, "lang"));
    int revises = ref && kind && (strcmp(kind, "update") == 0 || strcmp(kind, "retraction") == 0);
    const char *story = revises ? ref : n->id;
    int64_t at;
    size_t i = 0;
    n->retraction = kind && strcmp(kind, "retraction") == 0;
    if (n->retraction) {
        n->urgency = "high"; /* a shown headline withdrawn at once */
    } else {
        while (i < NOTIF_NURGENCY && strcmp(urgency ? urgency : "bulletin", notif_urgency[i].name))
            i++;
        if (i == NOTIF_NURGENCY || !(urgencies & notif_urgency[i].bit)) {
            *why = "urgency not selected";
            return 0;
        }
        n->urgency = notif_urgency[i].header;
        n->urgency_bit = notif_urgency[i].bit;
    }
    if (expires && item_time_parse(expires, &at) == 0)
        n->expires_ms = at;
    else if (published && item_time_parse(published, &at) == 0)
        n->expires_ms = at + (int64_t)ttl_secs * 1000;
    else
        n->expires_ms = now_ms + (int64_t)ttl_secs * 1000;
    if (n->expires_ms <= now_ms && !n->retraction) { /* its mark is due whenever it comes */
        *why = "expired";
        return 0;
    }
    snprintf(n->story, sizeof(n->story), "%s", story);
    if (strlen(story) <= NOTIF_TOPIC_MAX)
        memcpy(n->topic, story, strlen(story) + 1);
    snprintf(n->lang, sizeof(n->lang), "%s", lang ? lang : "en");
    n->topics = json_incref(json_object_get(item, "topics"));
    return 1;
}

int notif_build(struct notif *n, const char *id, const char *text, size_t len, unsigned urgencies,
                int ttl_secs, int64_t now_ms, const char **why, struct item_error *err)
{
    struct item_id parsed;
    json_t *item;
    int rc;
    memset(n, 0, sizeof(*n));
    if (item_id_parse(id, &parsed)) {
        snprintf(err->field, sizeof(err->field), "id");
        snprintf(err->message, sizeof(err->message), "is not a stream id");
        return -1;
    }
    item_id_format(parsed, n->id);
    if ((item = item_parse(text, len, ITEM_RELAY, err, NULL)) == NULL)
        return -1;
    rc = notif_select(n, item, urgencies, ttl_secs, now_ms, why);
    if (rc == 1 && notif_payload(n, item)) {
        snprintf(err->field, sizeof(err->field), "%s", "");
        snprintf(err->message, sizeof(err->message), "cannot make its payload");
        rc = -1;
    }
    json_decref(item);
    if (rc != 1)
        notif_free(n);
    return rc;
}

void notif_free(struct notif *n)
{
    json_decref(n->topics);
    free(n->payload);
    memset(n, 0, sizeof(*n));
}
