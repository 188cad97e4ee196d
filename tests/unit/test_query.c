/*
 * test_query — a request's decoded query arguments (query.h): lookups that
 * refuse rather than cut, the client filter, since and bounded numbers.
 */
#include "fields.h"
#include "query.h"
#include "test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct query q;
static struct hub_filter sentinel; /* stands for "not yet overwritten" */

/* Adds a NUL-terminated "name=value". */
static void add(const char *arg)
{
    query_add(&q, arg, strlen(arg));
}

/* A query holding the given arguments, NULL-terminated. */
static void fill(const char *first, ...)
{
    va_list ap;
    query_init(&q);
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        add(a);
    va_end(ap);
}

/* "name=" followed by n copies of c, into a malloc'd buffer; *len its length. */
static char *long_arg(const char *name, size_t n, char c, size_t *len)
{
    size_t nlen = strlen(name);
    char *s = malloc(nlen + 1 + n + 1);
    memcpy(s, name, nlen);
    s[nlen] = '=';
    memset(s + nlen + 1, c, n);
    s[nlen + 1 + n] = '\0';
    *len = nlen + 1 + n;
    return s;
}

/* ------------------------------------------------------------------------
 * query_add / query_get
 * ---------------------------------------------------------------------- */

static void test_get_finds_a_value_and_the_first_occurrence_wins(void)
{
    char out[64];
    fill("topics=world", "lang=en", "topics=sport", NULL);
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), 5);
    ASSERT_STR_EQ(out, "world");
    ASSERT_EQ(query_get(&q, "lang", out, sizeof(out)), 2);
    ASSERT_STR_EQ(out, "en");
    ASSERT_EQ(q.nargs, 3);
    ASSERT_EQ(q.dropped, 0);
}

static void test_get_an_empty_value_and_an_absent_name(void)
{
    char out[16] = "unchanged";
    fill("since=", "x=1", NULL);
    ASSERT_EQ(query_get(&q, "since", out, sizeof(out)), 0);
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), QUERY_ABSENT);
    /* Neither a prefix nor an extension of a name is that name. */
    ASSERT_EQ(query_get(&q, "sinc", out, sizeof(out)), QUERY_ABSENT);
    ASSERT_EQ(query_get(&q, "sincex", out, sizeof(out)), QUERY_ABSENT);
    ASSERT_EQ(query_get(&q, "x=", out, sizeof(out)), QUERY_ABSENT);
}

static void test_a_name_without_equals_never_matches(void)
{
    char out[16];
    fill("topics", "lang=fr", "topicsx=world", NULL);
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), QUERY_ABSENT);
    ASSERT_EQ(query_get(&q, "lang", out, sizeof(out)), 2);
    /* A later "name=value" is still found after a bare "name". */
    fill("topics", "topics=world", NULL);
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), 5);
    ASSERT_STR_EQ(out, "world");
}

static void test_a_value_holding_a_nul_byte_is_invalid(void)
{
    char out[64];
    query_init(&q);
    query_add(&q, "topics=world\0sport", 18);
    query_add(&q, "lang=en", 7);
    ASSERT_EQ(q.nargs, 2);
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), QUERY_INVALID);
    ASSERT_EQ(query_get(&q, "lang", out, sizeof(out)), 2);
    /* The value is not cut at the NUL: a NUL at its very end counts too. */
    query_init(&q);
    query_add(&q, "since=\0", 7);
    ASSERT_EQ(query_get(&q, "since", out, sizeof(out)), QUERY_INVALID);
}

static void test_a_value_too_long_for_out_is_invalid_not_cut(void)
{
    char out[6];
    fill("a=12345", "b=123456", NULL);
    ASSERT_EQ(query_get(&q, "a", out, sizeof(out)), 5); /* exactly fits with its NUL */
    ASSERT_STR_EQ(out, "12345");
    ASSERT_EQ(query_get(&q, "b", out, sizeof(out)), QUERY_INVALID);
    ASSERT_EQ(query_get(&q, "a", out, 0), QUERY_INVALID);
}

