/*
 * test_proxyproto — the PROXY protocol header a balancer sends first
 * (--proxy-protocol): versions 1 and 2, whole, in parts, and malformed.
 */
#include "proxyproto.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

static const unsigned char v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                         0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static long parse(const void *buf, size_t len, struct sockaddr_storage *client, const char **why)
{
    return proxyproto_parse(buf, len, client, why);
}

/* The client address as "ip port", or "unspec". */
static const char *client_str(const struct sockaddr_storage *ss)
{
    static char out[INET6_ADDRSTRLEN + 8];
    char ip[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
        snprintf(out, sizeof(out), "%s %u", ip, ntohs(v4->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
        snprintf(out, sizeof(out), "%s %u", ip, ntohs(v6->sin6_port));
    } else {
        snprintf(out, sizeof(out), "unspec");
    }
    return out;
}

/* A v2 header: signature, cmd, family, then `block` bytes of addresses. */
static size_t v2(unsigned char *out, unsigned cmd, unsigned fam, const void *block, size_t blen)
{
    memcpy(out, v2_sig, 12);
    out[12] = (unsigned char)cmd;
    out[13] = (unsigned char)fam;
    out[14] = (unsigned char)(blen >> 8);
    out[15] = (unsigned char)(blen & 0xff);
    memcpy(out + 16, block, blen);
    return 16 + blen;
}

static void test_v1_tcp4_and_what_follows_it(void)
{
    const char *h = "PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n\x16\x03\x01";
    struct sockaddr_storage c;
    const char *why;
    ASSERT_EQ(parse(h, strlen(h), &c, &why), strlen(h) - 3);
    ASSERT_STR_EQ(client_str(&c), "203.0.113.7 51234");
}

static void test_v1_tcp6(void)
{
    const char *h = "PROXY TCP6 2001:db8::7 2001:db8::1 65535 8443\r\n";
    struct sockaddr_storage c;
    const char *why;
    ASSERT_EQ(parse(h, strlen(h), &c, &why), strlen(h));
    ASSERT_STR_EQ(client_str(&c), "2001:db8::7 65535");
}

static void test_v1_unknown_names_no_client(void)
{
    struct sockaddr_storage c;
    const char *why;
    ASSERT_EQ(parse("PROXY UNKNOWN\r\n", 15, &c, &why), 15);
    ASSERT_STR_EQ(client_str(&c), "unspec");
    const char *h = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
    ASSERT_EQ(parse(h, strlen(h), &c, &why), strlen(h));
    ASSERT_STR_EQ(client_str(&c), "unspec");
}

static void test_v1_in_parts_waits_for_the_line_end(void)
{
    const char *h = "PROXY TCP4 198.51.100.2 10.0.0.1 1000 443\r\n";
    struct sockaddr_storage c;
    const char *why;
    for (size_t i = 0; i < strlen(h); i++)
        ASSERT_EQ(parse(h, i, &c, &why), 0);
    ASSERT_EQ(parse(h, strlen(h), &c, &why), strlen(h));
}

static void test_v1_malformed(void)
{
    static const char *const bad[] = {
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",       /* protocol */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",         /* a field missing */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",     /* one too many */
        "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",      /* two spaces */
        "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",     /* address */
        "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",           /* IPv6 in TCP4 */
        "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",           /* IPv4 in TCP6 */
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",   /* port range */
        "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",      /* leading zero */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n",      /* sign */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",        /* CR without LF */
        "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",      /* a control byte */
        "PROXY \r\n",                               /* nothing */
        "GET / HTTP/1.1\r\n",                       /* not a header at all */
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03", /* a TLS ClientHello */
    };
    struct sockaddr_storage c;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;
        if (parse(bad[i], strlen(bad[i]), &c, &why) != -1 || why == NULL)
            TEST_FAIL_("accepted \"%s\"", bad[i]);
    }
}

static void test_v1_longer_than_107_bytes_is_refused(void)
{
    char h[200];
    struct sockaddr_storage c;
    const char *why;
    memset(h, 'A', sizeof(h));
    memcpy(h, "PROXY UNKNOWN ", 14);
    ASSERT_EQ(parse(h, 105, &c, &why), 0);
    ASSERT_EQ(parse(h, 106, &c, &why), -1); /* no CR where one must be by now */
    ASSERT_CONTAINS(why, "107");
    memcpy(h + 105, "\r\n", 2); /* exactly 107 bytes, CRLF included */
    ASSERT_EQ(parse(h, 106, &c, &why), 0);
    ASSERT_EQ(parse(h, 107, &c, &why), 107);
    memcpy(h + 105, "A\r\n", 3); /* 108 */
    ASSERT_EQ(parse(h, 108, &c, &why), -1);
}

static void test_v2_tcp4_with_tlvs_skipped(void)
{
    unsigned char b[64], h[128];
    memset(b, 0, sizeof(b));
    memcpy(b, (unsigned char[]){192, 0, 2, 9, 10, 0, 0, 1, 0x1f, 0x90, 0x01, 0xbb}, 12);
    memcpy(b + 12, (unsigned char[]){0x01, 0x00, 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1'},
           11); /* an ALPN TLV */
    size_t len = v2(h, 0x21, 0x11, b, 23);
    h[len] = 0x16; /* the TLS record behind it */
    struct sockaddr_storage c;
    const char *why;
    ASSERT_EQ(parse(h, len + 1, &c, &why), 16 + 23);
    ASSERT_STR_EQ(client_str(&c), "192.0.2.9 8080");
}

static void test_v2_tcp6(void)
{
    unsigned char b[36] = {0x20, 0x01, 0x0d, 0xb8}, h[64];
    b[15] = 0x42;
    b[32] = 0x12, b[33] = 0x34;
    size_t len = v2(h, 0x21, 0x21, b, sizeof(b));
    struct sockaddr_storage c;
    const char *why;
    ASSERT_EQ(parse(h, len, &c, &why), len);
    ASSERT_STR_EQ(client_str(&c), "2001:db8::42 4660");
}

static void test_v2_local_and_other_families_name_no_client(void)
{
    unsigned char b[216] = {10, 0, 0, 5}, h[256];
    struct sockaddr_storage c;
    const char *why;
    size_t len = v2(h, 0x20, 0x11, b, 12); /* LOCAL: a health check */
    ASSERT_EQ(parse(h, len, &c, &why), len);
    ASSERT_STR_EQ(client_str(&c), "unspec");
    len = v2(h, 0x20, 0x00, b, 0); /* LOCAL with no addresses */
    ASSERT_EQ(parse(h, len, &c, &why), 16);
    len = v2(h, 0x21, 0x31, b, 216); /* a UNIX socket */
    ASSERT_EQ(parse(h, len, &c, &why), len);
    ASSERT_STR_EQ(client_str(&c), "unspec");
}

static void test_v2_in_parts(void)
{
    unsigned char b[12] = {192, 0, 2, 1}, h[64];
    size_t len = v2(h, 0x21, 0x11, b, sizeof(b));
    struct sockaddr_storage c;
    const char *why;
    for (size_t i = 0; i < len; i++)
        ASSERT_EQ(parse(h, i, &c, &why), 0);
    ASSERT_EQ(parse(h, len, &c, &why), len);
}

static void test_v2_malformed(void)
{
    unsigned char b[PROXYPROTO_V2_MAX_BLOCK + 1] = {0}, h[sizeof(b) + 16];
    struct sockaddr_storage c;
    const char *why;
    ASSERT_EQ(parse(h, v2(h, 0x11, 0x11, b, 12), &c, &why), -1); /* version 1 */
    ASSERT_EQ(parse(h, v2(h, 0x22, 0x11, b, 12), &c, &why), -1); /* command 2 */
    ASSERT_EQ(parse(h, v2(h, 0x21, 0x11, b, 11), &c, &why), -1); /* short TCP4 */
    ASSERT_CONTAINS(why, "TCP4");
    ASSERT_EQ(parse(h, v2(h, 0x21, 0x21, b, 35), &c, &why), -1); /* short TCP6 */
    /* Too long a block is refused from its 16 bytes, not read first. */
    v2(h, 0x21, 0x11, b, sizeof(b));
    ASSERT_EQ(parse(h, 16, &c, &why), -1);
    /* A signature that goes wrong half-way. */
    memcpy(h, v2_sig, 12);
    h[7] = 'X';
    ASSERT_EQ(parse(h, 12, &c, &why), -1);
}

static void test_empty_input_waits(void)
{
    struct sockaddr_storage c;
    const char *why;
    ASSERT_EQ(parse("", 0, &c, &why), 0);
    ASSERT_EQ(parse("PRO", 3, &c, &why), 0);
    ASSERT_EQ(parse("\r\n\r", 3, &c, &why), 0);
}

TEST_MAIN(TEST_CASE(test_v1_tcp4_and_what_follows_it), TEST_CASE(test_v1_tcp6),
          TEST_CASE(test_v1_unknown_names_no_client),
          TEST_CASE(test_v1_in_parts_waits_for_the_line_end), TEST_CASE(test_v1_malformed),
          TEST_CASE(test_v1_longer_than_107_bytes_is_refused),
          TEST_CASE(test_v2_tcp4_with_tlvs_skipped), TEST_CASE(test_v2_tcp6),
          TEST_CASE(test_v2_local_and_other_families_name_no_client), TEST_CASE(test_v2_in_parts),
          TEST_CASE(test_v2_malformed), TEST_CASE(test_empty_input_waits))
