/*
 * http — alertd's plain HTTP endpoints on the shared port: /healthz,
 * /readyz and /metrics. Each response is built whole, kept on the
 * connection (conn->body, with LWS_PRE headroom) and written in one go when
 * the socket is writable. Runs on the loop's thread.
 */
#ifndef ALERTD_HTTP_H
#define ALERTD_HTTP_H

#include "conn.h"
#include "node.h"

/* LWS_CALLBACK_HTTP: `uri` is the request path. */
int http_request(struct node *n, struct conn *c, struct lws *wsi, const char *uri);
int http_writeable(struct node *n, struct conn *c);
void http_release(struct conn *c);

/* Sends a complete response (used by the WebSocket upgrade check too).
 * Returns 0 when the response is on its way, -1 to drop the connection. */
int http_respond(struct conn *c, struct lws *wsi, unsigned status, const char *ctype,
                 const char *body, size_t len);

#endif
