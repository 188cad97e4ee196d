/*
 * worker — one forked load-generating process: its share of the clients,
 * connected at its share of the rate from its share of the source
 * addresses, driven by one epoll loop; it reports to the parent and obeys
 * its commands (see ipc.h for the conversation).
 */
#ifndef BENCH_WORKER_H
#define BENCH_WORKER_H

#include "opts.h"

#include <stdint.h>

struct worker_args {
    const struct bench_opts *o;
    int index;      /* 0 .. procs-1 */
    uint32_t first; /* global index of its first client */
    uint32_t count; /* clients it holds */
    double rate;    /* connections per second it starts */
    int cmd_fd;     /* commands from the parent (blocking pipe) */
    int rep_fd;     /* reports to the parent */
    int64_t run_id; /* the run's id (msg.h) */
};

/* Runs in the child; returns its exit status (0, or 1 if it could not set
 * itself up or lost the parent). */
int worker_main(const struct worker_args *a);

#endif
