/*
 * hubmsg — one alert as the hub holds it (struct hub_msg): what filters
 * test (topics, language, restricted topics) and its encodings, each the
 * frame clients receive, ready to write.
 *
 * Every alert is encoded once per node for each field set its readers use
 * (fields.h), never per client: the full item when it arrives, and a
 * compact variant the first time a reader with that field set needs it. A
 * node holds at most HUBMSG_VARIANTS compact field sets at a time
 * (struct hubmsg_sets, counted by readers); a reader asking for another
 * one while all are held gets the full item, which carries every field it
 * asked for. hubmsg_enc_build is the one place an encoding is made.
 *
 * A message also knows its story (fold.h) and its urgency. Folded (a newer
 * version superseded it, or a retraction withdrew it), it lets go of its
 * encodings: the node no longer holds its text. A flash sent to a client
 * ahead of older alerts (hub.h) has a second set of frames, marked
 * "ahead", made the first time one is needed.
 *
 * Owned by the hub (hub.h): a message lives in its ring, and an encoding
 * pointer stays valid until the next hub_add.
 */
#ifndef ALERTD_HUBMSG_H
#define ALERTD_HUBMSG_H

#include "fold.h"
#include "grant.h"
#include "item.h"
#include "pmd.h"
#include "receipt.h"

#include <stddef.h>
#include <stdint.h>

/* Compact field sets a node encodes besides the full item. */
#define HUBMSG_VARIANTS 8

/* Urgencies, most urgent first (proto/alert.schema.json). */
enum hubmsg_urgency { HUBMSG_FLASH, HUBMSG_BULLETIN, HUBMSG_URGENT, HUBMSG_ROUTINE };

/* One encoding of an alert for one field set: the whole WebSocket text
 * frame (header and payload), the payload {"type":"alert","alert":{...}},
 * and the item JSON inside it (for SSE and REST), all in one allocation. */
struct hubmsg_enc {
    uint32_t fields;    /* the field set it carries (fields.h); 0: not built */
    unsigned char *buf; /* the allocation the pointers below share */
    const unsigned char *frame;
    size_t frame_len;
    const char *payload;
    size_t payload_len;
    const char *item;
    size_t item_len;
    unsigned char *z; /* the frame's permessage-deflate copy; NULL: not made, or no smaller */
    size_t z_len;
    uint8_t z_tried;
};

struct hub_msg {
    struct item_id id;
    char id_str[ITEM_ID_STRLEN];
    uint64_t topic_bloom; /* one bit per topic hash: a cheap first test */
    uint32_t restricted;  /* its restricted topics (hub->grant); 0: public */
    char *topics;         /* NUL-separated topics, ending in an empty one */
    char lang[36];
    int64_t published_ms;        /* publisher's clock */
    int64_t expires_ms;          /* expires_at; 0: never */
    struct hubmsg_enc full;      /* every field */
    struct hubmsg_enc *variants; /* HUBMSG_VARIANTS; NULL until a compact reader needs one */
    /* This node's receipts since their last flush (receipts.h): made when
     * first counted, freed when flushed idle or with the message. */
    struct receipt_tally *tally;
    struct hubmsg_enc *ahead; /* a flash sent ahead: 1 + HUBMSG_VARIANTS; NULL until needed */
    struct fold_ver ver;      /* its story (fold.h) */
    uint64_t prev_flash;      /* a flash: the sequence number of the flash before it (hub.c) */
    uint8_t urgency;          /* enum hubmsg_urgency */
    uint8_t folded;           /* superseded or withdrawn: no encodings, never served again */
};

/* The node's compact field sets: variant v (1..HUBMSG_VARIANTS) carries
 * fields[v - 1] and is used by refs[v - 1] readers; variant 0 is the full
 * item. A set no reader uses keeps its slot (and its encodings) until
 * another set needs the slot. */
struct hubmsg_sets {
    uint32_t fields[HUBMSG_VARIANTS]; /* 0: never used */
    uint32_t refs[HUBMSG_VARIANTS];
};

/* The variant for a field set, counted as used: 0 for the full item, and
 * also when every slot is held by another set in use. */
unsigned hubmsg_sets_acquire(struct hubmsg_sets *s, uint32_t fields);
void hubmsg_sets_release(struct hubmsg_sets *s, unsigned variant);
/* The field set variant v carries (FIELDS_ALL for 0). */
uint32_t hubmsg_sets_fields(const struct hubmsg_sets *s, unsigned variant);

/* Makes m from a validated item (with or without `id`) under id: its
 * filter data and its full encoding. 0, or -1 out of memory (m cleared). */
int hubmsg_build(struct hub_msg *m, const struct grant *grant, struct item_id id,
                 const json_t *item);
void hubmsg_clear(struct hub_msg *m);

/* The encoding of m for variant v of s, built the first time it is asked
 * for; the full item for variant 0, and when a variant cannot be built
 * (out of memory): a reader always gets the alert. */
const struct hubmsg_enc *hubmsg_enc(struct hub_msg *m, const struct hubmsg_sets *s, unsigned v);

/* The same for a flash sent ahead of older alerts: the frame
 * {"type":"alert","ahead":true,"alert":…}, made from the item text of
 * hubmsg_enc(m, s, v) the first time it is asked for; the plain encoding
 * when memory runs out (the client then takes it as in order, which only
 * delays its resume point: proto/PROTOCOL.md, section 4). */
const struct hubmsg_enc *hubmsg_ahead(struct hub_msg *m, const struct hubmsg_sets *s, unsigned v);

/* The permessage-deflate copy of encoding e (one of m's: pmd.h),
 * compressed with d the first time it is asked for and kept with the
 * encoding; the plain frame when compressing does not make it smaller or
 * memory ran out. *len is the length of what is returned. */
const unsigned char *hubmsg_deflated(const struct hubmsg_enc *e, struct pmd_deflater *d,
                                     size_t *len);

/* A newer version of its story superseded m, or a retraction withdrew it
 * (fold.h): its encodings go, and it is never served again. */
void hubmsg_fold(struct hub_msg *m);

/* 1 for what a node may shed for a client that falls behind: a routine
 * alert or update (never a retraction, never a more urgent item). */
int hubmsg_sheddable(const struct hub_msg *m);

/* The bloom bit of a topic (messages and filters share it). */
uint64_t hubmsg_topic_bit(const char *topic, size_t len);

#endif
