/*
 * hub — the node's alert history and the clients that follow it.
 *
 * Every alert a node holds lives once, in a ring of the last `capacity`
 * alerts in id order, already encoded as the frame clients receive, once
 * per field set its readers use (hubmsg.h): fan-out never copies or
 * re-encodes an alert per client. A client is a cursor into
 * that ring plus a filter (hubfilter.h), so a connection costs a few dozen
 * bytes here whatever the backlog, and a replay after `since` is the same
 * walk as live delivery. A client whose unsent live backlog exceeds
 * `max_queue` alerts is handed to the `lagging` callback (the transport
 * closes it with 4001), unless urgency (below) keeps it within the bound.
 *
 * An update or a retraction folds the versions of its story the hub holds
 * (fold.h): a folded alert is passed over like a filtered one, and its id
 * stays a valid `since`.
 *
 * Urgency, for a client the transport marks `urgent`: when its live backlog
 * goes over `max_queue`, the routine alerts in it are shed (a shed frame
 * says which range to fetch) and the rest sent in order; it lags only when
 * what is kept is still over the bound. A flash behind its backlog goes
 * ahead of it (HUB_AHEAD, through the `urgent` callback) and is not sent
 * again in order. Flashes are chained, so finding one costs the flashes of
 * a backlog, not the backlog.
 *
 * A replay skips alerts whose expires_at has passed (hub_msg_expired).
 *
 * A replay is promised only when it is provably complete: `since` is an
 * alert the hub holds, with no break in the stream after it (hub_break), or
 * 0-0 ("everything") when the hub holds every alert the stream ever had
 * (hub_set_complete). A `since` newer than anything held (another node was
 * ahead, or this one is catching up) is awaited: the client gets nothing up
 * to it, then `replayed` when it arrives, or a gap if later alerts come
 * without it. Anything else is a gap: the client is told, never left to
 * guess.
 *
 * The hub knows nothing about sockets: the transport embeds a struct
 * hub_client in its per-connection state, is told through `wake` that a
 * client has something to send, and pulls frames with hub_next/hub_advance.
 * Runs on one thread (the event loop); nothing here locks.
 *
 * Ownership: the hub owns its messages; a hub_msg pointer from hub_next is
 * valid until the next hub_add. Filters are owned by their client.
 */
#ifndef ALERTD_HUB_H
#define ALERTD_HUB_H

#include "grant.h"
#include "hubfilter.h"
#include "hubmsg.h"
#include "item.h"
#include "pmd.h"

#include <stddef.h>
#include <stdint.h>

struct hub_client {
    struct hub_client *prev, *next;  /* in hub->clients */
    const struct hub_filter *filter; /* NULL: everything; owned by the transport */
    uint64_t cursor;                 /* sequence number of the next message to consider */
    uint64_t replay_end;             /* cursor at which the replay ends; 0: no replay */
    uint64_t sent_from;              /* the first sequence it may have been sent since attached */
    struct item_id since;            /* awaiting: the id awaited; gap owed: the gap's since */
    uint32_t replayed;               /* matching alerts sent during the replay */
    uint8_t attached;
    uint8_t woken;    /* wake() called and hub_next has not yet drained it */
    uint8_t awaiting; /* since is newer than anything held: waiting for it */
    uint8_t gap_owed; /* a gap frame is due before anything else */
    /* Urgency (at the top of this file); the transport sets `urgent`. */
    uint8_t urgent;              /* may be shed for and sent flashes ahead */
    uint8_t shed_owed;           /* a shed frame is due before any alert */
    uint32_t shed_kept;          /* unsent alerts before shed_to that are not shed */
    uint32_t shed_count;         /* routine alerts shed since the last shed frame */
    uint64_t shed_to;            /* routine alerts before this sequence number are shed; 0: none */
    struct item_id shed_after;   /* the client had everything up to this id when shedding began */
    struct item_id shed_through; /* the newest id the shedding covers */
    uint64_t ahead_seq;          /* the newest flash sent ahead of order; 0: none */
    uint64_t ahead_next;         /* the flash hub_next gave as HUB_AHEAD */
};

struct hub;
typedef void (*hub_client_cb)(struct hub *hub, struct hub_client *c);
typedef void (*hub_msg_cb)(struct hub *hub, struct hub_msg *m);

struct hub {
    struct hub_msg *ring; /* capacity slots; message seq s lives at ring[s % capacity] */
    size_t capacity;
    uint64_t head;      /* sequence number the next message gets */
    uint64_t count;     /* messages held: head - count is the oldest */
    uint64_t break_seq; /* alerts may be missing just before this sequence number */
    int complete;       /* the hub holds every alert the stream ever had */
    size_t max_queue;
    struct hub_client *clients;
    size_t nclients;
    struct hubmsg_sets sets;   /* the compact field sets in use (hubmsg.h) */
    const struct grant *grant; /* which topics are restricted; NULL: none */
    hub_client_cb wake;        /* a client has something to send */
    hub_client_cb lagging;     /* a client fell max_queue behind: detached already */
    hub_msg_cb evicting;       /* a message is about to leave the ring; NULL: nobody asks */
    hub_client_cb urgent;      /* a flash goes ahead of a client's backlog: write it first */
    uint64_t last_flash;       /* sequence number of the newest flash held and served; 0: none */
    void *user;
    struct pmd_deflater deflater; /* makes the messages' compressed copies */
};

