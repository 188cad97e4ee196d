/*
 * sweep — what a worker does to its clients on a clock: once a second, to
 * the clients due that second (the node's wheel, wheel.h), heartbeats
 * (WebSocket pings and silent-client closes at each client's negotiated
 * heartbeat, SSE comments and hung-up checks) and closes for expired
 * tokens (4003); and on SIGTERM the
 * drain, which closes every client (1001, or the end of its SSE stream)
 * spread over a window so that they reconnect elsewhere gradually.
 * Runs on the loop's thread; the timers live in the node.
 */
#ifndef ALERTD_SWEEP_H
#define ALERTD_SWEEP_H

#include "node.h"

#define SWEEP_INTERVAL_MS   1000 /* the wheel's second */
#define SWEEP_DRAIN_TICK_MS 50

/* Makes the node's wheel (conn_due files clients in it) and starts the
 * once-a-second sweep, which looks at the clients due. -1 out of memory
 * (the timer is made all the same: sweep_stop closes it). */
int sweep_start(struct node *n);

/* Stops accepting, closes WebSocket clients with 1001 and ends SSE
 * streams, spread over `window_ms`, then calls done(n). Clients reconnect
 * elsewhere (or here, after a restart). */
void sweep_drain(struct node *n, unsigned window_ms, void (*done)(struct node *n));

/* Closes both timers (the drain's, if running, without calling done). */
void sweep_stop(struct node *n);
/* Frees the wheel, once the loop has ended. */
void sweep_free(struct node *n);

#endif
