/*
 * pub — publishing the benchmark's alerts through Redis the way the target
 * expects, and watching them go by on Redis.
 *
 *   alertd mode   each alert goes through `alert push -f -` (the project's
 *                 publish script: XADD + PUBLISH P:live). The next `alert`
 *                 process is started ahead of time and handed the item at
 *                 the instant of publishing, so its start-up is not timed.
 *   publish mode  PUBLISH CHANNEL <frame> on a hiredis connection.
 *   nchan-http    POST <frame> to --publish-url (hpub.h).
 *
 * In the first two a second connection SUBSCRIBEs to the channel the
 * alerts travel on (P:live or CHANNEL) and notes when each one went by:
 * that time minus bench_ns is the publisher's own delay ("publish delay" in
 * the report), the rest of a client's latency is the server's. nchan keeps
 * its Redis traffic private (its own scripts and encoding): no subscriber
 * there, and no such split.
 *
 * Runs in the parent only.
 */
#ifndef BENCH_PUB_H
#define BENCH_PUB_H

#include "hpub.h"
#include "opts.h"

#include <hiredis.h>
#include <stdint.h>
#include <sys/types.h>

struct pub {
    const struct bench_opts *o;
    int64_t run_id;    /* stamped into every alert (msg.h) */
    redisContext *cmd; /* publish mode: PUBLISH */
    redisContext *sub; /* SUBSCRIBEd to the channel; NULL in nchan-http mode */
    struct hpub *http; /* nchan-http mode */
    char channel[300];
    pid_t next_pid; /* alertd mode: the `alert push` waiting for its item */
    int next_in;    /* its standard input, -1 if none */
    pid_t *running; /* `alert push` processes not reaped yet */
    uint32_t n_running;
    int64_t *bench_ns;       /* per alert: CLOCK_REALTIME stamped into it */
    int64_t *seen_ns;        /* per alert: when the subscriber saw it, 0 if not */
    uint32_t published;      /* alerts handed over */
    uint32_t seen;           /* distinct alerts the subscriber saw */
    uint32_t errors;         /* publishes that failed */
    long long min_receivers; /* publish mode: least PUBLISH answer, -1 before any */
    char first_error[256];
};

/* Connects (and, in alertd mode, starts the first `alert push`). Returns 0,
 * or -1 with the reason in err. */
int pub_open(struct pub *p, const struct bench_opts *o, int64_t run_id, char *err, size_t errlen);

/* Publishes alert `seq` now. Failures are counted, not returned. */
void pub_fire(struct pub *p, uint32_t seq);

/* The subscriber's socket, for poll(); -1 if there is none. */
int pub_fd(const struct pub *p);

/* Reads what the subscriber received and reaps finished `alert` processes;
 * never blocks. */
void pub_poll(struct pub *p);

/* Waits until every alert published was seen and every `alert push`
 * exited, or until `deadline` (CLOCK_MONOTONIC ns); then kills (by pid) and
 * reaps what still runs. */
void pub_settle(struct pub *p, int64_t deadline);

/* In a forked worker: closes the parent's Redis sockets and the spare
 * `alert push`'s pipe (which must see end-of-file when the parent writes
 * it), touching neither Redis nor the memory. */
void pub_close_fds(struct pub *p);

/* Frees everything; kills the spare `alert push` that was never used. */
void pub_close(struct pub *p);

#endif
