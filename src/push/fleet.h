/*
 * fleet — how the gateways sharing one Redis split the work, through two
 * consumer groups named JOB_GROUP (ARCHITECTURE.md, "The push gateway"):
 * on P:stream, one gateway plans each new alert (the plan script: the
 * item kept, one job per shard added, the alert acknowledged, only while
 * the entry is still this gateway's); on P:push:jobs, each gateway takes
 * jobs while it has room (--max-jobs) and hands them to deliver; a job
 * that ends is finished (the finish script: acknowledged, deleted, its
 * done set dropped, only while it is still this gateway's). Every
 * --claim-after/3 the gateway renews its jobs and takes over what a
 * silent gateway left for --claim-after (XAUTOCLAIM on both groups); a
 * job found renewed by another is aborted.
 */
#ifndef PUSH_FLEET_H
#define PUSH_FLEET_H

#include "gw.h"
#include "job.h"

#define FLEET_BLOCK_MS 1000
#define FLEET_PLAN_MAX 4 /* alerts read at once */

struct fleet;

/* Also makes gw->deliver, which fleet_free frees. */
struct fleet *fleet_new(struct gw *gw);

/* A Redis connection came up or went down (both are fleet's concern). */
void fleet_redis_up(struct fleet *f);
void fleet_redis_down(struct fleet *f);

/* 1 when both groups exist and both connections are up. */
int fleet_ready(const struct fleet *f);

/* Stops taking work, aborts the jobs (their sends marked and never
 * written unmarked, then left for another gateway to take at once);
 * `done` runs when nothing of them is in flight any more. */
void fleet_stop(struct fleet *f, void (*done)(struct gw *gw));

void fleet_free(struct fleet *f);

#endif
