/*
 * wsz — inflating the messages a server compressed with permessage-deflate
 * (RFC 7692), for a client that negotiated no context takeover either way
 * (WSP_PMD_OFFER): every message is a raw DEFLATE stream of its own, so one
 * zlib inflater per worker process, reset per message, reads every
 * connection's messages, and a connection holds nothing for compression.
 *
 * The output goes into the inflater's own buffer, at most `cap` bytes (the
 * longest message a client accepts): a message that would inflate further
 * is refused there, not inflated whole first.
 */
#ifndef BENCH_WSZ_H
#define BENCH_WSZ_H

#include <stddef.h>
#include <zlib.h>

struct wsz {
    z_stream zs;
    unsigned char *out; /* cap + 1 bytes */
    size_t cap;
    int ready;
};

/* Makes the inflater and its cap-byte buffer; 0, or -1 out of memory. */
int wsz_init(struct wsz *z, size_t cap);
void wsz_free(struct wsz *z);

#define WSZ_TOO_BIG 1 /* inflates past cap */
#define WSZ_CORRUPT 2 /* not DEFLATE data, or it refers to an earlier message */

/* Inflates one message's payload (its frames joined, the 00 00 ff ff tail
 * removed as RFC 7692 says; it may end with a final block, 7.2.3.3) into
 * z->out: 0 with *len its length, or WSZ_TOO_BIG, WSZ_CORRUPT (also for
 * data past a final block). */
int wsz_inflate(struct wsz *z, const unsigned char *in, size_t in_len, size_t *len);

#endif
