/*
 * receipts — see receipts.h.
 */
#include "receipts.h"

#include "acks.h"
#include "itemtime.h"
#include "log.h"
#include "metrics.h"
#include "receipt.h"
#include "rkeys.h"
#include "rsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIPTS_FLUSH_MS 1000

/* ------------------------------------------------------------------------
 * Tallies
 * ---------------------------------------------------------------------- */

/* m's tally, made the first time m is counted (once per alert, not per
 * delivery) and listed for the flush; NULL when out of memory (the figure
 * is then not counted). */
static struct receipt_tally *receipts_tally(struct node *n, const struct hub_msg *m)
{
    struct node_receipts *r = &n->receipts;
    struct receipt_tally **slot = hub_tally(&n->hub, m);
    if (*slot)
        return *slot;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct item_id *ids = realloc(r->ids, cap * sizeof(*ids));
        if (ids == NULL)
            return NULL;
        r->ids = ids;
        r->cap = cap;
    }
    if ((*slot = calloc(1, sizeof(**slot))) == NULL)
        return NULL;
    r->ids[r->n++] = m->id;
    return *slot;
}

/* Milliseconds since m was published: its stream id's, Redis' clock. */
static int64_t receipts_age(const struct hub_msg *m, int64_t now_ms)
{
    return now_ms - (int64_t)m->id.ms;
}

void receipts_written(struct node *n, const struct hub_msg *const *batch, size_t nmsgs,
                      size_t replayed)
{
    int64_t now_ms = item_time_now_ms();
    metrics->replayed += replayed;
    /* The node's latency metric leaves replays out (old by design, they
     * would only hide how late live alerts are) and reads the publisher's
     * clock, as it always has. */
    for (size_t i = replayed; i < nmsgs; i++)
        if (batch[i]->published_ms > 0 && now_ms >= batch[i]->published_ms)
            metrics_observe_latency((uint64_t)(now_ms - batch[i]->published_ms) * 1000);
    if (n->cfg->receipts_days == 0)
        return;
    for (size_t i = 0; i < nmsgs; i++) {
        struct receipt_tally *t = receipts_tally(n, batch[i]);
        if (t)
            receipt_count_written(t, receipts_age(batch[i], now_ms));
    }
}

void receipts_written_sse(struct node *n, const struct hub_msg *m)
{
    struct receipt_tally *t;
    if (n->cfg->receipts_days && (t = receipts_tally(n, m)) != NULL)
        receipt_count_written(t, receipts_age(m, item_time_now_ms()));
}

void receipts_ack(struct node *n, struct conn *c, const struct item_id *ids, size_t k)
{
    uint64_t seq;
    if (n->cfg->receipts_days == 0)
        return;
    int64_t now_ms = item_time_now_ms();
    for (size_t i = 0; i < k; i++) {
        const struct hub_msg *m = hub_sent(&n->hub, &c->hc, ids[i], &seq);
        struct receipt_tally *t;
        if (m == NULL || !acks_take(&c->acks, seq) || (t = receipts_tally(n, m)) == NULL) {
            metrics->acks_refused++;
            continue;
        }
        receipt_count_ack(t, receipts_age(m, now_ms));
        metrics->acks++;
    }
}

/* ------------------------------------------------------------------------
 * Flushing
 * ---------------------------------------------------------------------- */

static void receipts_on_reply(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct node *n = priv;
    const redisReply *reply = reply_;
    (void)ac;
    if (reply && reply->type != REDIS_REPLY_ERROR)
        return;
    metrics->receipt_flush_errors++;
    if (reply && !n->receipts.warned) {
        /* Once per worker: an ACL without the receipts' keys says so
         * every second otherwise. */
        n->receipts.warned = 1;
        log_warn("redis refused a receipts write", KV_S("error", reply->str));
    }
}

static int receipts_send(struct node *n, int argc, const char **argv)
{
    return rsub_command(n->rsub, receipts_on_reply, n, argc, argv, NULL);
}

