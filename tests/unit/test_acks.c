/*
 * test_acks — which acks count: the ack frame's ids (acks_parse), once per
 * alert per connection within the window (acks_take), and only for alerts
 * the hub sent that client since it attached (hub_sent).
 */
#include "acks.h"
#include "hub.h"
#include "test.h"

#include <stdlib.h>

static void nop(struct hub *hub, struct hub_client *c)
{
    (void)hub;
    (void)c;
}

static void setup(struct hub *hub, size_t capacity)
{
    hub_init(hub, capacity, 1000, NULL);
    hub->wake = nop;
    hub->lagging = nop;
}

/* Adds alert <ms>-0 with one topic. */
static void add(struct hub *hub, uint64_t ms, const char *topic)
{
    json_t *item = json_pack("{s:s,s:s,s:[s],s:s,s:s}", "kind", "alert", "headline", "h", "topics",
                             topic, "lang", "en", "published_at", "2026-01-01T00:00:00.000Z");
    hub_add(hub, (struct item_id){ms, 0}, item);
    json_decref(item);
}

/* Sends the client everything due, as a transport would. */
static void drain(struct hub *hub, struct hub_client *c)
{
    const struct hub_msg *m;
    enum hub_next_kind k;
    while ((k = hub_next(hub, c, &m)) != HUB_NONE)
        hub_advance(hub, c, k);
}

static int sent(const struct hub *hub, const struct hub_client *c, uint64_t ms)
{
    uint64_t seq;
    return hub_sent(hub, c, (struct item_id){ms, 0}, &seq) != NULL;
}

static int parse(const char *text, struct item_id *ids, size_t *n, char *err)
{
    json_t *f = json_loads(text, 0, NULL);
    int rc = acks_parse(f, ids, n, err, 160);
    json_decref(f);
    return rc;
}

static void test_parse_one_id_or_an_array(void)
{
    struct item_id ids[ACKS_MAX_IDS];
    size_t n;
    char err[160];
    ASSERT_EQ(parse("{\"type\":\"ack\",\"id\":\"1700000000000-3\"}", ids, &n, err), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(ids[0].ms, 1700000000000LL);
    ASSERT_EQ(ids[0].seq, 3);
    ASSERT_EQ(parse("{\"type\":\"ack\",\"id\":[\"5-0\",\"6-1\",\"5-0\"]}", ids, &n, err), 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(ids[1].ms, 6);
    ASSERT_EQ(ids[1].seq, 1);
}

static void test_parse_refuses_what_is_not_ids(void)
{
    static const char *const bad[] = {
        "{\"type\":\"ack\"}",
        "{\"type\":\"ack\",\"id\":5}",
        "{\"type\":\"ack\",\"id\":\"5\"}",
        "{\"type\":\"ack\",\"id\":\"x-1\"}",
        "{\"type\":\"ack\",\"id\":[]}",
        "{\"type\":\"ack\",\"id\":[\"5-0\",7]}",
        "{\"type\":\"ack\",\"id\":{\"a\":\"5-0\"}}",
    };
    struct item_id ids[ACKS_MAX_IDS];
    size_t n;
    char err[160];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(parse(bad[i], ids, &n, err), -1);
        ASSERT_CONTAINS(err, "id must be an alert id");
    }
    /* 32 ids at most */
    char text[2048];
    int len = snprintf(text, sizeof(text), "{\"type\":\"ack\",\"id\":[");
    for (int i = 0; i < ACKS_MAX_IDS; i++)
        len += snprintf(text + len, sizeof(text) - (size_t)len, "%s\"%d-0\"", i ? "," : "", i + 1);
    snprintf(text + len, sizeof(text) - (size_t)len, "]}");
    ASSERT_EQ(parse(text, ids, &n, err), 0);
    ASSERT_EQ(n, ACKS_MAX_IDS);
    snprintf(text + len, sizeof(text) - (size_t)len, ",\"99-0\"]}");
    ASSERT_EQ(parse(text, ids, &n, err), -1);
}

static void test_each_sequence_counts_once(void)
{
    struct acks_window w = {0, 0};
    ASSERT_EQ(acks_take(&w, 5), 1);
    ASSERT_EQ(acks_take(&w, 5), 0);
    ASSERT_EQ(acks_take(&w, 7), 1);
    ASSERT_EQ(acks_take(&w, 6), 1);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(acks_take(&w, 6), 0);
    ASSERT_EQ(acks_take(&w, 7), 0);
}

static void test_the_window_follows_the_newest_ack(void)
{
    struct acks_window w = {0, 0};
    ASSERT_EQ(acks_take(&w, 1000), 1);
    /* 63 older ones still count, out of order */
    ASSERT_EQ(acks_take(&w, 1000 - (ACKS_WINDOW - 1)), 1);
    ASSERT_EQ(acks_take(&w, 990), 1);
    ASSERT_EQ(acks_take(&w, 1000 - ACKS_WINDOW), 0); /* older than the window */
    /* moving on by a few keeps what is still inside */
    ASSERT_EQ(acks_take(&w, 1010), 1);
    ASSERT_EQ(acks_take(&w, 990), 0);
    ASSERT_EQ(acks_take(&w, 1000), 0);
    ASSERT_EQ(acks_take(&w, 995), 1);
    /* a jump far ahead forgets everything before it, and never counts it again */
    ASSERT_EQ(acks_take(&w, 100000), 1);
    ASSERT_EQ(acks_take(&w, 1010), 0);
    ASSERT_EQ(acks_take(&w, 100000), 0);
    ASSERT_EQ(acks_take(&w, 99999), 1);
}

static void test_only_alerts_sent_since_the_attach(void)
{
    struct hub hub;
    struct hub_client c = {0};
    setup(&hub, 16);
    add(&hub, 1, "world");
    hub_attach(&hub, &c, NULL, NULL);
    ASSERT_EQ(sent(&hub, &c, 1), 0); /* before it came */
    add(&hub, 2, "world");
    ASSERT_EQ(sent(&hub, &c, 2), 0); /* not written yet */
    drain(&hub, &c);
    ASSERT_EQ(sent(&hub, &c, 2), 1);
    ASSERT_EQ(sent(&hub, &c, 3), 0); /* never published */
    /* a new subscribe starts again: what came before it is not acked there */
    hub_attach(&hub, &c, NULL, NULL);
    ASSERT_EQ(sent(&hub, &c, 2), 0);
    hub_detach(&hub, &c);
    ASSERT_EQ(sent(&hub, &c, 2), 0);
    hub_free(&hub);
}

static void test_filtered_out_alerts_were_not_sent(void)
{
    struct hub hub;
    struct hub_client c = {0};
    struct hub_filter f = {0};
    char err[80];
    setup(&hub, 16);
    ASSERT_EQ(hubfilter_set_topics(&f, "sport", err, sizeof(err)), 0);
    hub_attach(&hub, &c, &f, NULL);
    add(&hub, 1, "world");
    add(&hub, 2, "sport");
    drain(&hub, &c);
    ASSERT_EQ(c.cursor, hub.head); /* passed both */
    ASSERT_EQ(sent(&hub, &c, 1), 0);
    ASSERT_EQ(sent(&hub, &c, 2), 1);
    hub_free(&hub);
}

static void test_a_replay_sends_what_follows_since(void)
{
    struct hub hub;
    struct hub_client c = {0};
    setup(&hub, 16);
    for (uint64_t ms = 1; ms <= 4; ms++)
        add(&hub, ms, "world");
    struct item_id since = {2, 0};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &since), HUB_REPLAY);
    drain(&hub, &c);
    ASSERT_EQ(sent(&hub, &c, 2), 0);
    ASSERT_EQ(sent(&hub, &c, 3), 1);
    ASSERT_EQ(sent(&hub, &c, 4), 1);
    hub_free(&hub);
}

