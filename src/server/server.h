/*
 * server — the libwebsockets side of a worker: the lws context on the
 * node's libuv loop, TLS settings, the one protocol whose callback routes
 * every event to ws.c or http.c, and the graceful drain on SIGTERM.
 */
#ifndef ALERTD_SERVER_H
#define ALERTD_SERVER_H

#include "conn.h"
#include "node.h"

/* Creates the context and starts listening; returns 0 or -1 (logged). */
int server_start(struct node *n);

/* SIGHUP, or a key file changed: loads the certificate and key, the session
 * ticket keys and the token key (--jwt-secret) again for new connections.
 * A file that does not load is refused and what it would replace stays.
 * -1 when something was refused (logged). */
int server_reload(struct node *n);

/* The key files alone: --tls-ticket-key and --jwt-secret, those that are
 * set; each that does not load is refused (logged) and its keys stay.
 * `announce` logs each reload. -1 when something was refused. */
int server_reload_keys(const struct config *cfg, int announce);

/* Stops accepting, closes WebSocket clients with 1001 and ends SSE
 * streams, spread over `window_ms`, then calls done(n). Clients reconnect
 * elsewhere (or here, after a restart). */
void server_drain(struct node *n, unsigned window_ms, void (*done)(struct node *n));

/* Puts a client (WebSocket or SSE) on the hub with `filter` (now owned by
 * the connection; the previous one is freed) from `since` if given, owes it
 * a gap frame if since is too old, and asks for a write if anything is
 * owed or waiting. */
void server_attach(struct node *n, struct conn *c, struct hub_filter *filter,
                   const struct item_id *since);

/* Closes a connection after `secs` (0: at once, without a close frame);
 * safe outside lws callbacks. */
void server_close_in(struct lws *wsi, int secs);

/* Seconds of the node's loop clock (heartbeat bookkeeping). */
uint32_t server_now_s(const struct node *n);

/* The hub's callbacks for every kind of client (WebSocket, SSE). */
void server_wake(struct hub *hub, struct hub_client *hc);
void server_lagging(struct hub *hub, struct hub_client *hc);

/* Starts destroying the context; the loop must then run to let its handles
 * close, and server_finish complete the job once uv_run has returned. */
void server_stop(struct node *n);
void server_finish(struct node *n);

#endif
