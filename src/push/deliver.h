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
 * (one SADD per job per turn of the loop, with the answers of that turn);
 * a token or subscription the provider says is gone is removed. When
 * every registration of a job has its final answer the job ends
 * (DELIVER_DONE); a job aborted
 * (lost to another gateway, Redis gone, stopping) ends DELIVER_ABORTED
 * once its requests in flight have answered.
 *
 * Retractions: an alert's (or update's) story retracted, its mark
 * P:push:retracted:<story> is set by the gateway that read the
 * retraction (fleet). Every gateway reads the mark as each job of the
 * story starts and, while it sends the story, every DELIVER_WATCH_MS:
 * once seen, the story's sends not in flight are not made (counted
 * cancelled), those in flight finish, and its jobs end done.
 */
#ifndef PUSH_DELIVER_H
#define PUSH_DELIVER_H

#include "feed.h"
#include "gw.h"
#include "itemid.h"

#include <stdint.h>

#define DELIVER_DONE_TTL      86400 /* seconds the done set outlives its job */
#define DELIVER_CACHED_ALERTS 8     /* parsed alerts kept without a job */
#define DELIVER_WATCH_MS      100   /* a sending story's retraction mark read this often */

enum deliver_end { DELIVER_DONE, DELIVER_ABORTED };

struct dsend;
struct dalert;

/* Registration ids, sorted. */
struct deliver_ids {
    char **ids;
    size_t n;
};

struct job {
    /* fleet's */
    char entry[ITEM_ID_STRLEN]; /* its P:push:jobs entry */
    char alert[ITEM_ID_STRLEN];
    int shard;
    struct job *prev, *next;
    /* deliver's */
    struct deliver *deliver;
    struct dalert *dalert;
    struct dsend *sends;
    int nsends;
    int unfinished; /* sends without their final answer */
    int flying;     /* sends in the sender's hands */
    int loading;    /* reads from Redis outstanding */
    int aborted;
    int started;      /* sends queued */
    const char **rec; /* final answers to record in the done set */
    int nrec;
    struct job *rec_next;       /* in deliver's list of jobs with answers to record */
    struct deliver_ids done;    /* read from the done set */
    struct deliver_ids sending; /* read from the sending set */
    struct job *wait_next;      /* waiting for its alert to load */
    struct feed_job feed;       /* feed's */
    int64_t renew_ms;           /* fleet's: when its outstanding renewal was sent */
};

typedef void (*deliver_end_fn)(struct job *j, enum deliver_end how, void *user);

struct deliver *deliver_new(struct gw *gw, deliver_end_fn on_end, void *user);

/* Starts a job (fleet owns j; it must live until on_end). */
void deliver_job(struct deliver *d, struct job *j);

/* Stops a job's sends: those it marked and never wrote are unmarked
 * (feed_abort), and on_end(ABORTED) comes once nothing of it is in flight
 * (maybe at once). */
void deliver_abort(struct deliver *d, struct job *j);

/* Frees d once the loop has run again (a handle closes). */
void deliver_free(struct deliver *d);

#endif
