/*
 * node — the state one alertd worker process runs on, shared by the modules
 * that serve clients (server, ws, http). One per process, owned by main;
 * reached from lws callbacks through lws_context_user().
 */
#ifndef ALERTD_NODE_H
#define ALERTD_NODE_H

#include "config.h"
#include "hub.h"
#include "rsub.h"

#include <libwebsockets.h>
#include <uv.h>

struct node {
    const struct config *cfg;
    uv_loop_t *loop;
    struct lws_context *lws;
    struct lws_vhost *vhost;
    struct lws_vhost *admin_vhost; /* --metrics-listen: plain HTTP; NULL: none */
    struct hub hub;
    struct rsub *rsub;
    int worker;         /* 0-based index of this worker process */
    int draining;       /* SIGTERM: closing clients with 1001, then exiting */
    int stopping;       /* shutting the loop's handles down */
    int exit_code;      /* the worker's exit status once stopped (MAIN_EXIT_REFUSED...) */
    size_t connections; /* open WebSocket and SSE clients in this worker */
};

#endif