static void test_an_argument_over_the_arg_max_is_dropped(void)
{
    char out[QUERY_ARG_MAX];
    size_t len;
    char *big = long_arg("topics", QUERY_ARG_MAX - 7 + 1, 'a', &len); /* QUERY_ARG_MAX + 1 */
    ASSERT_EQ(len, QUERY_ARG_MAX + 1);
    fill("lang=en", NULL);
    query_add(&q, big, len);
    ASSERT_EQ(q.nargs, 1);
    ASSERT_EQ(q.dropped, 1);
    /* The dropped one's name is known: it is invalid, other names absent... */
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), QUERY_INVALID);
    ASSERT_EQ(query_get(&q, "since", out, sizeof(out)), QUERY_ABSENT);
    /* ...but one kept is still found. */
    ASSERT_EQ(query_get(&q, "lang", out, sizeof(out)), 2);
    ASSERT_STR_EQ(out, "en");
    free(big);

    /* Exactly QUERY_ARG_MAX is kept. */
    big = long_arg("topics", QUERY_ARG_MAX - 7, 'a', &len);
    ASSERT_EQ(len, QUERY_ARG_MAX);
    query_init(&q);
    query_add(&q, big, len);
    free(big);
    ASSERT_EQ(q.dropped, 0);
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), QUERY_ARG_MAX - 7);
    ASSERT_EQ(query_get(&q, "since", out, sizeof(out)), QUERY_ABSENT);
}

static void test_arguments_past_the_max_args_are_dropped(void)
{
    char arg[32], out[16];
    query_init(&q);
    for (int i = 0; i < QUERY_MAX_ARGS; i++) {
        snprintf(arg, sizeof(arg), "a%d=%d", i, i);
        add(arg);
    }
    ASSERT_EQ(q.nargs, QUERY_MAX_ARGS);
    ASSERT_EQ(q.dropped, 0);
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), QUERY_ABSENT);
    add("topics=world");
    ASSERT_EQ(q.nargs, QUERY_MAX_ARGS);
    ASSERT_EQ(q.dropped, 1);
    ASSERT_EQ(query_get(&q, "topics", out, sizeof(out)), QUERY_INVALID);
    ASSERT_EQ(query_get(&q, "a31", out, sizeof(out)), 2);
    ASSERT_STR_EQ(out, "31");
    ASSERT_EQ(query_get(&q, "a0", out, sizeof(out)), 1);
}

static void test_arguments_past_the_store_are_dropped(void)
{
    char out[QUERY_ARG_MAX];
    size_t len;
    /* Two of 2000 bytes fit in QUERY_STORE_MAX, a third does not. */
    char *a = long_arg("a", 1998, 'x', &len), *b = long_arg("b", 1998, 'y', &len);
    char *c = long_arg("c", 1998, 'z', &len);
    ASSERT_EQ(len, 2000);
    query_init(&q);
    query_add(&q, a, len);
    query_add(&q, b, len);
    ASSERT_EQ(q.dropped, 0);
    query_add(&q, c, len);
    ASSERT_EQ(q.dropped, 1);
    /* Something small still fits after the dropped one. */
    add("lang=en");
    ASSERT_EQ(q.nargs, 3);
    ASSERT_TRUE(q.used <= QUERY_STORE_MAX);
    ASSERT_EQ(query_get(&q, "c", out, sizeof(out)), QUERY_INVALID);
    ASSERT_EQ(query_get(&q, "b", out, sizeof(out)), 1998);
    ASSERT_EQ(out[0], 'y');
    ASSERT_EQ(out[1997], 'y');
    ASSERT_EQ(query_get(&q, "lang", out, sizeof(out)), 2);
    free(a);
    free(b);
    free(c);
}

/* ------------------------------------------------------------------------
 * query_filter
 * ---------------------------------------------------------------------- */

static void test_filter_topics_and_langs(void)
{
    struct hub_filter *f = NULL;
    char err[160] = "";
    fill("topics=world,europe,world", "lang=EN,fr-CA", NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), 0);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(f->ntopics, 2); /* the repeated one once */
    ASSERT_STR_EQ(f->topics[0], "world");
    ASSERT_STR_EQ(f->topics[1], "europe");
    ASSERT_EQ(f->nlangs, 2);
    ASSERT_STR_EQ(f->langs[0], "en");
    ASSERT_STR_EQ(f->langs[1], "fr-ca");
    ASSERT_TRUE(f->topic_bloom != 0);
    ASSERT_EQ(f->grants, 0);
    free(f);
}

