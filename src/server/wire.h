/*
 * wire — the rules a request must meet before any endpoint sees it: the
 * WebSocket handshake (RFC 6455, sections 4.2.1 and 4.4), the methods
 * served, and request bodies (RFC 9110, RFC 9112 section 6).
 *
 * Each check answers what lws 4.1 would otherwise do without a word: it
 * closes the connection on an upgrade whose Connection or
 * Sec-WebSocket-Protocol header it cannot parse (or that is 128 bytes or
 * more), whose key is missing or 128 bytes or more, and whose subprotocol
 * names are not tokens; it takes any Sec-WebSocket-Version as 13 and any
 * text as a key; and it reads a Transfer-Encoding body as the next
 * request. server.c reads the request (request.h), asks here, and answers
 * a refusal with the status, message and header given. Pure: no sockets,
 * no lws.
 */
#ifndef ALERTD_WIRE_H
#define ALERTD_WIRE_H

#include <stddef.h>

/* The methods served everywhere: what a 405 names in Allow. */
#define WIRE_ALLOW "GET, HEAD"
/* The one WebSocket version spoken (RFC 6455). */
#define WIRE_WS_VERSION "13"
/* lws copies Connection and Sec-WebSocket-Protocol into 128 bytes, and a
 * subprotocol name into 64, and closes on anything longer. */
#define WIRE_LIST_MAX 127
#define WIRE_NAME_MAX 63
/* A Content-Length body on an endpoint that takes none is read and
 * dropped (lws does it, keeping the connection) up to this; a longer one
 * is refused (413) and the connection closed. */
#define WIRE_DISCARD_MAX (64 * 1024)

/* A header as read: len is its length, -1 when absent (or empty), -2 when
 * too long to read (s is then not to be read). */
struct wire_text {
    const char *s;
    int len;
};
#define WIRE_ABSENT   (-1)
#define WIRE_TOO_LONG (-2)

/* What the upgrade request says. */
struct wire_handshake {
    int get; /* the method is GET */
    struct wire_text host, connection, version, key, protocols;
};

/* A refusal: status 0 means go on. `header` is one more header the answer
 * carries ("Name: value"), or NULL. `close` asks for the connection to be
 * closed after the answer (a body the request carries is not read). */
struct wire_answer {
    unsigned status;
    const char *header;
    int close;
    char message[160];
};

/* 1 when `key` is the base64 encoding of exactly 16 bytes (RFC 6455
 * 4.2.1, item 5): 22 characters of the base64 alphabet then "==". */
int wire_ws_key_ok(const char *key);

/* 1 when `list` is a comma-separated list of names lws 4.1 parses: at most
 * WIRE_LIST_MAX bytes, each name an RFC 9110 token that starts with a
 * letter and is at most WIRE_NAME_MAX bytes, with no empty item. */
int wire_token_list_ok(const char *list);

/* A WebSocket upgrade: 405 (not a GET, Allow given), 400 (no Host, no
 * "upgrade" in Connection, a malformed key or subprotocol list, naming the
 * header), 426 (a version other than 13, with Sec-WebSocket-Version: 13),
 * or status 0. */
void wire_check_upgrade(const struct wire_handshake *h, struct wire_answer *a);

/* A request on an endpoint that takes no body: 400 for a Content-Length
 * that is not one decimal number, 413 for any Transfer-Encoding (lws 4.1
 * would read the body as the next request) or a Content-Length over
 * WIRE_DISCARD_MAX, both closing the connection; or status 0 (none, or a
 * short body lws reads and drops). */
void wire_check_body(struct wire_text content_length, int transfer_encoding, struct wire_answer *a);

#endif
