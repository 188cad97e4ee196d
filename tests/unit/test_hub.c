/*
 * test_hub — the history ring, client cursors, filters, replay, gap and the
 * slow-consumer rule, without any sockets.
 */
#include "fields.h"
#include "hub.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct woke {
    int wakes, lagging;
};
static struct woke woke;

static void on_wake(struct hub *hub, struct hub_client *c)
{
    (void)hub;
    (void)c;
    woke.wakes++;
}

static void on_lagging(struct hub *hub, struct hub_client *c)
{
    (void)hub;
    (void)c;
    woke.lagging++;
}

static void setup(struct hub *hub, size_t capacity, size_t max_queue)
{
    hub_init(hub, capacity, max_queue, NULL);
    hub->wake = on_wake;
    hub->lagging = on_lagging;
    woke = (struct woke){0, 0};
}

/* Adds alert <ms>-0 with one topic and a language. */
static int add(struct hub *hub, uint64_t ms, const char *topic, const char *lang)
{
    json_t *item = json_pack("{s:s,s:s,s:[s],s:s,s:s}", "kind", "alert", "headline", "h", "topics",
                             topic, "lang", lang, "published_at", "2026-01-01T00:00:00.000Z");
    int rc = hub_add(hub, (struct item_id){ms, 0}, item);
    json_decref(item);
    return rc;
}

/* Drains a client: returns the number of alerts it would be sent. */
static int drain(struct hub *hub, struct hub_client *c, uint64_t *last_ms, int *replayed)
{
    const struct hub_msg *m;
    int n = 0;
    for (;;) {
        enum hub_next_kind k = hub_next(hub, c, &m);
        if (k == HUB_NONE)
            return n;
        if (k == HUB_GAPPED) {
            /* counted by drain_all; here only alerts matter */
        } else if (k == HUB_REPLAYED) {
            if (replayed)
                *replayed = (int)c->replayed;
        } else {
            n++;
            if (last_ms)
                *last_ms = m->id.ms;
        }
        hub_advance(hub, c, k);
    }
}

static void test_frame_is_encoded_once_with_id_first(void)
{
    struct hub hub;
    setup(&hub, 4, 100);
    ASSERT_EQ(add(&hub, 5, "world", "en"), 1);
    const struct hub_msg *m = hub_newest(&hub);
    ASSERT_CONTAINS(m->full.payload,
                    "{\"type\":\"alert\",\"alert\":{\"id\":\"5-0\",\"kind\":\"alert\"");
    ASSERT_EQ(m->full.payload[m->full.payload_len - 1], '}');
    ASSERT_EQ(strncmp(m->full.item, "{\"id\":\"5-0\"", 11), 0);
    ASSERT_EQ(m->full.item[m->full.item_len], '}'); /* the payload's closing brace follows */
    /* The WebSocket frame: FIN+text, then the length, then the payload. */
    ASSERT_EQ(m->full.frame[0], 0x81);
    ASSERT_EQ(m->full.frame[1], 126); /* 126-65535 bytes: a 16-bit length follows */
    ASSERT_EQ(((size_t)m->full.frame[2] << 8) | m->full.frame[3], m->full.payload_len);
    ASSERT_EQ(m->full.frame_len, m->full.payload_len + 4);
    ASSERT_TRUE((const char *)m->full.frame + 4 == m->full.payload);
    hub_free(&hub);
}

