/*
 * hub — see hub.h.
 */
#include "hub.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * The ring
 * ---------------------------------------------------------------------- */

int hub_init(struct hub *hub, size_t capacity, size_t max_queue, const struct grant *grant)
{
    memset(hub, 0, sizeof(*hub));
    hub->grant = grant;
    hub->ring = calloc(capacity, sizeof(*hub->ring));
    if (hub->ring == NULL)
        return -1;
    hub->capacity = capacity;
    hub->max_queue = max_queue;
    hub->head = 1; /* sequence 0 never exists: cursor 0 is before everything */
    return 0;
}

void hub_free(struct hub *hub)
{
    for (size_t i = 0; i < hub->capacity; i++)
        hubmsg_clear(&hub->ring[i]);
    free(hub->ring);
    hub->ring = NULL;
    pmd_deflater_free(&hub->deflater);
}

static struct hub_msg *hub_at(const struct hub *hub, uint64_t seq)
{
    return &hub->ring[seq % hub->capacity];
}

static uint64_t hub_oldest_seq(const struct hub *hub)
{
    return hub->head - hub->count;
}

const struct hub_msg *hub_newest(const struct hub *hub)
{
    return hub->count ? hub_at(hub, hub->head - 1) : NULL;
}

const char *hub_last_id(const struct hub *hub)
{
    const struct hub_msg *newest = hub_newest(hub);
    return newest ? newest->id_str : "";
}

const struct hub_msg *hub_nth_newest(const struct hub *hub, size_t k)
{
    return k < hub->count ? hub_at(hub, hub->head - 1 - k) : NULL;
}

const struct hub_msg *hub_oldest(const struct hub *hub)
{
    return hub->count ? hub_at(hub, hub_oldest_seq(hub)) : NULL;
}

unsigned hub_variant_acquire(struct hub *hub, uint32_t fields)
{
    return hubmsg_sets_acquire(&hub->sets, fields);
}

void hub_variant_release(struct hub *hub, unsigned variant)
{
    hubmsg_sets_release(&hub->sets, variant);
}

uint32_t hub_variant_fields(const struct hub *hub, unsigned variant)
{
    return hubmsg_sets_fields(&hub->sets, variant);
}

const struct hubmsg_enc *hub_enc(struct hub *hub, const struct hub_msg *m, unsigned variant)
{
    /* m is one of the ring's messages, which the hub may change. */
    return hubmsg_enc(&hub->ring[m - hub->ring], &hub->sets, variant);
}

static struct hub_out hub_out_of(struct hub *hub, const struct hubmsg_enc *e, int deflate)
{
    struct hub_out out = {e->frame, e->frame_len, e->frame_len};
    if (deflate)
        out.frame = hubmsg_deflated(e, &hub->deflater, &out.len);
    return out;
}

struct hub_out hub_frame(struct hub *hub, const struct hub_msg *m, unsigned variant, int deflate)
{
    return hub_out_of(hub, hubmsg_enc(&hub->ring[m - hub->ring], &hub->sets, variant), deflate);
}

struct hub_out hub_frame_ahead(struct hub *hub, const struct hub_msg *m, unsigned variant,
                               int deflate)
{
    return hub_out_of(hub, hubmsg_ahead(&hub->ring[m - hub->ring], &hub->sets, variant), deflate);
}

void hub_set_complete(struct hub *hub, int complete)
{
    hub->complete = complete;
}

/* Wakes a client that has something to write (woken once until drained). */
static void hub_wake(struct hub *hub, struct hub_client *c)
{
    if (!c->woken) {
        c->woken = 1;
        hub->wake(hub, c);
    }
}

static int hub_id_is_zero(struct item_id id)
{
    return id.ms == 0 && id.seq == 0;
}

void hub_break(struct hub *hub)
{
    const struct hub_msg *newest = hub_newest(hub);
    hub->break_seq = hub->head;
    hub->complete = 0;
    if (newest == NULL)
        return; /* nobody can have had anything */
    for (struct hub_client *c = hub->clients; c; c = c->next) {
        if (c->awaiting)
            continue; /* its since decides when it arrives, or what comes instead */
        c->gap_owed = 1;
        c->since = newest->id; /* what it can have: everything up to here */
        hub_wake(hub, c);
    }
}

static void hub_unlink(struct hub *hub, struct hub_client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->attached = 0;
    hub->nclients--;
}

void hub_detach(struct hub *hub, struct hub_client *c)
{
    if (c->attached)
        hub_unlink(hub, c);
}

/* The id just before `id`: no alert can lie between the two. */
static struct item_id hub_id_pred(struct item_id id)
{
    if (id.seq > 0)
        id.seq--;
    else if (id.ms > 0)
        id = (struct item_id){id.ms - 1, UINT64_MAX};
    return id;
}

