/*
 * cframe — see cframe.h.
 */
#include "cframe.h"

#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Marks the frame bad, with the reason (NULL: f->err holds it already),
 * and drops the filter. */
static void cframe_bad(struct cframe *f, const char *why)
{
    if (why)
        snprintf(f->err, sizeof(f->err), "%s", why);
    f->type = CFRAME_BAD;
    free(f->filter);
    f->filter = NULL;
}

typedef int (*cframe_add_fn)(struct hub_filter *, const char *, size_t, char *, size_t);

/* "topics" or "lang": absent or null, or an array of strings each `add` takes. */
static int cframe_list(struct cframe *f, const char *what, cframe_add_fn add)
{
    json_t *v = json_object_get(f->doc, what), *e;
    size_t i;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v)) {
        snprintf(f->err, sizeof(f->err), "%s must be an array of strings", what);
        return -1;
    }
    json_array_foreach (v, i, e) {
        if (!json_is_string(e)) {
            snprintf(f->err, sizeof(f->err), "%s must be an array of strings", what);
            return -1;
        }
        if (add(f->filter, json_string_value(e), json_string_length(e), f->err, sizeof(f->err)))
            return -1;
    }
    return 0;
}

/* {"type":"subscribe","topics":[...],"lang":[...],"since":"...","token":"..."} */
static void cframe_subscribe(struct cframe *f)
{
    json_t *s = json_object_get(f->doc, "since");
    json_t *token = json_object_get(f->doc, "token");
    if ((f->filter = calloc(1, sizeof(*f->filter))) == NULL) {
        cframe_bad(f, "out of memory");
        return;
    }
    if (cframe_list(f, "topics", hubfilter_add_topic) ||
        cframe_list(f, "lang", hubfilter_add_lang)) {
        cframe_bad(f, NULL);
        return;
    }
    if (s && !json_is_null(s)) {
        if (!json_is_string(s) || item_id_parse(json_string_value(s), &f->since)) {
            cframe_bad(f, QUERY_SINCE_RULE);
            return;
        }
        f->has_since = 1;
    }
    f->has_token = token != NULL;
    f->token = json_string_value(token);
    f->type = CFRAME_SUBSCRIBE;
}

void cframe_parse(const char *text, size_t len, struct cframe *f)
{
    memset(f, 0, sizeof(*f));
    f->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(f->doc, "type"));
    if (!json_is_object(f->doc))
        cframe_bad(f, "frames must be JSON objects");
    else if (type == NULL)
        cframe_bad(f, "type is missing");
    else if (strcmp(type, "ping") == 0)
        f->type = CFRAME_PING;
    else if (strcmp(type, "subscribe") == 0)
        cframe_subscribe(f);
    else if (strcmp(type, "ack") == 0) {
        if (acks_parse(f->doc, f->ids, &f->nids, f->err, sizeof(f->err)) == 0)
            f->type = CFRAME_ACK;
    } else
        cframe_bad(f, "unknown type: expected subscribe, ping or ack");
}

void cframe_release(struct cframe *f)
{
    json_decref(f->doc);
    free(f->filter);
    f->doc = NULL;
    f->filter = NULL;
    f->token = NULL;
}
