/*
 * rconn — one asynchronous Redis connection on the loop that keeps itself
 * up: connects (TCP or unix socket), authenticates and selects the
 * database, tells its owner when it is usable and when it went down, and
 * connects again RCONN_RETRY_MS after a loss. Commands sent while it is
 * down are refused at once (-1); those pending when it drops get a NULL
 * reply, as hiredis does.
 *
 * redis+sentinel:// is not served yet: alertd-push refuses it at start.
 */
#ifndef PUSH_RCONN_H
#define PUSH_RCONN_H

#include "redisurl.h"

#include <async.h>
#include <uv.h>

#define RCONN_RETRY_MS 1000

struct rconn;
typedef void (*rconn_fn)(struct rconn *c, void *user);

struct rconn {
    uv_loop_t *loop;
    const struct redis_url *url;
    const char *name; /* for logs */
    redisAsyncContext *ac;
    int ready; /* connected, AUTH and SELECT done */
    int stopping;
    uv_timer_t retry;
    rconn_fn on_up, on_down;
    void *user;
};

/* Starts connecting; on_up runs each time it becomes usable, on_down each
 * time a usable connection is lost. 0, or -1. */
int rconn_start(struct rconn *c, uv_loop_t *loop, const struct redis_url *url, const char *name,
                rconn_fn on_up, rconn_fn on_down, void *user);

/* Sends a command (hiredis' format); 0, or -1 when not ready. */
int rconn_cmd(struct rconn *c, redisCallbackFn *fn, void *priv, const char *fmt, ...);
int rconn_argv(struct rconn *c, redisCallbackFn *fn, void *priv, int argc, const char **argv,
               const size_t *lens);

/* A script given ids: EVAL with head[0..nhead) (script, keys, the ARGV
 * before the ids) then at most `max` of ids[0..nids) per command, as many
 * commands as it takes, each with fn and priv: how many were sent (they
 * stop at the first refused). */
int rconn_eval_ids(struct rconn *c, redisCallbackFn *fn, void *priv, const char *const *head,
                   int nhead, const char *const *ids, int nids, int max);

/* Disconnects and closes the timer; pending callbacks get NULL. */
void rconn_stop(struct rconn *c);

#endif