static void test_frame_headers_for_small_and_large_payloads(void)
{
    struct hub hub;
    setup(&hub, 4, 100);
    char big[70000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    size_t sizes[] = {1, sizeof(big) - 1};
    for (int i = 0; i < 2; i++) {
        big[sizes[i]] = '\0';
        json_t *item = i == 0 ? json_pack("{}") : json_pack("{s:s}", "summary", big);
        ASSERT_EQ(hub_add(&hub, (struct item_id){(uint64_t)i + 1, 0}, item), 1);
        json_decref(item);
        big[sizes[i]] = 'x';
        const struct hub_msg *m = hub_newest(&hub);
        size_t n = m->full.payload_len;
        if (i == 0) { /* under 126 bytes: the length is in the second byte */
            ASSERT_EQ(m->full.frame[1], (long long)n);
            ASSERT_EQ(m->full.frame_len, n + 2);
        } else {
            ASSERT_EQ(m->full.frame[1], 127);
            size_t got = 0;
            for (int b = 2; b < 10; b++)
                got = (got << 8) | m->full.frame[b];
            ASSERT_EQ(got, n);
            ASSERT_EQ(m->full.frame_len, n + 10);
        }
    }
    hub_free(&hub);
}

#define BIT(name) fields_bit(name, strlen(name))

/* Adds an update of <ref>-0 with a headline, a summary and a URL. */
static void add_update(struct hub *hub, uint64_t ms, uint64_t ref)
{
    char refid[32];
    snprintf(refid, sizeof(refid), "%llu-0", (unsigned long long)ref);
    json_t *item = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "kind", "update", "ref", refid,
                             "version", 2, "headline", "h2", "summary", "long text", "url",
                             "https://x.example/a", "published_at", "2026-01-01T00:00:00.000Z");
    ASSERT_EQ(hub_add(hub, (struct item_id){ms, 0}, item), 1);
    json_decref(item);
}

static void test_a_compact_variant_has_only_its_fields_and_the_always_present_ones(void)
{
    struct hub hub;
    setup(&hub, 4, 100);
    add_update(&hub, 7, 5);
    unsigned v = hub_variant_acquire(&hub, BIT("headline") | FIELDS_ALWAYS);
    ASSERT_TRUE(v > 0);
    ASSERT_EQ(hub_variant_fields(&hub, v), BIT("headline") | FIELDS_ALWAYS);
    const struct hub_msg *m = hub_newest(&hub);
    const struct hubmsg_enc *e = hub_enc(&hub, m, v);
    ASSERT_EQ(strncmp(e->item,
                      "{\"id\":\"7-0\",\"kind\":\"update\",\"ref\":\"5-0\",\"headline\":\"h2\"}",
                      e->item_len),
              0);
    ASSERT_EQ(e->item_len,
              strlen("{\"id\":\"7-0\",\"kind\":\"update\",\"ref\":\"5-0\",\"headline\":\"h2\"}"));
    /* A whole frame of its own: header, then {"type":"alert","alert":…}. */
    ASSERT_EQ(e->frame[0], 0x81);
    ASSERT_EQ(e->frame[1], (long long)e->payload_len);
    ASSERT_TRUE((const char *)e->frame + 2 == e->payload);
    ASSERT_EQ(strncmp(e->payload, "{\"type\":\"alert\",\"alert\":{\"id\"", 29), 0);
    ASSERT_TRUE(e->item_len < m->full.item_len);
    /* Built once: the same encoding every time it is asked for. */
    ASSERT_TRUE(hub_enc(&hub, m, v) == e);
    /* Variant 0 is the full item. */
    ASSERT_TRUE(hub_enc(&hub, m, 0) == &m->full);
    ASSERT_CONTAINS(m->full.item, "\"summary\":\"long text\"");
    hub_variant_release(&hub, v);
    hub_free(&hub);
}

static void test_readers_of_one_field_set_share_its_variant(void)
{
    struct hub hub;
    setup(&hub, 4, 100);
    uint32_t set = BIT("url") | FIELDS_ALWAYS;
    unsigned a = hub_variant_acquire(&hub, set), b = hub_variant_acquire(&hub, set);
    ASSERT_TRUE(a > 0);
    ASSERT_EQ(a, b);
    ASSERT_EQ(hub_variant_acquire(&hub, FIELDS_ALL), 0); /* the full item needs no variant */
    hub_variant_release(&hub, a);
    hub_variant_release(&hub, b);
    hub_free(&hub);
}