/* The HINCRBYs of a tally's figures into `hash`. */
static void receipts_send_tally(struct node *n, const char *hash, const struct receipt_tally *t)
{
    char num[24], field[RECEIPT_FIELD_MAX];
    if (t->written) {
        snprintf(num, sizeof(num), "%u", t->written);
        receipts_send(n, 4, (const char *[]){"HINCRBY", hash, RECEIPT_FIELD_WRITTEN, num});
    }
    if (t->acks) {
        snprintf(num, sizeof(num), "%u", t->acks);
        receipts_send(n, 4, (const char *[]){"HINCRBY", hash, RECEIPT_FIELD_ACKS, num});
    }
    for (int h = 0; h < 2; h++)
        for (unsigned b = 0; b < RECEIPT_BUCKETS; b++) {
            if (t->hist[h][b] == 0)
                continue;
            receipt_field(field, (enum receipt_hist)h, b);
            snprintf(num, sizeof(num), "%u", t->hist[h][b]);
            receipts_send(n, 4, (const char *[]){"HINCRBY", hash, field, num});
        }
}

/* Adds m's tally into its Redis hash for this node, lists the node, and
 * sets both keys' lifetime: 0 when sent (or lost for want of memory,
 * counted), -1 when Redis is not live. */
static int receipts_flush_one(struct node *n, const struct hub_msg *m,
                              const struct receipt_tally *t)
{
    const char *node = n->cfg->node, *prefix = n->cfg->prefix;
    size_t len = strlen(prefix) + strlen(RKEYS_RCPT) + ITEM_ID_STRLEN + strlen(node) + 2;
    char ttl[24], *set, *hash;
    if (n->rsub == NULL || !rsub_ready(n->rsub))
        return -1;
    if ((set = malloc(2 * len)) != NULL)
        hash = set + len;
    if (set == NULL || rkeys_receipts(set, len, prefix, m->id_str, NULL) ||
        rkeys_receipts(hash, len, prefix, m->id_str, node)) {
        free(set);
        metrics->receipt_flush_errors++;
        return 0;
    }
    snprintf(ttl, sizeof(ttl), "%ld", (long)n->cfg->receipts_days * 86400);
    receipts_send_tally(n, hash, t);
    receipts_send(n, 3, (const char *[]){"SADD", set, node});
    receipts_send(n, 3, (const char *[]){"EXPIRE", set, ttl});
    receipts_send(n, 3, (const char *[]){"EXPIRE", hash, ttl});
    metrics->receipt_flushes++;
    free(set);
    return 0;
}

/* Once a second: every tally with figures goes out and is zeroed; one
 * with nothing new since the last flush is freed. While Redis is not
 * live, the tallies keep what they hold. */
static void receipts_on_timer(uv_timer_t *timer)
{
    struct node *n = timer->data;
    struct node_receipts *r = &n->receipts;
    size_t keep = 0;
    if (n->rsub == NULL || !rsub_ready(n->rsub))
        return;
    for (size_t i = 0; i < r->n; i++) {
        const struct hub_msg *m = hub_find(&n->hub, r->ids[i]);
        struct receipt_tally **slot = m ? hub_tally(&n->hub, m) : NULL;
        if (slot == NULL || *slot == NULL)
            continue; /* left the ring: flushed then */
        if (receipt_tally_empty(*slot)) {
            free(*slot);
            *slot = NULL;
            continue;
        }
        if (receipts_flush_one(n, m, *slot) == 0)
            memset(*slot, 0, sizeof(**slot));
        r->ids[keep++] = r->ids[i];
    }
    r->n = keep;
}

/* The hub is about to drop m (its ring is full): its figures go now. */
static void receipts_evicting(struct hub *hub, struct hub_msg *m)
{
    struct node *n = hub->user;
    if (m->tally && !receipt_tally_empty(m->tally) && receipts_flush_one(n, m, m->tally))
        metrics->receipt_flush_errors++;
}

void receipts_start(struct node *n)
{
    uv_timer_init(n->loop, &n->receipts.timer);
    n->receipts.timer.data = n;
    if (n->cfg->receipts_days == 0)
        return;
    n->hub.evicting = receipts_evicting;
    uv_timer_start(&n->receipts.timer, receipts_on_timer, RECEIPTS_FLUSH_MS, RECEIPTS_FLUSH_MS);
}

void receipts_stop(struct node *n)
{
    uv_handle_t *h = (uv_handle_t *)&n->receipts.timer;
    n->hub.evicting = NULL;
    /* The node starts zeroed: a timer never made is UV_UNKNOWN_HANDLE. */
    if (uv_handle_get_type(h) == UV_TIMER && !uv_is_closing(h))
        uv_close(h, NULL);
    free(n->receipts.ids);
    n->receipts.ids = NULL;
    n->receipts.n = n->receipts.cap = 0;
}
