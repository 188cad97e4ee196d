/*
 * conn — the per-connection state lws allocates for every connection on the
 * alertd protocol (lws frees it; what it points to is freed on close by the
 * module that allocated it). Kept small on purpose: an idle WebSocket
 * client costs this struct plus lws's and OpenSSL's own state, nothing
 * more. The filter and any receive or error buffers exist only while needed.
 */
#ifndef ALERTD_CONN_H
#define ALERTD_CONN_H

#include "hub.h"

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

enum conn_kind { CONN_NEW, CONN_HTTP, CONN_WS, CONN_SSE };

/* Control frames (or SSE events) owed to a client, sent before alerts. */
#define CONN_OWE_HELLO 0x01
#define CONN_OWE_GAP   0x02
#define CONN_OWE_ERROR 0x04
#define CONN_OWE_PING  0x08 /* SSE: a heartbeat comment */

struct conn {
    struct hub_client hc; /* first: the hub hands this pointer back */
    struct lws *wsi;
    struct hub_filter *filter;            /* malloc'd when the client filters; NULL: all */
    struct conn *flush_prev, *flush_next; /* in ws.c's list of clients to write */
    char *rx;                             /* a fragmented client frame being assembled */
    char *error;                          /* the JSON error frame owed (malloc'd) */
    char *body;                           /* HTTP: the response body (malloc'd) */
    size_t rx_len, body_len;
    struct item_id gap_since;
    uint16_t close_code; /* close with this code at the next write */
    uint8_t kind;
    uint8_t owe;          /* CONN_OWE_* */
    uint8_t pongs;        /* pong frames owed */
    uint8_t abuse;        /* bad frames received so far */
    uint8_t counted;      /* included in node->connections */
    uint8_t close_sent;   /* our close frame is out: awaiting the client's */
    uint8_t flush_queued; /* in the list above */
    uint32_t last_rx;     /* loop second the client last sent anything (WebSocket) */
    uint32_t last_ping;   /* loop second of our last ping or heartbeat comment */
    uint32_t grants;      /* restricted topics its token opens (grant.h) */
    int64_t token_exp;    /* wall-clock second its token expires; 0: no token */
};

#endif