static void test_past_the_variant_limit_readers_get_the_full_item(void)
{
    struct hub hub;
    unsigned v[HUBMSG_VARIANTS];
    setup(&hub, 4, 100);
    add_update(&hub, 7, 5);
    const struct hub_msg *m = hub_newest(&hub);
    /* HUBMSG_VARIANTS different sets, all in use. */
    for (unsigned i = 0; i < HUBMSG_VARIANTS; i++) {
        v[i] = hub_variant_acquire(&hub, (UINT32_C(1) << (3 + i)) | FIELDS_ALWAYS);
        ASSERT_EQ(v[i], i + 1);
        ASSERT_TRUE(hub_enc(&hub, m, v[i]) != &m->full);
    }
    uint32_t more = BIT("headline") | BIT("summary") | FIELDS_ALWAYS;
    ASSERT_EQ(hub_variant_acquire(&hub, more), 0);
    /* Once a set is no longer used, its slot goes to the next new set, and
     * the messages' encodings follow the slot's new set. */
    hub_variant_release(&hub, v[2]);
    unsigned w = hub_variant_acquire(&hub, more);
    ASSERT_EQ(w, v[2]);
    const struct hubmsg_enc *e = hub_enc(&hub, m, w);
    ASSERT_EQ(e->fields, more);
    ASSERT_CONTAINS(e->item, "\"headline\":\"h2\",\"summary\":\"long text\"}");
    /* A set used once more stays; an unused slot keeps its set meanwhile. */
    hub_variant_release(&hub, v[4]);
    ASSERT_EQ(hub_variant_acquire(&hub, hub_variant_fields(&hub, v[4])), v[4]);
    for (unsigned i = 0; i < HUBMSG_VARIANTS; i++)
        hub_variant_release(&hub, v[i] == v[2] ? w : v[i]);
    hub_variant_release(&hub, 0); /* the full item: nothing to release */
    hub_free(&hub);
}

static void test_duplicates_and_old_ids_are_dropped(void)
{
    struct hub hub;
    setup(&hub, 4, 100);
    ASSERT_EQ(add(&hub, 5, "a", "en"), 1);
    ASSERT_EQ(add(&hub, 5, "a", "en"), 0);
    ASSERT_EQ(add(&hub, 4, "a", "en"), 0);
    ASSERT_EQ(add(&hub, 6, "a", "en"), 1);
    ASSERT_EQ(hub.count, 2);
    hub_free(&hub);
}

static void test_ring_keeps_the_newest(void)
{
    struct hub hub;
    setup(&hub, 3, 100);
    for (uint64_t i = 1; i <= 5; i++)
        add(&hub, i, "a", "en");
    ASSERT_EQ(hub.count, 3);
    ASSERT_EQ(hub_oldest(&hub)->id.ms, 3);
    ASSERT_EQ(hub_newest(&hub)->id.ms, 5);
    ASSERT_TRUE(!hub.complete); /* evicting makes the history incomplete */
    hub_free(&hub);
}

static void test_live_client_gets_only_new_alerts(void)
{
    struct hub hub;
    struct hub_client c = {0};
    uint64_t last = 0;
    setup(&hub, 8, 100);
    add(&hub, 1, "a", "en");
    ASSERT_EQ(hub_attach(&hub, &c, NULL, NULL), HUB_LIVE);
    ASSERT_EQ(drain(&hub, &c, &last, NULL), 0);
    add(&hub, 2, "a", "en");
    add(&hub, 3, "a", "en");
    ASSERT_EQ(woke.wakes, 1); /* woken once until drained */
    ASSERT_EQ(drain(&hub, &c, &last, NULL), 2);
    ASSERT_EQ(last, 3);
    add(&hub, 4, "a", "en");
    ASSERT_EQ(woke.wakes, 2);
    hub_detach(&hub, &c);
    ASSERT_EQ(hub.nclients, 0);
    hub_free(&hub);
}

/* A transport writes while hub_pending says so and never sees HUB_NONE. */
static void test_client_written_up_to_date_is_woken_again(void)
{
    struct hub hub;
    struct hub_client c = {0};
    const struct hub_msg *m;
    setup(&hub, 8, 100);
    hub_attach(&hub, &c, NULL, NULL);
    add(&hub, 1, "a", "en");
    ASSERT_EQ(woke.wakes, 1);
    ASSERT_EQ(hub_next(&hub, &c, &m), HUB_MSG);
    hub_advance(&hub, &c, HUB_MSG);
    ASSERT_TRUE(!hub_pending(&hub, &c));
    add(&hub, 2, "a", "en");
    ASSERT_EQ(woke.wakes, 2);
    hub_free(&hub);
}

