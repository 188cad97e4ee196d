/*
 * rsentinel — asks Redis Sentinels, on the node's loop, where the master a
 * redis+sentinel:// URL names is (SENTINEL GET-MASTER-ADDR-BY-NAME).
 *
 * rsub asks before every (re)connection, so after a failover the node
 * follows the master Sentinel promoted. The Sentinels are asked one at a
 * time, starting with the one after the last that failed, each within
 * REDISURL_SENTINEL_MS: a Sentinel that is down or unreachable costs one
 * timeout, not an outage, as long as another one answers. hiredis resolves
 * a host name before connecting, on the loop: name the Sentinels by
 * address.
 *
 * Runs on the loop's thread. An ask frees itself after its callback, or
 * when cancelled (no callback then).
 */
#ifndef ALERTD_RSENTINEL_H
#define ALERTD_RSENTINEL_H

#include "redisurl.h"

#include <uv.h>

struct rsentinel;

/* status 0: url->host and url->port are the master's (`detail` names the
 * Sentinel that answered); 1: a Sentinel knows no such master (a
 * configuration error); -1: no Sentinel answered. `detail` says what each
 * Sentinel said otherwise. `next` is the Sentinel to start with next time. */
typedef void rsentinel_done_fn(void *user, int status, const char *detail, int next);

/* Starts asking the Sentinels of url (kept by the caller until done or
 * cancelled), beginning with url->sentinels[first % nsentinels]. NULL when
 * nothing could be started (out of memory). */
struct rsentinel *rsentinel_ask(uv_loop_t *loop, struct redis_url *url, int first,
                                rsentinel_done_fn *done, void *user);
void rsentinel_cancel(struct rsentinel *s);

#endif
