/*
 * http — alertd's plain HTTP side on the shared port: routing, and the
 * endpoints that answer with one whole response: /healthz, /readyz,
 * /metrics, the embedded static files (web.c), /v1/alerts (rest.c).
 * /v1/sse streams (sse.c). CORS and the Origin allow-list live here too,
 * shared with the WebSocket upgrade. With --metrics-listen, /metrics moves
 * to that port, which answers only /metrics, /healthz and /readyz. Runs on
 * the loop's thread.
 */
#ifndef ALERTD_HTTP_H
#define ALERTD_HTTP_H

#include "conn.h"
#include "node.h"

/* A whole response. The body is copied; the strings only need to live
 * through the call. */
struct http_reply {
    unsigned status;
    const char *ctype;
    const void *body;
    size_t len;
    const char *cache;    /* Cache-Control; NULL: no-store */
    const char *etag;     /* NULL: none */
    const char *encoding; /* Content-Encoding, e.g. "gzip" */
    int vary_encoding;    /* the body depends on Accept-Encoding */
};

/* LWS_CALLBACK_HTTP: `uri` is the request path. Returns 0, or -1 to drop
 * the connection. */
int http_request(struct node *n, struct conn *c, struct lws *wsi, const char *uri);
int http_writeable(struct node *n, struct conn *c);
void http_release(struct conn *c);

int http_send(struct node *n, struct conn *c, struct lws *wsi, const struct http_reply *r);
int http_text(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *text);

/* 1 when the request carries no Origin (not a browser), or an allowed one;
 * the Origin is copied to `origin` (if given) for the CORS answer. */
int http_origin_allowed(const struct node *n, struct lws *wsi, char *origin, size_t len);

/* Adds Access-Control-Allow-Origin (and Vary: Origin) when a browser on an
 * allowed origin asks. */
int http_add_cors(const struct node *n, struct lws *wsi, unsigned char **p, unsigned char *end);

/* 1 when the request header (e.g. If-None-Match) equals / contains `s`. */
int http_header_equals(struct lws *wsi, enum lws_token_indexes h, const char *s);
int http_header_contains(struct lws *wsi, enum lws_token_indexes h, const char *s);

#endif
