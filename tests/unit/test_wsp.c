/*
 * test_wsp — alert-bench's client side of RFC 6455: the upgrade request and
 * the check of its answer, the frame headers a server may send, and the
 * masked control frames the client writes.
 */
#include "bench/wsp.h"
#include "test.h"

#include <string.h>

/* RFC 6455, section 1.3: the sample key and the accept a server answers. */
#define RFC_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define UPGRADE_HEAD                                                                               \
    "HTTP/1.1 101 Switching Protocols\r\n"                                                         \
    "Upgrade: websocket\r\n"                                                                       \
    "Connection: Upgrade\r\n"                                                                      \
    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"                                                     \
    "Sec-WebSocket-Protocol: alert.v1\r\n"                                                         \
    "\r\n"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* The value of `name` in an HTTP head (CRLF lines), into out; 0 or -1. */
static int header_value(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1 + strspn(line + nl + 1, " ");
            size_t vlen = strcspn(v, "\r");
            if (vlen >= outlen)
                return -1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------
 * The upgrade
 * ---------------------------------------------------------------------- */

static void test_accept_is_rfc6455s(void)
{
    char accept[WSP_ACCEPT_LEN + 1];
    memset(accept, 'x', sizeof(accept));
    wsp_accept(RFC_KEY, accept);
    ASSERT_STR_EQ(accept, RFC_ACCEPT);
}

static void test_request(void)
{
    char req[WSP_REQUEST_MAX], accept[WSP_ACCEPT_LEN + 1], expect[WSP_ACCEPT_LEN + 1];
    char key[64], value[64];

    int n = wsp_request(req, sizeof(req), "127.0.0.1", 8443, "/v1/ws?topics=world", "alert.v1",
                        NULL, accept);
    ASSERT_TRUE(n > 0);
    ASSERT_EQ(n, strlen(req));
    ASSERT_TRUE(strncmp(req, "GET /v1/ws?topics=world HTTP/1.1\r\n", 34) == 0);
    ASSERT_TRUE(strcmp(req + n - 4, "\r\n\r\n") == 0);
    ASSERT_EQ(header_value(req, "Host", value, sizeof(value)), 0);
    ASSERT_STR_EQ(value, "127.0.0.1:8443");
    ASSERT_EQ(header_value(req, "Upgrade", value, sizeof(value)), 0);
    ASSERT_STR_EQ(value, "websocket");
    ASSERT_EQ(header_value(req, "Connection", value, sizeof(value)), 0);
    ASSERT_STR_EQ(value, "Upgrade");
    ASSERT_EQ(header_value(req, "Sec-WebSocket-Version", value, sizeof(value)), 0);
    ASSERT_STR_EQ(value, "13");
    ASSERT_EQ(header_value(req, "Sec-WebSocket-Protocol", value, sizeof(value)), 0);
    ASSERT_STR_EQ(value, "alert.v1");

    /* The key: 16 bytes in base64; the accept expected is the key's. */
    ASSERT_EQ(header_value(req, "Sec-WebSocket-Key", key, sizeof(key)), 0);
    ASSERT_EQ(strlen(key), WSP_KEY_LEN);
    ASSERT_TRUE(strcmp(key + WSP_KEY_LEN - 2, "==") == 0);
    wsp_accept(key, expect);
    ASSERT_STR_EQ(accept, expect);
}

static void test_request_key_is_fresh_each_time(void)
{
    char a[WSP_REQUEST_MAX], b[WSP_REQUEST_MAX], ka[64], kb[64];
    char acc_a[WSP_ACCEPT_LEN + 1], acc_b[WSP_ACCEPT_LEN + 1];
    ASSERT_TRUE(wsp_request(a, sizeof(a), "h", 1, "/", NULL, NULL, acc_a) > 0);
    ASSERT_TRUE(wsp_request(b, sizeof(b), "h", 1, "/", NULL, NULL, acc_b) > 0);
    ASSERT_EQ(header_value(a, "Sec-WebSocket-Key", ka, sizeof(ka)), 0);
    ASSERT_EQ(header_value(b, "Sec-WebSocket-Key", kb, sizeof(kb)), 0);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    ASSERT_TRUE(strcmp(acc_a, acc_b) != 0);
}

static void test_request_without_subprotocol_or_room(void)
{
    char req[WSP_REQUEST_MAX], accept[WSP_ACCEPT_LEN + 1];
    int n = wsp_request(req, sizeof(req), "localhost", 443, "/", NULL, NULL, accept);
    ASSERT_TRUE(n > 0);
    ASSERT_TRUE(strstr(req, "Sec-WebSocket-Protocol") == NULL);
    ASSERT_TRUE(strstr(req, "Sec-WebSocket-Extensions") == NULL);
    /* One byte short of the request and its NUL: refused, not cut. */
    ASSERT_EQ(wsp_request(req, (size_t)n, "localhost", 443, "/", NULL, NULL, accept), -1);
    ASSERT_TRUE(wsp_request(req, (size_t)n + 1, "localhost", 443, "/", NULL, NULL, accept) > 0);
}

static void test_response_accepted(void)
{
    static const char head[] = UPGRADE_HEAD;
    char buf[sizeof(head) + 2];
    int status = -1;

    /* The head's length, not counting a frame that came with it. */
    memcpy(buf, head, sizeof(head) - 1);
    memcpy(buf + sizeof(head) - 1, "\x81\x00", 2);
    ASSERT_EQ(wsp_response(buf, sizeof(buf), RFC_ACCEPT, &status), sizeof(head) - 1);
    ASSERT_EQ(status, 101);

    /* Header names are case-insensitive; spaces around the value go. */
    static const char lower[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                "upgrade: websocket\r\nconnection: upgrade\r\n"
                                "sec-websocket-accept:   " RFC_ACCEPT "  \r\n\r\n";
    ASSERT_EQ(wsp_response(lower, sizeof(lower) - 1, RFC_ACCEPT, &status), sizeof(lower) - 1);
}

static void test_request_offers_deflate(void)
{
    char req[WSP_REQUEST_MAX], accept[WSP_ACCEPT_LEN + 1], value[128];
    int n = wsp_request(req, sizeof(req), "localhost", 443, "/v1/ws", "alert.v1", WSP_PMD_OFFER,
                        accept);
    ASSERT_TRUE(n > 0);
    ASSERT_EQ(header_value(req, "Sec-WebSocket-Extensions", value, sizeof(value)), 0);
    ASSERT_STR_EQ(value, "permessage-deflate; client_no_context_takeover; "
                         "server_no_context_takeover");
    ASSERT_EQ(header_value(req, "Sec-WebSocket-Protocol", value, sizeof(value)), 0);
    ASSERT_STR_EQ(value, "alert.v1");
}

/* wsp_response_pmd on a 101 head with the extension line `ext` (NULL: none). */
static int pmd_answer(const char *ext)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\n%s%s%s\r\n",
                     ext ? "Sec-WebSocket-Extensions: " : "", ext ? ext : "", ext ? "\r\n" : "");
    return wsp_response_pmd(head, (size_t)n);
}