/* 1 when a flash at `seq` was sent to the client ahead of order. */
static int hub_sent_ahead(const struct hub_client *c, const struct hub_msg *m, uint64_t seq)
{
    return seq <= c->ahead_seq && m->urgency == HUBMSG_FLASH;
}

/* Extends the client's shedding to everything held (hub.h, at the top):
 * the routine alerts from `from` on are shed, the others kept. Returns 1
 * when even the kept ones are over max_queue: the client must go. */
static int hub_shed(struct hub *hub, struct hub_client *c, uint64_t from)
{
    uint32_t shed = 0;
    if (c->shed_to == 0) {
        c->shed_after = hub_id_pred(hub_at(hub, from)->id);
        c->shed_kept = 0;
    } else {
        from = c->shed_to;
    }
    for (uint64_t s = from; s < hub->head; s++) {
        const struct hub_msg *m = hub_at(hub, s);
        if (!hubfilter_serves(c->filter, m) || hub_sent_ahead(c, m, s))
            continue;
        if (hubmsg_sheddable(m))
            shed++;
        else
            c->shed_kept++;
    }
    c->shed_to = hub->head;
    c->shed_through = hub_at(hub, hub->head - 1)->id;
    if (shed) {
        c->shed_count += shed;
        c->shed_owed = 1;
    }
    return c->shed_kept > hub->max_queue;
}

/* A client is lagging when the oldest message it still needs has left the
 * ring, or when its unsent live backlog is over max_queue and shedding
 * cannot bring what it must be sent within it (hub.h, at the top). */
static int hub_client_lagging(struct hub *hub, struct hub_client *c)
{
    uint64_t from = c->cursor > c->replay_end ? c->cursor : c->replay_end;
    if (c->cursor < hub_oldest_seq(hub))
        return 1;
    if (c->shed_to && c->cursor >= c->shed_to)
        c->shed_to = c->shed_kept = 0; /* the shed part is behind it */
    uint64_t pending = c->shed_to ? c->shed_kept + (hub->head - c->shed_to) : hub->head - from;
    if (pending <= hub->max_queue)
        return 0;
    if (!c->urgent || c->replay_end || c->awaiting || c->gap_owed)
        return 1;
    return hub_shed(hub, c, from);
}

/* An awaiting client meets message m (at seq): one it already has (before
 * its since: passed over), its since itself (the resume is proven: a
 * replay of nothing), or a later one (its since never came: a gap). For
 * since=0-0 the first message decides: no gap only for a complete hub.
 * Returns 1 when the client has something to write now. */
static int hub_resolve(struct hub *hub, struct hub_client *c, const struct hub_msg *m, uint64_t seq)
{
    int cmp = hub_id_is_zero(c->since) ? 1 : item_id_cmp(m->id, c->since);
    if (cmp < 0) {
        if (c->cursor == seq)
            c->cursor = seq + 1;
        return 0;
    }
    c->awaiting = 0;
    if (cmp == 0) {
        c->cursor = c->replay_end = seq + 1;
        c->sent_from = c->cursor;
        return 1;
    }
    c->sent_from = c->cursor;
    if (!hub_id_is_zero(c->since) || !hub->complete)
        c->gap_owed = 1;
    return c->gap_owed;
}

static void hub_notify(struct hub *hub, uint64_t seq)
{
    const struct hub_msg *m = hub_at(hub, seq);
    struct hub_client *c = hub->clients, *next;
    for (; c; c = next) {
        next = c->next;
        if (hub_client_lagging(hub, c)) {
            hub_unlink(hub, c);
            hub->lagging(hub, c);
            continue;
        }
        if (c->awaiting && hub_resolve(hub, c, m, seq)) {
            hub_wake(hub, c);
            continue;
        }
        if (c->awaiting || !hubfilter_serves(c->filter, m)) {
            /* Nothing to send: a caught-up client just moves past it, so
             * alerts it does not want never count as its backlog. */
            if (c->cursor == seq)
                c->cursor = seq + 1;
            continue;
        }
        if (m->urgency == HUBMSG_FLASH && c->urgent && c->cursor < seq && !c->replay_end &&
            hub->urgent) {
            c->woken = 1; /* written from the urgent lane, then as usual */
            hub->urgent(hub, c);
            continue;
        }
        hub_wake(hub, c);
    }
}

/* ------------------------------------------------------------------------
 * Folding (fold.h)
 * ---------------------------------------------------------------------- */

static uint64_t hub_seq_after(const struct hub *hub, struct item_id since);

/* The message at seq, an update or a retraction, meets the versions of its
 * story the hub holds, newest first: each verdict of fold_meet folds the
 * one that is no longer served. The walk ends at the story's original
 * (no version is older), or at the oldest message held. */
