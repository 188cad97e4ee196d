/*
 * test_pmd — permessage-deflate's pure parts (pmd.h): the offers accepted
 * and declined, the compressed copy of a frame read back by a fresh
 * inflater (as a client with no context would), and the bounded inflating
 * of client messages: the limit exactly, one byte past it, a bomb, corrupt
 * data, a message that needs an earlier one's context.
 */
#include "pmd.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static int offer(const char *value)
{
    return pmd_offer_acceptable(value, strlen(value));
}

static void test_offers_accepted(void)
{
    ASSERT_EQ(offer("permessage-deflate"), 1);
    ASSERT_EQ(offer("permessage-deflate; client_max_window_bits"), 1); /* Chromium */
    ASSERT_EQ(offer("permessage-deflate;client_max_window_bits=8"), 1);
    ASSERT_EQ(offer("permessage-deflate; client_max_window_bits=\"15\""), 1);
    ASSERT_EQ(offer("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
              1);
    ASSERT_EQ(offer("x-webkit-deflate-frame, permessage-deflate"), 1);
    ASSERT_EQ(offer(" , permessage-deflate\t; client_max_window_bits=10 "), 1);
}

static void test_offers_declined(void)
{
    ASSERT_EQ(offer(""), 0);
    ASSERT_EQ(offer("x-webkit-deflate-frame"), 0);
    ASSERT_EQ(offer("permessage-deflate; server_max_window_bits=10"), 0);
    ASSERT_EQ(offer("permessage-deflate; server_max_window_bits=10, permessage-deflate"), 0);
    ASSERT_EQ(offer("permessage-deflate; x-unknown"), 0);
    ASSERT_EQ(offer("permessage-deflate; client_max_window_bits=7"), 0);
    ASSERT_EQ(offer("permessage-deflate; client_max_window_bits=16"), 0);
    ASSERT_EQ(offer("permessage-deflate; client_max_window_bits=09"), 0);
    ASSERT_EQ(offer("permessage-deflate; client_max_window_bits=\"\""), 0);
    ASSERT_EQ(offer("permessage-deflate; server_no_context_takeover=1"), 0);
    ASSERT_EQ(offer("permessage-deflate; client_no_context_takeover; client_no_context_takeover"),
              0);
    ASSERT_EQ(offer("Permessage-Deflate"), 0); /* lws matches the name exactly */
    ASSERT_EQ(offer("permessage-deflate; "), 0);
    ASSERT_EQ(offer("permessage-deflate; client_max_window_bits=\"10"), 0);
    ASSERT_EQ(offer("permessage-deflate junk"), 0);
    /* several offers: lws 4.1 would fail the upgrade on the second */
    ASSERT_EQ(offer("permessage-deflate, permessage-deflate; client_max_window_bits"), 0);
    ASSERT_EQ(offer("permessage-deflate; client_max_window_bits, permessage-deflate"), 0);
}

/* A plain final text frame around `payload` (as the hub encodes it). */
static unsigned char *text_frame(const char *payload, size_t len, size_t *flen)
{
    unsigned char *f = malloc(len + 10);
    size_t h = 2;
    f[0] = 0x81;
    if (len < 126) {
        f[1] = (unsigned char)len;
    } else if (len < 65536) {
        f[1] = 126, f[2] = (unsigned char)(len >> 8), f[3] = (unsigned char)len, h = 4;
    } else {
        f[1] = 127, h = 10;
        for (int i = 0; i < 8; i++)
            f[2 + i] = (unsigned char)((unsigned long long)len >> (56 - 8 * i));
    }
    memcpy(f + h, payload, len);
    *flen = h + len;
    return f;
}

/* Inflates a compressed frame's payload as a client would: a new raw
 * inflater, the 00 00 ff ff tail put back. */
static int client_inflate(const unsigned char *frame, size_t flen, char *out, size_t cap,
                          size_t *out_len)
{
    size_t h = (frame[1] & 0x7f) == 126 ? 4 : (frame[1] & 0x7f) == 127 ? 10 : 2;
    static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -15) != Z_OK)
        return -1;
    zs.next_out = (unsigned char *)out;
    zs.avail_out = (uInt)cap;
    zs.next_in = (unsigned char *)frame + h;
    zs.avail_in = (uInt)(flen - h);
    int rc = inflate(&zs, Z_SYNC_FLUSH);
    zs.next_in = (unsigned char *)tail;
    zs.avail_in = 4;
    if (rc == Z_OK)
        rc = inflate(&zs, Z_SYNC_FLUSH);
    *out_len = cap - zs.avail_out;
    inflateEnd(&zs);
    return rc == Z_OK || rc == Z_BUF_ERROR ? 0 : -1;
}

static void check_roundtrip(struct pmd_deflater *d, size_t len)
{
    char *payload = malloc(len), *back = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        payload[i] = "{\"headline\":\"Quake strikes coast\"}"[i % 35];
    size_t flen, zlen, blen = 0;
    unsigned char *frame = text_frame(payload, len, &flen);
    unsigned char *z = pmd_frame(d, frame, flen, &zlen);
    ASSERT_TRUE(z != NULL);
    ASSERT_EQ(z[0], 0xC1); /* FIN, RSV1, text */
    ASSERT_EQ(z[1] & 0x80, 0);
    ASSERT_TRUE(zlen < flen);
    size_t n = z[1] & 0x7f, h = n == 126 ? 4 : n == 127 ? 10 : 2;
    if (n == 126)
        n = (size_t)z[2] << 8 | z[3];
    ASSERT_EQ(h + n, zlen); /* the header says the length */
    ASSERT_TRUE(zlen < 6 || memcmp(z + zlen - 4, "\0\0\xff\xff", 4) != 0);
    ASSERT_EQ(client_inflate(z, zlen, back, len + 1, &blen), 0);
    ASSERT_EQ(blen, len);
    ASSERT_EQ(memcmp(back, payload, len), 0);
    free(z);
    free(frame);
    free(payload);
    free(back);
}

