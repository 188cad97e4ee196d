/*
 * rsubhist — rsub's history: loading the stream into the hub at start
 * (XINFO STREAM, whether the node can hold everything; XREVRANGE), catching
 * up page by page after each (re)connection (XRANGE) with the continuity
 * check of its first page, and every item validated on its way to the hub.
 *
 * Part of the rsub module (its prefix, its private header rsubpriv.h), in a
 * file of its own because reading the stream is a concern apart from
 * keeping the links up and live (rsub.c): rsub.c starts a catch-up once
 * subscribed and hands live messages to rsub_deliver; this file reports
 * failures and readiness back through rsub_fail and rsub_set_ready.
 */
#include "rsubpriv.h"

#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#define RSUB_PAGE 1000 /* stream entries per XRANGE during catch-up */

/* Validates one item and hands it to the hub; returns 1 if it was new. */
int rsub_deliver(struct rsub *r, struct item_id id, const char *json, size_t len)
{
    struct item_error err;
    unsigned dropped = 0;
    json_t *item = item_parse(json, len, ITEM_RELAY, &err, &dropped);
    int added = 0;
    if (item == NULL) {
        char ids[ITEM_ID_STRLEN];
        item_id_format(id, ids);
        metrics->alerts_invalid++;
        log_warn("dropped invalid alert", KV_S("id", ids), KV_S("field", err.field),
                 KV_S("rule", err.message));
        return 0;
    }
    metrics->fields_dropped += dropped;
    added = hub_add(r->hub, id, item);
    json_decref(item);
    if (added < 0)
        log_error("out of memory adding alert", KV_S("redis", r->where));
    if (added > 0) {
        metrics->alerts_in++;
        metrics->history = (int64_t)r->hub->count;
    }
    return added > 0;
}

/* A stream entry: [id, [field, value, ...]]. */
static void rsub_entry(struct rsub *r, const redisReply *e)
{
    struct item_id id;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY ||
        item_id_parse(e->element[0]->str, &id))
        return;
    const redisReply *fields = e->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, "item") == 0) {
            rsub_deliver(r, id, v->str, v->len);
            return;
        }
    }
    metrics->alerts_invalid++;
    log_warn("stream entry without an item field", KV_S("id", e->element[0]->str));
}

static void rsub_caught_up(struct rsub *r)
{
    const struct hub_msg *newest = hub_newest(r->hub);
    r->phase = RSUB_LIVE;
    r->live_once = 1;
    r->refusal[0] = '\0';
    rsub_set_ready(r, 1);
    log_info("redis caught up", KV_S("redis", r->where), KV_I("history", r->hub->count),
             KV_S("last_id", newest ? newest->id_str : ""),
             KV_I("after_attempts", r->backoff.attempts));
    backoff_reset(&r->backoff);
}

/* The value of `key` in XINFO STREAM's flat list of fields; NULL if none. */
static const redisReply *rsub_info_field(const redisReply *info, const char *key)
{
    for (size_t i = 0; i + 1 < info->elements; i += 2)
        if (info->element[i]->type == REDIS_REPLY_STRING && strcmp(info->element[i]->str, key) == 0)
            return info->element[i + 1];
    return NULL;
}

/* XINFO STREAM, before the history is loaded at start: whether anything
 * was ever deleted from the stream (trimmed by MAXLEN, or XDEL). Only then
 * can the node hold everything, and replay since=0-0. An older Redis (no
 * max-deleted-entry-id) or an ACL without XINFO leaves it unknown: not. */
static void rsub_on_info(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct rsub *r = ac->data;
    const redisReply *info = reply_, *deleted, *added, *length;
    (void)priv;
    if (r == NULL || info == NULL)
        return;
    r->stream_untrimmed = 0;
    if (info->type == REDIS_REPLY_ERROR) {
        if (strstr(info->str, "no such key")) {
            r->stream_untrimmed = 1; /* no stream yet: nothing was ever in it */
        } else if (!r->xinfo_warned++) {
            log_warn("XINFO STREAM refused: since=0-0 gets a gap (allow +xinfo|stream)",
                     KV_S("redis", r->where), KV_S("detail", info->str));
        }
        return;
    }
    if (info->type != REDIS_REPLY_ARRAY ||
        (deleted = rsub_info_field(info, "max-deleted-entry-id")) == NULL ||
        (added = rsub_info_field(info, "entries-added")) == NULL ||
        (length = rsub_info_field(info, "length")) == NULL)
        return;
    r->stream_untrimmed = deleted->type == REDIS_REPLY_STRING && strcmp(deleted->str, "0-0") == 0 &&
                          added->type == REDIS_REPLY_INTEGER &&
                          length->type == REDIS_REPLY_INTEGER && added->integer == length->integer;
}

