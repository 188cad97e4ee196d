/*
 * run — the parent of a benchmark run: forks the workers, walks them
 * through the phases (connect, optionally reconnect with tickets, publish,
 * drain, close), reads the server's CPU and memory at each edge, and
 * reports.
 */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include "opts.h"

/* Runs the benchmark; returns the exit status (0, 1 or 3: see --help). */
int run_bench(const struct bench_opts *o);

#endif
