/*
 * test_wsz — alert-bench's inflater for permessage-deflate with no context
 * takeover: messages a server deflated each on its own come back whole,
 * one after another through the same inflater; the size cap holds exactly;
 * a message that ends with a final block (BFINAL, RFC 7692 7.2.3.3) is read
 * whole; corrupt data, data past a final block, and a message that leans on
 * an earlier one's context, are refused rather than read wrong.
 */
#include "bench/wsz.h"
#include "test.h"

#include <string.h>
#include <zlib.h>

#define DEFLATE_FAILED ((size_t)-1)

/* What a server sends for `msg`: raw DEFLATE, sync-flushed, without the
 * final 00 00 ff ff (RFC 7692, 7.2.1). With `keep`, the stream `*zs` goes
 * on from the previous message (context takeover). Returns the length, or
 * DEFLATE_FAILED. */
static size_t deflate_msg(z_stream *zs, int keep, const char *msg, unsigned char *out, size_t cap)
{
    if (!keep) {
        memset(zs, 0, sizeof(*zs));
        if (deflateInit2(zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return DEFLATE_FAILED;
    }
    zs->next_in = (unsigned char *)msg;
    zs->avail_in = (uInt)strlen(msg);
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    if (deflate(zs, Z_SYNC_FLUSH) != Z_OK || zs->avail_in != 0)
        return DEFLATE_FAILED;
    size_t n = cap - zs->avail_out;
    if (n < 4 || memcmp(out + n - 4, "\x00\x00\xff\xff", 4) != 0)
        return DEFLATE_FAILED;
    return n - 4;
}

static const char alert[] =
    "{\"type\":\"alert\",\"alert\":{\"id\":\"1767225600123-0\",\"kind\":\"alert\",\"urgency\":"
    "\"flash\",\"headline\":\"alert-bench 7\",\"summary\":\"alert-bench filler text alert-bench "
    "filler text alert-bench filler text\",\"ext\":{\"bench_ns\":1767225600123456789,\"seq\":7}}}";

static void test_messages_one_after_another(void)
{
    struct wsz z;
    z_stream zs;
    unsigned char buf[1024];
    size_t len;
    ASSERT_EQ(wsz_init(&z, 4096), 0);
    for (int i = 0; i < 3; i++) { /* the same inflater, reset per message */
        size_t n = deflate_msg(&zs, 0, alert, buf, sizeof(buf));
        ASSERT_TRUE(n != DEFLATE_FAILED);
        deflateEnd(&zs);
        ASSERT_TRUE(n < strlen(alert));
        ASSERT_EQ(wsz_inflate(&z, buf, n, &len), 0);
        ASSERT_EQ(len, strlen(alert));
        ASSERT_TRUE(memcmp(z.out, alert, len) == 0);
    }
    /* An empty message deflates to something and inflates to nothing. */
    size_t n = deflate_msg(&zs, 0, "", buf, sizeof(buf));
    ASSERT_TRUE(n != DEFLATE_FAILED);
    deflateEnd(&zs);
    ASSERT_EQ(wsz_inflate(&z, buf, n, &len), 0);
    ASSERT_EQ(len, 0);
    wsz_free(&z);
}

static void test_cap(void)
{
    struct wsz z;
    z_stream zs;
    unsigned char buf[1024];
    size_t len, n = deflate_msg(&zs, 0, alert, buf, sizeof(buf));
    ASSERT_TRUE(n != DEFLATE_FAILED);
    deflateEnd(&zs);

    ASSERT_EQ(wsz_init(&z, strlen(alert)), 0); /* exactly the cap */
    ASSERT_EQ(wsz_inflate(&z, buf, n, &len), 0);
    ASSERT_EQ(len, strlen(alert));
    wsz_free(&z);

    ASSERT_EQ(wsz_init(&z, strlen(alert) - 1), 0); /* one byte past it */
    ASSERT_EQ(wsz_inflate(&z, buf, n, &len), WSZ_TOO_BIG);
    wsz_free(&z);

    /* A bomb: 1 MiB of zeros in a few hundred bytes stops at the cap. */
    static char zeros[1 << 20];
    static unsigned char bomb[4096];
    memset(zeros, 'a', sizeof(zeros) - 1);
    n = deflate_msg(&zs, 0, zeros, bomb, sizeof(bomb));
    ASSERT_TRUE(n != DEFLATE_FAILED);
    deflateEnd(&zs);
    ASSERT_EQ(wsz_init(&z, 65536), 0);
    ASSERT_EQ(wsz_inflate(&z, bomb, n, &len), WSZ_TOO_BIG);
    /* and the inflater still reads the next message */
    n = deflate_msg(&zs, 0, alert, buf, sizeof(buf));
    ASSERT_TRUE(n != DEFLATE_FAILED);
    deflateEnd(&zs);
    ASSERT_EQ(wsz_inflate(&z, buf, n, &len), 0);
    ASSERT_EQ(len, strlen(alert));
    wsz_free(&z);
}

static void test_refused(void)
{
    struct wsz z;
    z_stream zs;
    unsigned char first[1024], second[1024];
    size_t len;
    ASSERT_EQ(wsz_init(&z, 4096), 0);

    static const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0x12, 0x34};
    ASSERT_EQ(wsz_inflate(&z, junk, sizeof(junk), &len), WSZ_CORRUPT);

    /* The same message twice on one stream: the second is all distances
     * back into the first, which a reset inflater does not have. */
    size_t n1 = deflate_msg(&zs, 0, alert, first, sizeof(first));
    ASSERT_TRUE(n1 != DEFLATE_FAILED);
    size_t n2 = deflate_msg(&zs, 1, alert, second, sizeof(second));
    ASSERT_TRUE(n2 != DEFLATE_FAILED);
    deflateEnd(&zs);
    ASSERT_TRUE(n2 < n1);
    ASSERT_EQ(wsz_inflate(&z, first, n1, &len), 0);
    ASSERT_EQ(wsz_inflate(&z, second, n2, &len), WSZ_CORRUPT);
    wsz_free(&z);
}

/* What a server that flushes with BFINAL blocks sends for `msg`: raw
 * DEFLATE ended with Z_FINISH, plus `extra` bytes (RFC 7692 7.2.1 step 2's
 * empty stored block less its last four bytes is one byte 0x00). */
static size_t deflate_final(const char *msg, const char *extra, size_t nextra, unsigned char *out,
                            size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return DEFLATE_FAILED;
    zs.next_in = (unsigned char *)msg;
    zs.avail_in = (uInt)strlen(msg);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END || n + nextra > cap || (out[0] & 1) == 0) /* BFINAL first: one block */
        return DEFLATE_FAILED;
    memcpy(out + n, extra, nextra);
    return n + nextra;
}

