/*
 * stats — what a worker counts, sent to the parent as plain bytes over its
 * pipe (same program, same machine: no encoding needed) and added up there.
 *
 * A worker reports its connection phase (and a second one with --resume)
 * in a struct stats_connect, and its delivery phase in a struct
 * stats_deliver followed by two histograms and, per alert, the latest
 * arrival and the number of clients that got it.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include "hist.h"

#include <stdint.h>

/* Why a connection never got established. */
enum stats_fail {
    FAIL_SOCKET,  /* socket, bind (source address) */
    FAIL_CONNECT, /* TCP: refused, unreachable, reset */
    FAIL_TLS,     /* handshake or certificate */
    FAIL_UPGRADE, /* answer not 101, or a wrong Sec-WebSocket-Accept */
    FAIL_TIMEOUT, /* not established within --connect-timeout */
    FAIL_CLOSED,  /* closed by the server before the upgrade answer */
    FAIL_KINDS
};

#define STATS_ERR_LEN 160

struct stats_connect {
    uint64_t attempted, established, failed;
    uint64_t fail[FAIL_KINDS];
    uint64_t resumed;     /* handshakes that resumed a session (SSL_session_reused) */
    uint64_t tickets;     /* connections that received a session ticket */
    uint64_t pmd;         /* connections that negotiated permessage-deflate (--deflate) */
    int64_t first_ns;     /* CLOCK_MONOTONIC: first connection started */
    int64_t last_ns;      /* CLOCK_MONOTONIC: last connection established (or failed) */
    int64_t cpu_us;       /* the worker's CPU over the phase */
    int64_t handshake_us; /* sum over established connections of connect → 101 */
    char tls_version[16]; /* as negotiated by the first connection */
    char cipher[64];
    char first_error[STATS_ERR_LEN];
};

/* Close codes counted separately; anything else counts as "other". */
#define STATS_CLOSE_CODES                                                                          \
    {                                                                                              \
        1000, 1001, 1006, 1008, 1009, 1011, 4001, 4029                                             \
    }
#define STATS_N_CLOSE 8

struct stats_deliver {
    uint64_t clients;      /* connections open when publishing started */
    uint64_t deliveries;   /* first receipts of an alert on a connection */
    uint64_t duplicates;   /* further receipts of an alert already received */
    uint64_t missing;      /* alerts a client never received before the drain ended */
    uint64_t complete;     /* clients that received every alert */
    uint64_t foreign;      /* benchmark-like alerts not from this run (seq out of range, old) */
    uint64_t other_frames; /* hello, pong, replayed, anything without bench_ns */
    uint64_t pings;        /* server pings answered */
    uint64_t dropped;      /* connections the server closed or lost after the upgrade */
    uint64_t close_codes[STATS_N_CLOSE + 1]; /* of those, by close code; last: other */
    uint64_t frame_min, frame_max;           /* bytes of the alert messages received */
    uint64_t deflated;   /* alert messages that came compressed (inflated: frame_min/max) */
    uint64_t ws_bytes;   /* the alert messages' frames as received: headers + payloads */
    uint64_t wire_bytes; /* TCP bytes the clients received while publishing (tcprx.h) */
    uint64_t wire_conns; /* the connections wire_bytes covers */
    int64_t cpu_us;      /* the worker's CPU from publishing to the end of the drain */
    int64_t last_rx_ns;  /* CLOCK_REALTIME of the last alert received */
    char first_error[STATS_ERR_LEN];
};

/* After a struct stats_deliver, a FINAL message carries: struct hist e2e
 * (receipt - bench_ns), struct hist relay (receipt - the time alert-bench's
 * own Redis subscriber saw the alert), then for each alert uint64_t
 * reach_us[K] (latest receipt - bench_ns, µs) and uint64_t receivers[K]. */

#endif
