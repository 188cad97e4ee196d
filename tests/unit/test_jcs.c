/*
 * test_jcs — RFC 8785 canonical JSON: numbers as ECMAScript prints them,
 * string escapes, member order by UTF-16 code units, nesting.
 */
#include "jcs.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

/* The canonical text of JSON `text` (decoded by jansson), malloc'd. */
static char *canon(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    char *out = v ? jcs_encode(v, NULL) : NULL;
    json_decref(v);
    return out;
}

#define ASSERT_CANON(in, want)                                                                     \
    do {                                                                                           \
        char *got_ = canon(in);                                                                    \
        int same_ = got_ && strcmp(got_, want) == 0;                                               \
        if (!same_) {                                                                              \
            fprintf(stderr, "  %s:%d: canon(%s) = %s, want %s\n", __FILE__, __LINE__, in,          \
                    got_ ? got_ : "(null)", want);                                                 \
            test_failed_now = 1;                                                                   \
        }                                                                                          \
        free(got_);                                                                                \
        if (!same_)                                                                                \
            return;                                                                                \
    } while (0)

static void test_numbers(void)
{
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {1, "1"},
        {-1, "-1"},
        {1.5, "1.5"},
        {0.1, "0.1"},
        {100, "100"},
        {123456789, "123456789"},
        {1e20, "100000000000000000000"},
        {1e21, "1e+21"},
        {1.2345678901234568e+20, "123456789012345680000"},
        {1e-6, "0.000001"},
        {1e-7, "1e-7"},
        {1.5e-7, "1.5e-7"},
        {0.000123, "0.000123"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {-1.25e25, "-1.25e+25"},
        {9007199254740992.0, "9007199254740992"},
        {0.30000000000000004, "0.30000000000000004"},
        {333333333.33333329, "333333333.3333333"},
    };
    char out[JCS_NUMBER_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_EQ(jcs_number(cases[i].d, out), 0);
        ASSERT_STR_EQ(out, cases[i].want);
    }
    ASSERT_EQ(jcs_number(NAN, out), -1);
    ASSERT_EQ(jcs_number(INFINITY, out), -1);
}

static void test_numbers_in_json(void)
{
    /* Integers are the doubles JavaScript reads: past 2^53 they round. */
    ASSERT_CANON("9007199254740993", "9007199254740992");
    ASSERT_CANON("[1.0, 1e2, -0.0, 2.50]", "[1,100,0,2.5]");
    ASSERT_CANON("4.50", "4.5");
}

static void test_strings(void)
{
    ASSERT_CANON("\"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\"",
                 "\"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\"");
    ASSERT_CANON("\"\\\"\\\\\\/\"", "\"\\\"\\\\/\"");
    ASSERT_CANON("\"\\u007f\\u2028\\u00e9</script>\"", "\"\x7f\xe2\x80\xa8\xc3\xa9</script>\"");
    ASSERT_CANON("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
}

static void test_member_order(void)
{
    ASSERT_CANON("{\"b\": 1, \"a\": 2, \"A\": 3, \"\": 4}", "{\"\":4,\"A\":3,\"a\":2,\"b\":1}");
    ASSERT_CANON("{\"ab\": 1, \"a\": 2}", "{\"a\":2,\"ab\":1}");
    /* UTF-16 units, not code points: U+1F600 (D83D DE00) sorts before
     * U+FB00, and after U+20AC. */
    ASSERT_CANON("{\"\\ufb00\": 1, \"\\ud83d\\ude00\": 2, \"\\u20ac\": 3, \"\\u00e9\": 4}",
                 "{\"\xc3\xa9\":4,\"\xe2\x82\xac\":3,\"\xf0\x9f\x98\x80\":2,\"\xef\xac\x80\":1}");
    ASSERT_CANON("{\"b\": {\"d\": [3, {\"f\": 1, \"e\": 2}], \"c\": null}, \"a\": [true, false]}",
                 "{\"a\":[true,false],\"b\":{\"c\":null,\"d\":[3,{\"e\":2,\"f\":1}]}}");
    ASSERT_CANON("{}", "{}");
    ASSERT_CANON("[]", "[]");
}

static void test_length(void)
{
    size_t len = 0;
    json_t *v = json_pack("{s:s}", "k", "v");
    char *out = jcs_encode(v, &len);
    ASSERT_STR_EQ(out, "{\"k\":\"v\"}");
    ASSERT_EQ(len, 9);
    free(out);
    json_decref(v);
    ASSERT_TRUE(jcs_encode(NULL, NULL) == NULL);
}

TEST_MAIN(TEST_CASE(test_numbers), TEST_CASE(test_numbers_in_json), TEST_CASE(test_strings),
          TEST_CASE(test_member_order), TEST_CASE(test_length))
