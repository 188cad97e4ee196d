/*
 * deliver — one job's sends: an alert to the registrations of one shard.
 *
 * For a job it reads the alert (P:push:item:<id>, kept parsed for the jobs
 * of the same alert), the sets of registrations already done
 * (P:push:sent:<id>:<shard>) and marked as being sent
 * (P:push:sending:<id>:<shard>), both left by a gateway that had the job
 * before, and the shard; it skips what is done, expired (and removes
 * that, if unchanged) or not matching, and hands the rest to feed (which
 * marks them in batches and hands them to the sender: requests, retries
 * and the bounds per provider). A registration marked but not done may
 * have reached the provider already: it is sent again (the same collapse
 * identifiers, so the device shows one), counted and logged. Each
 * registration's final answer is recorded in the done set as it comes
 * (record: a script per job per turn of the loop, with that turn's answers);
 * a token or subscription the provider says is gone is removed. When
 * every registration of a job has its final answer the job ends
 * (DELIVER_DONE); a job aborted
 * (lost to another gateway, Redis gone, stopping) ends DELIVER_ABORTED
 * once its requests in flight have answered.
 *
 * Retractions: an alert's (or update's) story retracted, its mark
 * P:push:retracted:<story> is set by the gateway that read the
 * retraction (fleet). Every gateway reads the mark as each job of the
 * story starts and, while it sends the story, every RETRACT_WATCH_MS
 * (retract): once seen, the story's sends not in flight are not made
 * (counted cancelled), those in flight finish, and its jobs end done.
 */
#ifndef PUSH_DELIVER_H
#define PUSH_DELIVER_H

#include "gw.h"
#include "job.h"

#define DELIVER_CACHED_ALERTS 8 /* parsed alerts kept without a job */

enum deliver_end { DELIVER_DONE, DELIVER_ABORTED };

typedef void (*deliver_end_fn)(struct job *j, enum deliver_end how, void *user);

struct deliver *deliver_new(struct gw *gw, deliver_end_fn on_end, void *user);

/* Starts a job (fleet owns j; it must live until on_end). */
void deliver_job(struct deliver *d, struct job *j);

/* Stops a job's sends: those it marked and never wrote are unmarked
 * (feed_abort), and on_end(ABORTED) comes once nothing of it is in flight
 * (maybe at once). */
void deliver_abort(struct deliver *d, struct job *j);

/* Frees d; its record and retract handles close on the next turn of the loop. */
void deliver_free(struct deliver *d);

#endif
