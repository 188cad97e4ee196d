/*
 * test_reply — which headers an HTTP answer carries (reply_headers): the
 * cache default, nosniff always, ETag, encoding and its Vary, CORS for an
 * allowed Origin, and never more than REPLY_MAX_HEADERS.
 */
#include "reply.h"
#include "test.h"

#include <string.h>

/* The value of header `name` among out[0..n), or NULL; *count gets how
 * many times it occurs. */
static const char *find(const struct reply_header *out, int n, const char *name, int *count)
{
    const char *value = NULL;
    *count = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(out[i].name, name) == 0) {
            value = value ? value : out[i].value;
            (*count)++;
        }
    return value;
}

/* 1 when some "vary:" header says `what`. */
static int varies_on(const struct reply_header *out, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (strcmp(out[i].name, "vary:") == 0 && strcmp(out[i].value, what) == 0)
            return 1;
    return 0;
}

/* Every name is lowercase and ends with its ':', as lws wants it. */
static int names_well_formed(const struct reply_header *out, int n)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(out[i].name);
        if (len < 2 || out[i].name[len - 1] != ':' || out[i].value == NULL)
            return 0;
        for (size_t k = 0; k < len; k++)
            if (out[i].name[k] >= 'A' && out[i].name[k] <= 'Z')
                return 0;
    }
    return 1;
}

static void test_a_plain_answer(void)
{
    struct reply r = {200, REPLY_TEXT, "ok", 2, NULL, NULL, NULL, 0};
    struct reply_header out[REPLY_MAX_HEADERS];
    int count, n = reply_headers(&r, NULL, NULL, NULL, out);
    ASSERT_EQ(n, 2);
    ASSERT_TRUE(names_well_formed(out, n));
    ASSERT_STR_EQ(find(out, n, "cache-control:", &count), "no-store");
    ASSERT_EQ(count, 1);
    ASSERT_STR_EQ(find(out, n, "x-content-type-options:", &count), "nosniff");
    ASSERT_TRUE(find(out, n, "etag:", &count) == NULL);
    ASSERT_TRUE(find(out, n, "content-encoding:", &count) == NULL);
    ASSERT_TRUE(find(out, n, "vary:", &count) == NULL);
    ASSERT_TRUE(find(out, n, "access-control-allow-origin:", &count) == NULL);
}

static void test_cache_etag_and_encoding(void)
{
    struct reply r = {200, REPLY_JSON, "{}", 2, "public, max-age=5", "\"abc\"", "gzip", 1};
    struct reply_header out[REPLY_MAX_HEADERS];
    int count, n = reply_headers(&r, NULL, NULL, NULL, out);
    ASSERT_EQ(n, 5);
    ASSERT_TRUE(names_well_formed(out, n));
    ASSERT_STR_EQ(find(out, n, "cache-control:", &count), "public, max-age=5");
    ASSERT_EQ(count, 1);
    ASSERT_STR_EQ(find(out, n, "x-content-type-options:", &count), "nosniff");
    ASSERT_STR_EQ(find(out, n, "etag:", &count), "\"abc\"");
    ASSERT_STR_EQ(find(out, n, "content-encoding:", &count), "gzip");
    ASSERT_TRUE(varies_on(out, n, "Accept-Encoding"));
    ASSERT_TRUE(!varies_on(out, n, "Origin"));
}

static void test_vary_without_encoding(void)
{
    /* An identity body chosen because the client did not accept gzip
     * still varies on Accept-Encoding, so a cache keeps both. */
    struct reply r = {200, REPLY_JSON, "{}", 2, NULL, NULL, NULL, 1};
    struct reply_header out[REPLY_MAX_HEADERS];
    int count, n = reply_headers(&r, NULL, NULL, NULL, out);
    ASSERT_EQ(n, 3);
    ASSERT_TRUE(varies_on(out, n, "Accept-Encoding"));
    ASSERT_TRUE(find(out, n, "content-encoding:", &count) == NULL);
    /* And an encoding without vary_encoding adds no Vary. */
    r.vary_encoding = 0;
    r.encoding = "gzip";
    n = reply_headers(&r, NULL, NULL, NULL, out);
    ASSERT_EQ(n, 3);
    ASSERT_TRUE(find(out, n, "vary:", &count) == NULL);
}