static void test_filter_only_langs(void)
{
    struct hub_filter *f = NULL;
    char err[160];
    fill("lang=De", NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), 0);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(f->ntopics, 0);
    ASSERT_EQ(f->nlangs, 1);
    ASSERT_STR_EQ(f->langs[0], "de");
    free(f);
}

static void test_filter_empty_means_everything(void)
{
    struct hub_filter *f = &sentinel; /* not NULL: must be overwritten */
    char err[160];
    fill("other=1", NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), 0);
    ASSERT_TRUE(f == NULL);
    f = &sentinel;
    fill("topics=", "lang=", NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), 0);
    ASSERT_TRUE(f == NULL);
    f = &sentinel;
    fill("topics=,,", NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), 0);
    ASSERT_TRUE(f == NULL);
}

static void test_filter_or_null_keeps_a_filter_with_grants(void)
{
    struct hub_filter *f = calloc(1, sizeof(*f));
    f->grants = 2;
    ASSERT_TRUE(query_filter_or_null(f) == f);
    f->grants = 0;
    ASSERT_TRUE(query_filter_or_null(f) == NULL); /* freed: ASan would say otherwise */
    ASSERT_TRUE(query_filter_or_null(NULL) == NULL);
}

static void test_filter_a_bad_topic_is_named(void)
{
    struct hub_filter *f = &sentinel;
    char err[160] = "";
    fill("topics=world,Bad_Topic", NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "topics");
    ASSERT_CONTAINS(err, "\"Bad_Topic\"");
    f = &sentinel;
    fill("topics=world", "lang=en_US", NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "lang");
    ASSERT_CONTAINS(err, "en_US");
}

/* Found by fuzz_query: a reason quoting bytes that are not UTF-8 (a
 * decoded %C3, or 40 bytes cut inside a character) could not go into a
 * JSON error, so the client got no error frame, and REST none at all. */
static void test_filter_a_reason_is_printable_ascii(void)
{
    static const char *const args[] = {
        "lang=ene\xc3",
        "topics=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9",
        "topics=tab\there",
        "topics=pics=wor\x7f",
    };
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        struct hub_filter *f = &sentinel;
        char err[160] = "";
        fill(args[i], NULL);
        ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
        ASSERT_TRUE(f == NULL);
        for (const char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                TEST_FAIL_("%s: byte 0x%02x in the reason \"%s\"", args[i], (unsigned char)*p, err);
    }
    fill("lang=ene\xc3", NULL);
    struct hub_filter *f = NULL;
    char err[160] = "";
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "\"ene?\"");
}

static void test_filter_too_many_topics(void)
{
    struct hub_filter *f = NULL;
    char arg[512] = "topics=", err[160] = "";
    for (int i = 0; i < HUBFILTER_MAX_TOPICS; i++)
        snprintf(arg + strlen(arg), sizeof(arg) - strlen(arg), "%st%d", i ? "," : "", i);
    fill(arg, NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), 0);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(f->ntopics, HUBFILTER_MAX_TOPICS);
    free(f);
    f = NULL;
    strcat(arg, ",one-more");
    fill(arg, NULL);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "at most 32");
}

static void test_filter_an_unreadable_list_is_refused(void)
{
    struct hub_filter *f = NULL;
    char err[160] = "";
    query_init(&q);
    query_add(&q, "topics=world\0", 13);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "topics: too long or not text");
    /* A dropped argument is named in the error (it was lang, not topics)... */
    size_t len;
    char *big = long_arg("lang", QUERY_ARG_MAX, 'x', &len);
    query_init(&q);
    query_add(&q, big, len);
    free(big);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "lang: too long");
    /* ...and one whose name is not known might have been the topics: no
     * silent "everything". */
    query_init(&q);
    query_drop(&q, NULL, 0);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "topics");
    big = long_arg("a-name-longer-than-thirty-two-bytes-x", QUERY_ARG_MAX, 'x', &len);
    query_init(&q);
    query_add(&q, big, len);
    free(big);
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
}

