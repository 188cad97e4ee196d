/*
 * reply — whole HTTP answers on lws: status, headers (cache, ETag,
 * encoding, CORS for allowed browser origins, nosniff, HSTS, Allow), and a
 * body sent on the next writeable callback, after which the transaction
 * ends (the connection stays for keep-alive unless the answer closes it).
 * A HEAD gets the same status and headers, its Content-Length that of the
 * body it is not sent.
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

/* How a refusal ends: an Allow header (a 405; NULL: none), and whether
 * the connection closes once the answer is out (Connection: close). */
struct reply_end {
    const char *allow;
    int close;
};

struct reply_header {
    const char *name; /* lowercase, with its ':' as lws wants it */
    const char *value;
};
#define REPLY_MAX_HEADERS 10

/* The headers r carries besides status, type and length; `cors_origin` is
 * the request's Origin when it is allowed (NULL: none or not allowed),
 * `hsts` the Strict-Transport-Security value (NULL: none), `end` how a
 * refusal ends (NULL: it does not). Returns how many it wrote into out. */
int reply_headers(const struct reply *r, const char *cors_origin, const char *hsts,
                  const struct reply_end *end, struct reply_header out[REPLY_MAX_HEADERS]);

/* The reason phrase of a status this server sends ("" for others). */
const char *reply_reason(unsigned status);

/* Strict-Transport-Security for answers on wsi, into buf: NULL on the
 * metrics port, with --plain (the balancer's TLS is its to declare) or
 * with --hsts-max-age 0. */
const char *reply_hsts(const struct node *n, struct lws *wsi, char *buf, size_t len);

/* The request's Origin into buf when a browser on an allowed origin asks
 * (the CORS answer names it); NULL otherwise. */
const char *reply_cors_origin(const struct node *n, struct lws *wsi, char *buf, size_t len);

/* Starts the answer: headers now, the body on the next writeable
 * callback (reply_writeable). 0, or -1 to drop the connection. */
int reply_send(struct node *n, struct conn *c, struct lws *wsi, const struct reply *r);
/* A plain-text answer. */
int reply_text(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *text);
/* A plain-text refusal that ends as `end` says. */
int reply_refuse(struct node *n, struct conn *c, struct lws *wsi, unsigned status,
                 const struct reply_end *end, const char *text);
/* A JSON error answer: {"error":code,"message":message}. */
int reply_error(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *code,
                const char *message);

/* Adds CORS and HSTS headers, the way reply_send does, to headers a
 * streaming endpoint writes itself (SSE). 0, or -1 when they do not fit. */
int reply_add_shared(const struct node *n, struct lws *wsi, unsigned char **p, unsigned char *end);

/* A refusal before any session exists (a WebSocket upgrade): the whole
 * answer written at once, plain text, with `header` ("Name: value", or
 * NULL) and Connection: close; lws closes the connection once it is out.
 * 0, or -1 when it could not be written. */
int reply_now(const struct node *n, struct lws *wsi, unsigned status, const char *header,
              const char *text);

/* Headers a streaming endpoint wrote itself end the answer to a HEAD: the
 * transaction ends on the next writeable callback, with no body. 0, or -1
 * to drop the connection. */
int reply_headers_only(struct conn *c, struct lws *wsi);

/* LWS_CALLBACK_HTTP_WRITEABLE for a whole answer: the body, then the end
 * of the transaction. */
int reply_writeable(struct conn *c);
/* Frees an answer not yet written. */
void reply_release(struct conn *c);

#endif
