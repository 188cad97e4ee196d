/*
 * acks — what a reader's ack frame says, and which acks count.
 *
 * {"type":"ack","id":"<id>"} or "id":["<id>",...] (1 to ACKS_MAX_IDS ids)
 * says that these alerts are on the reader's screen. A node counts an ack
 * once per alert per connection, and only for an alert it sent that
 * connection (receipts.h asks the hub). The "once" costs two words per
 * connection: a window of ACKS_WINDOW hub sequence numbers that ends at
 * the newest alert acknowledged, one bit each; an ack older than the
 * window no longer counts, whether or not it was counted before
 * (proto/PROTOCOL.md, "Receipts"). Pure: unit-tested alone.
 */
#ifndef ALERTD_ACKS_H
#define ALERTD_ACKS_H

#include "item.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ACKS_MAX_IDS 32
#define ACKS_WINDOW  64

/* A connection's acks so far: bit i is sequence base + i. Zeroed: none. */
struct acks_window {
    uint64_t base;
    uint64_t bits;
};

/* The ids of an ack frame into ids[], their number into *n: 0, or -1
 * with err naming what is wrong. */
int acks_parse(const json_t *frame, struct item_id ids[ACKS_MAX_IDS], size_t *n, char *err,
               size_t errlen);

/* Records an ack of hub sequence seq: 1 the first time, 0 when it was
 * acknowledged already or is older than the window. The window moves on
 * to end at the newest sequence acknowledged. */
int acks_take(struct acks_window *w, uint64_t seq);

#endif
