/*
 * request — reading an HTTP request (or WebSocket upgrade) through lws:
 * its query arguments, a header's value, its method, and the comma-
 * separated lists some headers carry. The one place that asks lws what a
 * client sent; what it means is decided above (query.h, admit.h).
 * Runs on the loop's thread, inside an lws callback for wsi.
 */
#ifndef ALERTD_REQUEST_H
#define ALERTD_REQUEST_H

#include "query.h"

#include <libwebsockets.h>
#include <stddef.h>

#define REQUEST_ABSENT   (-1)
#define REQUEST_TOO_LONG (-2)

/* An Origin longer than this is not read, and refused. */
#define REQUEST_ORIGIN_MAX 256

/* The request's decoded query arguments into q. */
void request_query(struct lws *wsi, struct query *q);

/* A header's value into out (NUL-terminated): its length, REQUEST_ABSENT
 * (not sent, or empty) or REQUEST_TOO_LONG (longer than out holds). */
int request_header(struct lws *wsi, enum lws_token_indexes h, char *out, size_t outlen);
/* The same for a header lws has no token for; `name` ends with ':'. */
int request_custom_header(struct lws *wsi, const char *name, char *out, size_t outlen);

/* 1 when header h is sent and equals `value` (e.g. If-None-Match). */
int request_header_is(struct lws *wsi, enum lws_token_indexes h, const char *value);

/* 1 for a GET, 2 for a HEAD, 0 for any other method. */
int request_method(struct lws *wsi);

/* The bytes of the request's target and of every header lws knows by
 * name, as lws stored them (what --max-header-bytes bounds; a header lws
 * cut at its limit counts one byte over it). */
size_t request_header_bytes(struct lws *wsi);
/* The limits lws is given per header for a budget of `budget` bytes: one
 * byte over it, so that a header cut there is seen to be too long. */
void request_token_limits(struct lws_token_limits *t, int budget);

/* 1 when the comma-separated list holds `token` exactly (e.g. the
 * subprotocols of Sec-WebSocket-Protocol); spaces around items ignored. */
int request_list_has(const char *list, const char *token);
/* 1 when an Accept-Encoding-like list accepts `coding`: it is there (any
 * case), and not with q=0 (RFC 9110, section 12.5.3). */
int request_list_accepts(const char *list, const char *coding);

#endif
