/*
 * test_frames — the server's control frames (frames.h): their exact text,
 * read back as JSON, the escaping of what they quote, buffers too small,
 * and the WebSocket close frame's bytes.
 */
#include "fields.h"
#include "frames.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The frame text parsed back as a JSON object, or NULL. */
static json_t *parse(const char *text, int len)
{
    json_error_t e;
    if (len < 0 || (size_t)len != strlen(text))
        return NULL;
    json_t *doc = json_loadb(text, (size_t)len, JSON_REJECT_DUPLICATES, &e);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static const char *str(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

static long long num(const json_t *doc, const char *key)
{
    const json_t *v = json_object_get(doc, key);
    return json_is_integer(v) ? json_integer_value(v) : -12345;
}

/* ------------------------------------------------------------------------
 * hello, gap, replayed, pong
 * ---------------------------------------------------------------------- */

static void test_hello(void)
{
    char out[FRAMES_MAX];
    char *node = frames_quote_node("node-a");
    ASSERT_STR_EQ(node, "\"node-a\"");
    int n = frames_hello(out, sizeof(out), node, 25, "1700000000000-3", NULL);
    ASSERT_STR_EQ(out, "{\"type\":\"hello\",\"v\":1,\"node\":\"node-a\",\"heartbeat\":25,"
                       "\"last_id\":\"1700000000000-3\"}");
    json_t *doc = parse(out, n);
    free(node);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "type"), "hello");
    ASSERT_EQ(num(doc, "v"), 1);
    ASSERT_STR_EQ(str(doc, "node"), "node-a");
    ASSERT_EQ(num(doc, "heartbeat"), 25);
    ASSERT_STR_EQ(str(doc, "last_id"), "1700000000000-3");
    ASSERT_EQ(json_object_size(doc), 5);
    json_decref(doc);
}

static void test_hello_with_fields(void)
{
    char out[FRAMES_MAX];
    int n = frames_hello(out, sizeof(out), "\"a\"", 240, "1-0", "[\"id\",\"kind\"]");
    ASSERT_STR_EQ(out, "{\"type\":\"hello\",\"v\":1,\"node\":\"a\",\"heartbeat\":240,"
                       "\"last_id\":\"1-0\",\"fields\":[\"id\",\"kind\"]}");
    json_t *doc = parse(out, n);
    ASSERT_TRUE(doc != NULL);
    ASSERT_EQ(json_array_size(json_object_get(doc, "fields")), 2);
    json_decref(doc);
}

static void test_hello_with_an_awkward_node_name(void)
{
    char out[FRAMES_MAX];
    const char *name = "a \"quoted\" \\ node\n\twith é";
    char *node = frames_quote_node(name);
    ASSERT_TRUE(node != NULL);
    json_t *doc = parse(out, frames_hello(out, sizeof(out), node, 0, "", NULL));
    free(node);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "node"), name);
    ASSERT_STR_EQ(str(doc, "last_id"), "");
    ASSERT_EQ(num(doc, "heartbeat"), 0);
    json_decref(doc);
}

static void test_gap(void)
{
    char out[FRAMES_MAX];
    int n = frames_gap(out, sizeof(out), (struct item_id){1700000000000ull, 0}, "1700000005000-2");
    ASSERT_STR_EQ(out, "{\"type\":\"gap\",\"since\":\"1700000000000-0\","
                       "\"oldest\":\"1700000005000-2\"}");
    json_t *doc = parse(out, n);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "type"), "gap");
    ASSERT_STR_EQ(str(doc, "since"), "1700000000000-0");
    ASSERT_STR_EQ(str(doc, "oldest"), "1700000005000-2");
    json_decref(doc);
    /* The largest id formats whole. */
    n = frames_gap(out, sizeof(out), (struct item_id){UINT64_MAX, UINT64_MAX}, "1-0");
    doc = parse(out, n);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "since"), "18446744073709551615-18446744073709551615");
    json_decref(doc);
}

static void test_replayed(void)
{
    char out[FRAMES_MAX];
    int n = frames_replayed(out, sizeof(out), 42, "1700000000000-7");
    ASSERT_STR_EQ(out, "{\"type\":\"replayed\",\"count\":42,\"last_id\":\"1700000000000-7\"}");
    json_t *doc = parse(out, n);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "type"), "replayed");
    ASSERT_EQ(num(doc, "count"), 42);
    ASSERT_STR_EQ(str(doc, "last_id"), "1700000000000-7");
    json_decref(doc);
    n = frames_replayed(out, sizeof(out), 4294967295u, "1-0");
    doc = parse(out, n);
    ASSERT_TRUE(doc != NULL);
    ASSERT_EQ(num(doc, "count"), 4294967295ll);
    json_decref(doc);
}