static void hub_fold_in(struct hub *hub, uint64_t seq)
{
    struct hub_msg *m = hub_at(hub, seq);
    if (m->ver.kind == FOLD_ALERT)
        return;
    const struct hub_msg *ref = hub_find(hub, m->ver.root);
    if (ref && ref->ver.kind == FOLD_UPDATE)
        m->ver.root = ref->ver.root; /* a ref naming an update means its story */
    for (uint64_t s = seq; s-- > hub_oldest_seq(hub);) {
        struct hub_msg *o = hub_at(hub, s);
        if (item_id_cmp(o->id, m->ver.root) < 0)
            break;
        if (o->folded || item_id_cmp(o->ver.root, m->ver.root) != 0)
            continue;
        enum fold_verdict v = fold_meet(m->ver.kind, o->ver.kind);
        if (v == FOLD_DROP_NEWER) {
            hubmsg_fold(m);
            return;
        }
        if (v == FOLD_DROP_OLDER)
            hubmsg_fold(o);
    }
}

int hub_add(struct hub *hub, struct item_id id, const json_t *item)
{
    const struct hub_msg *newest = hub_newest(hub);
    struct hub_msg m;
    if (newest && item_id_cmp(id, newest->id) <= 0)
        return 0;
    if (hubmsg_build(&m, hub->grant, id, item))
        return -1;
    if (hub->count == hub->capacity) {
        struct hub_msg *oldest = hub_at(hub, hub_oldest_seq(hub));
        if (hub->evicting)
            hub->evicting(hub, oldest);
        hubmsg_clear(oldest);
        hub->count--;
        hub->complete = 0;
    }
    uint64_t seq = hub->head;
    *hub_at(hub, seq) = m;
    hub->head++;
    hub->count++;
    hub_fold_in(hub, seq);
    if (hub_at(hub, seq)->urgency == HUBMSG_FLASH && !hub_at(hub, seq)->folded) {
        hub_at(hub, seq)->prev_flash = hub->last_flash;
        hub->last_flash = seq;
    }
    hub_notify(hub, seq);
    return 1;
}

