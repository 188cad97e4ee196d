/*
 * rsub — the node's link to Redis: subscribe, catch up, stay live.
 *
 * Two hiredis connections driven by the node's libuv loop: one subscribed to
 * <prefix>:live (and to a private heartbeat channel), one for commands. On
 * every (re)connect it subscribes first, then reads the stream after the
 * newest id the hub holds (at start: the last `history` entries), in pages,
 * until a page ends with no live message having arrived meanwhile; only
 * then are live messages relayed directly and the node is ready. Every alert
 * reaches the hub in id order and the hub drops ids it already has, so
 * nothing is lost or doubled across a Redis outage. With a redis+sentinel://
 * URL every (re)connect first asks the Sentinels where the master is now
 * (rsentinel.h), so a failover is one more outage to catch up after.
 *
 * A half-open connection is noticed by a probe every RSUB_PROBE_MS: the
 * command connection publishes on the heartbeat channel and the subscriber
 * must hear it. Anything wrong tears both connections down and retries with
 * exponential backoff and full jitter, while clients stay connected. An
 * error Redis itself answers (a wrong password, an ACL refusing a command)
 * before the node was ever ready is a configuration problem: no retry, the
 * refused callback is told instead.
 *
 * Runs on the loop's thread. rsub_stop begins an asynchronous shutdown; the
 * object frees itself once its handles are closed.
 */
#ifndef ALERTD_RSUB_H
#define ALERTD_RSUB_H

#include "hub.h"
#include "redisurl.h"

#include <async.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct rsub;

/* Called from the loop when Redis refused the node before it was ever
 * ready: `where` is the Redis address (no password), `why` names the
 * command and Redis' error. */
typedef void rsub_refused_fn(void *user, const char *where, const char *why);

struct rsub_options {
    const struct redis_url *url; /* copied */
    const char *prefix;          /* the Redis key prefix (rkeys.h) */
    const char *tag;             /* names the heartbeat channel: unique per process */
    size_t history;              /* entries read at start */
    uint64_t seed;               /* for the retry jitter: differs per worker (backoff.h) */
    rsub_refused_fn *refused;
    void *user; /* for refused */
};

/* Starts feeding `hub`; NULL when out of memory. */
struct rsub *rsub_start(uv_loop_t *loop, struct hub *hub, const struct rsub_options *o);
int rsub_ready(const struct rsub *r);
/* While not ready because Redis answered with an error: that error. */
const char *rsub_refusal(const struct rsub *r);
void rsub_stop(struct rsub *r);

/* Sends one command on the command connection (hiredis' argv form), while
 * the node is live; -1 when it is not (nothing sent). fn gets a NULL reply
 * if the connection is lost first. For the node's own commands (receipts.h, release.h). */
int rsub_command(struct rsub *r, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                 const size_t *argvlen);

#endif
