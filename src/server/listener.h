/*
 * listener — alertd's own listening socket and accept loop.
 *
 * lws 4.1 (as Debian builds it) never sets SO_REUSEPORT, so workers cannot
 * share a port through it. Instead the listening sockets are made here and
 * every accepted connection is handed to lws (lws_adopt_socket_vhost) on a
 * vhost that does not listen itself. Owning accept() also gives the place
 * for what must happen before TLS: the balancer's PROXY protocol header
 * (--proxy-protocol: the client it names is the one the limits count), the
 * per-address limits, the send-buffer size, and pausing accepts while
 * draining.
 *
 * With several workers the supervisor opens one SO_REUSEPORT socket per
 * worker before forking (so a busy port is reported once, before anything
 * starts) and the kernel spreads connections over them.
 */
#ifndef ALERTD_LISTENER_H
#define ALERTD_LISTENER_H

#include "config.h"
#include "ipcount.h"
#include "iprate.h"

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct listener_wait;

/* One listening socket and its accept loop. */
struct listener_port {
    uv_poll_t poll;
    uv_timer_t retry; /* out of file descriptors: accepting again later */
    struct listener *owner;
    int fd;      /* -1: none */
    int polling; /* the handles are initialised and not closed */
    int paused;  /* draining: no accepts, not even after retry */
    int admin;   /* --metrics-listen: plain HTTP, no per-address limit */
};

/* A worker's listener: its readers' port and its metrics port. */
struct listener {
    const struct config *cfg;
    struct lws_vhost *vhost;       /* readers' connections are handed to it */
    struct lws_vhost *admin_vhost; /* metrics-port connections; NULL: none */
    struct listener_port readers, admin;
    struct ipcount ips;          /* readers' connections per address */
    struct iprate rate;          /* readers' new connections per address per second */
    struct listener_wait *waits; /* --proxy-protocol: headers awaited, newest first */
    size_t nwaits;
    uv_timer_t sweep; /* closes waits past their deadline */
};

/* n bound, listening, non-blocking sockets on host:port in fds (sharing it
 * through SO_REUSEPORT when n > 1, after checking nothing else listens
 * there); -1 with err set and nothing left open. */
int listener_open_all(const char *host, int port, int n, int *fds, char *err, size_t errlen);

/* Accepts on fd into `vhost`, and on admin_fd (if >= 0; --metrics-listen)
 * into `admin_vhost`. 0, or -1 (out of memory, or a socket that cannot be
 * watched). The listener owns fd once l->readers.polling is set, and
 * admin_fd once this is called. */
int listener_start(struct listener *l, uv_loop_t *loop, const struct config *cfg,
                   struct lws_vhost *vhost, struct lws_vhost *admin_vhost, int fd, int admin_fd);
/* Stops accepting readers: new connections wait in the backlog (drain).
 * The metrics port keeps answering. */
void listener_pause(struct listener *l);
/* Closes both ports (asynchronously, on the loop). */
void listener_close(struct listener *l);

/* 1 when wsi came in on the --metrics-listen port. */
int listener_is_admin(struct lws *wsi);

/* Holds (on = 1) or releases (on = 0) the small writes on connection fd so
 * that they leave as one TCP segment (TCP_CORK). */
void listener_cork(int fd, int on);
/* Acknowledges what fd received now, not when the delayed-ACK timer fires. */
void listener_ack_now(int fd);

/* The accepted connection `wsi` is gone: releases its per-address count. */
void listener_release(struct listener *l, struct lws *wsi);

#endif
