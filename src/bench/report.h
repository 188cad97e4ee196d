/*
 * report — the results of a run, added up from every worker, and their two
 * forms: a table on stderr and a JSON file (--json). Every number is
 * explained in bench/README.md under "What the numbers mean".
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include "hist.h"
#include "opts.h"
#include "procstat.h"
#include "stats.h"

#include <stdint.h>
#include <stdio.h>

/* Server readings, taken at the edges of each phase. */
enum report_mark {
    MARK_START,     /* before the first connection */
    MARK_CONNECTED, /* every worker reported its connection phase */
    MARK_IDLE,      /* --settle later: the idle memory reading */
    MARK_RESUME_0,  /* before reconnecting (--resume) */
    MARK_RESUME_1,  /* every worker reconnected */
    MARK_PUBLISH_0, /* just before the first alert */
    MARK_PUBLISH_1, /* every worker reported its deliveries */
    MARK_END,       /* every connection closed */
    REPORT_MARKS
};

struct report {
    const struct bench_opts *o;
    struct stats_connect conn;    /* the first connection phase, all workers */
    struct stats_connect resumed; /* the second (--resume) */
    int n_conn, n_resumed;        /* workers that reported each */
    struct stats_deliver del;
    int n_del; /* workers that reported deliveries */
    struct hist e2e, relay;
    uint64_t *reach_us;    /* per alert: latest receipt - bench_ns, µs */
    uint64_t *receivers;   /* per alert: clients that got it */
    int64_t *pub_delay_us; /* per alert: Redis subscriber saw it - bench_ns; -1 */
    uint32_t published, pub_errors, pub_seen;
    long long min_receivers; /* publish mode: subscribers besides ours; -1 */
    char pub_error[256];
    int64_t deliver_ns;     /* first publish → every worker reported deliveries */
    int64_t workers_cpu_us; /* whole lives of the workers (their BYE) */
    int64_t parent_cpu_us;
    int workers, workers_failed; /* forked; that did not finish cleanly */
    int has_server;
    struct procstat server[REPORT_MARKS];
    int have_mark[REPORT_MARKS];
};

/* Allocates the per-alert arrays; 0 or -1. report_free releases them. */
int report_init(struct report *r, const struct bench_opts *o);
void report_free(struct report *r);

/* Adds one worker's messages (see stats.h); -1 if the payload is malformed. */
void report_add_connect(struct report *r, const struct stats_connect *c, int resumed_phase);
int report_add_final(struct report *r, const void *payload, size_t len);

/* 1: every client connected and received every alert exactly once. */
int report_ok(const struct report *r);
/* What went wrong, "; "-separated, into out; returns 0 when nothing did. */
size_t report_problems(const struct report *r, char *out, size_t outlen);

void report_print(const struct report *r, FILE *f);
/* Writes the JSON form (report_json.c); 0 or -1 with errno. */
int report_json(const struct report *r, const char *path);

/* Derived numbers shared by both forms. */
double report_ms(uint64_t us);
/* TCP bytes the clients received while publishing, over the deliveries
 * (pings and other frames in that time included); -1 if not measured. */
double report_wire_per_delivery(const struct report *r);
/* Median and max over alerts of v[i] - sub[i] (sub may be NULL; entries
 * with sub[i] < 0 are skipped); returns the count used. */
uint32_t report_over_alerts(const struct report *r, const uint64_t *v, const int64_t *sub,
                            double *median_ms, double *max_ms);
/* Median and max over alerts of the publish delay (alert-bench's own Redis
 * subscriber saw it - bench_ns); returns the alerts seen. */
uint32_t report_pub_delay(const struct report *r, double *median_ms, double *max_ms);
/* Server CPU µs between two marks divided by n; -1 if unknown. */
double report_server_cpu_per(const struct report *r, enum report_mark a, enum report_mark b,
                             uint64_t n);

#endif