static void test_replay_after_since_then_replayed(void)
{
    struct hub hub;
    struct hub_client c = {0};
    uint64_t last = 0;
    int replayed = -1;
    setup(&hub, 16, 100);
    for (uint64_t i = 1; i <= 10; i++)
        add(&hub, i, "a", "en");
    struct item_id since = {5, 0};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &since), HUB_REPLAY);
    ASSERT_EQ(drain(&hub, &c, &last, &replayed), 5);
    ASSERT_EQ(last, 10);
    ASSERT_EQ(replayed, 5);
    ASSERT_EQ(c.replay_end, 0);
    add(&hub, 11, "a", "en");
    ASSERT_EQ(drain(&hub, &c, &last, NULL), 1);
    hub_free(&hub);
}

/* Adds alert <ms>-0 with an expires_at. */
static int add_expiring(struct hub *hub, uint64_t ms, const char *expires_at)
{
    json_t *item = json_pack("{s:s,s:s,s:[s],s:s,s:s,s:s}", "kind", "alert", "headline", "h",
                             "topics", "a", "lang", "en", "published_at",
                             "2026-01-01T00:00:00.000Z", "expires_at", expires_at);
    int rc = hub_add(hub, (struct item_id){ms, 0}, item);
    json_decref(item);
    return rc;
}

/* A replay leaves out what expired (and counts only what it sent); live
 * delivery does not look: the client applies expires_at itself. */
static void test_replay_skips_expired_alerts_live_does_not(void)
{
    struct hub hub;
    struct hub_client c = {0}, live = {0};
    uint64_t last = 0;
    int replayed = -1;
    setup(&hub, 16, 100);
    ASSERT_EQ(hub_attach(&hub, &live, NULL, NULL), HUB_LIVE);
    add(&hub, 1, "a", "en");
    ASSERT_EQ(add_expiring(&hub, 2, "2026-01-01T01:00:00Z"), 1); /* long past */
    ASSERT_EQ(add_expiring(&hub, 3, "2999-01-01T00:00:00Z"), 1);
    add(&hub, 4, "a", "en");
    ASSERT_EQ(hub_nth_newest(&hub, 2)->expires_ms, 1767229200000LL);
    ASSERT_TRUE(hub_msg_expired(hub_nth_newest(&hub, 2), item_time_now_ms()));
    ASSERT_TRUE(!hub_msg_expired(hub_nth_newest(&hub, 1), item_time_now_ms()));
    ASSERT_TRUE(!hub_msg_expired(hub_nth_newest(&hub, 0), item_time_now_ms())); /* none */
    ASSERT_EQ(drain(&hub, &live, NULL, NULL), 4);

    struct item_id since = {1, 0};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &since), HUB_REPLAY);
    ASSERT_EQ(drain(&hub, &c, &last, &replayed), 2);
    ASSERT_EQ(last, 4);
    ASSERT_EQ(replayed, 2);
    ASSERT_EQ(add_expiring(&hub, 5, "2026-01-01T01:00:00Z"), 1); /* live: sent */
    ASSERT_EQ(drain(&hub, &c, &last, NULL), 1);
    ASSERT_EQ(last, 5);
    hub_free(&hub);
}

/* Drains one client and says what it got: the gap frame first (with its
 * since), replayed, and how many alerts. */
struct got {
    int gaps, replayed_frames, alerts;
    struct item_id gap_since;
    uint64_t last_ms;
};

static struct got drain_all(struct hub *hub, struct hub_client *c)
{
    struct got g = {0};
    const struct hub_msg *m;
    enum hub_next_kind k;
    while ((k = hub_next(hub, c, &m)) != HUB_NONE) {
        if (k == HUB_GAPPED) {
            g.gaps++;
            g.gap_since = c->since;
        } else if (k == HUB_REPLAYED) {
            g.replayed_frames++;
        } else {
            g.alerts++;
            g.last_ms = m->id.ms;
        }
        hub_advance(hub, c, k);
    }
    return g;
}

/* An id between two held alerts was never one of this stream's: the
 * client cannot have seen it here (another Redis, a typo). */
