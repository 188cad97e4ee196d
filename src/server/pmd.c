/*
 * pmd — see pmd.h.
 */
#include "pmd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * The offer (RFC 7692, section 5 and 7; RFC 6455, section 9.1)
 * ---------------------------------------------------------------------- */

struct pmd_scan {
    const char *p, *end;
};

static void pmd_skip_ws(struct pmd_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
        s->p++;
}

static int pmd_is_tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A token, or a quoted string (quotes removed) when `quoted_ok`; its
 * length, 0 when there is none. */
static size_t pmd_token(struct pmd_scan *s, const char **start, int quoted_ok)
{
    pmd_skip_ws(s);
    if (quoted_ok && s->p < s->end && *s->p == '"') {
        const char *q = memchr(s->p + 1, '"', (size_t)(s->end - s->p - 1));
        if (q == NULL || q == s->p + 1)
            return 0;
        *start = s->p + 1;
        s->p = q + 1;
        return (size_t)(q - *start);
    }
    *start = s->p;
    while (s->p < s->end && pmd_is_tchar(*s->p))
        s->p++;
    return (size_t)(s->p - *start);
}

static int pmd_is(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(s, word, len) == 0;
}

/* client_max_window_bits' value: 8-15, no leading zero. */
static int pmd_window_bits_ok(const char *v, size_t len)
{
    if (len == 1)
        return v[0] >= '8' && v[0] <= '9';
    return len == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5';
}

/* One parameter of the permessage-deflate offer: 0 when acceptable (its
 * bit is added to *seen), -1 when it is unknown, repeated or invalid. */
static int pmd_param(const char *name, size_t nlen, const char *value, size_t vlen, unsigned *seen)
{
    static const char *const known[] = {"server_no_context_takeover", "client_no_context_takeover",
                                        "client_max_window_bits"};
    for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (!pmd_is(name, nlen, known[i]))
            continue;
        if (*seen & (1u << i))
            return -1;
        *seen |= 1u << i;
        if (i < 2)
            return value ? -1 : 0;
        return value == NULL || pmd_window_bits_ok(value, vlen) ? 0 : -1;
    }
    return -1; /* server_max_window_bits, or anything else */
}

/* Reads one extension (name and parameters) and the comma after it, and
 * says whether it is permessage-deflate (*is_pmd). Returns 1 when its
 * parameters are acceptable, 0 when not, -1 for a malformed value. */
static int pmd_extension(struct pmd_scan *s, int *is_pmd)
{
    const char *name, *pname, *value;
    size_t nlen = pmd_token(s, &name, 0), plen, vlen;
    unsigned seen = 0;
    int ok = 1;
    if (nlen == 0)
        return -1;
    pmd_skip_ws(s);
    while (s->p < s->end && *s->p == ';') {
        s->p++;
        if ((plen = pmd_token(s, &pname, 0)) == 0)
            return -1;
        pmd_skip_ws(s);
        value = NULL;
        vlen = 0;
        if (s->p < s->end && *s->p == '=') {
            s->p++;
            if ((vlen = pmd_token(s, &value, 1)) == 0)
                return -1;
            pmd_skip_ws(s);
        }
        if (pmd_param(pname, plen, value, vlen, &seen))
            ok = 0;
    }
    if (s->p < s->end && *s->p++ != ',')
        return -1;
    *is_pmd = pmd_is(name, nlen, PMD_NAME);
    return ok;
}

int pmd_offer_acceptable(const char *value, size_t len)
{
    struct pmd_scan s = {value, value + len};
    int offers = 0, first = 0;
    for (;;) {
        pmd_skip_ws(&s);
        if (s.p == s.end)
            return offers == 1 && first;
        if (*s.p == ',') { /* an empty list element */
            s.p++;
            continue;
        }
        int is_pmd = 0, rc = pmd_extension(&s, &is_pmd);
        if (rc < 0)
            return 0;
        if (is_pmd && offers++ == 0)
            first = rc;
    }
}

/* ------------------------------------------------------------------------
 * Server frames: compressed once per message
 * ---------------------------------------------------------------------- */

/* The payload of a whole, unmasked, final text frame without RSV bits. */
static const unsigned char *pmd_payload(const unsigned char *f, size_t flen, size_t *len)
{
    size_t h = 2, n;
    if (flen < 2 || f[0] != 0x81 || (f[1] & 0x80))
        return NULL;
    n = f[1] & 0x7f;
    if (n == 126) {
        h = 4;
        if (flen < h)
            return NULL;
        n = (size_t)f[2] << 8 | f[3];
    } else if (n == 127) {
        h = 10;
        if (flen < h)
            return NULL;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | f[2 + i];
    }
    if (flen - h != n)
        return NULL;
    *len = n;
    return f + h;
}