static void rsub_on_initial(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct rsub *r = ac->data;
    redisReply *reply = reply_;
    (void)priv;
    if (r == NULL || !rsub_reply_ok(r, reply, "XREVRANGE failed"))
        return;
    if (reply->type != REDIS_REPLY_ARRAY) {
        rsub_fail(r, "XREVRANGE failed", "unexpected reply");
        return;
    }
    /* Complete when the stream lost nothing and all of it fit; said before
     * the alerts arrive, so that clients awaiting 0-0 are decided right. */
    hub_set_complete(r->hub, r->stream_untrimmed && reply->elements < r->history);
    /* Newest first: hand them over oldest first. */
    for (size_t i = reply->elements; i > 0; i--)
        rsub_entry(r, reply->element[i - 1]);
    if (r->live_during_catchup)
        rsub_catchup(r);
    else
        rsub_caught_up(r);
}

static void rsub_on_page(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct rsub *r = ac->data;
    redisReply *reply = reply_;
    (void)priv;
    if (r == NULL || !rsub_reply_ok(r, reply, "XRANGE failed"))
        return;
    if (reply->type != REDIS_REPLY_ARRAY) {
        rsub_fail(r, "XRANGE failed", "unexpected reply");
        return;
    }
    if (!r->continuity_checked) {
        /* The first page starts at the newest alert held: if the stream no
         * longer has it (trimmed while this node was away, or Redis lost
         * its data), alerts this node never got are gone. */
        const struct hub_msg *newest = hub_newest(r->hub);
        struct item_id first;
        r->continuity_checked = 1;
        if (newest && (reply->elements == 0 || reply->element[0]->type != REDIS_REPLY_ARRAY ||
                       reply->element[0]->elements < 1 ||
                       reply->element[0]->element[0]->type != REDIS_REPLY_STRING ||
                       item_id_parse(reply->element[0]->element[0]->str, &first) ||
                       item_id_cmp(first, newest->id) != 0)) {
            log_warn("redis lost alerts this node never received: clients are told (gap)",
                     KV_S("redis", r->where), KV_S("last_id", newest->id_str));
            hub_break(r->hub);
        }
    }
    for (size_t i = 0; i < reply->elements; i++)
        rsub_entry(r, reply->element[i]);
    if (reply->elements == RSUB_PAGE || r->live_during_catchup)
        rsub_catchup(r);
    else
        rsub_caught_up(r);
}

/* One page of the stream after the newest id held (or, with nothing held,
 * the newest `history` entries). */
void rsub_catchup(struct rsub *r)
{
    const struct hub_msg *newest = hub_newest(r->hub);
    r->phase = RSUB_CATCHUP;
    r->live_during_catchup = 0;
    int rc;
    if (newest == NULL) {
        rc = redisAsyncCommand(r->cmd, rsub_on_info, NULL, "XINFO STREAM %s", r->stream_key);
        if (rc == REDIS_OK)
            rc = redisAsyncCommand(r->cmd, rsub_on_initial, NULL, "XREVRANGE %s + - COUNT %d",
                                   r->stream_key, (int)r->history);
    } else {
        /* The first page after a (re)connection includes the newest held:
         * rsub_on_page checks the stream still has it. */
        char start[ITEM_ID_STRLEN + 1];
        snprintf(start, sizeof(start), "%s%s", r->continuity_checked ? "(" : "", newest->id_str);
        rc = redisAsyncCommand(r->cmd, rsub_on_page, NULL, "XRANGE %s %s + COUNT %d", r->stream_key,
                               start, RSUB_PAGE);
    }
    if (rc != REDIS_OK)
        rsub_fail(r, "catch-up failed", "cannot send the command");
}
