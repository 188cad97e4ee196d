/*
 * test_notif — an alert as a notification: which are sent, the payload,
 * the Urgency, the Topic an update and a retraction share with their
 * story, the TTL.
 */
#include "notif.h"
#include "test.h"

#include <string.h>

#define NOW 1800000000000LL /* 2027-01-15 */

static int build(struct notif *n, const char *id, const char *json, const char **why)
{
    struct item_error err;
    return notif_build(n, id, json, strlen(json), NOTIF_FLASH | NOTIF_BULLETIN, 3600, NOW, why,
                       &err);
}

static void test_a_flash(void)
{
    struct notif n;
    const char *why = "";
    ASSERT_EQ(build(&n, "1800000000000-0",
                    "{\"version\":1,\"urgency\":\"flash\",\"headline\":\"Quake\","
                    "\"topics\":[\"world\"],\"published_at\":\"2027-01-15T08:00:00.000Z\"}",
                    &why),
              1);
    ASSERT_STR_EQ(n.urgency, "high");
    ASSERT_STR_EQ(n.topic, "1800000000000-0");
    ASSERT_CONTAINS(n.payload, "\"id\":\"1800000000000-0\"");
    ASSERT_CONTAINS(n.payload, "\"headline\":\"Quake\"");
    ASSERT_EQ(strncmp(n.payload, "{\"id\":", 6), 0);
    ASSERT_STR_EQ(n.lang, "en");
    ASSERT_EQ(json_array_size(n.topics), 1u);
    ASSERT_TRUE(n.expires_ms > NOW);
    notif_free(&n);
}

static void test_what_is_not_sent(void)
{
    struct notif n;
    const char *why = "";
    ASSERT_EQ(build(&n, "1-0", "{\"version\":1,\"urgency\":\"routine\",\"headline\":\"x\"}", &why),
              0);
    ASSERT_STR_EQ(why, "urgency not selected");
    ASSERT_EQ(build(&n, "3-0",
                    "{\"version\":1,\"urgency\":\"flash\",\"headline\":\"x\","
                    "\"published_at\":\"2020-01-01T00:00:00.000Z\"}",
                    &why),
              0);
    ASSERT_STR_EQ(why, "expired");
    ASSERT_EQ(build(&n, "4-0", "{\"headline\":", &why), -1);
}

static void test_an_update_shares_its_storys_topic(void)
{
    struct notif n;
    const char *why = "";
    ASSERT_EQ(build(&n, "1800000000500-0",
                    "{\"kind\":\"update\",\"ref\":\"1800000000000-0\",\"version\":2,"
                    "\"urgency\":\"bulletin\",\"headline\":\"Quake: 5 hurt\","
                    "\"expires_at\":\"2027-01-16T00:00:00Z\"}",
                    &why),
              1);
    ASSERT_STR_EQ(n.topic, "1800000000000-0");
    ASSERT_STR_EQ(n.urgency, "normal");
    ASSERT_CONTAINS(n.payload, "\"ref\":\"1800000000000-0\"");
    ASSERT_EQ(n.expires_ms, 1800000000000LL + (1800057600000LL - 1800000000000LL));
    notif_free(&n);
}

/* A retraction is sent whatever its urgency, at once, as its story. */
static void test_a_retraction_withdraws_its_story(void)
{
    struct notif n;
    const char *why = "";
    ASSERT_EQ(build(&n, "1800000000900-0",
                    "{\"kind\":\"retraction\",\"ref\":\"1800000000000-0\",\"version\":1,"
                    "\"urgency\":\"routine\",\"summary\":\"Published in error\","
                    "\"topics\":[\"world\"],\"lang\":\"fr\","
                    "\"published_at\":\"2027-01-15T08:00:00.000Z\"}",
                    &why),
              1);
    ASSERT_EQ(n.retraction, 1);
    ASSERT_EQ(n.urgency_bit, 0u);
    ASSERT_STR_EQ(n.urgency, "high");
    ASSERT_STR_EQ(n.story, "1800000000000-0");
    ASSERT_STR_EQ(n.topic, "1800000000000-0");
    ASSERT_STR_EQ(n.lang, "fr");
    ASSERT_EQ(json_array_size(n.topics), 1u);
    ASSERT_CONTAINS(n.payload, "\"kind\":\"retraction\"");
    ASSERT_CONTAINS(n.payload, "\"ref\":\"1800000000000-0\"");
    ASSERT_CONTAINS(n.payload, "\"summary\":\"Published in error\"");
    notif_free(&n);
    ASSERT_EQ(build(&n, "1-1", "{\"version\":1,\"urgency\":\"flash\",\"headline\":\"x\"}", &why),
              1);
    ASSERT_EQ(n.retraction, 0);
    notif_free(&n);
}

static void test_urgencies_setting(void)
{
    unsigned mask;
    char err[200];
    ASSERT_EQ(notif_urgencies_parse("flash, routine", &mask, err, sizeof(err)), 0);
    ASSERT_EQ(mask, NOTIF_FLASH | NOTIF_ROUTINE);
    ASSERT_EQ(notif_urgencies_parse("flash,soon", &mask, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "soon");
    ASSERT_EQ(notif_urgencies_parse(",", &mask, err, sizeof(err)), -1);
}

TEST_MAIN(TEST_CASE(test_a_flash), TEST_CASE(test_what_is_not_sent),
          TEST_CASE(test_an_update_shares_its_storys_topic),
          TEST_CASE(test_a_retraction_withdraws_its_story), TEST_CASE(test_urgencies_setting))
