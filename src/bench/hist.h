/*
 * hist — a log-linear histogram of latencies in microseconds.
 *
 * Values below 128 µs have a bucket each; above, every power of two is cut
 * into 64 buckets, so a percentile read back is within 1/64 (1.6 %) of the
 * true value, whatever the scale. Fixed size (no allocation), so a worker
 * sends it to the parent as plain bytes and the parent adds them up.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define HIST_LINEAR  128 /* values 0..127 have a bucket each */
#define HIST_SUB     64  /* buckets per power of two above */
#define HIST_MAX_EXP 40  /* values are capped at 2^40 - 1 µs (12 days) */
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_EXP - 7) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t sum; /* of the values, µs */
    uint64_t min, max;
    uint64_t bucket[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t us);
void hist_merge(struct hist *into, const struct hist *from);
/* The value at quantile q (0..1): the middle of the bucket holding it,
 * clamped to [min, max]; 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
