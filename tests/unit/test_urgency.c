/*
 * test_urgency — what the hub does with urgency when a client is behind:
 * routine alerts shed (told by a shed frame) before a 4001, never a flash;
 * a flash sent ahead of a backlog, once, the rest still in order.
 */
#include "hub.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>

static int lagging, urgent_calls;

static void on_wake(struct hub *hub, struct hub_client *c)
{
    (void)hub;
    (void)c;
}

static void on_lagging(struct hub *hub, struct hub_client *c)
{
    (void)hub;
    (void)c;
    lagging++;
}

static void on_urgent(struct hub *hub, struct hub_client *c)
{
    (void)hub;
    (void)c;
    urgent_calls++;
}

static void setup(struct hub *hub, size_t max_queue)
{
    hub_init(hub, 64, max_queue, NULL);
    hub->wake = on_wake;
    hub->lagging = on_lagging;
    hub->urgent = on_urgent;
    lagging = urgent_calls = 0;
}

/* Adds <ms>-1 with an urgency (and kind). */
static void add(struct hub *hub, uint64_t ms, const char *urgency, const char *kind)
{
    json_t *item = json_pack("{s:s,s:s,s:s}", "kind", kind, "urgency", urgency, "headline", "h");
    if (strcmp(kind, "alert") != 0)
        json_object_set_new(item, "ref", json_string("1-1"));
    hub_add(hub, (struct item_id){ms, 1}, item);
    json_decref(item);
}

/* Everything the client is sent, as "S(after,count) A5 7 R": S a shed
 * frame, A a flash ahead, a number an alert in order, R the replay's end. */
static void drain(struct hub *hub, struct hub_client *c, char *out, size_t len)
{
    const struct hub_msg *m;
    enum hub_next_kind k;
    size_t at = 0;
    out[0] = '\0';
    while ((k = hub_next(hub, c, &m)) != HUB_NONE) {
        const char *sp = at ? " " : "";
        if (k == HUB_SHED)
            at += (size_t)snprintf(out + at, len - at, "%sS(%llu,%u)", sp,
                                   (unsigned long long)c->shed_after.ms, c->shed_count);
        else if (k == HUB_AHEAD)
            at += (size_t)snprintf(out + at, len - at, "%sA%llu", sp, (unsigned long long)m->id.ms);
        else if (k == HUB_MSG)
            at += (size_t)snprintf(out + at, len - at, "%s%llu", sp, (unsigned long long)m->id.ms);
        else if (k == HUB_REPLAYED)
            at += (size_t)snprintf(out + at, len - at, "%sR", sp);
        else
            at += (size_t)snprintf(out + at, len - at, "%sG", sp);
        hub_advance(hub, c, k);
    }
}

static void test_routine_is_shed_before_a_close_and_a_flash_never(void)
{
    struct hub hub;
    struct hub_client c = {.urgent = 1};
    char got[256];
    setup(&hub, 3);
    hub_attach(&hub, &c, NULL, NULL);
    for (uint64_t i = 1; i <= 10; i++)
        add(&hub, i, "routine", "alert");
    add(&hub, 11, "flash", "alert");
    ASSERT_EQ(lagging, 0);
    ASSERT_TRUE(c.attached);
    /* 1-8 shed in two steps (each when the backlog passed 3); 9 and 10
     * within the bound still come, after the flash that went ahead. */
    drain(&hub, &c, got, sizeof(got));
    ASSERT_STR_EQ(got, "S(1,8) A11 9 10");
    ASSERT_EQ(c.shed_after.seq, 0); /* 1-0: just before 1-1, the first shed */
    ASSERT_EQ(c.shed_through.ms, 8);
    hub_free(&hub);
}

static void test_closed_only_when_what_cannot_be_shed_is_over_the_bound(void)
{
    struct hub hub;
    struct hub_client c = {.urgent = 1};
    setup(&hub, 3);
    hub_attach(&hub, &c, NULL, NULL);
    for (uint64_t i = 1; i <= 20; i++)
        add(&hub, i, "routine", "alert");
    add(&hub, 21, "flash", "alert");
    add(&hub, 22, "bulletin", "alert");
    add(&hub, 23, "routine", "retraction"); /* a retraction is never shed */
    ASSERT_EQ(lagging, 0);
    add(&hub, 24, "flash", "alert"); /* four kept: over 3 */
    ASSERT_EQ(lagging, 1);
    ASSERT_TRUE(!c.attached);
    hub_free(&hub);
}

