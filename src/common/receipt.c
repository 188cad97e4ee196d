/*
 * receipt — see receipt.h.
 */
#include "receipt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint32_t receipt_bound_ms[RECEIPT_BUCKETS - 1] = {
    1,   2,   3,   5,   7,    10,   15,   20,   30,   50,    70,    100,   150,
    200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 10000, 30000, 60000,
};

static const char *const receipt_hist_name[2] = {"socket", "screen"};

unsigned receipt_bucket(int64_t ms)
{
    unsigned lo = 0, hi = RECEIPT_BUCKETS - 1; /* the answer is in [lo, hi] */
    if (ms < 0)
        return 0;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if ((uint64_t)ms <= receipt_bound_ms[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void receipt_count_written(struct receipt_tally *t, int64_t ms)
{
    t->written++;
    t->hist[RECEIPT_SOCKET][receipt_bucket(ms)]++;
}

void receipt_count_ack(struct receipt_tally *t, int64_t ms)
{
    t->acks++;
    t->hist[RECEIPT_SCREEN][receipt_bucket(ms)]++;
}

int receipt_tally_empty(const struct receipt_tally *t)
{
    return t->written == 0 && t->acks == 0;
}

void receipt_field(char out[RECEIPT_FIELD_MAX], enum receipt_hist h, unsigned bucket)
{
    if (bucket >= RECEIPT_BUCKETS - 1)
        snprintf(out, RECEIPT_FIELD_MAX, "%s_le_inf", receipt_hist_name[h]);
    else
        snprintf(out, RECEIPT_FIELD_MAX, "%s_le_%u", receipt_hist_name[h],
                 (unsigned)receipt_bound_ms[bucket]);
}

static int receipt_parse_count(const char *value, uint64_t *out)
{
    char *end;
    errno = 0;
    if (value == NULL || *value < '0' || *value > '9')
        return -1;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* The histogram and bucket a field names: 0, or -1 for another name. */
static int receipt_parse_field(const char *name, enum receipt_hist *h, unsigned *bucket)
{
    char f[RECEIPT_FIELD_MAX];
    for (int i = 0; i < 2; i++)
        for (unsigned b = 0; b < RECEIPT_BUCKETS; b++) {
            receipt_field(f, (enum receipt_hist)i, b);
            if (strcmp(f, name) == 0) {
                *h = (enum receipt_hist)i;
                *bucket = b;
                return 0;
            }
        }
    return -1;
}

int receipt_sum_field(struct receipt_sum *s, const char *name, const char *value)
{
    uint64_t v;
    enum receipt_hist h;
    unsigned b;
    if (receipt_parse_count(value, &v))
        return -1;
    if (strcmp(name, RECEIPT_FIELD_WRITTEN) == 0)
        s->written += v;
    else if (strcmp(name, RECEIPT_FIELD_ACKS) == 0)
        s->acks += v;
    else if (receipt_parse_field(name, &h, &b) == 0)
        s->hist[h][b] += v;
    else
        return -1;
    return 0;
}

double receipt_quantile(const struct receipt_sum *s, enum receipt_hist h, double q)
{
    const uint64_t *c = s->hist[h];
    uint64_t total = 0, before = 0;
    for (unsigned b = 0; b < RECEIPT_BUCKETS; b++)
        total += c[b];
    if (total == 0)
        return -1;
    /* The rank of the sample at q, from 1: ceil(q * total). */
    uint64_t rank = (uint64_t)(q * (double)total);
    if ((double)rank < q * (double)total)
        rank++;
    if (rank < 1)
        rank = 1;
    for (unsigned b = 0; b < RECEIPT_BUCKETS; b++) {
        if (before + c[b] < rank) {
            before += c[b];
            continue;
        }
        double lo = b ? receipt_bound_ms[b - 1] : 0;
        if (b == RECEIPT_BUCKETS - 1)
            return lo;
        double hi = receipt_bound_ms[b];
        return lo + (hi - lo) * (double)(rank - before) / (double)c[b];
    }
    return receipt_bound_ms[RECEIPT_BUCKETS - 2];
}

/* "41/180 ms" or "n/a": milliseconds with one decimal below 10. */
static void receipt_pair(const struct receipt_sum *s, enum receipt_hist h, char *out, size_t len)
{
    double p50 = receipt_quantile(s, h, 0.5), p99 = receipt_quantile(s, h, 0.99);
    if (p50 < 0) {
        snprintf(out, len, "n/a");
        return;
    }
    snprintf(out, len, "%.*f/%.*f ms", p50 < 10 ? 1 : 0, p50, p99 < 10 ? 1 : 0, p99);
}

size_t receipt_format(const struct receipt_sum *s, char *out, size_t len)
{
    char sock[48], screen[48];
    receipt_pair(s, RECEIPT_SOCKET, sock, sizeof(sock));
    receipt_pair(s, RECEIPT_SCREEN, screen, sizeof(screen));
    int n = snprintf(out, len,
                     "reached %llu reader%s on %u node%s, %llu acknowledged; p50/p99 %s to "
                     "socket, %s to screen",
                     (unsigned long long)s->written, s->written == 1 ? "" : "s", s->nodes,
                     s->nodes == 1 ? "" : "s", (unsigned long long)s->acks, sock, screen);
    if (n < 0)
        return 0;
    return (size_t)n < len ? (size_t)n : (len ? len - 1 : 0);
}
