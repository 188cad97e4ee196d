/*
 * reply — whole HTTP answers on lws: status, headers (cache, ETag,
 * encoding, CORS for allowed browser origins, nosniff), and a body sent
 * on the next writeable callback, after which the transaction ends (the
 * connection stays for keep-alive).
 *
 * Which headers an answer carries is decided by reply_headers, apart from
 * lws, so it is unit-tested; reply_send writes them.
 * Runs on the loop's thread, inside an lws callback for wsi.
 */
#ifndef ALERTD_REPLY_H
#define ALERTD_REPLY_H

#include "conn.h"
#include "node.h"

#include <libwebsockets.h>
#include <stddef.h>

#define REPLY_TEXT "text/plain; charset=utf-8"
#define REPLY_JSON "application/json"

/* A whole answer. The body is copied; the strings only need to live
 * through the call. */
struct reply {
    unsigned status;
    const char *ctype;
    const void *body;
    size_t len;
    const char *cache;    /* Cache-Control; NULL: no-store */
    const char *etag;     /* NULL: none */
    const char *encoding; /* Content-Encoding, e.g. "gzip"; NULL: none */
    int vary_encoding;    /* the body depends on Accept-Encoding */
};

struct reply_header {
    const char *name; /* lowercase, with its ':' as lws wants it */
    const char *value;
};
#define REPLY_MAX_HEADERS 7

/* The headers r carries besides status, type and length; `cors_origin` is
 * the request's Origin when it is allowed (NULL: none or not allowed).
 * Returns how many it wrote into out. */
int reply_headers(const struct reply *r, const char *cors_origin,
                  struct reply_header out[REPLY_MAX_HEADERS]);

/* The request's Origin into buf when a browser on an allowed origin asks
 * (the CORS answer names it); NULL otherwise. */
const char *reply_cors_origin(const struct node *n, struct lws *wsi, char *buf, size_t len);

/* Starts the answer: headers now, the body on the next writeable
 * callback (reply_writeable). 0, or -1 to drop the connection. */
int reply_send(struct node *n, struct conn *c, struct lws *wsi, const struct reply *r);
/* A plain-text answer. */
int reply_text(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *text);
/* A JSON error answer: {"error":code,"message":message}. */
int reply_error(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *code,
                const char *message);

/* Adds CORS headers, the way reply_send does, to headers a streaming
 * endpoint writes itself (SSE). 0, or -1 when they do not fit. */
int reply_add_cors(const struct node *n, struct lws *wsi, unsigned char **p, unsigned char *end);

/* LWS_CALLBACK_HTTP_WRITEABLE for a whole answer: the body, then the end
 * of the transaction. */
int reply_writeable(struct conn *c);
/* Frees an answer not yet written. */
void reply_release(struct conn *c);

#endif
