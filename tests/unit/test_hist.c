/*
 * test_hist — alert-bench's latency histogram: quantiles against the exact
 * order statistics at several scales, the clamp to [min, max], merging,
 * the empty histogram and values past the cap.
 */
#include "bench/hist.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#define N_VALUES 1000

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A fixed pseudo-random sequence (an LCG), so a failure repeats. */
static uint64_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

/* The exact quantile of sorted[0..n) for q = permille / 1000: the smallest
 * value with at least q of all values at or below it (integer ranks, so
 * the expectation has no rounding of its own). */
static uint64_t exact_quantile(const uint64_t *sorted, size_t n, unsigned permille)
{
    size_t rank = ((size_t)permille * n + 999) / 1000;
    return sorted[rank ? rank - 1 : 0];
}

static uint64_t distance(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

/* ------------------------------------------------------------------------
 * Quantiles
 * ---------------------------------------------------------------------- */

/* Values spread over a decade above `scale`, at scales from single
 * microseconds to days: every quantile is within 1/64 of the exact one
 * (exactly equal below 128, where buckets are one value wide). */
static void test_quantiles_within_a_64th_at_every_scale(void)
{
    static const uint64_t scales[] = {1, 9, 100, 1000, 54321, 10000000, 1000000000, 30000000000};
    static const unsigned permilles[] = {0, 10, 70, 250, 500, 900, 950, 990, 999, 1000};
    static uint64_t values[N_VALUES];
    static struct hist h;

    for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++) {
        uint64_t state = s + 1;
        hist_init(&h);
        for (size_t i = 0; i < N_VALUES; i++) {
            values[i] = scales[s] + next_random(&state) % (scales[s] * 9 + 1);
            hist_add(&h, values[i]);
        }
        qsort(values, N_VALUES, sizeof(values[0]), cmp_u64);
        for (size_t k = 0; k < sizeof(permilles) / sizeof(permilles[0]); k++) {
            uint64_t want = exact_quantile(values, N_VALUES, permilles[k]);
            uint64_t got = hist_quantile(&h, permilles[k] / 1000.0);
            if (distance(got, want) * 64 > want)
                TEST_FAIL_("scale %llu, q %u/1000: got %llu, exact %llu",
                           (unsigned long long)scales[s], permilles[k], (unsigned long long)got,
                           (unsigned long long)want);
        }
    }
}

/* Values 1..100 sit in one-value buckets, so the quantile at k/100 must be
 * exactly k: the rank may not be thrown off by q * count rounding up
 * (0.07 * 100 is 7.000000000000001 in binary floating point). */
static void test_quantile_rank_is_exact(void)
{
    static struct hist h;
    hist_init(&h);
    for (uint64_t v = 1; v <= 100; v++)
        hist_add(&h, v);
    for (unsigned k = 1; k <= 100; k++)
        ASSERT_EQ(hist_quantile(&h, k / 100.0), k);
    ASSERT_EQ(hist_quantile(&h, 0.0), 1);
    ASSERT_EQ(hist_quantile(&h, 0.001), 1);
    ASSERT_EQ(hist_quantile(&h, 0.991), 100);
}

/* A bucket's middle is clamped to what was actually seen. */
static void test_quantile_clamped_to_min_and_max(void)
{
    static struct hist h;

    /* 1001 and 1007 share the bucket [1000, 1008), whose middle is 1004. */
    hist_init(&h);
    hist_add(&h, 1001);
    ASSERT_EQ(hist_quantile(&h, 0.5), 1001); /* not above max */
    hist_init(&h);
    hist_add(&h, 1007);
    ASSERT_EQ(hist_quantile(&h, 0.5), 1007); /* not below min */
    hist_add(&h, 1001);
    ASSERT_EQ(h.min, 1001);
    ASSERT_EQ(h.max, 1007);
    ASSERT_EQ(hist_quantile(&h, 0.0), 1004);
    ASSERT_EQ(hist_quantile(&h, 1.0), 1004);
}

