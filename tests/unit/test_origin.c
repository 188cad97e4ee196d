/*
 * test_origin — the allowed browser Origins (origin.h): exact entries,
 * patterns whose "*" stands for one or more whole labels, schemes and
 * ports that must be the same, and the bare apex a pattern never covers.
 */
#include "origin.h"
#include "test.h"

#define PATTERN "https://*.example.org"

static void test_exact_entries_ignore_case_only(void)
{
    ASSERT_TRUE(origin_matches("https://news.example", "https://news.example"));
    ASSERT_TRUE(origin_matches("https://news.example", "HTTPS://News.Example"));
    ASSERT_TRUE(!origin_matches("https://news.example", "https://news.example.evil.example"));
    ASSERT_TRUE(!origin_matches("https://news.example", "http://news.example"));
    ASSERT_TRUE(!origin_matches("https://news.example", "https://news.example:8443"));
}

static void test_a_pattern_covers_one_label_or_several(void)
{
    ASSERT_TRUE(origin_matches(PATTERN, "https://news.example.org"));
    ASSERT_TRUE(origin_matches(PATTERN, "https://a.b.example.org"));
    ASSERT_TRUE(origin_matches(PATTERN, "https://x-1.example.org"));
    ASSERT_TRUE(origin_matches(PATTERN, "HTTPS://NEWS.Example.ORG"));
}

static void test_a_pattern_never_covers_the_apex_or_a_lookalike(void)
{
    ASSERT_TRUE(!origin_matches(PATTERN, "https://example.org"));
    ASSERT_TRUE(!origin_matches(PATTERN, "https://.example.org"));
    ASSERT_TRUE(!origin_matches(PATTERN, "https://a..example.org"));
    ASSERT_TRUE(!origin_matches(PATTERN, "https://badexample.org"));
    ASSERT_TRUE(!origin_matches(PATTERN, "https://news.example.org.evil.example"));
    ASSERT_TRUE(!origin_matches(PATTERN, "https://news.example.org/"));
    ASSERT_TRUE(!origin_matches(PATTERN, "https://a_b.example.org"));
    ASSERT_TRUE(!origin_matches(PATTERN, "https://evil.example/x.example.org"));
    ASSERT_TRUE(!origin_matches(PATTERN, "null"));
}

static void test_a_pattern_keeps_scheme_and_port(void)
{
    ASSERT_TRUE(!origin_matches(PATTERN, "http://news.example.org"));
    ASSERT_TRUE(!origin_matches(PATTERN, "https://news.example.org:8443"));
    ASSERT_TRUE(origin_matches("https://*.example.org:8443", "https://news.example.org:8443"));
    ASSERT_TRUE(!origin_matches("https://*.example.org:8443", "https://news.example.org"));
    ASSERT_TRUE(!origin_matches("https://*.example.org:8443", "https://news.example.org:443"));
    ASSERT_TRUE(origin_matches("http://*.example.org", "http://news.example.org"));
}

static void test_the_list(void)
{
    char *list[] = {"https://example.org", PATTERN};
    ASSERT_TRUE(origin_allowed(list, 2, "https://example.org"));
    ASSERT_TRUE(origin_allowed(list, 2, "https://www.example.org"));
    ASSERT_TRUE(!origin_allowed(list, 2, "https://example.com"));
    ASSERT_TRUE(origin_allowed(list, 2, NULL));                  /* not from a browser page */
    ASSERT_TRUE(origin_allowed(list, 0, "https://example.com")); /* no list: any */
}

TEST_MAIN(TEST_CASE(test_exact_entries_ignore_case_only),
          TEST_CASE(test_a_pattern_covers_one_label_or_several),
          TEST_CASE(test_a_pattern_never_covers_the_apex_or_a_lookalike),
          TEST_CASE(test_a_pattern_keeps_scheme_and_port), TEST_CASE(test_the_list))