static void test_frames_compress_once_and_read_back_without_context(void)
{
    struct pmd_deflater d = {0};
    check_roundtrip(&d, 600); /* a typical alert */
    check_roundtrip(&d, 100); /* a 2-byte header after compression */
    check_roundtrip(&d, 20000);
    check_roundtrip(&d, 200000); /* 8-byte length in, 2-byte out */
    pmd_deflater_free(&d);
}

static void test_not_a_plain_text_frame_is_not_compressed(void)
{
    struct pmd_deflater d = {0};
    size_t flen, zlen;
    unsigned char *f = text_frame("{\"type\":\"alert\"}", 16, &flen);
    f[0] = 0xC1; /* already compressed */
    ASSERT_TRUE(pmd_frame(&d, f, flen, &zlen) == NULL);
    f[0] = 0x81;
    ASSERT_TRUE(pmd_frame(&d, f, flen - 1, &zlen) == NULL); /* length mismatch */
    ASSERT_TRUE(pmd_frame(&d, f, 1, &zlen) == NULL);
    free(f);
    pmd_deflater_free(&d);
}

/* Raw DEFLATE of `len` bytes of text, sync-flushed, tail removed. */
static unsigned char *client_deflate(z_stream *zs, const char *text, size_t len, size_t *out_len)
{
    size_t cap = len + 64;
    unsigned char *out = malloc(cap);
    zs->next_in = (unsigned char *)text;
    zs->avail_in = (uInt)len;
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    deflate(zs, Z_SYNC_FLUSH);
    *out_len = cap - zs->avail_out - 4;
    return out;
}

static int inflate_text(struct pmd_inflater *f, const char *text, size_t len, size_t cap,
                        const char **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    size_t zlen;
    unsigned char *z = client_deflate(&zs, text, len, &zlen);
    int rc = pmd_inflate(f, z, zlen, cap, out, out_len);
    free(z);
    deflateEnd(&zs);
    return rc;
}

static void test_inflate_is_bounded_by_the_limit(void)
{
    struct pmd_inflater f = {0};
    char *big = malloc(1 << 20);
    memset(big, ' ', 1 << 20);
    const char *out;
    size_t out_len;
    ASSERT_EQ(inflate_text(&f, "{\"type\":\"ping\"}", 15, 4096, &out, &out_len), 0);
    ASSERT_STR_EQ(out, "{\"type\":\"ping\"}");
    ASSERT_EQ(inflate_text(&f, big, 4096, 4096, &out, &out_len), 0);
    ASSERT_EQ(out_len, 4096);
    ASSERT_EQ(inflate_text(&f, big, 4097, 4096, &out, &out_len), PMD_TOO_BIG);
    /* a bomb: 1 MiB from about a kilobyte stops at the limit */
    ASSERT_EQ(inflate_text(&f, big, 1 << 20, 4096, &out, &out_len), PMD_TOO_BIG);
    /* the inflater is reset: the next message is read whole */
    ASSERT_EQ(inflate_text(&f, "{\"a\":1}", 7, 4096, &out, &out_len), 0);
    ASSERT_EQ(out_len, 7);
    free(big);
    pmd_inflater_free(&f);
}

static void test_inflate_refuses_corrupt_and_context_dependent_data(void)
{
    struct pmd_inflater f = {0};
    const char *out;
    size_t out_len;
    ASSERT_EQ(pmd_inflate(&f, "\xff\xff\xff\xff garbage", 12, 4096, &out, &out_len), PMD_CORRUPT);
    /* a client keeping its context: the second message refers to the first */
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    size_t l1, l2;
    const char *msg = "{\"type\":\"subscribe\",\"topics\":[\"world\"]}";
    unsigned char *m1 = client_deflate(&zs, msg, strlen(msg), &l1);
    unsigned char *m2 = client_deflate(&zs, msg, strlen(msg), &l2);
    ASSERT_EQ(pmd_inflate(&f, m1, l1, 4096, &out, &out_len), 0);
    ASSERT_EQ(out_len, strlen(msg));
    ASSERT_EQ(pmd_inflate(&f, m2, l2, 4096, &out, &out_len), PMD_CORRUPT);
    /* a final block (BFINAL) is fine: the message ends there */
    unsigned char fin[64];
    z_stream zf;
    memset(&zf, 0, sizeof(zf));
    deflateInit2(&zf, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    zf.next_in = (unsigned char *)msg, zf.avail_in = (uInt)strlen(msg);
    zf.next_out = fin, zf.avail_out = sizeof(fin);
    deflate(&zf, Z_FINISH);
    ASSERT_EQ(pmd_inflate(&f, fin, sizeof(fin) - zf.avail_out, 4096, &out, &out_len), 0);
    ASSERT_STR_EQ(out, msg);
    deflateEnd(&zf);
    deflateEnd(&zs);
    free(m1);
    free(m2);
    pmd_inflater_free(&f);
}

TEST_MAIN(TEST_CASE(test_offers_accepted), TEST_CASE(test_offers_declined),
          TEST_CASE(test_frames_compress_once_and_read_back_without_context),
          TEST_CASE(test_not_a_plain_text_frame_is_not_compressed),
          TEST_CASE(test_inflate_is_bounded_by_the_limit),
          TEST_CASE(test_inflate_refuses_corrupt_and_context_dependent_data))
