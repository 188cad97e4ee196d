/*
 * query — reads of the stream and the live channel's subscriber count;
 * see query.h.
 */
#include "query.h"

#include "fold.h"
#include "rkeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QUERY_KEYLEN 256
#define QUERY_PAGE   200 /* entries per XREVRANGE while filtering */

/* ------------------------------------------------------------------------
 * Replies
 * ---------------------------------------------------------------------- */

/* NULL reply (connection lost, timeout) or error reply: message, -1. */
static int query_reply_failed(redisContext *c, const redisReply *r, char *err, size_t errlen)
{
    if (r == NULL) {
        snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "no reply");
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", r->str);
        return -1;
    }
    return 0;
}

/* One XRANGE entry [id, [field, value, ...]]: its id and its item, parsed
 * as a node parses it. Returns QUERY_OK, QUERY_ERR_ITEM (message in err)
 * or QUERY_ERR_REDIS for a reply of the wrong shape. */
static int query_entry(const redisReply *e, char id[ITEM_ID_STRLEN], json_t **item, char *err,
                       size_t errlen)
{
    struct item_error ierr;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= ITEM_ID_STRLEN ||
        e->element[1]->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "unexpected reply shape for a stream entry");
        return QUERY_ERR_REDIS;
    }
    memcpy(id, e->element[0]->str, e->element[0]->len);
    id[e->element[0]->len] = '\0';
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || strcmp(k->str, "item") != 0 ||
            v->type != REDIS_REPLY_STRING)
            continue;
        *item = item_parse(v->str, v->len, ITEM_RELAY, &ierr, NULL);
        if (*item)
            return QUERY_OK;
        snprintf(err, errlen, "%s: stored item is not valid: %s%s%s", id, ierr.field,
                 ierr.field[0] ? ": " : "", ierr.message);
        return QUERY_ERR_ITEM;
    }
    snprintf(err, errlen, "%s: entry has no item field", id);
    return QUERY_ERR_ITEM;
}

/* ------------------------------------------------------------------------
 * One entry
 * ---------------------------------------------------------------------- */

int query_fetch(redisContext *c, const char *prefix, const char *id, json_t **out, char *err,
                size_t errlen)
{
    char key[QUERY_KEYLEN], got[ITEM_ID_STRLEN];
    *out = NULL;
    rkeys_name(key, sizeof(key), prefix, RKEYS_STREAM, NULL);
    redisReply *r = redisCommand(c, "XRANGE %s %s %s", key, id, id);
    if (query_reply_failed(c, r, err, errlen)) {
        freeReplyObject(r);
        return QUERY_ERR_REDIS;
    }
    int rc = QUERY_NOT_FOUND;
    if (r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "unexpected reply to XRANGE");
        rc = QUERY_ERR_REDIS;
    } else if (r->elements == 0) {
        snprintf(err, errlen, "%s: no such alert in history", id);
    } else {
        rc = query_entry(r->element[0], got, out, err, errlen);
    }
    freeReplyObject(r);
    return rc;
}

/* ------------------------------------------------------------------------
 * Recent entries
 * ---------------------------------------------------------------------- */

/* A language filter "en" matches "en", "EN" and "en-GB". */
static int query_lang_matches(const char *want, const char *have)
{
    size_t n = strlen(want);
    return strncasecmp(want, have, n) == 0 && (have[n] == '\0' || have[n] == '-');
}

static int query_matches(const struct query_filter *f, const json_t *item)
{
    if (f->lang) {
        const char *lang = json_string_value(json_object_get(item, "lang"));
        if (lang == NULL || !query_lang_matches(f->lang, lang))
            return 0;
    }
    if (f->topic) {
        size_t i;
        json_t *t;
        json_array_foreach (json_object_get(item, "topics"), i, t) {
            const char *s = json_string_value(t);
            if (s && strcmp(s, f->topic) == 0)
                return 1;
        }
        return 0;
    }
    return 1;
}

/* The item with "id" as its first member, appended to out. */
static int query_append(json_t *out, const char *id, const json_t *item)
{
    json_t *o = json_object();
    if (o == NULL || json_object_set_new(o, "id", json_string(id)) != 0 ||
        json_object_update(o, (json_t *)item) != 0) {
        json_decref(o);
        return -1;
    }
    return json_array_append_new(out, o);
}