static void test_empty(void)
{
    static struct hist h;
    hist_init(&h);
    ASSERT_EQ(h.count, 0);
    ASSERT_EQ(h.sum, 0);
    ASSERT_EQ(hist_quantile(&h, 0.0), 0);
    ASSERT_EQ(hist_quantile(&h, 0.5), 0);
    ASSERT_EQ(hist_quantile(&h, 1.0), 0);
}

/* ------------------------------------------------------------------------
 * Merge
 * ---------------------------------------------------------------------- */

/* Two halves merged read back like one histogram of everything. */
static void test_merge_equals_one_histogram(void)
{
    static struct hist a, b, all;
    static const unsigned permilles[] = {0, 500, 900, 990, 999, 1000};
    uint64_t state = 42;

    hist_init(&a);
    hist_init(&b);
    hist_init(&all);
    for (int i = 0; i < 5000; i++) {
        uint64_t v = 50 + next_random(&state) % 2000000;
        hist_add(i % 3 ? &a : &b, v);
        hist_add(&all, v);
    }
    hist_add(&b, 3); /* the smallest value is only in b */
    hist_add(&all, 3);
    hist_merge(&a, &b);
    ASSERT_EQ(a.count, all.count);
    ASSERT_EQ(a.sum, all.sum);
    ASSERT_EQ(a.min, 3);
    ASSERT_EQ(a.max, all.max);
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        ASSERT_EQ(a.bucket[i], all.bucket[i]);
    for (size_t k = 0; k < sizeof(permilles) / sizeof(permilles[0]); k++)
        ASSERT_EQ(hist_quantile(&a, permilles[k] / 1000.0),
                  hist_quantile(&all, permilles[k] / 1000.0));
}

/* An empty histogram changes nothing either way: its min (UINT64_MAX
 * until a value comes) is not taken for a value. */
static void test_merge_with_empty(void)
{
    static struct hist empty, h, into;
    hist_init(&empty);
    hist_init(&h);
    hist_add(&h, 250);
    hist_add(&h, 4000);

    hist_merge(&h, &empty);
    ASSERT_EQ(h.count, 2);
    ASSERT_EQ(h.min, 250);
    ASSERT_EQ(h.max, 4000);

    hist_init(&into);
    hist_merge(&into, &h);
    ASSERT_EQ(into.count, 2);
    ASSERT_EQ(into.sum, 4250);
    ASSERT_EQ(into.min, 250);
    ASSERT_EQ(into.max, 4000);
    ASSERT_EQ(hist_quantile(&into, 0.5), hist_quantile(&h, 0.5));
}

/* ------------------------------------------------------------------------
 * The cap
 * ---------------------------------------------------------------------- */

/* Values past 2^40 - 1 µs go into the last bucket instead of past the
 * array; count, sum and max keep the true values, and a quantile that
 * falls there reads as the last bucket's middle, below the cap. */
static void test_values_beyond_the_cap(void)
{
    static struct hist h;
    const uint64_t cap = 1ULL << HIST_MAX_EXP, huge = 1ULL << 50;

    hist_init(&h);
    hist_add(&h, 10);
    hist_add(&h, huge);
    hist_add(&h, UINT64_MAX / 4);
    ASSERT_EQ(h.count, 3);
    ASSERT_EQ(h.sum, 10 + huge + UINT64_MAX / 4);
    ASSERT_EQ(h.max, UINT64_MAX / 4);
    ASSERT_EQ(h.bucket[HIST_BUCKETS - 1], 2);
    ASSERT_EQ(hist_quantile(&h, 0.0), 10);
    uint64_t top = hist_quantile(&h, 1.0);
    ASSERT_TRUE(top >= cap - cap / 128 && top < cap);

    /* Alone past the cap, the clamp to min gives the value back. */
    hist_init(&h);
    hist_add(&h, huge);
    ASSERT_EQ(hist_quantile(&h, 0.5), huge);
}

TEST_MAIN(TEST_CASE(test_quantiles_within_a_64th_at_every_scale),
          TEST_CASE(test_quantile_rank_is_exact), TEST_CASE(test_quantile_clamped_to_min_and_max),
          TEST_CASE(test_empty), TEST_CASE(test_merge_equals_one_histogram),
          TEST_CASE(test_merge_with_empty), TEST_CASE(test_values_beyond_the_cap))
