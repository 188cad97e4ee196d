/*
 * test_backoff — reconnection delays (backoff.h): the floor and the cap
 * that doubles up to the maximum, reset, and the generator each owner
 * seeds: the same seed repeats, seeds a few bits apart (the pids of
 * workers forked one after another) do not retry in step.
 */
#include "backoff.h"
#include "test.h"

#define MIN_MS 500
#define MAX_MS 30000
#define DRAWS  2000

/* The cap before the k-th delay since a reset: min, 2 min, 4 min... max. */
static uint64_t cap_at(unsigned k)
{
    uint64_t cap = MIN_MS;
    while (k-- > 0 && cap < MAX_MS)
        cap *= 2;
    return cap > MAX_MS ? MAX_MS : cap;
}

static void test_delays_stay_within_floor_and_cap(void)
{
    struct backoff b;
    backoff_init(&b, MIN_MS, MAX_MS, 12345);
    for (unsigned k = 0; k < 40; k++) {
        uint64_t d = backoff_next_ms(&b), cap = cap_at(k);
        if (d < MIN_MS / 2 || d >= MIN_MS / 2 + cap)
            TEST_FAIL_("delay %u: %llu outside [%d, %llu)", k, (unsigned long long)d, MIN_MS / 2,
                       (unsigned long long)(MIN_MS / 2 + cap));
    }
    ASSERT_EQ(b.attempts, 40);
    ASSERT_EQ(cap_at(0), MIN_MS);
    ASSERT_EQ(cap_at(1), 2 * MIN_MS);
    ASSERT_EQ(cap_at(6), MAX_MS); /* 32 min would pass max */
}

/* The k-th delay, drawn afresh many times with different seeds: its
 * largest value shows the cap in force (full jitter reaches near it). */
static uint64_t largest_kth(unsigned k)
{
    uint64_t most = 0;
    for (uint64_t seed = 1; seed <= DRAWS; seed++) {
        struct backoff b;
        uint64_t d = 0;
        backoff_init(&b, MIN_MS, MAX_MS, seed * 7919);
        for (unsigned i = 0; i <= k; i++)
            d = backoff_next_ms(&b);
        if (d > most)
            most = d;
    }
    return most;
}

static void test_the_cap_doubles_then_stays_at_max(void)
{
    /* Each cap's delays come near its top and never reach it: the cap for
     * attempt k is the one in force, not the one before or after. */
    for (unsigned k = 0; k < 9; k++) {
        uint64_t most = largest_kth(k), top = MIN_MS / 2 + cap_at(k);
        if (most >= top || most < top - cap_at(k) / 50)
            TEST_FAIL_("attempt %u: largest delay %llu, want just under %llu", k,
                       (unsigned long long)most, (unsigned long long)top);
    }
}

static void test_reset_starts_again_from_min(void)
{
    struct backoff b;
    backoff_init(&b, MIN_MS, MAX_MS, 99);
    for (int i = 0; i < 10; i++)
        backoff_next_ms(&b);
    backoff_reset(&b);
    ASSERT_EQ(b.attempts, 0);
    /* After a reset, every first delay is under min/2 + min again. */
    for (int i = 0; i < DRAWS; i++) {
        uint64_t d = backoff_next_ms(&b);
        if (d < MIN_MS / 2 || d >= MIN_MS / 2 + MIN_MS)
            TEST_FAIL_("draw %d after reset: %llu", i, (unsigned long long)d);
        backoff_reset(&b);
    }
}

static void test_min_equals_max_and_zero(void)
{
    struct backoff b;
    backoff_init(&b, 1000, 1000, 5);
    for (int i = 0; i < 100; i++) {
        uint64_t d = backoff_next_ms(&b);
        if (d < 500 || d >= 1500)
            TEST_FAIL_("draw %d: %llu", i, (unsigned long long)d);
    }
    backoff_init(&b, 0, 0, 5);
    ASSERT_EQ(backoff_next_ms(&b), 0);
    ASSERT_EQ(backoff_next_ms(&b), 0);
}

static void test_the_same_seed_gives_the_same_sequence(void)
{
    struct backoff a, b;
    backoff_init(&a, MIN_MS, MAX_MS, 0xdeadbeef);
    backoff_init(&b, MIN_MS, MAX_MS, 0xdeadbeef);
    for (int i = 0; i < 50; i++) {
        uint64_t x = backoff_next_ms(&a), y = backoff_next_ms(&b);
        if (x != y)
            TEST_FAIL_("draw %d: %llu != %llu", i, (unsigned long long)x, (unsigned long long)y);
        if (i % 7 == 6) {
            backoff_reset(&a);
            backoff_reset(&b);
        }
    }
}

/* How many of the first n delays two seeds draw alike. */
static int alike(uint64_t seed_a, uint64_t seed_b, int n)
{
    struct backoff a, b;
    int same = 0;
    backoff_init(&a, MIN_MS, MAX_MS, seed_a);
    backoff_init(&b, MIN_MS, MAX_MS, seed_b);
    for (int i = 0; i < n; i++)
        same += backoff_next_ms(&a) == backoff_next_ms(&b);
    return same;
}

/* The regression: every worker's full-jitter backoff was the same
 * sequence, so after a Redis outage they all retried in step. Seeds a bit
 * or two apart, as pids and indexes are, must draw unrelated delays. */
static void test_different_seeds_give_different_sequences(void)
{
    ASSERT_TRUE(alike(1000, 1000, 20) == 20);
    ASSERT_TRUE(alike(1000, 1001, 20) < 3); /* a chance equal draw or two, not a sequence */
    ASSERT_TRUE(alike(1000, 1002, 20) < 3);
    ASSERT_TRUE(alike(4242, 4242 ^ 0x100000000ull, 20) < 3); /* index in the high bits */
    ASSERT_TRUE(alike(0, 1, 20) < 3);
    /* Not just different: the first delays of neighbouring seeds spread
     * over the range rather than crowding together. */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t pid = 1000; pid < 1016; pid++) {
        struct backoff b;
        backoff_init(&b, MIN_MS, MAX_MS, pid);
        uint64_t d = backoff_next_ms(&b);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    ASSERT_TRUE(hi - lo > MIN_MS / 2);
}

TEST_MAIN(TEST_CASE(test_delays_stay_within_floor_and_cap),
          TEST_CASE(test_the_cap_doubles_then_stays_at_max),
          TEST_CASE(test_reset_starts_again_from_min), TEST_CASE(test_min_equals_max_and_zero),
          TEST_CASE(test_the_same_seed_gives_the_same_sequence),
          TEST_CASE(test_different_seeds_give_different_sequences))