static void test_shed(void)
{
    char out[FRAMES_MAX];
    int n = frames_shed(out, sizeof(out), (struct item_id){1700000000000ull, 3},
                        (struct item_id){1700000000900ull, 0}, 198);
    ASSERT_STR_EQ(out, "{\"type\":\"shed\",\"after\":\"1700000000000-3\","
                       "\"through\":\"1700000000900-0\",\"count\":198}");
    json_t *doc = parse(out, n);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "type"), "shed");
    ASSERT_EQ(num(doc, "count"), 198);
    json_decref(doc);
    ASSERT_EQ(frames_shed(out, 40, (struct item_id){1, 0}, (struct item_id){2, 0}, 1), -1);
}

static void test_pong(void)
{
    json_t *doc = parse(FRAMES_PONG, (int)strlen(FRAMES_PONG));
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "type"), "pong");
    ASSERT_EQ(json_object_size(doc), 1);
    json_decref(doc);
}

static void test_buffers_too_small(void)
{
    char out[FRAMES_MAX];
    const char *want = "{\"type\":\"replayed\",\"count\":1,\"last_id\":\"1-0\"}";
    size_t len = strlen(want);
    /* Exactly the text and its NUL fits; one byte less does not. */
    ASSERT_EQ(frames_replayed(out, len + 1, 1, "1-0"), (int)len);
    ASSERT_STR_EQ(out, want);
    ASSERT_EQ(frames_replayed(out, len, 1, "1-0"), -1);
    ASSERT_EQ(frames_replayed(out, 0, 1, "1-0"), -1);
    ASSERT_EQ(frames_hello(out, 20, "\"n\"", 25, "1-0", NULL), -1);
    ASSERT_EQ(frames_gap(out, 20, (struct item_id){1, 0}, "1-0"), -1);
    /* The longest hello FRAMES_MAX promises room for. */
    char *node = malloc(FRAMES_NODE_MAX + 1);
    node[0] = '"';
    memset(node + 1, 'n', FRAMES_NODE_MAX - 2);
    node[FRAMES_NODE_MAX - 1] = '"';
    node[FRAMES_NODE_MAX] = '\0';
    char fields[512];
    ASSERT_TRUE(fields_json(FIELDS_ALL, fields, sizeof(fields)) > 0);
    int n = frames_hello(out, sizeof(out), node, 86400, "18446744073709551615-18446744073709551615",
                         fields);
    free(node);
    ASSERT_TRUE(n > FRAMES_NODE_MAX);
    json_t *doc = parse(out, n);
    ASSERT_TRUE(doc != NULL);
    ASSERT_EQ(strlen(str(doc, "node")), FRAMES_NODE_MAX - 2);
    json_decref(doc);
}

/* ------------------------------------------------------------------------
 * Quoting: the node name, the error message
 * ---------------------------------------------------------------------- */

static void test_quote_node_escapes(void)
{
    char *q = frames_quote_node("say \"hi\" \\ \n\x01");
    ASSERT_STR_EQ(q, "\"say \\\"hi\\\" \\\\ \\n\\u0001\"");
    free(q);
    q = frames_quote_node("");
    ASSERT_STR_EQ(q, "\"\"");
    free(q);
    /* Not UTF-8: nothing to quote it as. */
    ASSERT_TRUE(frames_quote_node("bad \xff byte") == NULL);
}

static void test_quote_node_refuses_a_name_too_long_once_quoted(void)
{
    char name[FRAMES_NODE_MAX + 1];
    /* FRAMES_NODE_MAX - 2 bytes and two quotes: exactly the limit. */
    memset(name, 'x', FRAMES_NODE_MAX - 2);
    name[FRAMES_NODE_MAX - 2] = '\0';
    char *q = frames_quote_node(name);
    ASSERT_TRUE(q != NULL);
    ASSERT_EQ(strlen(q), FRAMES_NODE_MAX);
    free(q);
    name[FRAMES_NODE_MAX - 2] = 'x';
    name[FRAMES_NODE_MAX - 1] = '\0';
    ASSERT_TRUE(frames_quote_node(name) == NULL);
    /* Short enough raw, too long once its quotes are escaped. */
    memset(name, '"', FRAMES_NODE_MAX / 2);
    name[FRAMES_NODE_MAX / 2] = '\0';
    ASSERT_TRUE(frames_quote_node(name) == NULL);
    name[FRAMES_NODE_MAX / 2 - 1] = '\0'; /* 255 quotes: 510 escaped, 512 quoted */
    q = frames_quote_node(name);
    ASSERT_TRUE(q != NULL);
    ASSERT_EQ(strlen(q), FRAMES_NODE_MAX);
    free(q);
}

static void test_error_frame(void)
{
    char *text = frames_error("bad_request", "since must be an alert id");
    ASSERT_STR_EQ(text, "{\"type\":\"error\",\"code\":\"bad_request\","
                        "\"message\":\"since must be an alert id\"}");
    json_t *doc = parse(text, (int)strlen(text));
    free(text);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "type"), "error");
    ASSERT_STR_EQ(str(doc, "code"), "bad_request");
    ASSERT_STR_EQ(str(doc, "message"), "since must be an alert id");
    json_decref(doc);
}

