/*
 * ws — the WebSocket side of alertd's wire protocol (proto/PROTOCOL.md):
 * admission at the handshake, the hello / alert / replayed / gap / error /
 * pong frames, client subscribe and ping frames, the limits on client
 * frames and their rates (pace.h), the answer to a client's close,
 * heartbeats and the close codes.
 *
 * Alert frames are written raw (LWS_WRITE_RAW), straight from the hub's
 * one encoding per alert (or its one compressed copy, for a client that
 * negotiated permessage-deflate: wsdeflate.h), and for an idle client
 * outside a writeable callback: see ARCHITECTURE.md ("Rules") for why, and
 * for what that forbids (lws' own permessage-deflate would corrupt every
 * frame). Compressed client messages are inflated here, with the worker's
 * one inflater. Called from server.c's protocol callback and sweep.c, on
 * the loop's thread.
 */
#ifndef ALERTD_WS_H
#define ALERTD_WS_H

#include "conn.h"
#include "node.h"

#define WS_MAX_ABUSE       8  /* bad frames before a 1008 close */
#define WS_CLOSE_WAIT_SECS 3  /* after our close frame, wait this long for the client's */
#define WS_LAG_CLOSE_SECS  10 /* a client closed for lag: its 4001 waits this long to go out */

/* The node's flush lanes (wsfan.h); ws_stop closes them before the loop ends. */
void ws_init(struct node *n);
void ws_stop(struct node *n);

/* LWS_CALLBACK_ESTABLISHED: admission, the hello, the hub. */
int ws_established(struct node *n, struct conn *c, struct lws *wsi);
int ws_receive(struct node *n, struct conn *c, const void *in, size_t len);
int ws_writeable(struct node *n, struct conn *c);
/* LWS_CALLBACK_WS_PEER_INITIATED_CLOSE, with the close frame's payload:
 * 0 lets lws echo a valid close; an invalid one is answered with 1002. */
int ws_peer_closed(struct node *n, struct conn *c, const unsigned char *payload, size_t len);
/* LWS_CALLBACK_RECEIVE_PONG: the client is alive; counted as a frame. */
void ws_pong(struct node *n, struct conn *c);
/* Frees what a WebSocket connection holds besides its hub place. */
void ws_release(struct node *n, struct conn *c);

/* Asks for the connection to close with `code` at its next write. */
void ws_close_with(struct conn *c, uint16_t code);
/* Refuses a token, or a restricted topic it does not open: an error frame
 * with code "forbidden" and `message`, then close 4003. */
void ws_refuse_token(struct conn *c, const char *message);

/* The sweep's look at a client due (sweep.c): a ping to a client quiet for
 * its heartbeat, a close for one silent for two. Returns the loop second
 * of its next look, 0 when it is closing. */
uint32_t ws_heartbeat(struct conn *c, uint32_t now);
/* The hub found the client max_queue alerts behind: close with 4001. */
void ws_lagging(struct conn *c);

#endif