static void test_response_pmd(void)
{
    ASSERT_EQ(pmd_answer(NULL), 0); /* declined: plain frames */
    /* alertd's answer, nchan's (it may say its window), any case and spacing. */
    ASSERT_EQ(pmd_answer("permessage-deflate; server_no_context_takeover; "
                         "client_no_context_takeover"),
              1);
    ASSERT_EQ(pmd_answer("permessage-deflate;server_no_context_takeover"), 1);
    ASSERT_EQ(pmd_answer("Permessage-Deflate ; Server_No_Context_Takeover ; "
                         "server_max_window_bits=10"),
              1);
    /* A server keeping its context: a client resetting per message would
     * read garbage, so the upgrade fails instead. */
    ASSERT_EQ(pmd_answer("permessage-deflate"), -1);
    ASSERT_EQ(pmd_answer("permessage-deflate; client_no_context_takeover"), -1);
    /* Not offered: another extension, two, a client window. */
    ASSERT_EQ(pmd_answer("x-webkit-deflate-frame"), -1);
    ASSERT_EQ(pmd_answer("permessage-deflate; server_no_context_takeover, permessage-deflate"), -1);
    ASSERT_EQ(pmd_answer("permessage-deflate; server_no_context_takeover; "
                         "client_max_window_bits=9"),
              -1);
    ASSERT_EQ(pmd_answer("permessage-deflate-x; server_no_context_takeover"), -1);
}