/* The first sequence number whose id is greater than `since`. */
static uint64_t hub_seq_after(const struct hub *hub, struct item_id since)
{
    uint64_t lo = hub_oldest_seq(hub), hi = hub->head;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (item_id_cmp(hub_at(hub, mid)->id, since) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Where a client resuming after c->since starts (hub.h, at the top). */
static enum hub_attach_result hub_position(struct hub *hub, struct hub_client *c)
{
    const struct hub_msg *newest = hub_newest(hub);
    uint64_t after;
    if (hub_id_is_zero(c->since) && hub->complete) {
        c->cursor = hub_oldest_seq(hub);
    } else if (newest == NULL || item_id_cmp(c->since, newest->id) > 0) {
        c->awaiting = 1;
        return HUB_AWAIT;
    } else if (hub_id_is_zero(c->since) ||
               (after = hub_seq_after(hub, c->since)) == hub_oldest_seq(hub) ||
               item_id_cmp(hub_at(hub, after - 1)->id, c->since) != 0 ||
               after - 1 < hub->break_seq) {
        c->gap_owed = 1; /* not an alert held, or a break after it */
        return HUB_GAP;
    } else {
        c->cursor = after;
    }
    c->replay_end = hub->head;
    return HUB_REPLAY;
}

enum hub_attach_result hub_attach(struct hub *hub, struct hub_client *c,
                                  const struct hub_filter *filter, const struct item_id *since)
{
    if (!c->attached) {
        c->prev = NULL;
        c->next = hub->clients;
        if (hub->clients)
            hub->clients->prev = c;
        hub->clients = c;
        c->attached = 1;
        hub->nclients++;
    }
    c->filter = filter;
    c->woken = 0;
    c->replayed = 0;
    c->replay_end = 0;
    c->awaiting = 0;
    c->gap_owed = 0;
    c->shed_owed = 0;
    c->shed_to = c->shed_kept = c->shed_count = 0;
    c->ahead_seq = 0;
    c->cursor = c->sent_from = hub->head;
    if (since == NULL)
        return HUB_LIVE;
    c->since = *since;
    enum hub_attach_result r = hub_position(hub, c);
    c->sent_from = c->cursor;
    return r;
}

/* The held message with `id` and its sequence number, or NULL. */
static struct hub_msg *hub_lookup(const struct hub *hub, struct item_id id, uint64_t *seq)
{
    if (hub->count == 0)
        return NULL;
    uint64_t after = hub_seq_after(hub, id);
    if (after == hub_oldest_seq(hub) || item_id_cmp(hub_at(hub, after - 1)->id, id) != 0)
        return NULL;
    *seq = after - 1;
    return hub_at(hub, after - 1);
}

const struct hub_msg *hub_find(const struct hub *hub, struct item_id id)
{
    uint64_t seq;
    return hub_lookup(hub, id, &seq);
}

const struct hub_msg *hub_sent(const struct hub *hub, const struct hub_client *c, struct item_id id,
                               uint64_t *seq)
{
    if (!c->attached || c->awaiting)
        return NULL;
    const struct hub_msg *m = hub_lookup(hub, id, seq);
    if (m == NULL || *seq < c->sent_from || *seq >= c->cursor || !hubfilter_match(c->filter, m))
        return NULL;
    return m;
}

struct receipt_tally **hub_tally(struct hub *hub, const struct hub_msg *m)
{
    return &hub->ring[m - hub->ring].tally;
}

int hub_msg_expired(const struct hub_msg *m, int64_t now_ms)
{
    return m->expires_ms != 0 && m->expires_ms <= now_ms;
}

/* 1 when the client is sent m (at seq) in order: served to it, neither
 * shed for it nor sent ahead already. */
static int hub_in_order(const struct hub_client *c, const struct hub_msg *m, uint64_t seq)
{
    return hubfilter_serves(c->filter, m) && !(seq < c->shed_to && hubmsg_sheddable(m)) &&
           !hub_sent_ahead(c, m, seq);
}

/* The oldest flash after `after` the client was not sent yet, if one is
 * held: the newest flashes are chained (prev_flash), so this costs the
 * flashes of its backlog, not the backlog. 0 when there is none. */
static uint64_t hub_flash_ahead(const struct hub *hub, const struct hub_client *c, uint64_t after)
{
    uint64_t found = 0, lim = after > c->ahead_seq ? after : c->ahead_seq;
    for (uint64_t s = hub->last_flash; s > lim && s >= hub_oldest_seq(hub);
         s = hub_at(hub, s)->prev_flash)
        if (hubfilter_serves(c->filter, hub_at(hub, s)))
            found = s;
    return found;
}

enum hub_next_kind hub_next(struct hub *hub, struct hub_client *c, const struct hub_msg **msg)
{
    int64_t now = 0; /* read once, when a replayed alert has an expiry */
    const struct hub_msg *m;
    if (c->gap_owed)
        return HUB_GAPPED;
    if (c->shed_owed)
        return HUB_SHED;
    if (c->cursor < hub_oldest_seq(hub))
        c->cursor = hub_oldest_seq(hub); /* only after a lagging close raced */
    for (;; c->cursor++) {
        if (c->replay_end && c->cursor >= c->replay_end)
            return HUB_REPLAYED;
        if (c->cursor >= hub->head) {
            c->woken = 0;
            return HUB_NONE;
        }
        m = hub_at(hub, c->cursor);
        int replaying = c->replay_end && c->cursor < c->replay_end;
        if (replaying && m->expires_ms && !now)
            now = item_time_now_ms();
        if (hub_in_order(c, m, c->cursor) && !(replaying && hub_msg_expired(m, now)))
            break;
    }
    /* A flash further on goes first, unless this one is a flash itself
     * (flashes keep their order among themselves). */
    uint64_t ahead;
    if (c->urgent && !c->replay_end && m->urgency != HUBMSG_FLASH && hub->last_flash > c->cursor &&
        (ahead = hub_flash_ahead(hub, c, c->cursor)) != 0) {
        c->ahead_next = ahead;
        *msg = hub_at(hub, ahead);
        return HUB_AHEAD;
    }
    *msg = m;
    return HUB_MSG;
}

void hub_advance(struct hub *hub, struct hub_client *c, enum hub_next_kind what)
{
    if (what == HUB_GAPPED) {
        c->gap_owed = 0;
    } else if (what == HUB_SHED) {
        c->shed_owed = 0;
        c->shed_count = 0;
    } else if (what == HUB_REPLAYED) {
        c->replay_end = 0;
    } else if (what == HUB_AHEAD) {
        if (c->ahead_next < c->shed_to && c->shed_kept > 0)
            c->shed_kept--;
        c->ahead_seq = c->ahead_next;
    } else if (what == HUB_MSG) {
        if (c->replay_end && c->cursor < c->replay_end)
            c->replayed++;
        if (c->cursor < c->shed_to && c->shed_kept > 0)
            c->shed_kept--;
        c->cursor++;
    }
    /* Everything sent: the next alert must wake the client again. */
    if (!hub_pending(hub, c))
        c->woken = 0;
}

int hub_pending(const struct hub *hub, const struct hub_client *c)
{
    return c->attached &&
           (c->gap_owed || c->shed_owed || c->replay_end != 0 || c->cursor < hub->head);
}