/* `grant` (may be NULL) must outlive the hub. */
int hub_init(struct hub *hub, size_t capacity, size_t max_queue, const struct grant *grant);
void hub_free(struct hub *hub);

/* Adds an item (a validated jansson object without or with `id`) under id.
 * Returns 1 if added, 0 if id is not newer than the newest held (a duplicate
 * from catch-up), -1 on allocation failure. Wakes every matching client. */
int hub_add(struct hub *hub, struct item_id id, const json_t *item);

/* Field sets (fields.h): the variant a reader of `fields` is sent,
 * counted as used until released (0: the full item, also when the node
 * already holds HUBMSG_VARIANTS other sets in use); the set a variant
 * carries; and the encoding of one of the hub's messages for a variant,
 * built once per node the first time a reader needs it. */
unsigned hub_variant_acquire(struct hub *hub, uint32_t fields);
void hub_variant_release(struct hub *hub, unsigned variant);
uint32_t hub_variant_fields(const struct hub *hub, unsigned variant);
const struct hubmsg_enc *hub_enc(struct hub *hub, const struct hub_msg *m, unsigned variant);

/* What to write for one of the hub's messages to one WebSocket client: its
 * encoding for the client's variant, or for a client that negotiated
 * permessage-deflate that encoding's compressed copy (made once per node,
 * the same bytes for every such client, freed with the message; the plain
 * frame when compressing does not make it smaller or memory ran out).
 * Valid until the next hub_add. */
struct hub_out {
    const unsigned char *frame;
    size_t len;
    size_t plain_len; /* the uncompressed frame's length */
};
struct hub_out hub_frame(struct hub *hub, const struct hub_msg *m, unsigned variant, int deflate);
/* The same for a flash hub_next gave as HUB_AHEAD: its "ahead" frame. */
struct hub_out hub_frame_ahead(struct hub *hub, const struct hub_msg *m, unsigned variant,
                               int deflate);

/* Says whether the hub holds every alert the stream ever had (the Redis
 * link knows when it loads the history at start); an eviction from the
 * ring makes it incomplete. Only a complete hub replays since=0-0. */
void hub_set_complete(struct hub *hub, int complete);

/* The stream lost alerts this hub never received (trimmed while the node
 * was away, or Redis replaced): every client following it is owed a gap,
 * and a later resume from before this point gets one too. */
void hub_break(struct hub *hub);

/* Receipts (receipts.h): the message sent to client c under `id`, if c
 * was sent it since it was last attached (the alert is held, c's filter
 * takes it, and c's cursor has passed it since then), with its sequence
 * number in *seq; else NULL. The held message with `id`, or NULL. The
 * slot of a message's receipt tally (hubmsg.h). */
const struct hub_msg *hub_sent(const struct hub *hub, const struct hub_client *c, struct item_id id,
                               uint64_t *seq);
const struct hub_msg *hub_find(const struct hub *hub, struct item_id id);
struct receipt_tally **hub_tally(struct hub *hub, const struct hub_msg *m);

const struct hub_msg *hub_newest(const struct hub *hub);
/* The newest alert's id, or "" when the hub holds none (hello, replayed). */
const char *hub_last_id(const struct hub *hub);
const struct hub_msg *hub_oldest(const struct hub *hub);
/* The k-th newest alert held (0: the newest), NULL past the oldest. */
const struct hub_msg *hub_nth_newest(const struct hub *hub, size_t k);

/* Attaches a client (or re-positions an attached one, e.g. after a new
 * subscribe). Without `since` the client follows live alerts only. With
 * `since` (see the top of this file): HUB_REPLAY, every held alert after
 * since, then HUB_REPLAYED; HUB_AWAIT, since is newer than anything held;
 * HUB_GAP, the hub cannot prove it holds everything after since (a gap is
 * owed, then the client follows live). */
enum hub_attach_result { HUB_LIVE, HUB_REPLAY, HUB_AWAIT, HUB_GAP };
enum hub_attach_result hub_attach(struct hub *hub, struct hub_client *c,
                                  const struct hub_filter *filter, const struct item_id *since);
void hub_detach(struct hub *hub, struct hub_client *c);

/* The next thing a client should be sent: a gap frame (for c->since), a
 * shed frame (c->shed_after, c->shed_through, c->shed_count), a flash
 * ahead of order, an alert, or the end of a replay. Folded alerts, and
 * routine alerts shed for the client, are passed over. */
enum hub_next_kind { HUB_NONE, HUB_MSG, HUB_REPLAYED, HUB_GAPPED, HUB_SHED, HUB_AHEAD };
enum hub_next_kind hub_next(struct hub *hub, struct hub_client *c, const struct hub_msg **msg);
/* Call after what hub_next returned was written. */
void hub_advance(struct hub *hub, struct hub_client *c, enum hub_next_kind what);
/* 1 if hub_next may still have something for the client (it may also find
 * only alerts the filter skips). */
int hub_pending(const struct hub *hub, const struct hub_client *c);

/* 1 once the alert's expires_at has passed: it is neither replayed
 * (hub_next) nor listed (REST). Live delivery does not ask: a client
 * drops an alert at its expires_at itself (PROTOCOL.md, section 9), and
 * an alert that arrives expired is one it does not show. */
int hub_msg_expired(const struct hub_msg *m, int64_t now_ms);

#endif
