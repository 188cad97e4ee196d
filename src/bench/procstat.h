/*
 * procstat — CPU time and memory of the server under test, read from
 * /proc: the processes given with --server-pid and all their descendants,
 * plus every process of the groups given with --server-pgid, summed (a
 * multi-process server such as nginx, or alertd --workers N, counts whole).
 *
 * Runs in the parent only.
 */
#ifndef BENCH_PROCSTAT_H
#define BENCH_PROCSTAT_H

#include "opts.h"

#include <stdint.h>

struct procstat {
    int procs;       /* processes found */
    int64_t cpu_us;  /* user + system CPU, all threads (clock-tick resolution) */
    int64_t rss_kib; /* VmRSS summed: shared pages count once per process */
    int64_t pss_kib; /* Pss from smaps_rollup summed (shared pages split); -1 if unreadable */
};

/* A reading now; returns 0, or -1 when no server process was given. */
int procstat_read(const struct bench_opts *o, struct procstat *out);

#endif