static void test_since_not_an_alert_held_is_a_gap(void)
{
    struct hub hub;
    struct hub_client c = {0};
    setup(&hub, 16, 100);
    add(&hub, 10, "a", "en");
    add(&hub, 20, "a", "en");
    struct item_id mid = {15, 7};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &mid), HUB_GAP);
    struct got g = drain_all(&hub, &c);
    ASSERT_EQ(g.gaps, 1);
    ASSERT_EQ(g.gap_since.ms, 15);
    ASSERT_EQ(g.alerts, 0); /* live from here */
    add(&hub, 30, "a", "en");
    ASSERT_EQ(drain_all(&hub, &c).alerts, 1);
    hub_free(&hub);
}

/* Older than the oldest held: gone from the history, or never here. The
 * hub knows nothing older, whether it evicted or the stream was trimmed
 * before it loaded (the bug: 148 alerts skipped without a word). */
static void test_since_older_than_the_history_is_a_gap_even_untruncated(void)
{
    struct hub hub;
    struct hub_client c = {0};
    setup(&hub, 8, 100);
    for (uint64_t i = 101; i <= 105; i++)
        add(&hub, i, "a", "en");
    struct item_id first = {1, 0};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &first), HUB_GAP);
    ASSERT_EQ(drain_all(&hub, &c).gaps, 1);
    struct item_id oldest = {101, 0};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &oldest), HUB_REPLAY); /* held: exact */
    struct got g = drain_all(&hub, &c);
    ASSERT_EQ(g.gaps, 0);
    ASSERT_EQ(g.alerts, 4);
    ASSERT_EQ(g.replayed_frames, 1);
    hub_free(&hub);
}

/* Newer than anything held: awaited. Its own arrival proves the resume
 * (replayed, nothing before it repeated); a later id arriving first
 * means it never will (gap, then the alert). */
static void test_since_ahead_is_awaited_then_proven_or_a_gap(void)
{
    struct hub hub;
    struct hub_client c = {0}, d = {0};
    setup(&hub, 16, 100);
    add(&hub, 10, "a", "en");
    struct item_id ahead = {30, 0};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &ahead), HUB_AWAIT);
    ASSERT_EQ(hub_attach(&hub, &d, NULL, &ahead), HUB_AWAIT);
    add(&hub, 20, "a", "en"); /* before since: c and d have it */
    ASSERT_EQ(drain_all(&hub, &c).alerts, 0);
    add(&hub, 30, "a", "en"); /* since itself: proven */
    struct got g = drain_all(&hub, &c);
    ASSERT_EQ(g.gaps + g.alerts, 0);
    ASSERT_EQ(g.replayed_frames, 1);
    add(&hub, 40, "a", "en");
    ASSERT_EQ(drain_all(&hub, &c).alerts, 1);

    struct hub_client e = {0};
    struct item_id lost = {45, 0};
    ASSERT_EQ(hub_attach(&hub, &e, NULL, &lost), HUB_AWAIT);
    add(&hub, 50, "a", "en"); /* later than since, which never came */
    g = drain_all(&hub, &e);
    ASSERT_EQ(g.gaps, 1);
    ASSERT_EQ(g.gap_since.ms, 45);
    ASSERT_EQ(g.alerts, 1);
    ASSERT_EQ(g.last_ms, 50);
    hub_free(&hub);
}

/* since=0-0, everything: replayed only by a hub that holds all the stream
 * ever had; otherwise a gap. Decided once the history is loaded. */
static void test_since_zero_replays_only_a_complete_history(void)
{
    struct hub hub;
    struct hub_client c = {0}, d = {0};
    struct item_id zero = {0, 0};
    setup(&hub, 8, 100);
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &zero), HUB_AWAIT); /* nothing loaded yet */
    hub_set_complete(&hub, 1);
    add(&hub, 1, "a", "en");
    add(&hub, 2, "a", "en");
    struct got g = drain_all(&hub, &c);
    ASSERT_EQ(g.gaps, 0);
    ASSERT_EQ(g.alerts, 2);
    ASSERT_EQ(hub_attach(&hub, &d, NULL, &zero), HUB_REPLAY);
    ASSERT_EQ(drain_all(&hub, &d).alerts, 2);
    hub_set_complete(&hub, 0);
    ASSERT_EQ(hub_attach(&hub, &d, NULL, &zero), HUB_GAP);
    ASSERT_EQ(drain_all(&hub, &d).gaps, 1);
    hub_free(&hub);
}

