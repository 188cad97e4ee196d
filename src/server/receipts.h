/*
 * receipts — what the node tells the newsroom about each alert: the
 * sockets it was written to and the readers' acks, with their latencies
 * from the publish (receipt.h), counted with the alert in the hub and
 * added into Redis about once a second.
 *
 * Counting costs a few increments per delivery in the alert's tally, made
 * once per alert when its first write or ack comes (no allocation per
 * delivery, no Redis traffic per delivery). Once a second the timer sends
 * each tally holding figures (pipelined HINCRBY, SADD, EXPIRE on the
 * command connection, rsub.h) and zeroes it; a tally with nothing new is
 * freed. A message leaving the ring sends its tally first. While Redis is
 * down the tallies keep counting and go out once it is back; a command
 * Redis refuses or that a lost connection drops is counted in
 * alertd_receipt_flush_errors_total (never resent: HINCRBY is not
 * idempotent). A node stopping loses at most its last second.
 *
 * An ack counts once per alert per connection, only for an alert the hub
 * sent that connection since its last subscribe (hub_sent), and within the
 * connection's ack window (acks.h). SSE clients are counted as sockets
 * written; they have no channel to ack on. --receipts-days 0 counts
 * nothing. Runs on the loop's thread.
 */
#ifndef ALERTD_RECEIPTS_H
#define ALERTD_RECEIPTS_H

#include "conn.h"
#include "hub.h"
#include "node.h"

#include <jansson.h>
#include <stddef.h>

void receipts_start(struct node *n);
void receipts_stop(struct node *n);

/* A WebSocket write carried these alerts, the first `replayed` of them in
 * a replay: the replay count and the live latency metrics, and each
 * alert's tally. */
void receipts_written(struct node *n, const struct hub_msg *const *batch, size_t nmsgs,
                      size_t replayed);
/* An SSE write carried alert m. */
void receipts_written_sse(struct node *n, const struct hub_msg *m);

/* The ids of an ack frame from WebSocket client c (cframe.h parsed it):
 * what counts is counted, the rest ignored (acks.h says which count). */
void receipts_ack(struct node *n, struct conn *c, const struct item_id *ids, size_t k);

#endif