static void test_a_client_that_cannot_be_shed_for_is_closed_at_once(void)
{
    struct hub hub;
    struct hub_client sse = {0};
    setup(&hub, 3);
    hub_attach(&hub, &sse, NULL, NULL);
    for (uint64_t i = 1; i <= 4; i++)
        add(&hub, i, "routine", "alert");
    ASSERT_EQ(lagging, 1);
    hub_free(&hub);
}

static void test_a_flash_goes_ahead_once_and_the_rest_in_order(void)
{
    struct hub hub;
    struct hub_client c = {.urgent = 1}, inorder = {0};
    char got[256];
    setup(&hub, 100);
    hub_attach(&hub, &c, NULL, NULL);
    hub_attach(&hub, &inorder, NULL, NULL);
    add(&hub, 1, "routine", "alert");
    add(&hub, 2, "flash", "alert");
    ASSERT_EQ(urgent_calls, 1); /* only the client that may take it ahead */
    add(&hub, 3, "routine", "alert");
    add(&hub, 4, "flash", "alert");
    add(&hub, 5, "routine", "alert");
    drain(&hub, &c, got, sizeof(got));
    ASSERT_STR_EQ(got, "A2 A4 1 3 5");
    drain(&hub, &inorder, got, sizeof(got));
    ASSERT_STR_EQ(got, "1 2 3 4 5");
    /* A caught-up client gets a flash in order. */
    add(&hub, 6, "flash", "alert");
    drain(&hub, &c, got, sizeof(got));
    ASSERT_STR_EQ(got, "6");
    hub_free(&hub);
}

static void test_resuming_after_a_flash_ahead_gets_what_it_skipped(void)
{
    struct hub hub;
    struct hub_client c = {.urgent = 1};
    const struct hub_msg *m;
    char got[256];
    setup(&hub, 100);
    add(&hub, 1, "routine", "alert");
    hub_attach(&hub, &c, NULL, NULL);
    add(&hub, 2, "routine", "alert");
    add(&hub, 3, "routine", "alert");
    add(&hub, 4, "flash", "alert");
    ASSERT_EQ(hub_next(&hub, &c, &m), HUB_AHEAD);
    ASSERT_EQ(m->id.ms, 4);
    hub_advance(&hub, &c, HUB_AHEAD);
    /* It drops here: its resume point is still 1 (the flash came ahead). */
    struct item_id since = {1, 1};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &since), HUB_REPLAY);
    drain(&hub, &c, got, sizeof(got));
    ASSERT_STR_EQ(got, "2 3 4 R");
    hub_free(&hub);
}

static void test_shedding_ends_with_the_backlog(void)
{
    struct hub hub;
    struct hub_client c = {.urgent = 1};
    char got[256];
    setup(&hub, 2);
    hub_attach(&hub, &c, NULL, NULL);
    for (uint64_t i = 1; i <= 3; i++)
        add(&hub, i, "routine", "alert");
    drain(&hub, &c, got, sizeof(got));
    ASSERT_STR_EQ(got, "S(1,3)");
    /* Caught up: routine alerts come again. */
    add(&hub, 4, "routine", "alert");
    add(&hub, 5, "routine", "alert");
    drain(&hub, &c, got, sizeof(got));
    ASSERT_STR_EQ(got, "4 5");
    ASSERT_EQ(c.shed_to, 0);
    hub_free(&hub);
}

TEST_MAIN(TEST_CASE(test_routine_is_shed_before_a_close_and_a_flash_never),
          TEST_CASE(test_closed_only_when_what_cannot_be_shed_is_over_the_bound),
          TEST_CASE(test_a_client_that_cannot_be_shed_for_is_closed_at_once),
          TEST_CASE(test_a_flash_goes_ahead_once_and_the_rest_in_order),
          TEST_CASE(test_resuming_after_a_flash_ahead_gets_what_it_skipped),
          TEST_CASE(test_shedding_ends_with_the_backlog))
