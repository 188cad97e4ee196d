/*
 * test_pace — per-connection rate limits (GCRA): the burst, the steady
 * rate after it, refills that stop at a full bucket, refusals that cost
 * nothing, and no limit.
 */
#include "pace.h"
#include "test.h"

#define SEC 1000000ULL

/* Events allowed out of `tries` at one instant. */
static int burst(const struct pace_rule *r, uint64_t *tat, uint64_t now, int tries)
{
    int n = 0;
    for (int i = 0; i < tries; i++)
        n += pace_allow(r, tat, now);
    return n;
}

static void test_burst_then_steady_rate(void)
{
    struct pace_rule r;
    uint64_t tat = 0, now = 1000 * SEC;
    pace_rule_init(&r, 10, SEC); /* 10 a second */
    ASSERT_EQ(burst(&r, &tat, now, 50), 10);
    /* then one every 100 ms, never two */
    for (int i = 1; i <= 30; i++) {
        ASSERT_EQ(burst(&r, &tat, now + (uint64_t)i * SEC / 10 - 1, 5), 0);
        ASSERT_EQ(burst(&r, &tat, now + (uint64_t)i * SEC / 10, 5), 1);
    }
}

static void test_refused_events_cost_nothing(void)
{
    struct pace_rule r;
    uint64_t tat = 0, now = 5 * SEC;
    pace_rule_init(&r, 2, 60 * SEC); /* 2 a minute */
    ASSERT_EQ(burst(&r, &tat, now, 2), 2);
    ASSERT_EQ(burst(&r, &tat, now + 10 * SEC, 1000), 0);
    /* hammering did not push the next allowed event back */
    ASSERT_EQ(burst(&r, &tat, now + 30 * SEC, 1), 1);
    ASSERT_EQ(burst(&r, &tat, now + 30 * SEC, 1), 0);
}

static void test_idle_refills_to_the_burst_only(void)
{
    struct pace_rule r;
    uint64_t tat = 0;
    pace_rule_init(&r, 3, SEC);
    ASSERT_EQ(burst(&r, &tat, 10 * SEC, 3), 3);
    ASSERT_EQ(burst(&r, &tat, 3600 * SEC, 100), 3); /* an hour idle: 3, not 10800 */
}

static void test_first_event_at_time_zero(void)
{
    struct pace_rule r;
    uint64_t tat = 0;
    pace_rule_init(&r, 1, 60 * SEC);
    ASSERT_EQ(burst(&r, &tat, 0, 2), 1);
    ASSERT_EQ(burst(&r, &tat, 60 * SEC, 2), 1);
}

static void test_zero_limit_is_no_limit(void)
{
    struct pace_rule r;
    uint64_t tat = 0;
    pace_rule_init(&r, 0, SEC);
    ASSERT_EQ(burst(&r, &tat, 7, 100000), 100000);
    ASSERT_EQ(tat, 0);
}

static void test_limit_above_the_window_in_microseconds(void)
{
    struct pace_rule r;
    uint64_t tat = 0;
    pace_rule_init(&r, 3000000, SEC); /* more than one per µs: still a limit */
    ASSERT_TRUE(r.interval >= 1);
    ASSERT_EQ(burst(&r, &tat, SEC, 3000001), 3000000);
}

TEST_MAIN(TEST_CASE(test_burst_then_steady_rate), TEST_CASE(test_refused_events_cost_nothing),
          TEST_CASE(test_idle_refills_to_the_burst_only), TEST_CASE(test_first_event_at_time_zero),
          TEST_CASE(test_zero_limit_is_no_limit),
          TEST_CASE(test_limit_above_the_window_in_microseconds))
