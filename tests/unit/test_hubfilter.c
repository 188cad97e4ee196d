/*
 * test_hubfilter — a reader's filter alone, without the hub: its lists
 * parsed with refusals that name the entry, and which alerts it is served
 * (topics, languages case-insensitively, restricted topics, folded alerts).
 */
#include "hubfilter.h"
#include "test.h"

#include <stdio.h>

/* Builds alert <ms>-0 with one topic and a language, restricted by g. */
static void build(struct hub_msg *m, const struct grant *g, uint64_t ms, const char *topic,
                  const char *lang)
{
    json_t *item = json_pack("{s:s,s:s,s:[s],s:s}", "kind", "alert", "headline", "h", "topics",
                             topic, "lang", lang);
    ASSERT_EQ(hubmsg_build(m, g, (struct item_id){ms, 0}, item), 0);
    json_decref(item);
}

static int matches(const struct hub_filter *f, const char *topic, const char *lang)
{
    struct hub_msg m;
    build(&m, NULL, 1, topic, lang);
    int match = hubfilter_match(f, &m);
    hubmsg_clear(&m);
    return match;
}

static void test_filters_topics_and_langs(void)
{
    struct hub_filter f = {0};
    char err[128];
    ASSERT_EQ(hubfilter_set_topics(&f, "world,sport", err, sizeof(err)), 0);
    ASSERT_EQ(hubfilter_set_langs(&f, "EN", err, sizeof(err)), 0);
    ASSERT_TRUE(matches(&f, "world", "en"));
    ASSERT_TRUE(!matches(&f, "business", "en"));
    ASSERT_TRUE(!matches(&f, "sport", "fr"));
    ASSERT_TRUE(!matches(&f, "sport", "en-GB"));
    ASSERT_TRUE(matches(&f, "sport", "En"));
    ASSERT_TRUE(matches(NULL, "business", "fr"));
}

static void test_filter_parsing_rejects_bad_entries(void)
{
    struct hub_filter f = {0};
    char err[128];
    ASSERT_EQ(hubfilter_set_topics(&f, "World", err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "World");
    ASSERT_EQ(hubfilter_set_topics(&f, "a,,b,a", err, sizeof(err)), 0);
    ASSERT_EQ(f.ntopics, 2);
    ASSERT_EQ(hubfilter_set_langs(&f, "en;drop", err, sizeof(err)), -1);
    char many[40 * 4] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "t%d,", i);
    ASSERT_EQ(hubfilter_set_topics(&f, many, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "topics: at most");
}

/* A restricted alert reaches only a filter whose grants open it; a folded
 * one matches still but is served to nobody. */
static void test_restricted_and_folded_alerts_are_served_to_whom(void)
{
    struct grant g = {0};
    struct hub_filter holder = {0}, other = {0};
    struct hub_msg premium, world;
    char err[256];
    ASSERT_EQ(grant_set_topics(&g, "premium,vip", err, sizeof(err)), 0);
    holder.grants = grant_bit(&g, "premium");
    other.grants = grant_bit(&g, "vip");
    build(&premium, &g, 1, "premium", "en");
    build(&world, &g, 2, "world", "en");
    ASSERT_TRUE(!hubfilter_serves(NULL, &premium));
    ASSERT_TRUE(!hubfilter_serves(&other, &premium));
    ASSERT_TRUE(hubfilter_serves(&holder, &premium));
    ASSERT_TRUE(hubfilter_serves(NULL, &world));
    hubmsg_fold(&world);
    ASSERT_TRUE(hubfilter_match(NULL, &world));
    ASSERT_TRUE(!hubfilter_serves(NULL, &world));
    hubmsg_clear(&premium);
    hubmsg_clear(&world);
}

TEST_MAIN(TEST_CASE(test_filters_topics_and_langs),
          TEST_CASE(test_filter_parsing_rejects_bad_entries),
          TEST_CASE(test_restricted_and_folded_alerts_are_served_to_whom))
