/*
 * conn — a client connection, whatever its transport: the per-connection
 * state lws allocates for every connection on the alertd protocol, and the
 * life every client shares: admission (admit.h applied, counted), its
 * place on the hub (attach, replay, gap), the close timer, and the loop's
 * clock.
 *
 * struct conn is kept small on purpose: an idle WebSocket client costs
 * this struct plus lws's and OpenSSL's own state, nothing more. The filter
 * and any receive, error or body buffers exist only while needed; the
 * sweep finds it through the node's wheel (two pointers here), not by
 * scanning every client; lws
 * frees the struct, and what it points to is freed on close by the module
 * that allocated it (conn_release, ws_release, reply_release).
 * Runs on the loop's thread.
 */
#ifndef ALERTD_CONN_H
#define ALERTD_CONN_H

#include "acks.h"
#include "admit.h"
#include "hub.h"
#include "node.h"
#include "wheel.h"

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

enum conn_kind { CONN_NEW, CONN_HTTP, CONN_WS, CONN_SSE };

/* Control frames (or SSE events) owed to a client, sent before alerts. */
#define CONN_OWE_HELLO 0x01
#define CONN_OWE_ERROR 0x02
#define CONN_OWE_PING  0x04 /* SSE: a heartbeat comment */

struct conn {
    struct hub_client hc; /* first: the hub hands this pointer back */
    struct lws *wsi;
    struct hub_filter *filter;            /* malloc'd when the client filters; NULL: all */
    struct conn *flush_prev, *flush_next; /* in one of the node's flush lanes (wsfan.c) */
    struct wheel_entry due;               /* in the node's wheel: its next look (conn_due) */
    char *rx;                             /* a fragmented client frame being assembled */
    char *error;                          /* the JSON error frame owed (malloc'd) */
    char *body;                           /* HTTP: the answer, after LWS_PRE bytes (malloc'd) */
    size_t rx_len, body_len;
    uint16_t close_code; /* close with this code at the next write */
    uint8_t kind;
    uint8_t owe;          /* CONN_OWE_* */
    uint8_t pongs;        /* pong frames owed */
    uint8_t abuse;        /* bad frames received so far */
    uint8_t counted;      /* included in node->connections */
    uint8_t close_sent;   /* our close frame is out: awaiting the client's */
    uint8_t flush_queued; /* in a flush lane: 1 ordinary, 2 urgent (wsfan.c) */
    uint8_t deflate;      /* permessage-deflate negotiated (wsdeflate.c) */
    uint8_t rx_deflated;  /* the message being received is compressed (ws.c) */
    uint8_t close_after;  /* reply: the connection closes once the answer is out */
    uint8_t variant;      /* the hub's encoding it is sent (hub_variant_acquire) */
    uint16_t heartbeat;   /* seconds: its heartbeat, as negotiated (admit.h) */
    uint32_t last_rx;     /* loop second the client last sent anything (WebSocket) */
    uint32_t last_ping;   /* loop second of our last ping or heartbeat comment */
    uint32_t grants;      /* restricted topics its token opens (grant.h) */
    int64_t token_exp;    /* wall-clock second its token expires; 0: no token */
    /* ws.c: the frames and replays it asked for, as pace.h words */
    uint64_t frame_tat, replay_tat;
    struct acks_window acks; /* receipts.c: the alerts it acknowledged */
};

/* Reads what admission needs from the request (Origin, query and, for
 * SSE, Last-Event-ID) and decides (admit.h). A refusal for want of room
 * or for a malformed query is counted in the metrics; an admitted client is counted in the node's
 * connections and takes the token's grants. The caller attaches it (conn_attach) with a->filter, or
 * answers the refusal in its transport's words. */
void conn_admit(struct node *n, struct conn *c, struct lws *wsi, int sse, struct admission *a);

/* Puts a client on the hub with `filter` (now owned by the connection;
 * the previous one is freed) from `since` if given (the hub decides between
 * a replay, awaiting since, and a gap), and asks for a write if anything is
 * owed or waiting. */
void conn_attach(struct node *n, struct conn *c, struct hub_filter *filter,
                 const struct item_id *since);

/* The client's hello frame (its heartbeat, and its fields when it is sent
 * compact items) into out: its length, or -1 when it does not fit. */
int conn_hello_frame(const struct node *n, const struct conn *c, char *out, size_t len);

/* The gap frame the hub owes the client (hub_next gave HUB_GAPPED), into
 * out: its length, or -1 when it does not fit. */
int conn_gap_frame(const struct node *n, const struct conn *c, char *out, size_t len);

/* The shed frame the hub owes the client (hub_next gave HUB_SHED), into
 * out: its length, or -1 when it does not fit. */
int conn_shed_frame(const struct node *n, const struct conn *c, char *out, size_t len);

/* Takes the client off the hub, frees its filter and stops counting it.
 * The transport frees its own buffers (ws_release, reply_release). */
void conn_release(struct node *n, struct conn *c);

/* Files the client in the node's wheel for a look at loop second `due`,
 * or when its token expires if sooner (sweep.c visits it then);
 * conn_release takes it off. */
void conn_due(struct node *n, struct conn *c, uint32_t due);
/* The client a wheel entry belongs to. */
struct conn *conn_of_due(struct wheel_entry *e);

/* Closes a connection after `secs` (0: at once, without a close frame);
 * safe outside lws callbacks. */
void conn_close_in(struct lws *wsi, int secs);

/* Seconds of the node's loop clock (heartbeat bookkeeping). */
uint32_t conn_now_s(const struct node *n);

#endif