/* ------------------------------------------------------------------------
 * query_since / query_number
 * ---------------------------------------------------------------------- */

static void test_since(void)
{
    struct item_id id = {7, 7};
    fill("x=1", NULL);
    ASSERT_EQ(query_since(&q, &id), 0);
    ASSERT_EQ(id.ms, 7);
    fill("since=", NULL);
    ASSERT_EQ(query_since(&q, &id), 0);
    fill("since=1700000000000-3", NULL);
    ASSERT_EQ(query_since(&q, &id), 1);
    ASSERT_EQ(id.ms, 1700000000000ull);
    ASSERT_EQ(id.seq, 3);
    fill("since=18446744073709551615-18446744073709551615", NULL); /* the longest id */
    ASSERT_EQ(query_since(&q, &id), 1);
    ASSERT_TRUE(id.ms == UINT64_MAX && id.seq == UINT64_MAX);
}

static void test_since_refuses_what_is_not_an_id(void)
{
    struct item_id id = {7, 7};
    const char *bad[] = {"since=garbage",
                         "since=1700000000000",
                         "since=01700000000000-0",
                         "since=1-01",
                         "since=-1-0",
                         "since=1-0x",
                         "since=1--0",
                         "since=18446744073709551616-0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fill(bad[i], NULL);
        if (query_since(&q, &id) != -1)
            TEST_FAIL_("%s: accepted", bad[i]);
    }
    ASSERT_EQ(id.ms, 7); /* untouched */
    query_init(&q);
    query_add(&q, "since=1-0\0", 10);
    ASSERT_EQ(query_since(&q, &id), -1);
}

static void test_number(void)
{
    fill("limit=25", "zero=0", "max=100", "empty=", NULL);
    ASSERT_EQ(query_number(&q, "limit", 1, 100, 50), 25);
    ASSERT_EQ(query_number(&q, "absent", 1, 100, 50), 50);
    ASSERT_EQ(query_number(&q, "empty", 1, 100, 50), 50);
    ASSERT_EQ(query_number(&q, "max", 1, 100, 50), 100); /* bounds are inclusive */
    ASSERT_EQ(query_number(&q, "zero", 0, 100, 50), 0);
    ASSERT_EQ(query_number(&q, "zero", 1, 100, 50), -1); /* below min */
    ASSERT_EQ(query_number(&q, "max", 1, 99, 50), -1);   /* above max */
}

static void test_number_refuses_garbage_and_overflow(void)
{
    const char *bad[] = {"n=abc",
                         "n=12abc",
                         "n=1.5",
                         "n=-",
                         "n=-3",
                         "n=0x10",
                         "n=99999999999999999999",
                         "n=123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fill(bad[i], NULL);
        long v = query_number(&q, "n", 0, 1000, 50);
        if (v != -1)
            TEST_FAIL_("%s: gave %ld", bad[i], v);
    }
    query_init(&q);
    query_add(&q, "n=5\0", 4);
    ASSERT_EQ(query_number(&q, "n", 0, 1000, 50), -1);
    /* Past a long: refused even when the bounds allow anything. */
    fill("n=99999999999999999999", "m=-99999999999999999999", NULL);
    ASSERT_EQ(query_number(&q, "n", 0, 9223372036854775807L, 50), -1);
    ASSERT_EQ(query_number(&q, "m", -9223372036854775807L - 1, 9223372036854775807L, 50), -1);
    /* A number as large as a long, within bounds, is read whole. */
    fill("n=9223372036854775807", NULL);
    ASSERT_EQ(query_number(&q, "n", 0, 9223372036854775807L, 50), 9223372036854775807L);
}

static void test_clamped_brings_a_number_within_the_range(void)
{
    fill("a=5", "b=30", "c=1000", "d=0", "e=", "f=99999999999999999999999999", NULL);
    ASSERT_EQ(query_clamped(&q, "a", 10, 300, 25), 10);
    ASSERT_EQ(query_clamped(&q, "b", 10, 300, 25), 30);
    ASSERT_EQ(query_clamped(&q, "c", 10, 300, 25), 300);
    ASSERT_EQ(query_clamped(&q, "d", 10, 300, 25), 10);
    ASSERT_EQ(query_clamped(&q, "e", 10, 300, 25), 25); /* empty: the default */
    ASSERT_EQ(query_clamped(&q, "f", 10, 300, 25), 300);
    ASSERT_EQ(query_clamped(&q, "absent", 10, 300, 25), 25);
}