/* The id just before `id`, as an inclusive XREVRANGE end; -1 at 0-0. */
static int query_id_before(const char *id, char out[ITEM_ID_STRLEN])
{
    struct item_id v;
    if (item_id_parse(id, &v) != 0 || (v.ms == 0 && v.seq == 0))
        return -1;
    if (v.seq > 0) {
        v.seq--;
    } else {
        v.ms--;
        v.seq = UINT64_MAX;
    }
    item_id_format(v, out);
    return 0;
}

/* ------------------------------------------------------------------------
 * Folding (fold.h), newest first: the stories met so far, in a hash table
 * of roots (a page of entries at most every scan, so it never fills).
 * ---------------------------------------------------------------------- */

struct query_story {
    struct item_id root;
    json_t *shown;     /* its newest version that is not a retraction, if listed */
    uint8_t used;      /* the slot holds a story */
    uint8_t newer;     /* a version that is not a retraction was met */
    uint8_t retracted; /* a retraction was met */
};

struct query_fold {
    struct query_story *slot;
    size_t cap; /* a power of two, at least twice the entries scanned */
};

static struct query_story *query_story(struct query_fold *f, struct item_id root, int add)
{
    size_t i = (size_t)(root.ms * 1000003u + root.seq) & (f->cap - 1);
    for (; f->slot[i].used; i = (i + 1) & (f->cap - 1))
        if (item_id_cmp(f->slot[i].root, root) == 0)
            return &f->slot[i];
    if (!add)
        return NULL;
    f->slot[i].used = 1;
    f->slot[i].root = root;
    return &f->slot[i];
}

/* Entry `item` (older than every entry met so far) meets its story: 1 when
 * it is listed, 0 when a newer version folded it. A retraction met after
 * (older than) a newer update takes that update off the list (out). */
static int query_fold_in(struct query_fold *f, const json_t *item, const char *id, json_t *out,
                         struct query_story **story)
{
    struct fold_ver v;
    struct item_id iid;
    if (item_id_parse(id, &iid) || fold_ver_of(item, iid, &v))
        return 1;
    struct query_story *s = query_story(f, v.root, 0);
    if (s == NULL && (s = query_story(f, v.id, 0)) != NULL && !query_story(f, v.root, 0))
        s->root = v.root; /* a retraction that named this update: its story */
    if (s == NULL)
        s = query_story(f, v.root, 1);
    *story = s;
    if (s->retracted)
        return fold_meet(FOLD_RETRACTION, v.kind) == FOLD_BOTH;
    if (v.kind == FOLD_RETRACTION) {
        /* A newer version listed revised a withdrawn story: off the list. */
        s->retracted = 1;
        for (size_t i = 0; s->shown && i < json_array_size(out); i++)
            if (json_array_get(out, i) == s->shown &&
                fold_meet(FOLD_UPDATE, FOLD_RETRACTION) == FOLD_DROP_NEWER)
                json_array_remove(out, i);
        s->shown = NULL;
        return 1;
    }
    if (s->newer)
        return fold_meet(FOLD_UPDATE, v.kind) != FOLD_DROP_OLDER;
    s->newer = 1;
    return 1;
}

/* One page of XREVRANGE from `end` down; adds what it lists to out. Sets
 * *more to 0 when the stream has nothing older, *end to the next page's
 * end. */
static int query_page(redisContext *c, const char *key, char end[ITEM_ID_STRLEN], long count,
                      const struct query_filter *f, struct query_fold *fold, json_t *out,
                      unsigned *skipped, int *more, char *err, size_t errlen)
{
    char id[ITEM_ID_STRLEN] = "";
    redisReply *r = redisCommand(c, "XREVRANGE %s %s - COUNT %ld", key, end, count);
    int rc = 0;
    *more = 0;
    if (query_reply_failed(c, r, err, errlen) || r->type != REDIS_REPLY_ARRAY) {
        if (r && r->type != REDIS_REPLY_ERROR)
            snprintf(err, errlen, "unexpected reply to XREVRANGE");
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < r->elements && (long)json_array_size(out) < f->limit; i++) {
        json_t *item = NULL;
        struct query_story *story = NULL;
        int e = query_entry(r->element[i], id, &item, err, errlen);
        if (e == QUERY_ERR_REDIS) {
            rc = -1;
            break;
        }
        if (e == QUERY_ERR_ITEM) {
            (*skipped)++;
        } else if (query_fold_in(fold, item, id, out, &story) && query_matches(f, item)) {
            if (query_append(out, id, item) != 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            } else if (story && !story->retracted) {
                story->shown = json_array_get(out, json_array_size(out) - 1);
            }
        }
        json_decref(item);
        if (rc)
            break;
    }
    if (rc == 0 && (long)r->elements == count && id[0])
        *more = query_id_before(id, end) == 0;
    freeReplyObject(r);
    return rc;
}

