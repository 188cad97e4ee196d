/*
 * service — what alertd tells the service manager that started it
 * (systemd with Type=notify; sdnotify.h speaks the protocol). Only the
 * process the manager watches sends: the supervisor, or with --workers 1
 * the one worker, which is the process itself (NotifyAccess=main).
 *
 *   READY=1      once every worker serves: its lws context and listener
 *                run on its loop, so a connection to the port is answered.
 *                Redis need not be there yet: a node serves without it,
 *                and /readyz (and STATUS) say when it has caught up.
 *   STATUS=...   the workers serving, Redis caught up or not, the clients;
 *                looked at every SERVICE_TICK_MS, sent when it changed.
 *   STOPPING=1   at the first SIGTERM or SIGINT: the drain starts.
 *   RELOADING=1  at SIGHUP, then READY=1 once every worker has reloaded.
 *   WATCHDOG=1   every half WATCHDOG_USEC, as long as every worker's loop
 *                turned within SERVICE_BEAT_STALE_MS (a worker being
 *                started again by the supervisor counts as alive): a loop
 *                stuck for good stops the pings, and the manager restarts
 *                the service.
 *
 * The workers' state comes from their metrics slots (metrics.h): each
 * worker writes its own (serving, beat_ms, reloads), this only reads.
 * `pids[i]` is worker i's process as the caller knows it, 0 while the
 * supervisor waits to start it again.
 */
#ifndef ALERTD_SERVICE_H
#define ALERTD_SERVICE_H

#include "config.h"
#include "sdnotify.h"

#include <stdint.h>
#include <sys/types.h>

#define SERVICE_TICK_MS       1000 /* status looked at; the sweep's beat period */
#define SERVICE_POLL_MS       50   /* until READY=1, and while a reload is owed it */
#define SERVICE_BEAT_STALE_MS 3000 /* a worker's loop silent longer is stuck */

struct service {
    struct sdnotify sd;
    int nworkers;
    uint64_t ping_ms;                         /* half of WATCHDOG_USEC; 0: no watchdog */
    uint64_t next_ping;                       /* metrics_now_ms() when the next WATCHDOG=1 is due */
    int ready;                                /* READY=1 sent */
    int stopping;                             /* STOPPING=1 sent */
    int reloading;                            /* RELOADING=1 sent, READY=1 owed */
    int failing;                              /* the last send failed (logged once) */
    int64_t reload_pid[CONFIG_MAX_WORKERS];   /* the workers signalled; 0: none */
    uint64_t reload_mark[CONFIG_MAX_WORKERS]; /* their reload counts before */
    char status[SDNOTIFY_MAX];                /* the last STATUS= sent */
};

/* Reads the environment the manager set (none: every call below does
 * nothing). 0, or -1 with err naming the variable that is wrong. */
int service_open(struct service *s, int nworkers, char *err, size_t errlen);
int service_active(const struct service *s);
/* Sends what is due (READY, STATUS, WATCHDOG); returns the ms until it
 * wants to be called again (UINT64_MAX when inactive). */
uint64_t service_tick(struct service *s, const pid_t *pids);
/* The drain starts: STOPPING=1 (once). */
void service_stopping(struct service *s, const pid_t *pids);
/* SIGHUP is about to be handled (and passed on): RELOADING=1; READY=1
 * follows from service_tick once every worker counted its reload. */
void service_reloading(struct service *s, const pid_t *pids);
/* Closes the socket: in a worker forked from the supervisor. */
void service_close(struct service *s);

#endif