static void test_clamped_refuses_what_is_not_digits(void)
{
    const char *bad[] = {"n=-5", "n=+5", "n=5s", "n= 5", "n=0x10", "n=2.5", "n=ten"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fill(bad[i], NULL);
        long v = query_clamped(&q, "n", 10, 300, 25);
        if (v != -1)
            TEST_FAIL_("%s: gave %ld", bad[i], v);
    }
    query_init(&q);
    query_add(&q, "n=5\0", 4);
    ASSERT_EQ(query_clamped(&q, "n", 10, 300, 25), -1);
}

static void test_fields(void)
{
    uint32_t set = 0;
    char err[160];
    fill("fields=headline,url", NULL);
    ASSERT_EQ(query_fields(&q, &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, fields_bit("headline", 8) | fields_bit("url", 3) | FIELDS_ALWAYS);
    fill("fields=", NULL);
    ASSERT_EQ(query_fields(&q, &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, FIELDS_ALL);
    fill("topics=a", NULL);
    ASSERT_EQ(query_fields(&q, &set, err, sizeof(err)), 0);
    ASSERT_EQ(set, FIELDS_ALL);
    fill("fields=headline,colour", NULL);
    ASSERT_EQ(query_fields(&q, &set, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "\"colour\"");
    query_init(&q);
    query_add(&q, "fields=url\0", 11);
    ASSERT_EQ(query_fields(&q, &set, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "fields: too long or not text");
}

/* A dropped argument is read within its length: the fuzzer found the
 * name looked for '=' past the end of an argument that has none (the
 * buffer here holds exactly the argument, no NUL: ASan sees any overread). */
static void test_a_dropped_argument_is_read_within_its_length(void)
{
    struct hub_filter *f = NULL;
    char err[160];
    char *arg = malloc(4);
    ASSERT_TRUE(arg != NULL);
    memcpy(arg, "lang", 4);
    query_init(&q);
    query_drop(&q, arg, 4);
    free(arg);
    ASSERT_EQ(q.ndropped_names, 1);
    ASSERT_STR_EQ(q.dropped_names[0], "lang");
    ASSERT_EQ(query_filter(&q, &f, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "lang");
}

TEST_MAIN(TEST_CASE(test_get_finds_a_value_and_the_first_occurrence_wins),
          TEST_CASE(test_a_dropped_argument_is_read_within_its_length),
          TEST_CASE(test_get_an_empty_value_and_an_absent_name),
          TEST_CASE(test_a_name_without_equals_never_matches),
          TEST_CASE(test_a_value_holding_a_nul_byte_is_invalid),
          TEST_CASE(test_a_value_too_long_for_out_is_invalid_not_cut),
          TEST_CASE(test_an_argument_over_the_arg_max_is_dropped),
          TEST_CASE(test_arguments_past_the_max_args_are_dropped),
          TEST_CASE(test_arguments_past_the_store_are_dropped),
          TEST_CASE(test_filter_topics_and_langs), TEST_CASE(test_filter_only_langs),
          TEST_CASE(test_filter_empty_means_everything),
          TEST_CASE(test_filter_or_null_keeps_a_filter_with_grants),
          TEST_CASE(test_filter_a_bad_topic_is_named),
          TEST_CASE(test_filter_a_reason_is_printable_ascii),
          TEST_CASE(test_filter_too_many_topics),
          TEST_CASE(test_filter_an_unreadable_list_is_refused), TEST_CASE(test_since),
          TEST_CASE(test_since_refuses_what_is_not_an_id), TEST_CASE(test_number),
          TEST_CASE(test_number_refuses_garbage_and_overflow),
          TEST_CASE(test_clamped_brings_a_number_within_the_range),
          TEST_CASE(test_clamped_refuses_what_is_not_digits), TEST_CASE(test_fields))