/* The stream lost alerts this hub never got: clients following are told,
 * and resuming from before the break is a gap, from after it a replay. */
static void test_a_break_is_a_gap_for_everyone_who_crosses_it(void)
{
    struct hub hub;
    struct hub_client live = {0}, late = {0};
    setup(&hub, 16, 100);
    add(&hub, 1, "a", "en");
    add(&hub, 2, "a", "en");
    hub_attach(&hub, &live, NULL, NULL);
    hub_break(&hub);
    add(&hub, 9, "a", "en");
    struct got g = drain_all(&hub, &live);
    ASSERT_EQ(g.gaps, 1);
    ASSERT_EQ(g.gap_since.ms, 2); /* it has everything up to the break */
    ASSERT_EQ(g.alerts, 1);
    struct item_id before = {2, 0}, after = {9, 0};
    ASSERT_EQ(hub_attach(&hub, &late, NULL, &before), HUB_GAP);
    ASSERT_EQ(hub_attach(&hub, &late, NULL, &after), HUB_REPLAY);
    ASSERT_EQ(drain_all(&hub, &late).gaps, 0);
    hub_free(&hub);
}

static void test_unwanted_alerts_do_not_count_as_backlog(void)
{
    struct hub hub;
    struct hub_client c = {0};
    struct hub_filter f = {0};
    char err[64];
    setup(&hub, 64, 3);
    hubfilter_set_topics(&f, "rare", err, sizeof(err));
    hub_attach(&hub, &c, &f, NULL);
    for (uint64_t i = 1; i <= 20; i++)
        add(&hub, i, "common", "en");
    ASSERT_EQ(woke.lagging, 0);
    ASSERT_EQ(woke.wakes, 0);
    ASSERT_TRUE(c.attached);
    hub_free(&hub);
}

static void test_slow_consumer_is_detached(void)
{
    struct hub hub;
    struct hub_client slow = {0}, fast = {0};
    setup(&hub, 64, 3);
    hub_attach(&hub, &slow, NULL, NULL);
    hub_attach(&hub, &fast, NULL, NULL);
    for (uint64_t i = 1; i <= 6; i++) {
        add(&hub, i, "a", "en");
        drain(&hub, &fast, NULL, NULL);
    }
    ASSERT_EQ(woke.lagging, 1);
    ASSERT_TRUE(!slow.attached);
    ASSERT_TRUE(fast.attached);
    ASSERT_EQ(hub.nclients, 1);
    hub_free(&hub);
}

static void test_replay_backlog_is_not_lag_but_eviction_is(void)
{
    struct hub hub;
    struct hub_client c = {0};
    struct item_id since = {0, 0};
    setup(&hub, 8, 2);
    for (uint64_t i = 1; i <= 6; i++)
        add(&hub, i, "a", "en");
    hub_attach(&hub, &c, NULL, &since); /* 6 to replay, more than max_queue */
    add(&hub, 7, "a", "en");            /* one live behind the replay: fine */
    ASSERT_EQ(woke.lagging, 0);
    for (uint64_t i = 8; i <= 9; i++)
        add(&hub, i, "a", "en"); /* evicts the replay's first alert */
    ASSERT_EQ(woke.lagging, 1);
    hub_free(&hub);
}

static void test_restricted_alerts_only_for_filters_that_grant_them(void)
{
    struct hub hub;
    struct hub_client anyone = {0}, holder = {0};
    struct hub_filter grants = {0};
    struct grant g = {0};
    char err[256];
    ASSERT_EQ(grant_set_topics(&g, "premium", err, sizeof(err)), 0);
    setup(&hub, 8, 100);
    hub.grant = &g;
    grants.grants = grant_bit(&g, "premium");
    hub_attach(&hub, &anyone, NULL, NULL);
    hub_attach(&hub, &holder, &grants, NULL);
    add(&hub, 1, "world", "en");
    add(&hub, 2, "premium", "en");
    add(&hub, 3, "world", "en");
    ASSERT_EQ(hub_newest(&hub)->restricted, 0u);
    ASSERT_EQ(hub_nth_newest(&hub, 1)->restricted, grant_bit(&g, "premium"));
    ASSERT_EQ(drain(&hub, &anyone, NULL, NULL), 2);
    ASSERT_EQ(drain(&hub, &holder, NULL, NULL), 3);
    hub_free(&hub);
}