static void test_error_frame_escapes_its_message(void)
{
    const char *message = "topics: \"Bad\\Topic\"\n\t\x01\x1f end";
    char *text = frames_error("forbidden", message);
    ASSERT_TRUE(text != NULL);
    /* jansson writes \u escapes' hex digits in capitals. */
    ASSERT_CONTAINS(text, "\\\"Bad\\\\Topic\\\"\\n\\t\\u0001\\u001F end");
    /* No raw control character is left in the frame. */
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20)
            TEST_FAIL_("raw control byte 0x%02x at %td", (unsigned)*p, p - text);
    json_t *doc = parse(text, (int)strlen(text));
    free(text);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(str(doc, "message"), message);
    ASSERT_STR_EQ(str(doc, "code"), "forbidden");
    json_decref(doc);
}

/* ------------------------------------------------------------------------
 * Close frames
 * ---------------------------------------------------------------------- */

/* Checks the close frame for code carries `reason`. */
static int close_is(uint16_t code, const char *reason)
{
    unsigned char out[FRAMES_CLOSE_MAX + 8];
    size_t rlen = strlen(reason);
    memset(out, 0xAA, sizeof(out));
    size_t n = frames_close(out, code);
    return n == rlen + 4 && out[0] == 0x88 && out[1] == rlen + 2 && out[2] == (code >> 8) &&
           out[3] == (code & 0xff) && memcmp(out + 4, reason, rlen) == 0 &&
           out[n] == 0xAA /* nothing written past it */ && n <= FRAMES_CLOSE_MAX &&
           strcmp(frames_close_reason(code), reason) == 0;
}

static void test_close_frames(void)
{
    ASSERT_TRUE(close_is(1001, "going away"));
    ASSERT_TRUE(close_is(1003, "text frames only"));
    ASSERT_TRUE(close_is(1007, "invalid UTF-8 or compressed data"));
    ASSERT_TRUE(close_is(1009, "frame over 4096 bytes"));
    ASSERT_TRUE(close_is(4001, "slow consumer"));
    ASSERT_TRUE(close_is(4029, "too many connections"));
    ASSERT_TRUE(close_is(1002, "protocol error"));
    ASSERT_TRUE(close_is(4030, "too many frames"));
    ASSERT_TRUE(close_is(4031, "too many replays"));
    ASSERT_TRUE(close_is(1008, "policy violation"));
    ASSERT_TRUE(close_is(4003, "policy violation"));
    ASSERT_TRUE(close_is(0, "policy violation"));
}

static void test_close_frame_bytes(void)
{
    unsigned char out[FRAMES_CLOSE_MAX];
    static const unsigned char want[] = {0x88, 15,  0x0f, 0xa1, 's', 'l', 'o', 'w', ' ',
                                         'c',  'o', 'n',  's',  'u', 'm', 'e', 'r'};
    ASSERT_EQ(frames_close(out, 4001), sizeof(want));
    ASSERT_EQ(memcmp(out, want, sizeof(want)), 0);
    ASSERT_EQ(frames_close(out, 1001), 14);
    ASSERT_EQ(out[2], 0x03);
    ASSERT_EQ(out[3], 0xe9);
    ASSERT_EQ(frames_close(out, 0xfffe), 4 + strlen("policy violation"));
    ASSERT_EQ(out[2], 0xff);
    ASSERT_EQ(out[3], 0xfe);
}

/* A client's close payload with status `code` and reason "bye". */
static int client_close_valid(unsigned code)
{
    unsigned char p[5] = {(unsigned char)(code >> 8), (unsigned char)code, 'b', 'y', 'e'};
    return frames_client_close_valid(p, 2) && frames_client_close_valid(p, sizeof(p));
}

static void test_client_close_codes(void)
{
    static const unsigned valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                     1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    static const unsigned invalid[] = {0,    1,    999,  1004, 1005, 1006, 1015,
                                       1016, 1999, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        ASSERT_TRUE(client_close_valid(valid[i]));
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        ASSERT_TRUE(!frames_client_close_valid(
            (const unsigned char[]){(unsigned char)(invalid[i] >> 8), (unsigned char)invalid[i]},
            2));
}

static void test_client_close_lengths(void)
{
    static const unsigned char normal[] = {0x03, 0xe8};
    ASSERT_TRUE(frames_client_close_valid(NULL, 0)); /* no status: valid */
    ASSERT_TRUE(!frames_client_close_valid(normal, 1));
    ASSERT_TRUE(frames_client_close_valid(normal, 2));
}

TEST_MAIN(TEST_CASE(test_hello), TEST_CASE(test_hello_with_fields),
          TEST_CASE(test_hello_with_an_awkward_node_name), TEST_CASE(test_gap),
          TEST_CASE(test_replayed), TEST_CASE(test_shed), TEST_CASE(test_pong),
          TEST_CASE(test_buffers_too_small), TEST_CASE(test_quote_node_escapes),
          TEST_CASE(test_quote_node_refuses_a_name_too_long_once_quoted),
          TEST_CASE(test_error_frame), TEST_CASE(test_error_frame_escapes_its_message),
          TEST_CASE(test_close_frames), TEST_CASE(test_close_frame_bytes),
          TEST_CASE(test_client_close_codes), TEST_CASE(test_client_close_lengths))
