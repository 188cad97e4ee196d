/*
 * sweep — see sweep.h.
 */
#include "sweep.h"

#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "sse.h"
#include "ws.h"

#include <time.h>

/* One client due for a look: its token's expiry, then its transport's
 * heartbeat, which says when it next needs one (0: closing, never). */
static void sweep_visit(struct wheel_entry *e, void *arg)
{
    struct node *n = arg;
    struct conn *c = conn_of_due(e);
    uint32_t now = n->wheel.now, next;
    int64_t wall = (int64_t)time(NULL);
    metrics->sweep_visits++;
    if (c->token_exp != 0 && wall >= c->token_exp) {
        c->token_exp = 0;
        if (c->kind == CONN_SSE)
            sse_close(c);
        else
            ws_refuse_token(c, "token: expired");
        return;
    }
    next = c->kind == CONN_SSE ? sse_heartbeat(c, now) : ws_heartbeat(c, now);
    if (next != 0)
        conn_due(n, c, next);
}

/* Once a second, the clients due this second (the wheel): each client is
 * looked at about once per heartbeat, not once a second, so the sweep's
 * cost follows the heartbeats due, not the clients connected. */
static void sweep_tick(uv_timer_t *t)
{
    struct node *n = t->data;
    metrics_beat(); /* the loop turns: the supervisor's watchdog (service.h) */
    wheel_advance(&n->wheel, conn_now_s(n), sweep_visit, n);
}

int sweep_start(struct node *n)
{
    /* The longest wait filed exactly: a silent client's close, two of the
     * longest heartbeats; anything later is filed again when it comes. */
    uint32_t span = 2 * (uint32_t)n->cfg->heartbeat_max + 2;
    uv_timer_init(n->loop, &n->sweep_timer);
    n->sweep_timer.data = n;
    if (wheel_init(&n->wheel, span, conn_now_s(n)))
        return -1;
    uv_timer_start(&n->sweep_timer, sweep_tick, SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS);
    return 0;
}

static void sweep_drain_closed(uv_handle_t *h)
{
    struct node *n = h->data;
    n->drain.done(n);
}

static void sweep_drain_tick(uv_timer_t *t)
{
    struct node *n = t->data;
    for (size_t i = 0; i < n->drain.batch && n->hub.clients; i++) {
        struct conn *c = (struct conn *)n->hub.clients;
        hub_detach(&n->hub, &c->hc);
        if (c->kind == CONN_SSE)
            sse_close(c);
        else
            ws_close_with(c, 1001);
    }
    /* Done when every client is gone, or a second after the window. */
    if (n->connections == 0 || uv_now(n->loop) > n->drain.deadline) {
        n->drain.running = 0;
        uv_close((uv_handle_t *)t, sweep_drain_closed);
    }
}

void sweep_drain(struct node *n, unsigned window_ms, void (*done)(struct node *n))
{
    struct node_drain *d = &n->drain;
    size_t ticks = window_ms / SWEEP_DRAIN_TICK_MS + 1;
    if (n->draining)
        return;
    n->draining = 1;
    listener_pause(&n->listener); /* new connections go to other nodes meanwhile */
    d->batch = (n->hub.nclients + ticks - 1) / ticks;
    if (d->batch == 0)
        d->batch = 1;
    d->deadline = uv_now(n->loop) + window_ms + 1000;
    d->done = done;
    log_info("draining", KV_I("clients", n->connections), KV_I("window_ms", window_ms));
    uv_timer_init(n->loop, &d->timer);
    d->timer.data = n;
    uv_timer_start(&d->timer, sweep_drain_tick, 0, SWEEP_DRAIN_TICK_MS);
    d->running = 1;
}

void sweep_stop(struct node *n)
{
    if (n->drain.running) {
        n->drain.running = 0;
        uv_close((uv_handle_t *)&n->drain.timer, NULL);
    }
    if (!uv_is_closing((uv_handle_t *)&n->sweep_timer))
        uv_close((uv_handle_t *)&n->sweep_timer, NULL);
}

void sweep_free(struct node *n)
{
    wheel_free(&n->wheel);
}