json_t *query_recent(redisContext *c, const char *prefix, const struct query_filter *f,
                     unsigned *skipped, char *err, size_t errlen)
{
    char key[QUERY_KEYLEN], end[ITEM_ID_STRLEN] = "+";
    json_t *out = json_array();
    struct query_fold fold = {NULL, 16};
    long scanned = 0;
    int more = 1;
    *skipped = 0;
    rkeys_name(key, sizeof(key), prefix, RKEYS_STREAM, NULL);
    while (fold.cap < 2 * (size_t)f->scan_max)
        fold.cap *= 2;
    fold.slot = calloc(fold.cap, sizeof(*fold.slot));
    if (out == NULL || fold.slot == NULL) {
        json_decref(out);
        free(fold.slot);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (more && (long)json_array_size(out) < f->limit && scanned < f->scan_max) {
        /* Unfiltered, one page of exactly what is missing (folded versions
         * make it short); filtered, pages of QUERY_PAGE until enough match
         * or scan_max entries were seen. */
        long count = (f->topic || f->lang) ? QUERY_PAGE : f->limit - (long)json_array_size(out);
        if (count > f->scan_max - scanned)
            count = f->scan_max - scanned;
        if (query_page(c, key, end, count, f, &fold, out, skipped, &more, err, errlen) != 0) {
            json_decref(out);
            free(fold.slot);
            return NULL;
        }
        scanned += count;
    }
    free(fold.slot);
    return out;
}

/* ------------------------------------------------------------------------
 * Status
 * ---------------------------------------------------------------------- */

/* Runs a command whose answer must be an integer, or an array whose
 * element `index` is one (PUBSUB NUMSUB). */
static int query_integer(redisContext *c, redisReply *r, size_t index, long long *out, char *err,
                         size_t errlen)
{
    int rc = -1;
    if (query_reply_failed(c, r, err, errlen) == 0) {
        const redisReply *v =
            r->type == REDIS_REPLY_ARRAY && index < r->elements ? r->element[index] : r;
        if (v->type == REDIS_REPLY_INTEGER) {
            *out = v->integer;
            rc = 0;
        } else {
            snprintf(err, errlen, "unexpected reply (type %d)", v->type);
        }
    }
    freeReplyObject(r);
    return rc;
}

/* The newest entry's id and published_at; both "" for an empty stream. */
static int query_last(redisContext *c, const char *key, struct query_status *out, char *err,
                      size_t errlen)
{
    redisReply *r = redisCommand(c, "XREVRANGE %s + - COUNT 1", key);
    int rc = 0;
    if (query_reply_failed(c, r, err, errlen) || r->type != REDIS_REPLY_ARRAY) {
        if (r && r->type != REDIS_REPLY_ERROR)
            snprintf(err, errlen, "unexpected reply to XREVRANGE");
        rc = -1;
    } else if (r->elements > 0) {
        json_t *item = NULL;
        char ierr[256];
        if (query_entry(r->element[0], out->last_id, &item, ierr, sizeof(ierr)) == QUERY_OK) {
            const char *at = json_string_value(json_object_get(item, "published_at"));
            snprintf(out->last_published_at, sizeof(out->last_published_at), "%s", at ? at : "");
        }
        json_decref(item);
    }
    freeReplyObject(r);
    return rc;
}

int query_status(redisContext *c, const char *prefix, struct query_status *out, char *err,
                 size_t errlen)
{
    char stream[QUERY_KEYLEN], live[QUERY_KEYLEN];
    memset(out, 0, sizeof(*out));
    rkeys_name(stream, sizeof(stream), prefix, RKEYS_STREAM, NULL);
    rkeys_name(live, sizeof(live), prefix, RKEYS_LIVE, NULL);
    if (query_integer(c, redisCommand(c, "PUBSUB NUMSUB %s", live), 1, &out->nodes, err, errlen) !=
            0 ||
        query_integer(c, redisCommand(c, "XLEN %s", stream), 0, &out->length, err, errlen) != 0)
        return -1;
    return query_last(c, stream, out, err, errlen);
}