/* A client that negotiated permessage-deflate gets one compressed copy per
 * message, the same bytes each time, freed with the message; a frame that
 * would not shrink is sent plain. */
static void test_compressed_copy_made_once_and_freed_with_the_message(void)
{
    struct hub hub;
    setup(&hub, 2, 100);
    json_t *item = json_pack("{s:s,s:s,s:s,s:s}", "kind", "alert", "headline",
                             "Magnitude 7.1 earthquake strikes off the coast", "summary",
                             "Tsunami warnings were issued. Tsunami warnings were lifted.",
                             "published_at", "2026-01-01T00:00:00.000Z");
    ASSERT_EQ(hub_add(&hub, (struct item_id){7, 0}, item), 1);
    json_decref(item);
    const struct hub_msg *m = hub_newest(&hub);
    struct hub_out z = hub_frame(&hub, m, 0, 1);
    ASSERT_TRUE(z.frame != m->full.frame);
    ASSERT_EQ(z.plain_len, m->full.frame_len);
    ASSERT_TRUE(z.len < m->full.frame_len);
    ASSERT_EQ(z.frame[0], 0xC1);
    struct hub_out again = hub_frame(&hub, m, 0, 1);
    ASSERT_TRUE(again.frame == z.frame);
    ASSERT_EQ(again.len, z.len);
    struct hub_out plain = hub_frame(&hub, m, 0, 0);
    ASSERT_TRUE(plain.frame == m->full.frame && plain.len == m->full.frame_len);
    /* evicted: its copy goes with it (the ring of 2 turns over) */
    ASSERT_EQ(add(&hub, 8, "a", "en"), 1);
    ASSERT_EQ(add(&hub, 9, "b", "en"), 1);
    const struct hub_msg *small = hub_newest(&hub);
    struct hub_out p = hub_frame(&hub, small, 0, 1);
    ASSERT_TRUE((p.frame == small->full.frame && p.len == small->full.frame_len) ||
                (p.frame[0] == 0xC1 && p.len < small->full.frame_len));
    hub_free(&hub);
}

TEST_MAIN(TEST_CASE(test_frame_is_encoded_once_with_id_first),
          TEST_CASE(test_compressed_copy_made_once_and_freed_with_the_message),
          TEST_CASE(test_frame_headers_for_small_and_large_payloads),
          TEST_CASE(test_duplicates_and_old_ids_are_dropped), TEST_CASE(test_ring_keeps_the_newest),
          TEST_CASE(test_live_client_gets_only_new_alerts),
          TEST_CASE(test_client_written_up_to_date_is_woken_again),
          TEST_CASE(test_replay_after_since_then_replayed),
          TEST_CASE(test_replay_skips_expired_alerts_live_does_not),
          TEST_CASE(test_since_not_an_alert_held_is_a_gap),
          TEST_CASE(test_since_older_than_the_history_is_a_gap_even_untruncated),
          TEST_CASE(test_since_ahead_is_awaited_then_proven_or_a_gap),
          TEST_CASE(test_since_zero_replays_only_a_complete_history),
          TEST_CASE(test_a_break_is_a_gap_for_everyone_who_crosses_it),
          TEST_CASE(test_unwanted_alerts_do_not_count_as_backlog),
          TEST_CASE(test_slow_consumer_is_detached),
          TEST_CASE(test_replay_backlog_is_not_lag_but_eviction_is),
          TEST_CASE(test_restricted_alerts_only_for_filters_that_grant_them),
          TEST_CASE(test_a_compact_variant_has_only_its_fields_and_the_always_present_ones),
          TEST_CASE(test_readers_of_one_field_set_share_its_variant),
          TEST_CASE(test_past_the_variant_limit_readers_get_the_full_item))
