/*
 * wsp — the client side of the WebSocket protocol (RFC 6455), as little of
 * it as a benchmark client needs, without I/O: the upgrade request and the
 * check of its answer, the header of a frame from the server, and the
 * masked control frames a client sends (pong, close).
 *
 * Hashing and base64 are OpenSSL's. Why alert-bench frames by hand rather
 * than through libwebsockets' client is in bench/README.md ("Client stack").
 */
#ifndef BENCH_WSP_H
#define BENCH_WSP_H

#include <stddef.h>
#include <stdint.h>

#define WSP_KEY_LEN      24   /* Sec-WebSocket-Key: base64 of 16 random bytes */
#define WSP_ACCEPT_LEN   28   /* base64 of a SHA-1 */
#define WSP_REQUEST_MAX  2048 /* upgrade request, whole */
#define WSP_RESPONSE_MAX 8192 /* an upgrade answer longer than this is refused */
#define WSP_CONTROL_MAX  131  /* a masked control frame: 2 + 4 + 125 */

/* What a client that inflates each message on its own offers (--deflate):
 * no context from one message to the next, either way, so that one
 * inflater, reset per message, serves every connection of a worker. */
#define WSP_PMD_OFFER "permessage-deflate; client_no_context_takeover; server_no_context_takeover"

enum wsp_opcode {
    WSP_CONT = 0x0,
    WSP_TEXT = 0x1,
    WSP_BINARY = 0x2,
    WSP_CLOSE = 0x8,
    WSP_PING = 0x9,
    WSP_PONG = 0xA,
};

/* Writes the upgrade request for `path` (with its query) on host:port into
 * out, offering `subprotocol` and `extensions` (Sec-WebSocket-Extensions)
 * unless NULL, and the Sec-WebSocket-Accept the server must answer with
 * into accept. Returns the request's length, or -1 if it does not fit cap. */
int wsp_request(char *out, size_t cap, const char *host, int port, const char *path,
                const char *subprotocol, const char *extensions, char accept[WSP_ACCEPT_LEN + 1]);

/* The Sec-WebSocket-Accept a server answers `key` with (RFC 6455, 4.2.2):
 * base64(SHA-1(key + the protocol's GUID)), NUL-terminated. */
void wsp_accept(const char key[WSP_KEY_LEN], char accept[WSP_ACCEPT_LEN + 1]);

/* Looks at the first n bytes the server sent. Returns the length of the
 * response head (through the empty line) when it is "101" with the right
 * Sec-WebSocket-Accept; 0 when the head is not complete yet; -1 when the
 * upgrade is refused or malformed, with the HTTP status (or 0) in *status. */
int wsp_response(const char *p, size_t n, const char *accept, int *status);

/* What the response head p[0..n) (as wsp_response accepted it) says of
 * permessage-deflate after WSP_PMD_OFFER: 0 declined (no
 * Sec-WebSocket-Extensions), 1 accepted with server_no_context_takeover,
 * -1 anything else (another extension, or permessage-deflate with a
 * context the server keeps: a client that resets per message cannot read
 * that). */
int wsp_response_pmd(const char *p, size_t n);

struct wsp_frame {
    int fin;
    int rsv1; /* a compressed message's first frame (permessage-deflate) */
    int opcode;
    size_t header_len;    /* bytes before the payload */
    uint64_t payload_len; /* bytes of payload */
};

/* Parses a frame header from the server; `pmd`: permessage-deflate was
 * negotiated, so RSV1 may mark the first frame of a data message. Returns
 * 1 (header complete; the payload may not all be there yet), 0 (need more
 * bytes), or -1 (protocol error: masked, a reserved bit not negotiated, or
 * RSV1 on a control or continuation frame, unknown opcode, bad control
 * frame). */
int wsp_parse(const unsigned char *p, size_t n, int pmd, struct wsp_frame *f);

/* Writes a masked control frame (opcode, payload of at most 125 bytes) into
 * out; returns its length. */
size_t wsp_control(unsigned char out[WSP_CONTROL_MAX], int opcode, const void *payload, size_t len);

#endif
