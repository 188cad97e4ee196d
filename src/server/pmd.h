/*
 * pmd — permessage-deflate (RFC 7692) with no state per connection: the
 * pure parts, no sockets and no lws.
 *
 * alertd frames alerts itself, once per node (hub.h), so compression is
 * done the same way: a message's frame is compressed once, with no context
 * carried from one message to the next (server_no_context_takeover), and
 * those bytes go to every reader that negotiated the extension. Clients are
 * told to compress each message on its own too (client_no_context_takeover),
 * so one inflater per worker, reset per message, reads every client's
 * compressed frames, its output bounded by the client frame limit. A
 * connection therefore holds no zlib stream: an idle reader costs the same
 * with compression as without.
 *
 * This module owns the offer a server accepts (pmd_offer_acceptable), the
 * exact response it gives (PMD_RESPONSE), the compressed copy of a frame
 * (pmd_frame) and the inflating of a client message (pmd_inflate). The
 * deflater and inflater are each one zlib stream, made on first use.
 */
#ifndef ALERTD_PMD_H
#define ALERTD_PMD_H

#include <stddef.h>
#include <zlib.h>

#define PMD_NAME "permessage-deflate"
/* The extension as accepted: whatever the client offered, each message is
 * compressed on its own, both ways. */
#define PMD_RESPONSE PMD_NAME "; server_no_context_takeover; client_no_context_takeover"

/* The compressor: window and memory level of the once-per-node copies. */
#define PMD_WINDOW_BITS 15
#define PMD_MEM_LEVEL   8

struct pmd_deflater {
    z_stream zs;
    int ready;
};

struct pmd_inflater {
    z_stream zs;
    int ready;
    char *out; /* room for the largest message allowed, and a NUL */
    size_t cap;
};

/* 1 when a Sec-WebSocket-Extensions value (`len` bytes) offers
 * permessage-deflate once, in a form this server can accept as
 * PMD_RESPONSE: its parameters are known, given once, and valid (RFC 7692,
 * section 7). server_max_window_bits is declined: the server's window is
 * its own. Several offers are declined too: lws 4.1 fails the upgrade when
 * a second one follows an accepted one without parameters. */
int pmd_offer_acceptable(const char *value, size_t len);

/* The compressed copy of a whole, unmasked, final text frame (`frame`,
 * header included): RSV1 set, the payload as raw DEFLATE ending with an
 * empty stored block whose 00 00 ff ff is removed (RFC 7692, 7.2.1), no
 * block marked final. malloc'd, *len its length; NULL when out of memory
 * or the frame is not one (the plain frame is then sent). */
unsigned char *pmd_frame(struct pmd_deflater *d, const unsigned char *frame, size_t frame_len,
                         size_t *len);
void pmd_deflater_free(struct pmd_deflater *d);

/* Inflates one compressed message (its payload, every frame joined) into
 * the inflater's buffer, at most `cap` bytes (the same cap on every call):
 * 0 with *out (NUL-terminated) and *out_len; PMD_TOO_BIG when it inflates
 * past cap (a decompression bomb stops there); PMD_CORRUPT when it is not
 * DEFLATE data, or needs a context from an earlier message; -1 out of
 * memory. */
#define PMD_TOO_BIG 1
#define PMD_CORRUPT 2
int pmd_inflate(struct pmd_inflater *f, const void *in, size_t len, size_t cap, const char **out,
                size_t *out_len);
void pmd_inflater_free(struct pmd_inflater *f);

#endif
