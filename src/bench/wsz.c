/*
 * wsz — see wsz.h.
 */
#include "wsz.h"

#include <stdlib.h>
#include <string.h>

#define WSZ_WINDOW_BITS 15 /* the largest: reads whatever window the server used */

int wsz_init(struct wsz *z, size_t cap)
{
    memset(z, 0, sizeof(*z));
    if ((z->out = malloc(cap + 1)) == NULL)
        return -1;
    z->cap = cap;
    if (inflateInit2(&z->zs, -WSZ_WINDOW_BITS) != Z_OK) {
        free(z->out);
        z->out = NULL;
        return -1;
    }
    z->ready = 1;
    return 0;
}

void wsz_free(struct wsz *z)
{
    if (z->ready)
        inflateEnd(&z->zs);
    free(z->out);
    memset(z, 0, sizeof(*z));
}

/* Feeds in[0..len) into the stream; Z_OK, Z_STREAM_END (a final block
 * ended the stream, *rest bytes of `in` after it), Z_BUF_ERROR (no
 * progress possible: the output is full, or the input ended), or an
 * error. */
static int wsz_feed(struct wsz *z, const unsigned char *in, size_t len, size_t *rest)
{
    z->zs.next_in = (unsigned char *)in;
    z->zs.avail_in = (uInt)len;
    while (z->zs.avail_in > 0) {
        if (z->zs.avail_out == 0)
            return Z_BUF_ERROR;
        int rc = inflate(&z->zs, Z_SYNC_FLUSH);
        if (rc == Z_STREAM_END)
            *rest = z->zs.avail_in;
        if (rc != Z_OK)
            return rc;
    }
    return Z_OK;
}

/* A message may end with a final block (RFC 7692, 7.2.3.3): its sender
 * then appended an empty stored block and removed that block's last four
 * bytes, so at most its first byte follows the final block: a non-final
 * stored block's three header bits (zero), then padding. Anything more
 * is data past the end. */
static int wsz_final_ok(const unsigned char *in, size_t in_len, size_t rest)
{
    return rest == 0 || (rest == 1 && (in[in_len - 1] & 0x07) == 0);
}

int wsz_inflate(struct wsz *z, const unsigned char *in, size_t in_len, size_t *len)
{
    static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
    size_t rest = 0;
    if (inflateReset(&z->zs) != Z_OK)
        return WSZ_CORRUPT;
    z->zs.next_out = z->out;
    z->zs.avail_out = (uInt)z->cap + 1; /* one byte more than allowed: a message that
                                           fills it is too big */
    int rc = wsz_feed(z, in, in_len, &rest);
    if (rc == Z_STREAM_END) {
        rc = wsz_final_ok(in, in_len, rest) ? Z_OK : Z_DATA_ERROR;
    } else if (rc == Z_OK) {
        uInt before = z->zs.avail_out;
        rc = wsz_feed(z, tail, sizeof(tail), &rest);
        /* The final block may end in the tail's bytes (an empty stored
         * block's LEN and NLEN), all of them read and nothing written: a
         * block cut short would take them as data. */
        if (rc == Z_STREAM_END)
            rc = rest == 0 && z->zs.avail_out == before ? Z_OK : Z_DATA_ERROR;
        else if (rc == Z_OK && (z->zs.data_type & 64))
            rc = Z_DATA_ERROR; /* still in the final block: it was cut short */
    }
    if (z->zs.avail_out == 0)
        return WSZ_TOO_BIG;
    if (rc != Z_OK)
        return WSZ_CORRUPT; /* corrupt, or a distance back into an earlier message */
    *len = z->cap + 1 - z->zs.avail_out;
    return 0;
}
