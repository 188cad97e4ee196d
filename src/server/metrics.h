/*
 * metrics — the node's counters, and their Prometheus text rendering.
 *
 * Each worker process counts into its own slot of one shared anonymous
 * mapping made before the workers fork, so /metrics (and /readyz) answered
 * by any worker sees the whole node without locks: a slot has exactly one
 * writer, and readers sum aligned 64-bit words.
 */
#ifndef ALERTD_METRICS_H
#define ALERTD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_LATENCY_BUCKETS 14

struct metrics_slot {
    int64_t pid;             /* 0: slot unused */
    int64_t ready;           /* gauge: subscribed and caught up */
    int64_t redis_connected; /* gauge */
    int64_t connections;     /* gauge: open WebSocket + SSE clients */
    int64_t history;         /* gauge: alerts held */
    int64_t deflate_clients; /* gauge: WebSocket clients with permessage-deflate */
    uint64_t connections_total;
    uint64_t alerts_in;
    uint64_t alerts_invalid;     /* relayed items that failed validation */
    uint64_t fields_dropped;     /* unknown top-level fields removed */
    uint64_t embargoes_released; /* embargoed alerts this worker moved into the stream */
    uint64_t deliveries;
    uint64_t replayed;     /* of the deliveries, those sent in a replay after since */
    uint64_t alert_writes; /* TLS writes carrying alerts (one may carry several) */
    uint64_t slow_closes;  /* 4001 */
    uint64_t shed;         /* routine alerts not sent to clients that fell behind */
    uint64_t ahead;        /* flashes written ahead of a client's older alerts */
    uint64_t replays;
    uint64_t gaps;
    uint64_t frame_rate_closes;  /* 4030 */
    uint64_t replay_rate_closes; /* 4031 */
    uint64_t bad_requests;
    uint64_t redis_reconnects;
    uint64_t tls_failures;
    /* alert frame bytes not written thanks to permessage-deflate */
    uint64_t deflate_bytes_saved;
    uint64_t too_many;       /* 4029 */
    uint64_t per_ip_refused; /* connections over --max-per-ip */
    uint64_t rate_refused;   /* connections over --max-rate-per-ip */
    uint64_t proxy_refused;  /* --proxy-protocol: no valid header in time */
    uint64_t fields_full;    /* asked for fields=, sent the full item: no variant free */
    uint64_t heartbeats;     /* WebSocket pings and SSE heartbeat comments sent */
    uint64_t sweep_visits;   /* clients the sweep looked at */
    /* receipts.h: readers' acks counted; acks not counted (not sent on
     * that connection, acknowledged already, too old); alerts' receipts
     * sent to Redis; receipt writes refused or dropped with a connection */
    uint64_t acks, acks_refused, receipt_flushes, receipt_flush_errors;
    uint64_t latency_count;
    uint64_t latency_sum_us;
    uint64_t latency_buckets[METRICS_LATENCY_BUCKETS]; /* cumulative at render */
    /* Not rendered: how the worker fares, for what the process tells its
     * service manager (service.h). */
    int64_t serving;  /* 1 once the worker's loop serves its sockets */
    int64_t beat_ms;  /* CLOCK_MONOTONIC ms when its loop last turned (metrics_beat) */
    uint64_t reloads; /* SIGHUP reloads done */
};

/* This process's slot; valid after metrics_init. */
extern struct metrics_slot *metrics;

/* Maps `nslots` slots and points `metrics` at slot 0. */
int metrics_init(int nslots);
/* A worker claims its slot (after fork). */
void metrics_use_slot(int slot);
void metrics_release(void);

/* Publish → write latency, in microseconds. */
void metrics_observe_latency(uint64_t us);

/* 1 when every live worker's slot says ready. */
int metrics_all_ready(void);

/* This worker's loop turned now (the sweep, once a second). */
void metrics_beat(void);
/* Slot `i`, read-only; NULL past the last. */
const struct metrics_slot *metrics_peek(int i);
/* CLOCK_MONOTONIC in ms, the clock of beat_ms. */
uint64_t metrics_now_ms(void);

/* Renders the Prometheus text exposition; returns bytes written, or the
 * size needed if it did not fit. */
size_t metrics_render(char *buf, size_t len, const char *node);

#endif
