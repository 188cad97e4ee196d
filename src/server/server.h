/*
 * server — the libwebsockets side of a worker: the lws context on the
 * node's libuv loop (TLS settings from tls.c), the one protocol whose
 * callback routes every event: HTTP requests to their endpoint (rest, sse,
 * admin, files), WebSocket events to ws, and the hub's wake and lagging
 * calls to the client's transport. The top of the server's layers: it
 * calls down, nothing calls up into it but worker.c.
 * Runs on the loop's thread.
 */
#ifndef ALERTD_SERVER_H
#define ALERTD_SERVER_H

#include "node.h"

/* Creates the context, and the metrics vhost with --metrics-listen, and
 * sets the hub's callbacks; returns 0 or -1 (logged). */
int server_start(struct node *n);

/* SIGHUP, or a key file changed: loads the certificate and key, the
 * session ticket keys and the token key again for new connections. A file
 * that does not load is refused and what it would replace stays. -1 when
 * something was refused (logged). */
int server_reload(struct node *n);

/* Starts destroying the context; the loop must then run to let its handles
 * close, and server_finish complete the job once uv_run has returned. */
void server_stop(struct node *n);
void server_finish(struct node *n);

#endif
