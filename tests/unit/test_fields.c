/*
 * test_fields — fields=: names into a set (the always-present fields
 * added, unknown names named), and the set back out as JSON.
 */
#include "fields.h"
#include "test.h"

#define BIT(name) fields_bit(name, strlen(name))

static void test_every_item_field_and_the_signature_fields_are_known(void)
{
    for (unsigned i = 0; i < ITEM_NKEYS; i++)
        ASSERT_EQ(BIT(item_keys[i]), (long long)(UINT32_C(1) << i));
    ASSERT_EQ(BIT("sig"), FIELDS_SIG);
    ASSERT_EQ(BIT("kid"), FIELDS_KID);
    ASSERT_EQ(BIT("nope"), 0);
    ASSERT_EQ(BIT(""), 0);
    ASSERT_EQ(fields_bit("headlines", 8), BIT("headline")); /* a length, not a NUL */
}

static void test_parse_adds_the_always_present_fields(void)
{
    uint32_t set = 0;
    char err[160];
    ASSERT_EQ(fields_parse("headline,url", &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, BIT("headline") | BIT("url") | FIELDS_ALWAYS);
    ASSERT_TRUE((set & BIT("id")) && (set & BIT("kind")) && (set & BIT("ref")));
    ASSERT_TRUE((set & FIELDS_SIG) && (set & FIELDS_KID));
    ASSERT_TRUE(!(set & BIT("summary")));
    /* Repeats and empty entries are harmless; order does not matter. */
    ASSERT_EQ(fields_parse(",url,,headline,url,", &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, BIT("headline") | BIT("url") | FIELDS_ALWAYS);
    /* Only always-present fields: a compact item of just those. */
    ASSERT_EQ(fields_parse("id", &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, FIELDS_ALWAYS);
}

static void test_parse_empty_or_everything_is_the_full_item(void)
{
    uint32_t set = 0;
    char err[160], all[512] = "";
    ASSERT_EQ(fields_parse("", &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, FIELDS_ALL);
    ASSERT_EQ(fields_parse(",", &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, FIELDS_ALL);
    for (unsigned i = 3; i < ITEM_NKEYS; i++) {
        strcat(all, item_keys[i]);
        strcat(all, ",");
    }
    ASSERT_EQ(fields_parse(all, &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, FIELDS_ALL);
}

static void test_parse_names_every_unknown_field(void)
{
    uint32_t set = 7;
    char err[160];
    ASSERT_EQ(fields_parse("headline,colour,url,Headline", &set, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "fields: unknown");
    ASSERT_CONTAINS(err, "\"colour\", \"Headline\"");
    ASSERT_EQ(set, 7); /* untouched */
    /* A long name is cut in the message, which always ends in bounds. */
    char small[40];
    ASSERT_EQ(fields_parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,b", &set, small,
                           sizeof(small)),
              -1);
    ASSERT_TRUE(strlen(small) < sizeof(small));
}

static void test_json_lists_the_set_in_item_order(void)
{
    char out[512];
    int n = fields_json(BIT("url") | BIT("headline") | FIELDS_ALWAYS, out, sizeof(out));
    ASSERT_STR_EQ(out, "[\"id\",\"kind\",\"ref\",\"headline\",\"url\",\"kid\",\"sig\"]");
    ASSERT_EQ(n, (long long)strlen(out));
    ASSERT_TRUE(fields_json(FIELDS_ALL, out, sizeof(out)) > 0);
    ASSERT_CONTAINS(out, "\"published_at\",\"expires_at\",\"ext\",\"kid\",\"sig\"]");
    ASSERT_EQ(fields_json(FIELDS_ALWAYS, out, 10), -1);
    ASSERT_EQ(fields_json(0, out, 3), 2);
    ASSERT_STR_EQ(out, "[]");
    ASSERT_EQ(fields_json(0, out, 2), -1);
}

TEST_MAIN(TEST_CASE(test_every_item_field_and_the_signature_fields_are_known),
          TEST_CASE(test_parse_adds_the_always_present_fields),
          TEST_CASE(test_parse_empty_or_everything_is_the_full_item),
          TEST_CASE(test_parse_names_every_unknown_field),
          TEST_CASE(test_json_lists_the_set_in_item_order))
