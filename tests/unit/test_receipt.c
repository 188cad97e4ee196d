/*
 * test_receipt — the receipts' shared words: latency buckets, a tally, the
 * Redis field names read back into a sum, quantiles and the one-line
 * report.
 */
#include "receipt.h"
#include "test.h"

#include <stdio.h>

static void test_buckets_hold_up_to_their_bound(void)
{
    ASSERT_EQ(receipt_bucket(-5), 0); /* clocks that disagree */
    ASSERT_EQ(receipt_bucket(0), 0);
    ASSERT_EQ(receipt_bucket(1), 0);
    ASSERT_EQ(receipt_bucket(2), 1);
    ASSERT_EQ(receipt_bucket(41), 9); /* (30, 50] */
    ASSERT_EQ(receipt_bucket(50), 9);
    ASSERT_EQ(receipt_bucket(51), 10);
    ASSERT_EQ(receipt_bucket(60000), RECEIPT_BUCKETS - 2);
    ASSERT_EQ(receipt_bucket(60001), RECEIPT_BUCKETS - 1);
    ASSERT_EQ(receipt_bucket(INT64_MAX), RECEIPT_BUCKETS - 1);
    for (unsigned b = 0; b + 1 < RECEIPT_BUCKETS - 1; b++)
        ASSERT_TRUE(receipt_bound_ms[b] < receipt_bound_ms[b + 1]);
}

static void test_field_names_round_trip_into_a_sum(void)
{
    char f[RECEIPT_FIELD_MAX];
    struct receipt_sum s = {0};
    receipt_field(f, RECEIPT_SOCKET, 9);
    ASSERT_STR_EQ(f, "socket_le_50");
    ASSERT_EQ(receipt_sum_field(&s, f, "3"), 0);
    receipt_field(f, RECEIPT_SCREEN, RECEIPT_BUCKETS - 1);
    ASSERT_STR_EQ(f, "screen_le_inf");
    ASSERT_EQ(receipt_sum_field(&s, f, "2"), 0);
    ASSERT_EQ(receipt_sum_field(&s, "sockets", "40"), 0);
    ASSERT_EQ(receipt_sum_field(&s, "sockets", "2"), 0);
    ASSERT_EQ(receipt_sum_field(&s, "acks", "5"), 0);
    ASSERT_EQ(s.written, 42);
    ASSERT_EQ(s.acks, 5);
    ASSERT_EQ(s.hist[RECEIPT_SOCKET][9], 3);
    ASSERT_EQ(s.hist[RECEIPT_SCREEN][RECEIPT_BUCKETS - 1], 2);
    ASSERT_EQ(receipt_sum_field(&s, "socket_le_51", "1"), -1);
    ASSERT_EQ(receipt_sum_field(&s, "sockets", "-1"), -1);
    ASSERT_EQ(receipt_sum_field(&s, "sockets", "1x"), -1);
    ASSERT_EQ(receipt_sum_field(&s, "acks", ""), -1);
    ASSERT_EQ(s.written, 42);
}

static void test_a_tally_counts_and_buckets(void)
{
    struct receipt_tally t = {0};
    ASSERT_TRUE(receipt_tally_empty(&t));
    receipt_count_written(&t, 12);
    receipt_count_written(&t, 12);
    receipt_count_ack(&t, 140);
    ASSERT_TRUE(!receipt_tally_empty(&t));
    ASSERT_EQ(t.written, 2);
    ASSERT_EQ(t.acks, 1);
    ASSERT_EQ(t.hist[RECEIPT_SOCKET][receipt_bucket(12)], 2);
    ASSERT_EQ(t.hist[RECEIPT_SCREEN][receipt_bucket(140)], 1);
}

static void test_quantiles_interpolate_within_a_bucket(void)
{
    struct receipt_sum s = {0};
    ASSERT_TRUE(receipt_quantile(&s, RECEIPT_SOCKET, 0.5) < 0); /* nothing yet */
    /* 100 samples in (30, 50] */
    s.hist[RECEIPT_SOCKET][9] = 100;
    double p50 = receipt_quantile(&s, RECEIPT_SOCKET, 0.5);
    ASSERT_TRUE(p50 > 39.9 && p50 < 40.1);
    ASSERT_TRUE(receipt_quantile(&s, RECEIPT_SOCKET, 1.0) == 50);
    /* one more sample in the last bucket: p99 stays, the maximum is its floor */
    s.hist[RECEIPT_SOCKET][RECEIPT_BUCKETS - 1] = 1;
    ASSERT_TRUE(receipt_quantile(&s, RECEIPT_SOCKET, 0.99) <= 50);
    ASSERT_TRUE(receipt_quantile(&s, RECEIPT_SOCKET, 1.0) == 60000);
    /* a sample in [0, 1] ms is more than 0 */
    struct receipt_sum z = {0};
    z.hist[RECEIPT_SCREEN][0] = 1;
    ASSERT_TRUE(receipt_quantile(&z, RECEIPT_SCREEN, 0.5) > 0);
}

static void test_the_report_line(void)
{
    struct receipt_sum s = {0};
    char line[256];
    receipt_format(&s, line, sizeof(line));
    ASSERT_STR_EQ(line, "reached 0 readers on 0 nodes, 0 acknowledged; p50/p99 n/a to socket, "
                        "n/a to screen");
    s.written = 48210;
    s.acks = 31002;
    s.nodes = 3;
    s.hist[RECEIPT_SOCKET][9] = 100;
    s.hist[RECEIPT_SCREEN][0] = 2;
    receipt_format(&s, line, sizeof(line));
    ASSERT_STR_EQ(line, "reached 48210 readers on 3 nodes, 31002 acknowledged; p50/p99 40/50 ms "
                        "to socket, 0.5/1.0 ms to screen");
    char small[10];
    ASSERT_EQ(receipt_format(&s, small, sizeof(small)), 9);
    ASSERT_STR_EQ(small, "reached 4");
}

TEST_MAIN(TEST_CASE(test_buckets_hold_up_to_their_bound),
          TEST_CASE(test_field_names_round_trip_into_a_sum),
          TEST_CASE(test_a_tally_counts_and_buckets),
          TEST_CASE(test_quantiles_interpolate_within_a_bucket), TEST_CASE(test_the_report_line))
