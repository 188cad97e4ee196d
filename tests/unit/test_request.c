/*
 * test_request — the pure part of reading a request (request.h): exact
 * tokens in a comma-separated list (Sec-WebSocket-Protocol) and what an
 * Accept-Encoding list accepts, q=0 included.
 */
#include "request.h"
#include "test.h"

/* ------------------------------------------------------------------------
 * request_list_has: subprotocols
 * ---------------------------------------------------------------------- */

static void test_list_has_an_exact_token(void)
{
    ASSERT_EQ(request_list_has("alert.v1", "alert.v1"), 1);
    ASSERT_EQ(request_list_has(" foo , alert.v1 ", "alert.v1"), 1);
    ASSERT_EQ(request_list_has("foo,alert.v1", "alert.v1"), 1);
    ASSERT_EQ(request_list_has("alert.v1,foo", "alert.v1"), 1);
    ASSERT_EQ(request_list_has("\talert.v1\t,foo", "alert.v1"), 1);
    ASSERT_EQ(request_list_has(",,alert.v1,,", "alert.v1"), 1);
    ASSERT_EQ(request_list_has("foo, bar", "bar"), 1);
}

static void test_list_has_nothing_like_it(void)
{
    ASSERT_EQ(request_list_has("alert.v10", "alert.v1"), 0);
    ASSERT_EQ(request_list_has("Alert.v1", "alert.v1"), 0);
    ASSERT_EQ(request_list_has("alert.v1x,foo", "alert.v1"), 0);
    ASSERT_EQ(request_list_has("xalert.v1", "alert.v1"), 0);
    ASSERT_EQ(request_list_has("alert.v", "alert.v1"), 0);
    ASSERT_EQ(request_list_has("alert .v1", "alert.v1"), 0);
    ASSERT_EQ(request_list_has("foo,alert.v1;q=1", "alert.v1"), 0);
    ASSERT_EQ(request_list_has("", "alert.v1"), 0);
    ASSERT_EQ(request_list_has(" , ,", "alert.v1"), 0);
    /* An empty token is never an item. */
    ASSERT_EQ(request_list_has("a,,b", ""), 0);
    ASSERT_EQ(request_list_has("", ""), 0);
}

/* ------------------------------------------------------------------------
 * request_list_accepts: Accept-Encoding
 * ---------------------------------------------------------------------- */

static void test_accepts_a_coding_in_any_case(void)
{
    ASSERT_EQ(request_list_accepts("gzip", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("GZIP", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("Gzip", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("br, gzip;q=0.5", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("gzip, deflate, br", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("deflate, gzip ;q=1.0", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("gzip;q=1", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("gzip;q=0.001", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("gzip;q=0.01", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("gzip;level=1;q=0.5", "gzip"), 1);
}

static void test_accepts_not_with_q_zero(void)
{
    ASSERT_EQ(request_list_accepts("gzip;q=0", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("gzip; q=0.000", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("gzip;q=0.", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("gzip;Q=0", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("gzip ; q=0 , br", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("br, gzip;q=0", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("gzip;level=1;q=0", "gzip"), 0);
    /* The q of another coding is not this one's. */
    ASSERT_EQ(request_list_accepts("br;q=0, gzip", "gzip"), 1);
    ASSERT_EQ(request_list_accepts("gzip, br;q=0", "gzip"), 1);
}

static void test_accepts_only_that_coding(void)
{
    ASSERT_EQ(request_list_accepts("gzipx", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("x-gzip", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("deflate", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("deflate, br", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("gzi", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("", "gzip"), 0);
    ASSERT_EQ(request_list_accepts("deflate", "deflate"), 1);
    ASSERT_EQ(request_list_accepts("gzip", "deflate"), 0);
}

TEST_MAIN(TEST_CASE(test_list_has_an_exact_token), TEST_CASE(test_list_has_nothing_like_it),
          TEST_CASE(test_accepts_a_coding_in_any_case), TEST_CASE(test_accepts_not_with_q_zero),
          TEST_CASE(test_accepts_only_that_coding))