static void test_response_incomplete(void)
{
    static const char head[] = UPGRADE_HEAD;
    int status;
    for (size_t n = 0; n < sizeof(head) - 1; n++)
        if (wsp_response(head, n, RFC_ACCEPT, &status) != 0)
            TEST_FAIL_("a head cut to %zu bytes: not 0", n);
}

static void test_response_refused(void)
{
    static const char wrong[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
    static const char missing[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                  "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    static const char forbidden[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n";
    static const char garbage[] = "SSH-2.0-OpenSSH\r\n\r\n";
    static char endless[WSP_RESPONSE_MAX + 1];
    int status;

    ASSERT_EQ(wsp_response(wrong, sizeof(wrong) - 1, RFC_ACCEPT, &status), -1);
    ASSERT_EQ(status, 101);
    ASSERT_EQ(wsp_response(missing, sizeof(missing) - 1, RFC_ACCEPT, &status), -1);
    ASSERT_EQ(status, 101);
    ASSERT_EQ(wsp_response(forbidden, sizeof(forbidden) - 1, RFC_ACCEPT, &status), -1);
    ASSERT_EQ(status, 403);
    ASSERT_EQ(wsp_response(busy, sizeof(busy) - 1, RFC_ACCEPT, &status), -1);
    ASSERT_EQ(status, 503);
    ASSERT_EQ(wsp_response(garbage, sizeof(garbage) - 1, RFC_ACCEPT, &status), -1);
    ASSERT_EQ(status, 0);

    /* A head that never ends is refused once it passes the limit. */
    memset(endless, 'a', sizeof(endless));
    memcpy(endless, "HTTP/1.1 101 OK\r\n", 17);
    ASSERT_EQ(wsp_response(endless, WSP_RESPONSE_MAX - 1, RFC_ACCEPT, &status), 0);
    ASSERT_EQ(wsp_response(endless, sizeof(endless), RFC_ACCEPT, &status), -1);
}

/* ------------------------------------------------------------------------
 * Frames from the server
 * ---------------------------------------------------------------------- */

static void test_parse_lengths(void)
{
    static const unsigned char small[] = {0x81, 0x05, 'h', 'e', 'l', 'l', 'o'};
    static const unsigned char medium[] = {0x82, 126, 0x01, 0x02};
    static const unsigned char large[] = {0x81, 127, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05};
    static const unsigned char cont[] = {0x00, 0x03};
    struct wsp_frame f;

    ASSERT_EQ(wsp_parse(small, sizeof(small), 0, &f), 1);
    ASSERT_EQ(f.fin, 1);
    ASSERT_EQ(f.opcode, WSP_TEXT);
    ASSERT_EQ(f.header_len, 2);
    ASSERT_EQ(f.payload_len, 5);

    ASSERT_EQ(wsp_parse(medium, sizeof(medium), 0, &f), 1);
    ASSERT_EQ(f.opcode, WSP_BINARY);
    ASSERT_EQ(f.header_len, 4);
    ASSERT_EQ(f.payload_len, 0x0102);

    ASSERT_EQ(wsp_parse(large, sizeof(large), 0, &f), 1);
    ASSERT_EQ(f.header_len, 10);
    ASSERT_EQ(f.payload_len, 0x0102030405LL);

    ASSERT_EQ(wsp_parse(cont, sizeof(cont), 0, &f), 1);
    ASSERT_EQ(f.fin, 0);
    ASSERT_EQ(f.opcode, WSP_CONT);
    ASSERT_EQ(f.payload_len, 3);
}

/* A header cut anywhere short of its length asks for more; the payload
 * need not be there. */
static void test_parse_needs_more(void)
{
    static const unsigned char medium[] = {0x81, 126, 0x00, 0x80};
    static const unsigned char large[] = {0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    struct wsp_frame f;

    ASSERT_EQ(wsp_parse(medium, 0, 0, &f), 0);
    ASSERT_EQ(wsp_parse(medium, 1, 0, &f), 0);
    for (size_t n = 2; n < sizeof(medium); n++)
        ASSERT_EQ(wsp_parse(medium, n, 0, &f), 0);
    for (size_t n = 2; n < sizeof(large); n++)
        ASSERT_EQ(wsp_parse(large, n, 0, &f), 0);
    ASSERT_EQ(wsp_parse(medium, sizeof(medium), 0, &f), 1);
    ASSERT_EQ(f.payload_len, 128);
}

static void test_parse_refuses(void)
{
    static const unsigned char masked[] = {0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'};
    static const unsigned char huge[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char ping_fragment[] = {0x09, 0x00};
    static const unsigned char close_fragment[] = {0x08, 0x02, 0x03, 0xe8};
    static const unsigned char ping_126[] = {0x89, 126, 0x00, 0x7e};
    static const unsigned char pong_127[] = {0x8a, 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
    static const unsigned char ping_125[] = {0x89, 125};
    unsigned char frame[2] = {0, 0x00};
    struct wsp_frame f;

    ASSERT_EQ(wsp_parse(masked, sizeof(masked), 0, &f), -1);
    ASSERT_EQ(wsp_parse(huge, sizeof(huge), 0, &f), -1);
    ASSERT_EQ(wsp_parse(ping_fragment, sizeof(ping_fragment), 0, &f), -1);
    ASSERT_EQ(wsp_parse(close_fragment, sizeof(close_fragment), 0, &f), -1);
    ASSERT_EQ(wsp_parse(ping_126, sizeof(ping_126), 0, &f), -1);
    ASSERT_EQ(wsp_parse(pong_127, sizeof(pong_127), 0, &f), -1);
    ASSERT_EQ(wsp_parse(ping_125, sizeof(ping_125), 0, &f), 1); /* the largest allowed */
    ASSERT_EQ(f.opcode, WSP_PING);

    /* RSV1, RSV2, RSV3: no extension was negotiated. */
    for (unsigned rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
        frame[0] = (unsigned char)(0x81 | rsv);
        if (wsp_parse(frame, sizeof(frame), 0, &f) != -1)
            TEST_FAIL_("reserved bit 0x%02x accepted", rsv);
    }
    /* Opcodes 3-7 and 0xB-0xF are reserved. */
    for (unsigned op = 0; op < 16; op++) {
        int known = op <= 2 || (op >= 8 && op <= 10);
        frame[0] = (unsigned char)(0x80 | op);
        if (wsp_parse(frame, sizeof(frame), 0, &f) != (known ? 1 : -1))
            TEST_FAIL_("opcode 0x%x: %s", op, known ? "refused" : "accepted");
    }
}

static void test_parse_rsv1_with_deflate(void)
{
    static const unsigned char z_text[] = {0xC1, 0x05};  /* FIN, RSV1, text */
    static const unsigned char z_first[] = {0x41, 0x05}; /* RSV1, text, more to come */
    static const unsigned char z_cont[] = {0xC0, 0x05};  /* RSV1 on a continuation */
    static const unsigned char z_ping[] = {0xC9, 0x00};  /* RSV1 on a control frame */
    static const unsigned char rsv2[] = {0xA1, 0x00};
    struct wsp_frame f;

    ASSERT_EQ(wsp_parse(z_text, sizeof(z_text), 0, &f), -1); /* not negotiated */
    ASSERT_EQ(wsp_parse(z_text, sizeof(z_text), 1, &f), 1);
    ASSERT_TRUE(f.rsv1 && f.fin && f.opcode == WSP_TEXT && f.payload_len == 5);
    ASSERT_EQ(wsp_parse(z_first, sizeof(z_first), 1, &f), 1);
    ASSERT_TRUE(f.rsv1 && !f.fin);
    ASSERT_EQ(wsp_parse(z_cont, sizeof(z_cont), 1, &f), -1);
    ASSERT_EQ(wsp_parse(z_ping, sizeof(z_ping), 1, &f), -1);
    ASSERT_EQ(wsp_parse(rsv2, sizeof(rsv2), 1, &f), -1);
    static const unsigned char plain[] = {0x81, 0x00};
    ASSERT_EQ(wsp_parse(plain, sizeof(plain), 1, &f), 1); /* a server may send some plain */
    ASSERT_TRUE(!f.rsv1);
}

/* ------------------------------------------------------------------------
 * Control frames from the client
 * ---------------------------------------------------------------------- */

/* The frame's payload with its mask taken off, into out; the length. */
static size_t unmask(const unsigned char *frame, size_t n, unsigned char *out)
{
    for (size_t i = 6; i < n; i++)
        out[i - 6] = frame[i] ^ frame[2 + ((i - 6) & 3)];
    return n - 6;
}

static void test_control_frame_is_masked(void)
{
    static const unsigned char close_normal[2] = {0x03, 0xe8};
    unsigned char out[WSP_CONTROL_MAX], plain[WSP_CONTROL_MAX];

    size_t n = wsp_control(out, WSP_PING, "are you there", 13);
    ASSERT_EQ(n, 6 + 13);
    ASSERT_EQ(out[0], 0x80 | WSP_PING);
    ASSERT_EQ(out[1], 0x80 | 13);
    ASSERT_EQ(unmask(out, n, plain), 13);
    ASSERT_TRUE(memcmp(plain, "are you there", 13) == 0);

    n = wsp_control(out, WSP_CLOSE, close_normal, 2);
    ASSERT_EQ(n, 8);
    ASSERT_EQ(out[0], 0x88);
    ASSERT_EQ(out[1], 0x82);
    ASSERT_EQ(unmask(out, n, plain), 2);
    ASSERT_TRUE(memcmp(plain, close_normal, 2) == 0);

    n = wsp_control(out, WSP_PONG, NULL, 0);
    ASSERT_EQ(n, 6);
    ASSERT_EQ(out[0], 0x8a);
    ASSERT_EQ(out[1], 0x80);
}

static void test_control_frame_payload_capped(void)
{
    unsigned char payload[200], out[WSP_CONTROL_MAX], plain[WSP_CONTROL_MAX];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (unsigned char)i;
    size_t n = wsp_control(out, WSP_PONG, payload, sizeof(payload));
    ASSERT_EQ(n, WSP_CONTROL_MAX);
    ASSERT_EQ(out[1], 0x80 | 125);
    ASSERT_EQ(unmask(out, n, plain), 125);
    ASSERT_TRUE(memcmp(plain, payload, 125) == 0);
}

/* Each frame draws its own mask (RFC 6455, 5.3): two frames with the same
 * payload differ on the wire. */
static void test_control_frame_masks_differ(void)
{
    unsigned char a[WSP_CONTROL_MAX], b[WSP_CONTROL_MAX];
    size_t na = wsp_control(a, WSP_PING, "same", 4);
    size_t nb = wsp_control(b, WSP_PING, "same", 4);
    ASSERT_EQ(na, nb);
    ASSERT_TRUE(memcmp(a + 2, b + 2, 4) != 0);
}

TEST_MAIN(TEST_CASE(test_accept_is_rfc6455s), TEST_CASE(test_request),
          TEST_CASE(test_request_key_is_fresh_each_time),
          TEST_CASE(test_request_without_subprotocol_or_room),
          TEST_CASE(test_request_offers_deflate), TEST_CASE(test_response_pmd),
          TEST_CASE(test_response_accepted), TEST_CASE(test_response_incomplete),
          TEST_CASE(test_response_refused), TEST_CASE(test_parse_lengths),
          TEST_CASE(test_parse_needs_more), TEST_CASE(test_parse_refuses),
          TEST_CASE(test_parse_rsv1_with_deflate), TEST_CASE(test_control_frame_is_masked),
          TEST_CASE(test_control_frame_payload_capped), TEST_CASE(test_control_frame_masks_differ))
