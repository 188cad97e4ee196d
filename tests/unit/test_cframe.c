/*
 * test_cframe — the text of a client's WebSocket frame (cframe.h): ping,
 * subscribe with its filter, since and token, and every way a frame is
 * refused, with the reason the client is told.
 */
#include "cframe.h"
#include "query.h"
#include "test.h"

#include <string.h>

static void parse(const char *text, struct cframe *f)
{
    cframe_parse(text, strlen(text), f);
}

static void test_ping(void)
{
    struct cframe f;
    parse("{\"type\":\"ping\"}", &f);
    ASSERT_EQ(f.type, CFRAME_PING);
    ASSERT_TRUE(f.filter == NULL);
    cframe_release(&f);
    /* Other members of a ping are ignored. */
    parse("{\"type\":\"ping\",\"topics\":7}", &f);
    ASSERT_EQ(f.type, CFRAME_PING);
    cframe_release(&f);
}

/* proto/examples/frames/subscribe.json */
static void test_subscribe_example(void)
{
    struct cframe f;
    parse("{\"type\": \"subscribe\", \"topics\": [\"world\", \"business\"], \"lang\": [\"en\", "
          "\"fr\"], \"since\": \"1767225600123-0\"}",
          &f);
    ASSERT_EQ(f.type, CFRAME_SUBSCRIBE);
    ASSERT_TRUE(f.filter != NULL);
    ASSERT_EQ(f.filter->ntopics, 2);
    ASSERT_STR_EQ(f.filter->topics[0], "world");
    ASSERT_STR_EQ(f.filter->topics[1], "business");
    ASSERT_EQ(f.filter->nlangs, 2);
    ASSERT_STR_EQ(f.filter->langs[1], "fr");
    ASSERT_EQ(f.has_since, 1);
    ASSERT_EQ(f.since.ms, 1767225600123ULL);
    ASSERT_EQ(f.since.seq, 0);
    ASSERT_EQ(f.has_token, 0);
    cframe_release(&f);
}

static void test_subscribe_empty_and_nulls(void)
{
    struct cframe f;
    parse("{\"type\":\"subscribe\"}", &f);
    ASSERT_EQ(f.type, CFRAME_SUBSCRIBE);
    ASSERT_TRUE(f.filter != NULL);
    ASSERT_EQ(f.filter->ntopics + f.filter->nlangs, 0);
    ASSERT_EQ(f.has_since, 0);
    cframe_release(&f);
    parse("{\"type\":\"subscribe\",\"topics\":null,\"lang\":null,\"since\":null}", &f);
    ASSERT_EQ(f.type, CFRAME_SUBSCRIBE);
    ASSERT_EQ(f.has_since, 0);
    cframe_release(&f);
}

/* Languages are lowered, duplicates kept once. */
static void test_subscribe_lang_lowered(void)
{
    struct cframe f;
    parse("{\"type\":\"subscribe\",\"lang\":[\"PT-br\",\"pt-BR\"],\"topics\":[\"a\",\"a\"]}", &f);
    ASSERT_EQ(f.type, CFRAME_SUBSCRIBE);
    ASSERT_EQ(f.filter->nlangs, 1);
    ASSERT_STR_EQ(f.filter->langs[0], "pt-br");
    ASSERT_EQ(f.filter->ntopics, 1);
    cframe_release(&f);
}

/* The token is reported as it is; whether it counts is ws.c's business. */
static void test_subscribe_token(void)
{
    struct cframe f;
    parse("{\"type\":\"subscribe\",\"token\":\"a.b.c\"}", &f);
    ASSERT_EQ(f.type, CFRAME_SUBSCRIBE);
    ASSERT_EQ(f.has_token, 1);
    ASSERT_STR_EQ(f.token, "a.b.c");
    cframe_release(&f);
    parse("{\"type\":\"subscribe\",\"token\":5}", &f);
    ASSERT_EQ(f.type, CFRAME_SUBSCRIBE);
    ASSERT_EQ(f.has_token, 1);
    ASSERT_TRUE(f.token == NULL);
    cframe_release(&f);
}

