/*
 * wsfan — see wsfan.h.
 */
#include "wsfan.h"

#include "frames.h"
#include "metrics.h"
#include "receipts.h"

#include <string.h>

enum { WSFAN_NONE, WSFAN_ORDINARY, WSFAN_URGENT }; /* conn->flush_queued */

static void wsfan_flush(uv_idle_t *h);

/* ------------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------- */

/* The control frame the hub owes the client (gap, shed or replayed),
 * through lws from the node's write buffer. */
static int wsfan_control(struct node *n, struct conn *c, enum hub_next_kind k)
{
    char text[FRAMES_MAX];
    int len;
    if (k == HUB_GAPPED) {
        len = conn_gap_frame(n, c, text, sizeof(text));
        metrics->gaps++;
    } else if (k == HUB_SHED) {
        len = conn_shed_frame(n, c, text, sizeof(text));
        metrics->shed += c->hc.shed_count;
    } else {
        len = frames_replayed(text, sizeof(text), c->hc.replayed, hub_last_id(&n->hub));
    }
    hub_advance(&n->hub, &c->hc, k);
    if (len < 0)
        return -1;
    memcpy(n->out + LWS_PRE, text, (size_t)len);
    return lws_write(c->wsi, n->out + LWS_PRE, (size_t)len, LWS_WRITE_TEXT) < len ? -1 : 0;
}

/* One write of what the hub has for the client: a control frame, or the
 * alerts waiting (flashes the hub sends ahead first), only flashes when
 * `flash_only`. Frames are stored ready to send (hub.h), so one alert is
 * written straight from the shared message, and several are gathered into
 * one TLS write: a backlog costs less per alert, not more. lws sends them
 * raw; if the socket takes only part, lws keeps the rest and sends it
 * before anything else. 1 written, 0 nothing to write, -1 failed. */
static int wsfan_batch(struct node *n, struct conn *c, int flash_only)
{
    const struct hub_msg *batch[WSFAN_BATCH_FRAMES], *m;
    struct hub_out outs[WSFAN_BATCH_FRAMES];
    size_t nmsgs = 0, bytes = 0, replayed = 0, ahead = 0;
    enum hub_next_kind k = HUB_NONE;

    while (nmsgs < WSFAN_BATCH_FRAMES) {
        k = hub_next(&n->hub, &c->hc, &m);
        if ((k != HUB_MSG && k != HUB_AHEAD) || (flash_only && m->urgency != HUBMSG_FLASH))
            break;
        outs[nmsgs] = k == HUB_AHEAD ? hub_frame_ahead(&n->hub, m, c->variant, c->deflate)
                                     : hub_frame(&n->hub, m, c->variant, c->deflate);
        if (nmsgs > 0 && bytes + outs[nmsgs].len > WSFAN_BATCH_BYTES)
            break;
        replayed += k == HUB_MSG && c->hc.replay_end && c->hc.cursor < c->hc.replay_end;
        ahead += k == HUB_AHEAD;
        batch[nmsgs] = m;
        bytes += outs[nmsgs++].len;
        hub_advance(&n->hub, &c->hc, k);
    }
    if (nmsgs == 0) {
        if (k != HUB_GAPPED && k != HUB_SHED && k != HUB_REPLAYED)
            return 0;
        return wsfan_control(n, c, k) ? -1 : 1;
    }
    const unsigned char *out = outs[0].frame;
    if (nmsgs > 1) {
        size_t at = 0;
        for (size_t i = 0; i < nmsgs; i++) {
            memcpy(n->out + at, outs[i].frame, outs[i].len);
            at += outs[i].len;
        }
        out = n->out;
    }
    if (lws_write(c->wsi, (unsigned char *)out, bytes, LWS_WRITE_RAW) < (int)bytes)
        return -1;
    metrics->deliveries += nmsgs;
    metrics->alert_writes++;
    metrics->ahead += ahead;
    for (size_t i = 0; c->deflate && i < nmsgs; i++)
        metrics->deflate_bytes_saved += outs[i].plain_len - outs[i].len;
    receipts_written(n, batch, nmsgs, replayed);
    return 1;
}

