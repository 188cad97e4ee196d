/*
 * receipt — what a node counts per alert to tell the newsroom that it
 * reached readers, in the words both programs share: the latency buckets,
 * one node's tally, the field names of its Redis hash, and the sum over
 * nodes with its percentiles and its one-line report.
 *
 * A node counts, per alert, the sockets it wrote the alert to and the acks
 * (`{"type":"ack"}`) its readers sent, each with a histogram of the time
 * since the alert was published: its stream id's millisecond part, Redis'
 * clock (proto/PROTOCOL.md, "Receipts", says what clock skew does). alertd
 * adds its tallies into P:rcpt:<id>:<node> (rkeys.h) about once a second,
 * kept --receipts-days;
 * `alert stats` sums every node's hash. Pure: no I/O, unit-tested alone.
 */
#ifndef ALERT_RECEIPT_H
#define ALERT_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

/* Latency buckets: bucket i holds latencies up to receipt_bound_ms[i]
 * (and above the bound before it); the last one everything beyond. */
#define RECEIPT_BUCKETS 26
extern const uint32_t receipt_bound_ms[RECEIPT_BUCKETS - 1];

/* The two histograms: publish to socket write, publish to ack. */
enum receipt_hist { RECEIPT_SOCKET, RECEIPT_SCREEN };

/* One node's figures for one alert since its last flush. */
struct receipt_tally {
    uint32_t written; /* sockets the alert was written to (WebSocket and SSE) */
    uint32_t acks;    /* acks counted */
    uint32_t hist[2][RECEIPT_BUCKETS];
};

/* The bucket of a latency in milliseconds (negative: 0, the clocks disagree). */
unsigned receipt_bucket(int64_t ms);

/* Counts one socket written / one ack, `ms` after the alert was published. */
void receipt_count_written(struct receipt_tally *t, int64_t ms);
void receipt_count_ack(struct receipt_tally *t, int64_t ms);
int receipt_tally_empty(const struct receipt_tally *t);

/* The Redis hash field of a histogram bucket ("socket_le_50",
 * "screen_le_inf"); the counts are "sockets" and "acks". */
#define RECEIPT_FIELD_WRITTEN "sockets"
#define RECEIPT_FIELD_ACKS    "acks"
#define RECEIPT_FIELD_MAX     24
void receipt_field(char out[RECEIPT_FIELD_MAX], enum receipt_hist h, unsigned bucket);

/* The figures of every node summed. */
struct receipt_sum {
    uint64_t written, acks;
    uint64_t hist[2][RECEIPT_BUCKETS];
    unsigned nodes; /* nodes whose hash was added */
};

/* Adds one field of a node's hash; -1 for a name or value not ours (the
 * caller decides whether that matters: a newer node may add fields). */
int receipt_sum_field(struct receipt_sum *s, const char *name, const char *value);

/* The latency at quantile q (0 < q <= 1) of a summed histogram, in ms,
 * interpolated within its bucket; -1 when it holds nothing. A quantile in
 * the last bucket is reported as its lower bound. */
double receipt_quantile(const struct receipt_sum *s, enum receipt_hist h, double q);

/* "reached N readers on K nodes, A acknowledged; p50/p99 X/Y ms to socket,
 * X/Y ms to screen" into out; its length (truncated to fit). */
size_t receipt_format(const struct receipt_sum *s, char *out, size_t len);

#endif
