/*
 * test_embargo — what the CLI and the nodes agree on (embargo.h): which
 * strings are handles (never a stream id, never a key name that could
 * reach another key), and how a pending record splits into its maxlen and
 * its item, as the release script splits it.
 */
#include "embargo.h"
#include "itemid.h"
#include "test.h"

#include <string.h>

static void test_handles(void)
{
    struct item_id id;
    ASSERT_TRUE(embargo_handle_ok("emb-0123456789abcdef"));
    ASSERT_TRUE(embargo_handle_ok("emb-ffffffffffffffff"));
    ASSERT_TRUE(!embargo_handle_ok("emb-0123456789ABCDEF")); /* lowercase only */
    ASSERT_TRUE(!embargo_handle_ok("emb-0123456789abcde"));  /* 15 digits */
    ASSERT_TRUE(!embargo_handle_ok("emb-0123456789abcdef0"));
    ASSERT_TRUE(!embargo_handle_ok("emb-0123456789abcdeg"));
    ASSERT_TRUE(!embargo_handle_ok("emb-0123456789abc*ef")); /* no key pattern */
    ASSERT_TRUE(!embargo_handle_ok("EMB-0123456789abcdef"));
    ASSERT_TRUE(!embargo_handle_ok("1700000000000-0"));
    ASSERT_TRUE(!embargo_handle_ok(""));
    ASSERT_TRUE(item_id_parse("emb-0123456789abcdef", &id) != 0); /* never an id */
}

static void test_records(void)
{
    static const char rec[] = "10000 {\"version\":1,\"headline\":\"a b\"}";
    const char *item;
    size_t len;
    long maxlen;
    ASSERT_EQ(embargo_record_split(rec, strlen(rec), &maxlen, &item, &len), 0);
    ASSERT_EQ(maxlen, 10000);
    ASSERT_EQ(len, strlen(rec) - 6);
    ASSERT_TRUE(memcmp(item, "{\"version\":1,", 13) == 0);

    static const char *const bad[] = {"",    "10000", "10000 ",  "10000 x",
                                      " {}", "x {}",  "10000{}", "12345678901 {}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ASSERT_EQ(embargo_record_split(bad[i], strlen(bad[i]), &maxlen, &item, &len), -1);
}

TEST_MAIN(TEST_CASE(test_handles), TEST_CASE(test_records))