static void expect_bad(const char *text, size_t len, const char *why)
{
    struct cframe f;
    cframe_parse(text, len, &f);
    ASSERT_EQ(f.type, CFRAME_BAD);
    ASSERT_TRUE(f.filter == NULL);
    ASSERT_CONTAINS(f.err, why);
    cframe_release(&f);
}

#define BAD(text, why) expect_bad(text, sizeof(text) - 1, why)

static void test_bad_frames(void)
{
    BAD("", "frames must be JSON objects");
    BAD("not json", "frames must be JSON objects");
    BAD("[1,2]", "frames must be JSON objects");
    BAD("\"ping\"", "frames must be JSON objects");
    BAD("{\"type\":\"ping\"} {}", "frames must be JSON objects");
    BAD("{\"type\":\"ping\",\"type\":\"ping\"}", "frames must be JSON objects");
    BAD("{\"type\":\"ping\0\"}", "frames must be JSON objects");
    BAD("{}", "type is missing");
    BAD("{\"type\":1}", "type is missing");
    BAD("{\"type\":\"pong\"}", "unknown type: expected subscribe, ping or ack");
    BAD("{\"type\":\"subscribe\",\"topics\":\"world\"}", "topics must be an array of strings");
    BAD("{\"type\":\"subscribe\",\"topics\":[1]}", "topics must be an array of strings");
    BAD("{\"type\":\"subscribe\",\"topics\":[\"World\"]}", "topics: each must match");
    BAD("{\"type\":\"subscribe\",\"lang\":{}}", "lang must be an array of strings");
    BAD("{\"type\":\"subscribe\",\"lang\":[\"e n\"]}", "lang: not a language tag");
    BAD("{\"type\":\"subscribe\",\"since\":\"01-0\"}", QUERY_SINCE_RULE);
    BAD("{\"type\":\"subscribe\",\"since\":17}", QUERY_SINCE_RULE);
    /* The topics are checked before the since. */
    BAD("{\"type\":\"subscribe\",\"topics\":[\"\"],\"since\":17}", "topics: each must match");
}

/* A reason quotes at most 40 bytes of the client's text; cut inside a
 * character it was no UTF-8, and no error frame could carry it. */
static void test_a_reason_is_printable_ascii(void)
{
    BAD("{\"type\":\"subscribe\",\"topics\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\u00e9\"]}",
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?\"");
    BAD("{\"type\":\"subscribe\",\"lang\":[\"en\\u00e9\\tx\"]}", "\"en???x\"");
}

static void test_too_many_topics(void)
{
    char text[1024];
    size_t at = (size_t)snprintf(text, sizeof(text), "{\"type\":\"subscribe\",\"topics\":[");
    for (int i = 0; i <= HUBFILTER_MAX_TOPICS; i++)
        at += (size_t)snprintf(text + at, sizeof(text) - at, "%s\"t%d\"", i ? "," : "", i);
    snprintf(text + at, sizeof(text) - at, "]}");
    expect_bad(text, strlen(text), "topics: at most 32");
}

/* An ack carries its ids, parsed here (acks.h); a malformed one is a bad
 * frame like any other. */
static void test_ack_ids(void)
{
    static const char text[] =
        "{\"type\":\"ack\",\"id\":[\"1700000000000-0\",\"1700000000001-2\"]}";
    struct cframe f;
    cframe_parse(text, sizeof(text) - 1, &f);
    ASSERT_EQ(f.type, CFRAME_ACK);
    ASSERT_EQ(f.nids, 2);
    ASSERT_EQ(f.ids[1].ms, 1700000000001ULL);
    ASSERT_EQ(f.ids[1].seq, 2);
    cframe_release(&f);
    BAD("{\"type\":\"ack\",\"id\":5}", "id must be an alert id or an array of 1-32 of them");
    BAD("{\"type\":\"ack\"}", "id must be an alert id or an array of 1-32 of them");
}

TEST_MAIN(TEST_CASE(test_ping), TEST_CASE(test_subscribe_example),
          TEST_CASE(test_subscribe_empty_and_nulls), TEST_CASE(test_subscribe_lang_lowered),
          TEST_CASE(test_subscribe_token), TEST_CASE(test_bad_frames),
          TEST_CASE(test_a_reason_is_printable_ascii), TEST_CASE(test_too_many_topics),
          TEST_CASE(test_ack_ids))