/* The frame header for `len` compressed bytes (FIN, RSV1, text); its size. */
static size_t pmd_header(unsigned char *h, size_t len)
{
    h[0] = 0xC1;
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

static int pmd_deflater_ready(struct pmd_deflater *d)
{
    if (d->ready)
        return deflateReset(&d->zs) == Z_OK ? 0 : -1;
    memset(&d->zs, 0, sizeof(d->zs));
    if (deflateInit2(&d->zs, Z_BEST_COMPRESSION, Z_DEFLATED, -PMD_WINDOW_BITS, PMD_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    d->ready = 1;
    return 0;
}

#define PMD_HEADER_MAX 10
static const unsigned char pmd_tail[4] = {0x00, 0x00, 0xff, 0xff};

unsigned char *pmd_frame(struct pmd_deflater *d, const unsigned char *frame, size_t frame_len,
                         size_t *len)
{
    size_t plen;
    const unsigned char *payload = pmd_payload(frame, frame_len, &plen);
    if (payload == NULL || plen == 0 || plen > UINT32_MAX || pmd_deflater_ready(d))
        return NULL;
    /* deflateBound covers one Z_FINISH; a sync flush adds its empty block. */
    size_t cap = deflateBound(&d->zs, (uLong)plen) + 16;
    unsigned char *buf = malloc(PMD_HEADER_MAX + cap);
    if (buf == NULL)
        return NULL;
    d->zs.next_in = (unsigned char *)payload;
    d->zs.avail_in = (uInt)plen;
    d->zs.next_out = buf + PMD_HEADER_MAX;
    d->zs.avail_out = (uInt)cap;
    int rc = deflate(&d->zs, Z_SYNC_FLUSH);
    size_t zlen = cap - d->zs.avail_out;
    if (rc != Z_OK || d->zs.avail_in != 0 || d->zs.avail_out == 0 || zlen < sizeof(pmd_tail) ||
        memcmp(buf + PMD_HEADER_MAX + zlen - sizeof(pmd_tail), pmd_tail, sizeof(pmd_tail)) != 0) {
        free(buf);
        return NULL;
    }
    zlen -= sizeof(pmd_tail);
    unsigned char h[PMD_HEADER_MAX];
    size_t hlen = pmd_header(h, zlen);
    memmove(buf + hlen, buf + PMD_HEADER_MAX, zlen);
    memcpy(buf, h, hlen);
    *len = hlen + zlen;
    return buf;
}

void pmd_deflater_free(struct pmd_deflater *d)
{
    if (d->ready)
        deflateEnd(&d->zs);
    d->ready = 0;
}

/* ------------------------------------------------------------------------
 * Client messages: one inflater, reset per message
 * ---------------------------------------------------------------------- */

static int pmd_inflater_ready(struct pmd_inflater *f, size_t cap)
{
    if (f->out == NULL || f->cap != cap) {
        /* cap + 1 bytes of output tell a bomb from a message of cap bytes */
        char *out = realloc(f->out, cap + 2);
        if (out == NULL)
            return -1;
        f->out = out;
        f->cap = cap;
    }
    if (f->ready)
        return inflateReset(&f->zs) == Z_OK ? 0 : -1;
    memset(&f->zs, 0, sizeof(f->zs));
    if (inflateInit2(&f->zs, -15) != Z_OK)
        return -1;
    f->ready = 1;
    return 0;
}

int pmd_inflate(struct pmd_inflater *f, const void *in, size_t len, size_t cap, const char **out,
                size_t *out_len)
{
    int tail_fed = 0;
    if (len > UINT32_MAX || cap >= UINT32_MAX || pmd_inflater_ready(f, cap))
        return -1;
    f->zs.next_in = (unsigned char *)in;
    f->zs.avail_in = (uInt)len;
    f->zs.next_out = (unsigned char *)f->out;
    f->zs.avail_out = (uInt)(cap + 1);
    for (;;) {
        int rc = inflate(&f->zs, Z_SYNC_FLUSH);
        if (rc == Z_MEM_ERROR)
            return -1;
        if (rc == Z_STREAM_END)
            break; /* the client marked its last block final */
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return PMD_CORRUPT;
        if (f->zs.avail_out == 0)
            return PMD_TOO_BIG;
        if (f->zs.avail_in > 0) {
            if (rc == Z_BUF_ERROR)
                return PMD_CORRUPT; /* no progress with input and room */
            continue;
        }
        if (tail_fed)
            break;
        f->zs.next_in = (unsigned char *)pmd_tail;
        f->zs.avail_in = sizeof(pmd_tail);
        tail_fed = 1;
    }
    *out_len = cap + 1 - f->zs.avail_out;
    if (*out_len > cap)
        return PMD_TOO_BIG;
    f->out[*out_len] = '\0';
    *out = f->out;
    return 0;
}

void pmd_inflater_free(struct pmd_inflater *f)
{
    if (f->ready)
        inflateEnd(&f->zs);
    free(f->out);
    memset(f, 0, sizeof(*f));
}
