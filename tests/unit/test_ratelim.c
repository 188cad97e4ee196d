/*
 * test_ratelim — registration requests per address per minute: the burst,
 * the steady rate and the wait it names, addresses apart, no limit.
 */
#include "ratelim.h"
#include "test.h"

#define SEC 1000000ULL

static void test_burst_then_one_per_interval(void)
{
    struct ratelim r;
    uint64_t now = 100 * SEC;
    ASSERT_EQ(ratelim_init(&r, 16, 6), 0); /* 6 a minute: one per 10 s */
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(ratelim_check(&r, "10.0.0.1", now), 0u);
    unsigned wait = ratelim_check(&r, "10.0.0.1", now);
    ASSERT_TRUE(wait >= 9 && wait <= 10);
    ASSERT_TRUE(ratelim_check(&r, "10.0.0.1", now + 9 * SEC) > 0);
    ASSERT_EQ(ratelim_check(&r, "10.0.0.1", now + 10 * SEC), 0u);
    ASSERT_TRUE(ratelim_check(&r, "10.0.0.1", now + 10 * SEC) > 0);
    ratelim_free(&r);
}

static void test_addresses_are_apart(void)
{
    struct ratelim r;
    ASSERT_EQ(ratelim_init(&r, 1024, 1), 0);
    ASSERT_EQ(ratelim_check(&r, "10.0.0.1", SEC), 0u);
    ASSERT_TRUE(ratelim_check(&r, "10.0.0.1", SEC) > 0);
    ASSERT_EQ(ratelim_check(&r, "2001:db8::1", SEC), 0u);
    ratelim_free(&r);
}

static void test_zero_is_no_limit(void)
{
    struct ratelim r;
    ASSERT_EQ(ratelim_init(&r, 16, 0), 0);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(ratelim_check(&r, "10.0.0.1", SEC), 0u);
    ratelim_free(&r);
}

TEST_MAIN(TEST_CASE(test_burst_then_one_per_interval), TEST_CASE(test_addresses_are_apart),
          TEST_CASE(test_zero_is_no_limit))
