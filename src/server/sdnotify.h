/*
 * sdnotify — the service manager's notification protocol (sd_notify(3)),
 * spoken directly: no libsystemd.
 *
 * systemd (Type=notify) names a unix datagram socket in NOTIFY_SOCKET, a
 * path or, written with a leading '@', a name in the abstract namespace.
 * Each notification is one datagram of newline-separated VAR=VALUE lines
 * (READY=1, STATUS=..., STOPPING=1, RELOADING=1, WATCHDOG=1). WATCHDOG_USEC
 * asks for WATCHDOG=1 at least that often, from the process WATCHDOG_PID
 * names when it is set.
 *
 * Sends never block (a full queue on the manager's side is an error, not
 * a wait) and never raise SIGPIPE. The environment is read once, by
 * sdnotify_open, which removes the variables: no later process (a worker)
 * mistakes itself for the one the manager watches.
 */
#ifndef ALERTD_SDNOTIFY_H
#define ALERTD_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The longest notification sent: a few lines. */
#define SDNOTIFY_MAX 512

struct sdnotify {
    int fd; /* -1: no service manager listens */
    struct sockaddr_un addr;
    socklen_t addrlen;
    uint64_t watchdog_usec; /* 0: no watchdog asked for this process */
};

/* Takes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the
 * environment. 0 (s->fd = -1 when NOTIFY_SOCKET is unset: every send is
 * then a no-op), or -1 with err naming the variable and what is wrong. */
int sdnotify_open(struct sdnotify *s, char *err, size_t errlen);

/* Sends `msg` (VAR=VALUE lines) as one datagram: 0, or -1 with err set. */
int sdnotify_send(const struct sdnotify *s, const char *msg, char *err, size_t errlen);

/* 1 when a service manager listens. */
int sdnotify_active(const struct sdnotify *s);

/* Closes the socket (in a process that must not send: a worker). */
void sdnotify_close(struct sdnotify *s);

#endif
