/*
 * node — everything one alertd worker process runs on, in one place: what
 * it was given by the process (settings, keys), its loop and what runs on
 * it (lws, the listener, the hub, the Redis link, the file watcher), and
 * the state of serving clients. One per worker, made and owned by
 * worker.c, reached from lws callbacks through lws_context_user().
 *
 * Each member names the module that writes it; the others only read it
 * (the hub's clients and messages change through hub.h's functions, called
 * by conn.c, sweep.c and rsub.c). Nothing a worker keeps for its lifetime
 * lives anywhere else, but the metrics slot (metrics.h), which is shared
 * memory by design, the log's settings (log.h) and lws' log callback.
 */
#ifndef ALERTD_NODE_H
#define ALERTD_NODE_H

#include "certwatch.h"
#include "config.h"
#include "grant.h"
#include "hub.h"
#include "listener.h"
#include "pace.h"
#include "pmd.h"
#include "release.h"
#include "rsub.h"
#include "service.h"
#include "staple.h"
#include "tickets.h"
#include "web.h"
#include "wheel.h"

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Every write to a client is formatted in one buffer, one write at a
 * time: a batch of alert frames, a control frame or a batch of SSE events
 * (the loop runs one callback at a time, and lws copies what a socket does
 * not take). A batch holds many alerts, and always one whole item. */
#define NODE_OUT_BYTES (64 * 1024)

struct conn;
struct node;

/* wsfan.c: WebSocket clients woken by new alerts, first in, first out,
 * written from an idle handle a slice at a time, the urgent lane (a flash
 * going ahead) before the ordinary one (wsfan.h). */
struct node_lane {
    struct conn *head, *tail;
};
struct node_flush {
    uv_idle_t idle;
    struct node_lane ordinary, urgent;
};

/* receipts.c: the alerts whose tally holds figures not yet in Redis, and
 * the timer that flushes them (receipts.h). */
struct node_receipts {
    uv_timer_t timer;
    struct item_id *ids; /* alerts with a tally (hubmsg.h), in no order */
    size_t n, cap;
    int warned; /* a refused flush was logged */
};

/* sweep.c: the SIGTERM drain, closing clients in batches over a window. */
struct node_drain {
    uv_timer_t timer;
    int running; /* the timer is started and not closed */
    size_t batch;
    uint64_t deadline; /* uv_now() ms */
    void (*done)(struct node *n);
};

struct node {
    /* Given by the process (worker.c sets them); outlive the worker. The
     * keys are this worker's own: it reloads them itself (tls.h). */
    const struct config *cfg;
    struct grant *grant;
    struct tickets *tickets;

    /* The loop and what runs on it. Each is made and torn down by the
     * module named; worker.c calls their start and stop. */
    uv_loop_t *loop;                       /* worker.c */
    struct lws_context *lws;               /* server.c */
    struct lws_vhost *vhost;               /* server.c: readers */
    struct lws_vhost *admin_vhost;         /* server.c: --metrics-listen; NULL: none */
    struct lws_token_limits header_limits; /* server.c: lws' per-header limits */
    struct listener listener;              /* listener.c */
    struct hub hub;                        /* hub.c; fed by rsub.c, its callbacks set by server.c */
    struct rsub *rsub;                     /* rsub.c */
    struct release *release;               /* release.c: embargoed alerts due */
    struct certwatch certwatch;            /* certwatch.c */
    struct staple staple;                  /* tls.c: --tls-ocsp, stapled to handshakes */
    struct web web;                        /* web.c: the embedded files */
    uv_signal_t sigterm, sigint, sighup;   /* worker.c */
    struct service *service;               /* worker.c: NULL unless this worker is the process */
    uv_timer_t service_timer;              /* worker.c: service_tick, while service is set */

    /* Serving clients. */
    char *node_json;         /* worker.c: the node name as a JSON string, for hello frames */
    unsigned char *out;      /* worker.c: LWS_PRE + NODE_OUT_BYTES bytes, see NODE_OUT_BYTES */
    struct node_flush flush; /* wsfan.c */
    struct node_receipts receipts; /* receipts.c */
    /* ws.c: --max-frames-per-sec and --max-replays-per-min, per connection */
    struct pace_rule frame_pace, replay_pace;
    uv_timer_t sweep_timer;  /* sweep.c: heartbeats and token expiry, once a second */
    struct wheel wheel;      /* sweep.c makes it and takes the clients due; conn.c files them */
    struct node_drain drain; /* sweep.c */
    size_t connections;      /* conn.c: open WebSocket and SSE clients */
    int draining;            /* sweep.c: SIGTERM, closing clients with 1001, then exiting */
    int stopping;            /* worker.c: shutting the loop's handles down */
    int exit_code;           /* worker.c: the worker's exit status once stopped */

    /* ws.c: inflates every client's compressed messages, one at a time. */
    struct pmd_inflater inflater;
};

#endif
