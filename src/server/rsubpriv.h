/*
 * rsubpriv — what the two files of the rsub module share (rsub.c: the
 * links, the live subscription, the probe, failure and retry; rsubhist.c:
 * loading and catching up the stream history). Private to those two.
 */
#ifndef ALERTD_RSUBPRIV_H
#define ALERTD_RSUBPRIV_H

#include "backoff.h"
#include "rsub.h"

#include <async.h>

struct rsentinel;

enum rsub_phase {
    RSUB_WAITING,    /* no connection; the retry timer runs */
    RSUB_CONNECTING, /* connections opening, subscribing */
    RSUB_CATCHUP,    /* subscribed; reading the stream */
    RSUB_LIVE,       /* caught up: live messages go straight to the hub */
    RSUB_STOPPED
};

struct rsub {
    uv_loop_t *loop;
    struct redis_url url;
    char where[400]; /* the address, for logs */
    char *stream_key, *live_chan, *hb_chan;
    struct hub *hub;
    size_t history;
    redisAsyncContext *sub, *cmd;
    struct rsentinel *sentinel; /* asking where the master is (redis+sentinel://) */
    int sentinel_next;          /* the Sentinel to ask first next time */
    char master[300];           /* the master's address Sentinel gave last */
    enum rsub_phase phase;
    int subscribed;          /* SUBSCRIBE confirmations received */
    int live_during_catchup; /* a live message came during a catch-up page */
    int continuity_checked;  /* this connection's first page showed the newest held */
    int stream_untrimmed;    /* XINFO: nothing was ever deleted from the stream */
    int xinfo_warned;        /* said once that XINFO is refused */
    struct backoff backoff;  /* its attempts: failed ones since the last success */
    uint64_t last_hb_ms;     /* loop time a heartbeat was last heard */
    uint64_t last_reply_ms;  /* loop time the command link last answered */
    uv_timer_t retry_timer, probe_timer;
    int handles_open;
    int connected_once;
    int live_once;     /* caught up at least once since the start */
    char refusal[320]; /* the last error Redis answered; "" after an outage */
    rsub_refused_fn *refused;
    void *refused_user;
};

/* rsub.c */
void rsub_set_ready(struct rsub *r, int ready);
/* 1 when Redis' error is a refusal (configuration), not a passing state. */
int rsub_is_refusal(const char *error);
/* Tears both connections down and retries later; `refused` when Redis
 * answered with a configuration error. */
void rsub_fail_as(struct rsub *r, const char *why, const char *detail, int refused);
void rsub_fail(struct rsub *r, const char *why, const char *detail);
/* 1 when reply is an answer to go on with; an error fails the link, NULL
 * (the link going away) is left to its disconnect. */
int rsub_reply_ok(struct rsub *r, const redisReply *reply, const char *what);

/* rsubhist.c */
/* Validates one item and hands it to the hub; returns 1 if it was new. */
int rsub_deliver(struct rsub *r, struct item_id id, const char *json, size_t len);
/* One page of the stream after the newest id held (or, with nothing held,
 * the newest `history` entries); the phase becomes catch-up. */
void rsub_catchup(struct rsub *r);

#endif
