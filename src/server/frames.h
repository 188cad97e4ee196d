/*
 * frames — what the server says besides the alerts themselves: the text of
 * the hello, gap, shed, replayed, error and pong frames (proto/PROTOCOL.md), the
 * same JSON whether a WebSocket text frame or an SSE `data:` line carries
 * it, and the WebSocket close frame with the reason for each close code.
 *
 * Alert frames are not made here: the hub encodes each alert once, ready
 * to write (hub.h). No sockets, no lws: the fixed-size frames are written
 * into the caller's buffer (their length, or -1 when it does not fit); the
 * node name and an error frame, which a caller keeps, are malloc'd.
 */
#ifndef ALERTD_FRAMES_H
#define ALERTD_FRAMES_H

#include "itemid.h"

#include <stddef.h>
#include <stdint.h>

/* Room for any control frame's text: the longest is a hello with a node
 * name of up to FRAMES_NODE_MAX bytes once quoted and every field name,
 * or an error. */
#define FRAMES_MAX      1024
#define FRAMES_NODE_MAX 512
/* A close frame: 2 header bytes, the code, a reason of at most 123 bytes. */
#define FRAMES_CLOSE_MAX 127

#define FRAMES_PONG "{\"type\":\"pong\"}"

/* The largest frame a client may send (a larger one closes with 1009). */
#define FRAMES_CLIENT_MAX 4096

/* The node name as a JSON string (quotes included), for frames_hello;
 * malloc'd, NULL when out of memory or longer than FRAMES_NODE_MAX. */
char *frames_quote_node(const char *node);

/* {"type":"hello","v":1,"node":<node_json>,"heartbeat":N,"last_id":"…"},
 * with "fields":<fields_json> after last_id when fields_json is not NULL
 * (a client sent compact items: the fields each carries). */
int frames_hello(char *out, size_t len, const char *node_json, int heartbeat, const char *last_id,
                 const char *fields_json);
/* {"type":"gap","since":"…","oldest":"…"}: history after since is gone. */
int frames_gap(char *out, size_t len, struct item_id since, const char *oldest);
/* {"type":"shed","after":"…","through":"…","count":N}: N routine alerts
 * after `after`, up to `through`, were not sent to a client that fell
 * behind (hub.h). */
int frames_shed(char *out, size_t len, struct item_id after, struct item_id through,
                unsigned count);
/* {"type":"replayed","count":N,"last_id":"…"}: the replay after since ended. */
int frames_replayed(char *out, size_t len, unsigned count, const char *last_id);
/* {"type":"error","code":"…","message":"…"}, the message JSON-escaped;
 * malloc'd (a connection may hold one until it can be written). */
char *frames_error(const char *code, const char *message);

/* The reason a close frame gives for `code`: 1001, 1002, 1003, 1007, 1009,
 * 4001, 4029, 4030 and 4031 have their own; every other code is a "policy
 * violation". */
const char *frames_close_reason(uint16_t code);
/* The whole WebSocket close frame (FIN, opcode 8, unmasked) carrying code
 * and its reason into out; returns its length. */
size_t frames_close(unsigned char out[FRAMES_CLOSE_MAX], uint16_t code);

/* Whether the payload of a client's close frame is valid (RFC 6455 5.5.1,
 * 7.4): empty, or a status code a client may send (1000-1003, 1007-1014,
 * 3000-4999) and any reason. A 1-byte payload, 0-999, 1004-1006, 1015,
 * the unassigned 1016-2999 and anything from 5000 are protocol errors. */
int frames_client_close_valid(const unsigned char *payload, size_t len);

#endif
