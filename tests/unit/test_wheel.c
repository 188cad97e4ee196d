/*
 * test_wheel — the sweep's timing wheel: entries come out at their second,
 * not before, once; an entry filed again comes out once per period; far
 * deadlines come round again; a stall longer than
 * the span hands every entry out; entries leave and move.
 */
#include "wheel.h"
#include "test.h"

#include <stddef.h>

struct item {
    struct wheel_entry e;
    int seen;         /* times handed out */
    uint32_t seen_at; /* the wheel's second when last handed out */
    uint32_t refile;  /* file again this many seconds later; 0: no */
};

static void on_due(struct wheel_entry *e, void *arg)
{
    struct wheel *w = arg;
    struct item *it = (struct item *)(void *)((char *)e - offsetof(struct item, e));
    it->seen++;
    it->seen_at = w->now;
    if (it->refile)
        wheel_add(w, e, w->now + it->refile);
}

static void test_entries_come_out_at_their_second(void)
{
    struct wheel w;
    struct item a = {0}, b = {0}, c = {0};
    ASSERT_EQ(wheel_init(&w, 10, 100), 0);
    wheel_add(&w, &a.e, 103);
    wheel_add(&w, &b.e, 105);
    wheel_add(&w, &c.e, 105);
    ASSERT_TRUE(wheel_filed(&a.e));
    wheel_advance(&w, 102, on_due, &w);
    ASSERT_EQ(a.seen + b.seen + c.seen, 0);
    wheel_advance(&w, 104, on_due, &w);
    ASSERT_EQ(a.seen, 1);
    ASSERT_EQ(a.seen_at, 103);
    ASSERT_TRUE(!wheel_filed(&a.e));
    wheel_advance(&w, 105, on_due, &w);
    ASSERT_EQ(b.seen, 1);
    ASSERT_EQ(c.seen, 1);
    wheel_advance(&w, 130, on_due, &w);
    ASSERT_EQ(a.seen + b.seen + c.seen, 3); /* once each */
    wheel_free(&w);
}

static void test_past_and_far_deadlines_are_brought_within_the_span(void)
{
    struct wheel w;
    struct item past = {0}, far = {0};
    ASSERT_EQ(wheel_init(&w, 10, 100), 0);
    wheel_add(&w, &past.e, 50); /* overdue: the next second */
    wheel_add(&w, &far.e, 1000);
    wheel_advance(&w, 101, on_due, &w);
    ASSERT_EQ(past.seen, 1);
    ASSERT_EQ(far.seen, 0);
    wheel_advance(&w, 109, on_due, &w);
    ASSERT_EQ(far.seen, 0);
    wheel_advance(&w, 110, on_due, &w); /* the end of the span: its owner files it again */
    ASSERT_EQ(far.seen, 1);
    ASSERT_EQ(far.seen_at, 110);
    wheel_free(&w);
}

static void test_a_refiled_entry_waits_for_its_next_second(void)
{
    struct wheel w;
    struct item a = {0};
    ASSERT_EQ(wheel_init(&w, 60, 0), 0);
    a.refile = 25; /* a heartbeat */
    wheel_add(&w, &a.e, 25);
    for (uint32_t t = 1; t <= 3600; t++) /* an hour, second by second */
        wheel_advance(&w, t, on_due, &w);
    ASSERT_EQ(a.seen, 3600 / 25); /* once per heartbeat, not once a second */
    ASSERT_EQ(a.seen_at, 3600 - 3600 % 25);
    wheel_free(&w);
}

static void test_a_stall_longer_than_the_span_hands_out_everything_once(void)
{
    struct wheel w;
    struct item a = {0}, b = {0};
    ASSERT_EQ(wheel_init(&w, 10, 0), 0);
    wheel_add(&w, &a.e, 1);
    wheel_add(&w, &b.e, 10);
    wheel_advance(&w, 500, on_due, &w);
    ASSERT_EQ(a.seen, 1);
    ASSERT_EQ(b.seen, 1);
    ASSERT_EQ(w.now, 500);
    wheel_free(&w);
}

static void test_deleted_and_moved_entries(void)
{
    struct wheel w;
    struct item a = {0}, b = {0}, c = {0};
    ASSERT_EQ(wheel_init(&w, 10, 0), 0);
    wheel_add(&w, &a.e, 5);
    wheel_add(&w, &b.e, 5);
    wheel_add(&w, &c.e, 5);
    wheel_del(&b.e);        /* from the middle of a slot */
    wheel_del(&b.e);        /* twice: harmless */
    wheel_add(&w, &c.e, 8); /* moved */
    wheel_advance(&w, 5, on_due, &w);
    ASSERT_EQ(a.seen, 1);
    ASSERT_EQ(b.seen, 0);
    ASSERT_EQ(c.seen, 0);
    wheel_advance(&w, 8, on_due, &w);
    ASSERT_EQ(c.seen, 1);
    ASSERT_EQ(b.seen, 0);
    wheel_advance(&w, 7, on_due, &w); /* time never goes back */
    ASSERT_EQ(w.now, 8);
    wheel_free(&w);
}

TEST_MAIN(TEST_CASE(test_entries_come_out_at_their_second),
          TEST_CASE(test_past_and_far_deadlines_are_brought_within_the_span),
          TEST_CASE(test_a_refiled_entry_waits_for_its_next_second),
          TEST_CASE(test_a_stall_longer_than_the_span_hands_out_everything_once),
          TEST_CASE(test_deleted_and_moved_entries))
