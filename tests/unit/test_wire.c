/*
 * test_wire — the rules a request meets before any endpoint sees it
 * (wire.h): WebSocket keys and versions, the subprotocol and Connection
 * lists lws 4.1 can parse, the methods served, and request bodies.
 */
#include "test.h"
#include "wire.h"

#include <string.h>

#define KEY "dGhlIHNhbXBsZSBub25jZQ==" /* RFC 6455's example */

static struct wire_text text(const char *s)
{
    return (struct wire_text){s, s ? (int)strlen(s) : WIRE_ABSENT};
}

static struct wire_handshake good(void)
{
    struct wire_handshake h = {1,          text("localhost"), text("Upgrade"),
                               text("13"), text(KEY),         text("alert.v1")};
    return h;
}

static void test_keys(void)
{
    ASSERT_TRUE(wire_ws_key_ok(KEY));
    ASSERT_TRUE(wire_ws_key_ok("AAAAAAAAAAAAAAAAAAAAAA=="));
    ASSERT_TRUE(wire_ws_key_ok("+/+/+/+/+/+/+/+/+/+/+w=="));
    ASSERT_TRUE(!wire_ws_key_ok(""));
    ASSERT_TRUE(!wire_ws_key_ok("dGhlIHNhbXBsZSBub25jZQ"));    /* no padding */
    ASSERT_TRUE(!wire_ws_key_ok("dGhlIHNhbXBsZSBub25jZQ="));   /* 23 */
    ASSERT_TRUE(!wire_ws_key_ok("dGhlIHNhbXBsZSBub25jZQ===")); /* 25 */
    ASSERT_TRUE(!wire_ws_key_ok("dGhlIHNhbXBsZSBub25jZQA="));  /* 17 bytes */
    ASSERT_TRUE(!wire_ws_key_ok("dGhlIHNhbXBsZSBub25j-Q=="));  /* base64url */
    ASSERT_TRUE(!wire_ws_key_ok("not a key at all, clearly"));
}

static void test_token_lists(void)
{
    char longname[80], longlist[200];
    ASSERT_TRUE(wire_token_list_ok("alert.v1"));
    ASSERT_TRUE(wire_token_list_ok("chat, alert.v1"));
    ASSERT_TRUE(wire_token_list_ok("keep-alive,Upgrade"));
    ASSERT_TRUE(!wire_token_list_ok(""));
    ASSERT_TRUE(!wire_token_list_ok("chat,,alert.v1")); /* lws refuses empty items */
    ASSERT_TRUE(!wire_token_list_ok(",alert.v1"));
    ASSERT_TRUE(!wire_token_list_ok("alert.v1,"));
    ASSERT_TRUE(!wire_token_list_ok("chat alert.v1")); /* no comma */
    ASSERT_TRUE(!wire_token_list_ok("123, alert.v1")); /* lws takes it for a number */
    ASSERT_TRUE(!wire_token_list_ok("a=b, alert.v1"));
    ASSERT_TRUE(!wire_token_list_ok("\"alert.v1\""));
    memset(longname, 'a', 64);
    longname[64] = '\0';
    ASSERT_TRUE(!wire_token_list_ok(longname));
    longname[63] = '\0';
    ASSERT_TRUE(wire_token_list_ok(longname));
    memset(longlist, 'a', sizeof(longlist));
    for (int i = 60; i < 128; i += 61)
        longlist[i] = ',';
    longlist[128] = '\0';
    ASSERT_TRUE(!wire_token_list_ok(longlist)); /* 128 bytes */
    longlist[127] = '\0';
    ASSERT_TRUE(wire_token_list_ok(longlist));
}

static void test_a_good_handshake(void)
{
    struct wire_handshake h = good();
    struct wire_answer a;
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 0);
    h.protocols = text(NULL); /* offering none is fine */
    h.connection = text("keep-alive, Upgrade");
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 0);
}

static void test_bad_handshakes_name_what_is_wrong(void)
{
    struct wire_handshake h = good();
    struct wire_answer a;
    h.get = 0;
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 405);
    ASSERT_STR_EQ(a.header, "Allow: GET, HEAD");

    h = good();
    h.version = text("8");
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 426);
    ASSERT_STR_EQ(a.header, "Sec-WebSocket-Version: 13");
    ASSERT_CONTAINS(a.message, "Sec-WebSocket-Version");
    h.version = text(NULL);
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 426);

    h = good();
    h.key = text("short");
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 400);
    ASSERT_CONTAINS(a.message, "Sec-WebSocket-Key");
    ASSERT_TRUE(a.header == NULL);
    h.key = (struct wire_text){"", WIRE_TOO_LONG};
    wire_check_upgrade(&h, &a);
    ASSERT_CONTAINS(a.message, "Sec-WebSocket-Key");
    h.key = text(NULL);
    wire_check_upgrade(&h, &a);
    ASSERT_CONTAINS(a.message, "Sec-WebSocket-Key");

    h = good();
    h.protocols = text("chat,,alert.v1");
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 400);
    ASSERT_CONTAINS(a.message, "Sec-WebSocket-Protocol");
    h.protocols = (struct wire_text){"", WIRE_TOO_LONG};
    wire_check_upgrade(&h, &a);
    ASSERT_CONTAINS(a.message, "Sec-WebSocket-Protocol");

    h = good();
    h.connection = text("keep-alive");
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 400);
    ASSERT_CONTAINS(a.message, "Connection");
    h.connection = text("upgrad"); /* lws 4.1 took a prefix; not here */
    wire_check_upgrade(&h, &a);
    ASSERT_CONTAINS(a.message, "Connection");

    h = good();
    h.host = text(NULL);
    wire_check_upgrade(&h, &a);
    ASSERT_EQ(a.status, 400);
    ASSERT_CONTAINS(a.message, "Host");
}

static void test_bodies(void)
{
    struct wire_answer a;
    wire_check_body(text(NULL), 0, &a);
    ASSERT_EQ(a.status, 0);
    wire_check_body(text("0"), 0, &a);
    ASSERT_EQ(a.status, 0);
    wire_check_body(text("65536"), 0, &a); /* read and dropped by lws */
    ASSERT_EQ(a.status, 0);
    ASSERT_EQ(a.close, 0);

    wire_check_body(text("65537"), 0, &a);
    ASSERT_EQ(a.status, 413);
    ASSERT_EQ(a.close, 1);
    wire_check_body(text("99999999999999999999999"), 0, &a);
    ASSERT_EQ(a.status, 413);
    ASSERT_CONTAINS(a.message, "Content-Length");

    const char *bad[] = {"-1", "+5", "5, 5", "0x10", "5 ", "", "abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wire_check_body(text(bad[i]), 0, &a);
        if (a.status != 400 || !a.close || strstr(a.message, "Content-Length") == NULL)
            TEST_FAIL_("Content-Length \"%s\": %u %s", bad[i], a.status, a.message);
    }

    wire_check_body(text(NULL), 1, &a);
    ASSERT_EQ(a.status, 413);
    ASSERT_EQ(a.close, 1);
    ASSERT_CONTAINS(a.message, "Transfer-Encoding");
    wire_check_body(text("5"), 1, &a); /* both: the coding wins (RFC 9112 6.3) */
    ASSERT_EQ(a.status, 413);
}

TEST_MAIN(TEST_CASE(test_keys), TEST_CASE(test_token_lists), TEST_CASE(test_a_good_handshake),
          TEST_CASE(test_bad_handshakes_name_what_is_wrong), TEST_CASE(test_bodies))
