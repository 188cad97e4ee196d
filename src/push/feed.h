/*
 * feed — which of a job's sends go to the sender, and when: a record
 * written ahead of every request and a lease, so that a gateway taking a
 * job over sends again only what may have reached the provider, and a
 * gateway that lost a job (stalled, then woke up) sends nothing more of it.
 *
 * Marks. Before a registration's first request is written, its id is in
 * the job's sending set (P:push:sending:<id>:<shard>): the mark script
 * adds a batch of ids, only while the job is still this gateway's, and
 * renews it (XCLAIM JUSTID: idle back to 0), one EVAL per batch. A gateway
 * taking the job over then knows three kinds of registration: done (in
 * P:push:sent: never sent again), marked and not done (its request may
 * have reached the provider: sent again, counted as uncertain), unmarked
 * (never written: sent, not a duplicate).
 *
 * Unmarks. A job given up while this gateway still holds it (stopping,
 * Redis lost, taken over: deliver_abort) takes out of its sending set the
 * sends it had marked but never written (the unmark script, one EVAL per
 * JOB_IDS_MAX ids, only while the job is still this gateway's), before
 * fleet hands the job back: a gateway taking it over then counts as
 * uncertain only requests that were written. Those written stay marked, as
 * do those an earlier gateway had marked (they may have been written).
 *
 * Window. Per provider, at most feed_window(--concurrency) sends are
 * marked and without their final answer (--concurrency in flight, the rest
 * queued in the sender), so a crash leaves at most that many uncertain
 * per provider; a job asks for more once feed_ahead() of them have room.
 *
 * Lease. A mark (or fleet's renewal) sent at t and answered "still yours"
 * lets the job's requests start until t + 3/4 of --claim-after (monotonic
 * clock, sender_clock_ms): no other gateway can claim the job before t +
 * --claim-after. The sender checks the lease before each request; a send
 * whose lease ran out comes back (SENDER_HELD) and waits for the job's next
 * mark, which renews the lease or finds the job lost.
 */
#ifndef PUSH_FEED_H
#define PUSH_FEED_H

#include "gw.h"
#include "job.h"
#include "reg.h"
#include "sender.h"

#include <stddef.h>
#include <stdint.h>

/* After each mark's answer: ok 1 (still this gateway's: the batch is with
 * the sender), 0 (the job is another gateway's now) or -1 (no answer).
 * The job's `loading` was raised while the mark was out. */
typedef void (*feed_marked_fn)(struct job *j, int ok, void *user);

struct feed *feed_new(struct gw *gw, struct sender *sender, feed_marked_fn marked, void *user);

/* Sends at most this many marked and unanswered per provider. */
int feed_window(int concurrency);

/* fleet's renewal sent at `sent_ms` (sender_clock_ms) found j still this
 * gateway's: its lease runs from then. */
void feed_renewed(struct job *j, int64_t sent_ms);

/* The job's sends (j->sends[0..nsends)) are ready: marked and handed over
 * in batches from now on. */
void feed_start(struct feed *fd, struct job *j);

/* A send came back from the sender (before deliver ends its job). */
void feed_result(struct feed *fd, struct dsend *s, enum sender_result r);

/* The story of `pa` was retracted: the sends of its jobs not marked yet
 * (never written) are taken back and counted cancelled; `cancelled` is
 * then called for each job that had some, with how many (it may end the
 * job). Sends being marked are cancelled by the sender. */
typedef void (*feed_cancelled_fn)(struct job *j, int n, void *user);
void feed_cancel(struct feed *fd, const struct push_alert *pa, feed_cancelled_fn cancelled,
                 void *user);

/* The job was aborted (deliver_abort): the sends it had marked and never
 * written, among `dropped` (taken back from the sender, linked by `next`)
 * and those feed holds, are unmarked; so is a batch whose mark is answered
 * after this. Before fleet hands the job back (the same connection). */
void feed_abort(struct feed *fd, struct job *j, struct dsend *dropped);

/* The job ends: what it held is given back. */
void feed_end(struct feed *fd, struct job *j);

void feed_free(struct feed *fd);

#endif