static void test_final_block(void)
{
    struct wsz z;
    z_stream zs;
    unsigned char buf[1024];
    size_t len, n;
    ASSERT_EQ(wsz_init(&z, 4096), 0);
    for (int round = 0; round < 2; round++) { /* each time after a sync-flushed message */
        /* The sender's Z_FINISH output as it is, and with the empty stored
         * block's first byte after it. */
        for (size_t nextra = 0; nextra <= 1; nextra++) {
            n = deflate_final(alert, "\0", nextra, buf, sizeof(buf));
            ASSERT_TRUE(n != DEFLATE_FAILED);
            ASSERT_EQ(wsz_inflate(&z, buf, n, &len), 0);
            ASSERT_EQ(len, strlen(alert));
            ASSERT_TRUE(memcmp(z.out, alert, len) == 0);
        }
        /* RFC 7692 7.2.3.3's own example: "Hello" in a final block. */
        static const unsigned char hello[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
        ASSERT_EQ(wsz_inflate(&z, hello, sizeof(hello), &len), 0);
        ASSERT_EQ(len, 5);
        ASSERT_TRUE(memcmp(z.out, "Hello", 5) == 0);
        /* An empty final stored block whose LEN and NLEN were removed as the tail. */
        static const unsigned char empty[] = {0x01};
        ASSERT_EQ(wsz_inflate(&z, empty, sizeof(empty), &len), 0);
        ASSERT_EQ(len, 0);
        /* Data past the final block is refused, not dropped. */
        n = deflate_final(alert, "\0ab", 3, buf, sizeof(buf));
        ASSERT_TRUE(n != DEFLATE_FAILED);
        ASSERT_EQ(wsz_inflate(&z, buf, n, &len), WSZ_CORRUPT);
        n = deflate_final(alert, "\x07", 1, buf, sizeof(buf)); /* a final block's header */
        ASSERT_TRUE(n != DEFLATE_FAILED);
        ASSERT_EQ(wsz_inflate(&z, buf, n, &len), WSZ_CORRUPT);
        /* A final block cut short, then the tail: never read as more than
         * what was sent, nor as anything else (the tail is not data). */
        n = deflate_final(alert, "", 0, buf, sizeof(buf));
        ASSERT_TRUE(n != DEFLATE_FAILED);
        for (size_t cut = 1; cut <= 5; cut++) {
            int rc = wsz_inflate(&z, buf, n - cut, &len);
            ASSERT_TRUE(rc == WSZ_CORRUPT ||
                        (rc == 0 && len < strlen(alert) && memcmp(z.out, alert, len) == 0));
        }
        /* The cap holds for a final block too. */
        struct wsz small;
        ASSERT_EQ(wsz_init(&small, strlen(alert) - 1), 0);
        n = deflate_final(alert, "", 0, buf, sizeof(buf));
        ASSERT_EQ(wsz_inflate(&small, buf, n, &len), WSZ_TOO_BIG);
        wsz_free(&small);
        /* and the inflater, reset, reads a sync-flushed message next */
        n = deflate_msg(&zs, 0, alert, buf, sizeof(buf));
        ASSERT_TRUE(n != DEFLATE_FAILED);
        deflateEnd(&zs);
        ASSERT_EQ(wsz_inflate(&z, buf, n, &len), 0);
        ASSERT_EQ(len, strlen(alert));
        ASSERT_TRUE(memcmp(z.out, alert, len) == 0);
    }
    wsz_free(&z);
}

TEST_MAIN(TEST_CASE(test_messages_one_after_another), TEST_CASE(test_cap), TEST_CASE(test_refused),
          TEST_CASE(test_final_block))