static void test_an_awaiting_client_was_sent_nothing_before_its_since(void)
{
    struct hub hub;
    struct hub_client c = {0};
    setup(&hub, 16);
    add(&hub, 1, "world");
    struct item_id since = {3, 0};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &since), HUB_AWAIT);
    add(&hub, 2, "world"); /* older than since: passed over */
    ASSERT_EQ(sent(&hub, &c, 2), 0);
    add(&hub, 3, "world"); /* since itself: proven, not sent */
    add(&hub, 4, "world");
    drain(&hub, &c);
    ASSERT_EQ(sent(&hub, &c, 2), 0);
    ASSERT_EQ(sent(&hub, &c, 3), 0);
    ASSERT_EQ(sent(&hub, &c, 4), 1);
    hub_free(&hub);
}

static void test_an_evicted_alert_cannot_be_acked(void)
{
    struct hub hub;
    struct hub_client c = {0};
    setup(&hub, 2);
    hub_attach(&hub, &c, NULL, NULL);
    add(&hub, 1, "world");
    drain(&hub, &c);
    ASSERT_TRUE(hub_find(&hub, (struct item_id){1, 0}) != NULL);
    add(&hub, 2, "world");
    add(&hub, 3, "world");
    drain(&hub, &c);
    ASSERT_TRUE(hub_find(&hub, (struct item_id){1, 0}) == NULL);
    ASSERT_EQ(sent(&hub, &c, 1), 0);
    ASSERT_EQ(sent(&hub, &c, 3), 1);
    hub_free(&hub);
}

static int evicted;
static void on_evicting(struct hub *hub, struct hub_msg *m)
{
    (void)hub;
    evicted += m->tally != NULL && m->tally->written == 7;
}

static void test_a_tally_is_shown_before_eviction_and_freed_with_the_message(void)
{
    struct hub hub;
    setup(&hub, 1);
    hub.evicting = on_evicting;
    evicted = 0;
    add(&hub, 1, "world");
    struct receipt_tally **slot = hub_tally(&hub, hub_newest(&hub));
    ASSERT_TRUE(*slot == NULL);
    *slot = calloc(1, sizeof(**slot));
    (*slot)->written = 7;
    add(&hub, 2, "world");
    ASSERT_EQ(evicted, 1);
    ASSERT_TRUE(*hub_tally(&hub, hub_newest(&hub)) == NULL);
    hub_free(&hub); /* ASan: nothing leaks */
}

TEST_MAIN(TEST_CASE(test_parse_one_id_or_an_array), TEST_CASE(test_parse_refuses_what_is_not_ids),
          TEST_CASE(test_each_sequence_counts_once),
          TEST_CASE(test_the_window_follows_the_newest_ack),
          TEST_CASE(test_only_alerts_sent_since_the_attach),
          TEST_CASE(test_filtered_out_alerts_were_not_sent),
          TEST_CASE(test_a_replay_sends_what_follows_since),
          TEST_CASE(test_an_awaiting_client_was_sent_nothing_before_its_since),
          TEST_CASE(test_an_evicted_alert_cannot_be_acked),
          TEST_CASE(test_a_tally_is_shown_before_eviction_and_freed_with_the_message))
