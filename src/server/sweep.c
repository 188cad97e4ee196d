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

/* Once a second, every client on the hub. O(clients) once a second costs
 * about as much as one alert's fan-out. */
static void sweep_tick(uv_timer_t *t)
{
    struct node *n = t->data;
    uint32_t now = conn_now_s(n);
    int64_t wall = (int64_t)time(NULL);
    metrics_beat(); /* the loop turns: the supervisor's watchdog (service.h) */
    for (struct hub_client *hc = n->hub.clients, *next; hc; hc = next) {
        struct conn *c = (struct conn *)hc;
        next = hc->next; /* a close may detach c */
        if (c->token_exp != 0 && wall >= c->token_exp) {
            c->token_exp = 0;
            if (c->kind == CONN_SSE)
                sse_close(c);
            else
                ws_refuse_token(c, "token: expired");
            continue;
        }
        if (c->kind == CONN_SSE)
            sse_heartbeat(n, c, now);
        else
            ws_heartbeat(n, c, now);
    }
}

void sweep_start(struct node *n)
{
    uv_timer_init(n->loop, &n->sweep_timer);
    n->sweep_timer.data = n;
    uv_timer_start(&n->sweep_timer, sweep_tick, SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS);
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
