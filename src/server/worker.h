/*
 * worker — one worker process: a whole node (its loop, lws context,
 * listener, hub, Redis link, file watcher and clients) run on the
 * listening sockets main opened, until SIGTERM/SIGINT has drained it (a
 * second signal stops it at once) or Redis refuses it. SIGHUP, or a change
 * of the key files on disk, reloads the certificate and keys. It records in
 * its metrics slot when it serves, that its loop turns and its reloads
 * (what the supervisor tells systemd, service.h); with --workers 1 it is
 * the process, and tells systemd itself.
 */
#ifndef ALERTD_WORKER_H
#define ALERTD_WORKER_H

#include "config.h"
#include "grant.h"
#include "redisurl.h"
#include "service.h"
#include "tickets.h"

/* Exit status when Redis refuses the configured access (sysexits'
 * EX_CONFIG): a supervisor must not restart a worker into the same wall. */
#define WORKER_EXIT_REFUSED 78
/* Exit status when the worker cannot start (memory, lws). */
#define WORKER_EXIT_FAILED 1

/* What the process hands a worker: its sockets and keys. The worker owns
 * fd and admin_fd from then on; it reloads the keys into its own copies. */
struct worker_args {
    const struct config *cfg;
    const struct redis_url *redis;
    struct grant *grant;
    struct tickets *tickets;
    int index;    /* 0-based */
    int fd;       /* readers' listening socket */
    int admin_fd; /* --metrics-listen's, or -1 */
    /* The process's notifications to systemd: sent by a worker that is the
     * process (--workers 1); inactive in a forked worker. */
    struct service *service;
};

/* Runs the worker to its end; returns its exit status (0 once stopped). */
int worker_run(const struct worker_args *a);

#endif