static void test_cors_names_the_origin_and_varies_on_it(void)
{
    struct reply r = {200, REPLY_JSON, "{}", 2, NULL, NULL, NULL, 0};
    struct reply_header out[REPLY_MAX_HEADERS];
    int count, n = reply_headers(&r, "https://news.example", NULL, NULL, out);
    ASSERT_EQ(n, 4);
    ASSERT_TRUE(names_well_formed(out, n));
    ASSERT_STR_EQ(find(out, n, "access-control-allow-origin:", &count), "https://news.example");
    ASSERT_EQ(count, 1);
    ASSERT_TRUE(varies_on(out, n, "Origin"));
    ASSERT_STR_EQ(find(out, n, "x-content-type-options:", &count), "nosniff");
    ASSERT_STR_EQ(find(out, n, "cache-control:", &count), "no-store");
}

static void test_never_more_than_the_max(void)
{
    /* Everything at once: exactly the room there is, each header once
     * but vary (one per reason). */
    struct reply r = {200, REPLY_JSON, "{}", 2, "no-cache", "\"e\"", "gzip", 1};
    struct reply_header out[REPLY_MAX_HEADERS + 1];
    int count;
    out[REPLY_MAX_HEADERS].name = "untouched";
    struct reply_end end = {"GET, HEAD", 1};
    int n = reply_headers(&r, "https://news.example", "max-age=60", &end, out);
    ASSERT_TRUE(n <= REPLY_MAX_HEADERS);
    ASSERT_EQ(n, 10);
    ASSERT_STR_EQ(out[REPLY_MAX_HEADERS].name, "untouched");
    ASSERT_TRUE(names_well_formed(out, n));
    ASSERT_TRUE(varies_on(out, n, "Accept-Encoding"));
    ASSERT_TRUE(varies_on(out, n, "Origin"));
    find(out, n, "vary:", &count);
    ASSERT_EQ(count, 2);
    const char *once[] = {"cache-control:",
                          "x-content-type-options:",
                          "etag:",
                          "content-encoding:",
                          "access-control-allow-origin:",
                          "strict-transport-security:",
                          "allow:",
                          "connection:"};
    for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
        find(out, n, once[i], &count);
        if (count != 1)
            TEST_FAIL_("%s: %d times", once[i], count);
    }
}

static void test_a_refusal_names_allow_and_closes(void)
{
    struct reply r = {405, REPLY_TEXT, "no\n", 3, NULL, NULL, NULL, 0};
    struct reply_header out[REPLY_MAX_HEADERS];
    struct reply_end end = {"GET, HEAD", 1}, keep = {NULL, 0};
    int count, n = reply_headers(&r, NULL, NULL, &end, out);
    ASSERT_STR_EQ(find(out, n, "allow:", &count), "GET, HEAD");
    ASSERT_STR_EQ(find(out, n, "connection:", &count), "close");
    ASSERT_TRUE(find(out, n, "strict-transport-security:", &count) == NULL);
    n = reply_headers(&r, NULL, "max-age=31536000", &keep, out);
    ASSERT_TRUE(find(out, n, "allow:", &count) == NULL);
    ASSERT_TRUE(find(out, n, "connection:", &count) == NULL);
    ASSERT_STR_EQ(find(out, n, "strict-transport-security:", &count), "max-age=31536000");
}

static void test_reason_phrases(void)
{
    ASSERT_STR_EQ(reply_reason(431), "Request Header Fields Too Large");
    ASSERT_STR_EQ(reply_reason(426), "Upgrade Required");
    ASSERT_STR_EQ(reply_reason(413), "Content Too Large");
    ASSERT_STR_EQ(reply_reason(405), "Method Not Allowed");
    ASSERT_STR_EQ(reply_reason(299), "");
}

TEST_MAIN(TEST_CASE(test_a_plain_answer), TEST_CASE(test_cache_etag_and_encoding),
          TEST_CASE(test_vary_without_encoding),
          TEST_CASE(test_cors_names_the_origin_and_varies_on_it),
          TEST_CASE(test_never_more_than_the_max), TEST_CASE(test_a_refusal_names_allow_and_closes),
          TEST_CASE(test_reason_phrases))
