/*
 * hist — see hist.h.
 */
#include "hist.h"

#include <math.h>
#include <string.h>

static unsigned hist_index(uint64_t v)
{
    if (v < HIST_LINEAR)
        return (unsigned)v;
    if (v >= (1ULL << HIST_MAX_EXP))
        v = (1ULL << HIST_MAX_EXP) - 1;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* 7 .. HIST_MAX_EXP-1 */
    unsigned m = (unsigned)(v >> (e - 6));           /* 64 .. 127 */
    return HIST_LINEAR + (e - 7) * HIST_SUB + (m - HIST_SUB);
}

/* [lo, hi) of bucket i. */
static void hist_bounds(unsigned i, uint64_t *lo, uint64_t *hi)
{
    if (i < HIST_LINEAR) {
        *lo = i, *hi = i + 1;
        return;
    }
    unsigned e = (i - HIST_LINEAR) / HIST_SUB + 7;
    uint64_t m = (i - HIST_LINEAR) % HIST_SUB + HIST_SUB;
    *lo = m << (e - 6);
    *hi = (m + 1) << (e - 6);
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void hist_add(struct hist *h, uint64_t us)
{
    h->bucket[hist_index(us)]++;
    h->count++;
    h->sum += us;
    if (us < h->min)
        h->min = us;
    if (us > h->max)
        h->max = us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->bucket[i] += from->bucket[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    /* The rank of the value wanted, 1-based: the smallest value with at
     * least q of all values at or below it. A product that lands a hair
     * above a whole number (0.07 * 100 is 7.000000000000001 in binary
     * floating point) is that number, not the next one up. */
    double exact = q * (double)h->count;
    uint64_t rank = (uint64_t)ceil(exact - exact * 1e-12);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            hist_bounds(i, &lo, &hi);
            uint64_t v = lo + (hi - lo) / 2;
            return v < h->min ? h->min : v > h->max ? h->max : v;
        }
    }
    return h->max;
}