int wsfan_write(struct node *n, struct conn *c)
{
    return wsfan_batch(n, c, 0) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * The lanes
 * ---------------------------------------------------------------------- */

static struct node_lane *wsfan_lane(struct node *n, uint8_t which)
{
    return which == WSFAN_URGENT ? &n->flush.urgent : &n->flush.ordinary;
}

static void wsfan_unlink(struct node *n, struct conn *c)
{
    struct node_lane *l = wsfan_lane(n, c->flush_queued);
    if (c->flush_prev)
        c->flush_prev->flush_next = c->flush_next;
    else
        l->head = c->flush_next;
    if (c->flush_next)
        c->flush_next->flush_prev = c->flush_prev;
    else
        l->tail = c->flush_prev;
    c->flush_prev = c->flush_next = NULL;
    c->flush_queued = WSFAN_NONE;
}

static void wsfan_append(struct node *n, struct conn *c, uint8_t which)
{
    struct node_lane *l = wsfan_lane(n, which);
    c->flush_queued = which;
    c->flush_next = NULL;
    c->flush_prev = l->tail;
    if (l->tail)
        l->tail->flush_next = c;
    else
        l->head = c;
    l->tail = c;
    if (!uv_is_active((uv_handle_t *)&n->flush.idle))
        uv_idle_start(&n->flush.idle, wsfan_flush);
}

/* 1 when the client can be written from here: nothing else is queued on
 * its connection (else its writeable callback sends, in order). */
static int wsfan_direct(struct conn *c)
{
    if (c->owe || c->pongs || c->close_code || lws_partial_buffered(c->wsi)) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    return 1;
}

/* Writes what waits for a client from here: no event-loop round trip
 * (epoll_ctl, wakeup, callback) per delivery. */
static void wsfan_write_now(struct node *n, struct conn *c)
{
    if (!wsfan_direct(c))
        return;
    if (wsfan_batch(n, c, 0) < 0) {
        conn_close_in(c->wsi, 0);
        return;
    }
    if (hub_pending(&n->hub, &c->hc))
        lws_callback_on_writable(c->wsi);
}

/* The urgent lane: its flashes (and a gap or shed frame owed before
 * them), then the ordinary lane for the rest. */
static void wsfan_write_urgent(struct node *n, struct conn *c)
{
    int rc;
    if (!wsfan_direct(c))
        return;
    while ((rc = wsfan_batch(n, c, 1)) > 0 && !lws_partial_buffered(c->wsi))
        ;
    if (rc < 0) {
        conn_close_in(c->wsi, 0);
        return;
    }
    if (!hub_pending(&n->hub, &c->hc))
        return;
    if (lws_partial_buffered(c->wsi))
        lws_callback_on_writable(c->wsi);
    else
        wsfan_append(n, c, WSFAN_ORDINARY);
}

static void wsfan_flush(uv_idle_t *h)
{
    struct node *n = h->data;
    unsigned i = 0;
    for (; i < WSFAN_SLICE && n->flush.urgent.head; i++) {
        struct conn *c = n->flush.urgent.head;
        wsfan_unlink(n, c);
        wsfan_write_urgent(n, c);
    }
    for (; i < WSFAN_SLICE && n->flush.ordinary.head; i++) {
        struct conn *c = n->flush.ordinary.head;
        wsfan_unlink(n, c);
        wsfan_write_now(n, c);
    }
    if (n->flush.ordinary.head == NULL && n->flush.urgent.head == NULL)
        uv_idle_stop(h);
}

void wsfan_init(struct node *n)
{
    uv_idle_init(n->loop, &n->flush.idle);
    n->flush.idle.data = n;
}

void wsfan_stop(struct node *n)
{
    while (n->flush.urgent.head)
        wsfan_unlink(n, n->flush.urgent.head);
    while (n->flush.ordinary.head)
        wsfan_unlink(n, n->flush.ordinary.head);
    uv_close((uv_handle_t *)&n->flush.idle, NULL);
}

void wsfan_wake(struct node *n, struct conn *c)
{
    if (c->flush_queued == WSFAN_NONE)
        wsfan_append(n, c, WSFAN_ORDINARY);
}

void wsfan_urgent(struct node *n, struct conn *c)
{
    if (c->flush_queued == WSFAN_URGENT)
        return;
    if (c->flush_queued)
        wsfan_unlink(n, c);
    wsfan_append(n, c, WSFAN_URGENT);
}

void wsfan_forget(struct node *n, struct conn *c)
{
    if (c->flush_queued)
        wsfan_unlink(n, c);
}
