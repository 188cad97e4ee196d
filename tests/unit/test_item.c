/*
 * test_item — the alert item: proto/examples, ids, times, limits, hostile input.
 *
 * Runs from the repository root (`make unit`): example files are opened
 * relative to the working directory.
 */
#include "item.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <time.h>

#define VALID_DIR   "proto/examples/valid"
#define INVALID_DIR "proto/examples/invalid"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* The whole file, malloc'd and NUL-terminated (the NUL not counted in *len). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *p = realloc(buf, cap = cap * 2 + 4096 + 1);
            if (p == NULL)
                break;
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.json names in dir, except expected.json; NULL-terminated. */
static char **list_json(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = calloc(256, sizeof(*names));
    size_t n = 0;
    if (d == NULL || names == NULL) {
        if (d)
            closedir(d);
        free(names);
        return NULL;
    }
    while ((e = readdir(d)) != NULL && n < 255) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0 &&
            strcmp(e->d_name, "expected.json") != 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    *count = n;
    return names;
}

static void free_list(char **names)
{
    for (size_t i = 0; names && names[i]; i++)
        free(names[i]);
    free(names);
}

/* Parses text in mode; returns the item (or NULL) and fills err. */
static json_t *parse_str(const char *text, unsigned mode, struct item_error *err)
{
    return item_parse(text, strlen(text), mode, err, NULL);
}

/* Validates a one-field variation of a minimal alert; returns item_validate's result. */
static int validate_with(const char *key, json_t *value, struct item_error *err)
{
    json_t *item = json_pack("{s:s}", "headline", "Headline");
    json_object_set_new(item, key, value);
    int rc = item_validate(item, ITEM_PUBLISH, err, NULL);
    json_decref(item);
    return rc;
}

/* ------------------------------------------------------------------------
 * proto/examples
 * ---------------------------------------------------------------------- */

/* Every field name in `encoded` appears in the canonical order. */
static int keys_in_canonical_order(const json_t *item)
{
    static const char *const order[] = {
        "id",     "kind",   "ref",  "version", "urgency", "headline",     "summary",    "url",
        "byline", "credit", "lang", "topics",  "image",   "published_at", "expires_at", "ext"};
    size_t next = 0;
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)item, key, v) {
        while (next < sizeof(order) / sizeof(order[0]) && strcmp(order[next], key) != 0)
            next++;
        if (next == sizeof(order) / sizeof(order[0]))
            return 0;
    }
    return 1;
}

static void test_valid_examples(void)
{
    size_t count = 0;
    char **names = list_json(VALID_DIR, &count);
    ASSERT_TRUE(names != NULL);
    ASSERT_TRUE(count >= 8);
    for (size_t i = 0; i < count; i++) {
        char path[512];
        size_t len, elen, elen2;
        struct item_error err;
        snprintf(path, sizeof(path), "%s/%s", VALID_DIR, names[i]);
        char *text = read_file(path, &len);
        ASSERT_TRUE(text != NULL);
        json_t *item = item_parse(text, len, ITEM_PUBLISH, &err, NULL);
        if (item == NULL)
            TEST_FAIL_("%s: refused: %s: %s", names[i], err.field, err.message);
        if (!keys_in_canonical_order(item))
            TEST_FAIL_("%s: keys not in canonical order", names[i]);
        ASSERT_TRUE(json_object_get(item, "kind") && json_object_get(item, "urgency") &&
                    json_object_get(item, "lang") && json_object_get(item, "published_at"));
        char *enc = item_encode(item, &elen);
        ASSERT_TRUE(enc != NULL);
        ASSERT_EQ(strlen(enc), elen);
        json_t *again = item_parse(enc, elen, ITEM_PUBLISH, &err, NULL);
        if (again == NULL || !json_equal(item, again))
            TEST_FAIL_("%s: no round trip: %s", names[i], enc);
        char *enc2 = item_encode(again, &elen2);
        ASSERT_STR_EQ(enc, enc2);
        /* As a node gets it: with an id, in relay mode, unchanged. */
        json_object_set_new(again, "id", json_string("1714564800000-7"));
        char *live = item_encode(again, &elen2);
        unsigned dropped = 99;
        json_t *relayed = item_parse(live, elen2, ITEM_RELAY, &err, &dropped);
        if (relayed == NULL)
            TEST_FAIL_("%s: relay refused: %s: %s", names[i], err.field, err.message);
        ASSERT_EQ(dropped, 0);
        ASSERT_TRUE(json_equal(relayed, again));
        json_decref(relayed);
        free(live);
        free(enc2);
        json_decref(again);
        free(enc);
        json_decref(item);
        free(text);
    }
    free_list(names);
}

static void test_invalid_examples(void)
{
    json_error_t jerr;
    size_t count = 0;
    json_t *expected = json_load_file(INVALID_DIR "/expected.json", 0, &jerr);
    char **names = list_json(INVALID_DIR, &count);
    ASSERT_TRUE(expected != NULL && names != NULL);
    ASSERT_TRUE(count >= 40);
    ASSERT_EQ(json_object_size(expected), count);
    for (size_t i = 0; i < count; i++) {
        char path[512];
        size_t len;
        struct item_error err;
        json_t *exp = json_object_get(expected, names[i]);
        if (exp == NULL)
            TEST_FAIL_("%s: not in expected.json", names[i]);
        const char *field = json_string_value(json_object_get(exp, "field"));
        const char *rule = json_string_value(json_object_get(exp, "rule"));
        ASSERT_TRUE(field != NULL && rule != NULL);
        snprintf(path, sizeof(path), "%s/%s", INVALID_DIR, names[i]);
        char *text = read_file(path, &len);
        ASSERT_TRUE(text != NULL);
        json_t *item = item_parse(text, len, ITEM_PUBLISH, &err, NULL);
        free(text);
        if (item != NULL)
            TEST_FAIL_("%s: accepted", names[i]);
        if (strcmp(err.field, field) != 0 || strstr(err.message, rule) == NULL)
            TEST_FAIL_("%s: got %s: %s; expected %s: ...%s...", names[i], err.field, err.message,
                       field, rule);
    }
    free_list(names);
    json_decref(expected);
}

/* ------------------------------------------------------------------------
 * Ids and times
 * ---------------------------------------------------------------------- */

static void test_id_parse(void)
{
    static const char *const bad[] = {
        "",
        "-",
        "1-",
        "-1",
        "1",
        "+1-0",
        " 1-0",
        "1-0 ",
        "1--0",
        "01-0",
        "1-01",
        "1-0-0",
        "a-b",
        "1-+0",
        "1.5-0",
        "1-0\n",
        "0x1-0",
        "18446744073709551616-0",
        "1-18446744073709551616",
        "99999999999999999999-0",
        "000000000000000000001-0",
    };
    struct item_id id, a, b;
    char buf[ITEM_ID_STRLEN];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (item_id_parse(bad[i], &id) == 0)
            TEST_FAIL_("accepted id \"%s\"", bad[i]);
    ASSERT_EQ(item_id_parse(NULL, &id), -1);
    ASSERT_EQ(item_id_parse("0-0", &id), 0);
    ASSERT_TRUE(id.ms == 0 && id.seq == 0);
    ASSERT_EQ(item_id_parse("1714564800000-12", &id), 0);
    ASSERT_TRUE(id.ms == 1714564800000ULL && id.seq == 12);
    ASSERT_EQ(item_id_parse("18446744073709551615-18446744073709551615", &id), 0);
    ASSERT_TRUE(id.ms == UINT64_MAX && id.seq == UINT64_MAX);
    item_id_format(id, buf);
    ASSERT_STR_EQ(buf, "18446744073709551615-18446744073709551615");
    ASSERT_EQ(item_id_parse("5-9", &a), 0);
    ASSERT_EQ(item_id_parse("5-10", &b), 0);
    ASSERT_TRUE(item_id_cmp(a, b) < 0);
    ASSERT_TRUE(item_id_cmp(b, a) > 0);
    ASSERT_EQ(item_id_cmp(a, a), 0);
    ASSERT_EQ(item_id_parse("6-0", &b), 0);
    ASSERT_TRUE(item_id_cmp(a, b) < 0);
    item_id_format(a, buf);
    ASSERT_STR_EQ(buf, "5-9");
}

static void test_time_parse(void)
{
    static const char *const bad[] = {
        "",
        "2024-05-01",
        "2024-05-01T12:00:00",       /* no offset */
        "2024-05-01 12:00:00Z",      /* space separator */
        "2024-5-01T12:00:00Z",       /* short month */
        "2023-02-29T00:00:00Z",      /* not a leap year */
        "1900-02-29T00:00:00Z",      /* century, not a leap year */
        "2024-04-31T00:00:00Z",      /* April has 30 days */
        "2024-13-01T00:00:00Z",      /* month 13 */
        "2024-00-10T00:00:00Z",      /* month 0 */
        "2024-05-00T00:00:00Z",      /* day 0 */
        "2024-05-01T24:00:00Z",      /* hour 24 */
        "2024-05-01T12:60:00Z",      /* minute 60 */
        "2024-05-01T12:00:61Z",      /* second 61 */
        "2024-05-01T12:00:60Z",      /* a leap second, but not at the end of a day */
        "2024-05-01T12:00:00.Z",     /* empty fraction */
        "2024-05-01T12:00:00+24:00", /* offset hour 24 */
        "2024-05-01T12:00:00+01:60", /* offset minute 60 */
        "2024-05-01T12:00:00+0100",  /* offset without colon */
        "2024-05-01T12:00:00+01",    /* offset without minutes */
        "2024-05-01T12:00:00ZZ",     /* trailing text */
        "2024-05-01T12:00:00Z ",     /* trailing space */
        "+2024-05-01T12:00:00Z",     /* sign */
        "2024-05-01T12:00:00UTC",    /* named zone */
    };
    int64_t t;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (item_time_parse(bad[i], &t) == 0)
            TEST_FAIL_("accepted time \"%s\"", bad[i]);
    ASSERT_EQ(item_time_parse(NULL, &t), -1);
    ASSERT_EQ(item_time_parse("1970-01-01T00:00:00Z", &t), 0);
    ASSERT_EQ(t, 0);
    ASSERT_EQ(item_time_parse("2024-05-01T12:00:00.000Z", &t), 0);
    ASSERT_EQ(t, 1714564800000LL);
    ASSERT_EQ(item_time_parse("2024-05-01t14:00:00.000+02:00", &t), 0); /* lower-case t */
    ASSERT_EQ(t, 1714564800000LL);
    ASSERT_EQ(item_time_parse("2024-05-01T07:30:00-04:30", &t), 0);
    ASSERT_EQ(t, 1714564800000LL);
    ASSERT_EQ(item_time_parse("2024-05-01T12:00:00-00:00", &t), 0);
    ASSERT_EQ(t, 1714564800000LL);
    ASSERT_EQ(item_time_parse("2024-05-01T12:00:00.5z", &t), 0);
    ASSERT_EQ(t, 1714564800500LL);
    ASSERT_EQ(item_time_parse("2024-05-01T12:00:00.123456789Z", &t), 0); /* truncated */
    ASSERT_EQ(t, 1714564800123LL);
    ASSERT_EQ(item_time_parse("2024-02-29T00:00:00Z", &t), 0);
    ASSERT_EQ(item_time_parse("2000-02-29T00:00:00Z", &t), 0);
    ASSERT_EQ(item_time_parse("2016-12-31T23:59:60Z", &t), 0);
    ASSERT_EQ(item_time_parse("2016-12-31T18:59:60-05:00", &t), 0);
    ASSERT_EQ(item_time_parse("1969-12-31T23:59:59.999Z", &t), 0);
    ASSERT_EQ(t, -1);
    ASSERT_EQ(item_time_parse("0000-01-01T00:00:00Z", &t), 0);
    ASSERT_EQ(t, -62167219200000LL);
}

static void test_time_format(void)
{
    char buf[ITEM_TIME_STRLEN];
    int64_t t;
    item_time_format(0, buf);
    ASSERT_STR_EQ(buf, "1970-01-01T00:00:00.000Z");
    item_time_format(-1, buf);
    ASSERT_STR_EQ(buf, "1969-12-31T23:59:59.999Z");
    item_time_format(1709164800000LL + 86399999, buf);
    ASSERT_STR_EQ(buf, "2024-02-29T23:59:59.999Z");
    item_time_format(253402300799999LL, buf);
    ASSERT_STR_EQ(buf, "9999-12-31T23:59:59.999Z");
    /* Format then parse gives the same instant, over the years 0000-9999. */
    for (int64_t v = -62167219200000LL; v < 253402300799999LL; v += 86400000LL * 97 + 3601007) {
        item_time_format(v, buf);
        if (item_time_parse(buf, &t) != 0 || t != v)
            TEST_FAIL_("%lld -> %s does not round-trip", (long long)v, buf);
    }
    int64_t now = item_time_now_ms();
    ASSERT_TRUE(now > 1700000000000LL);
    ASSERT_TRUE(now - (int64_t)time(NULL) * 1000 < 2000);
}

/* ------------------------------------------------------------------------
 * Rules, checked one at a time
 * ---------------------------------------------------------------------- */

static void test_code_points(void)
{
    struct item_error err;
    char buf[2048];
    json_t *item;
    /* 280 two-byte characters (560 bytes) fit; 281 do not. */
    strcpy(buf, "{\"headline\":\"");
    for (int i = 0; i < 280; i++)
        strcat(buf, "\xc3\xa9");
    strcat(buf, "\"}");
    item = parse_str(buf, ITEM_PUBLISH, &err);
    ASSERT_TRUE(item != NULL);
    json_decref(item);
    strcpy(buf + strlen(buf) - 2, "\xc3\xa9\"}");
    ASSERT_TRUE(parse_str(buf, ITEM_PUBLISH, &err) == NULL);
    ASSERT_STR_EQ(err.field, "headline");
    ASSERT_STR_EQ(err.message, "must be 1-280 characters (got 281)");
    /* Four-byte characters (emoji) count once each. */
    strcpy(buf, "{\"headline\":\"");
    for (int i = 0; i < 280; i++)
        strcat(buf, "\xf0\x9f\x8c\x8f");
    strcat(buf, "\"}");
    item = parse_str(buf, ITEM_PUBLISH, &err);
    ASSERT_TRUE(item != NULL);
    json_decref(item);
    /* Escaped surrogate pairs too. */
    item = parse_str("{\"headline\":\"\\ud83c\\udf0f\",\"summary\":\"\"}", ITEM_PUBLISH, &err);
    ASSERT_TRUE(item != NULL);
    json_decref(item);
    /* The message counts characters, not bytes. */
    ASSERT_EQ(validate_with("summary", json_pack("s", ""), &err), 0);
    json_t *big = json_string("");
    char s[1100 * 3 + 1] = "";
    for (int i = 0; i < 1001; i++)
        strcat(s, "\xe7\x95\x8c"); /* 界 */
    json_string_set(big, s);
    ASSERT_EQ(validate_with("summary", big, &err), -1);
    ASSERT_STR_EQ(err.message, "must be at most 1000 characters (got 1001)");
}

static void test_control_characters(void)
{
    struct item_error err;
    ASSERT_EQ(validate_with("summary", json_string("tab\there\nnewline"), &err), 0);
    ASSERT_EQ(validate_with("summary", json_string("cr\r"), &err), -1);
    ASSERT_STR_EQ(err.field, "summary");
    ASSERT_CONTAINS(err.message, "U+000D");
    ASSERT_EQ(validate_with("byline", json_string("del\x7f"), &err), -1);
    ASSERT_CONTAINS(err.message, "U+007F");
    ASSERT_EQ(validate_with("credit", json_string("c1\xc2\x9b"), &err), -1);
    ASSERT_CONTAINS(err.message, "U+009B");
    /* U+00A0 (no-break space) is not a control character. */
    ASSERT_EQ(validate_with("credit", json_string("nbsp\xc2\xa0"), &err), 0);
    /* U+0000 inside a string built in C (json_stringn) and invalid UTF-8 from argv. */
    ASSERT_EQ(validate_with("summary", json_stringn("a\0b", 3), &err), -1);
    ASSERT_CONTAINS(err.message, "U+0000");
    ASSERT_EQ(validate_with("summary", json_string_nocheck("caf\xe9"), &err), -1);
    ASSERT_STR_EQ(err.message, "must be valid UTF-8");
    ASSERT_EQ(validate_with("topics", json_pack("[o]", json_stringn("a\0b", 3)), &err), -1);
    ASSERT_STR_EQ(err.field, "topics[0]");
    json_t *image = json_pack("{s:s,s:s}", "url", "https://x.example/a.jpg", "credit", "\x1b");
    ASSERT_EQ(validate_with("image", image, &err), -1);
    ASSERT_STR_EQ(err.field, "image.credit");
}

static void test_urls(void)
{
    static const char *const good[] = {
        "http://example.org",         "https://example.org/",    "HTTPS://EXAMPLE.ORG/A",
        "https://example.org:8443/x", "http://[::1]:8080/",      "https://x.y/@user?q=a@b#f",
        "https://例え.jp/ニュース",   "https://example.org?x=1", "https://example.org#top",
    };
    static const char *const bad[] = {
        "javascript:alert(1)",
        "JaVaScRiPt://example.org",
        "data:text/html,x",
        "ftp://example.org/",
        "//example.org/a",
        "/a/b",
        "example.org",
        "https://",
        "https:///a",
        "https://:443/",
        "https://?q",
        "https://#f",
        "http:/example.org",
        "https://user:pw@example.org/",
        "https://a b",
        "https://a/\tb",
        "https://a/\x7f",
        "https:\\\\example.org",
        "",
        " https://example.org",
    };
    struct item_error err;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (validate_with("url", json_string(good[i]), &err) != 0)
            TEST_FAIL_("refused %s: %s", good[i], err.message);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (validate_with("url", json_string(bad[i]), &err) == 0)
            TEST_FAIL_("accepted url \"%s\"", bad[i]);
        ASSERT_STR_EQ(err.field, "url");
    }
    ASSERT_EQ(validate_with("url", json_string("data:x"), &err), -1);
    ASSERT_CONTAINS(err.message, "must be an http or https URL");
    ASSERT_EQ(validate_with("url", json_integer(1), &err), -1);
    ASSERT_STR_EQ(err.message, "must be a string");
}

static void test_lang(void)
{
    static const char *const good[] = {"en",         "pt-BR", "zh-Hant-TW", "sr-Latn-RS",  "es-419",
                                       "de-CH-1901", "yue",   "abcdefgh",   "en-a-bbb-x-a"};
    static const char *const bad[] = {"",       "e",     "en-",       "-en",
                                      "en--US", "en_US", "abcdefghi", "en-abcdefghi",
                                      "1en",    "en US", "en-US-"};
    struct item_error err;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (validate_with("lang", json_string(good[i]), &err) != 0)
            TEST_FAIL_("refused lang %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (validate_with("lang", json_string(bad[i]), &err) == 0)
            TEST_FAIL_("accepted lang \"%s\"", bad[i]);
    /* 35 characters are the most. */
    ASSERT_EQ(validate_with("lang", json_string("en-abcdefgh-abcdefgh-abcdefgh-abcd"), &err), 0);
    ASSERT_EQ(validate_with("lang", json_string("en-abcdefgh-abcdefgh-abcdefgh-abcde"), &err), 0);
    ASSERT_EQ(validate_with("lang", json_string("en-abcdefgh-abcdefgh-abcdefgh-abcdef"), &err), -1);
}

static void test_kinds_and_versions(void)
{
    struct item_error err;
    json_t *item;
    item = parse_str("{\"kind\":\"retraction\",\"ref\":\"1-0\"}", ITEM_PUBLISH, &err);
    ASSERT_TRUE(item != NULL);
    ASSERT_TRUE(json_object_get(item, "version") == NULL); /* no default for a retraction */
    ASSERT_TRUE(json_object_get(item, "headline") == NULL);
    json_decref(item);
    item = parse_str("{\"kind\":\"update\",\"ref\":\"1-0\",\"version\":7,\"headline\":\"h\"}",
                     ITEM_PUBLISH, &err);
    ASSERT_TRUE(item != NULL);
    ASSERT_EQ(json_integer_value(json_object_get(item, "version")), 7);
    json_decref(item);
    ASSERT_TRUE(parse_str("{\"kind\":\"retraction\",\"ref\":\"1-0\",\"headline\":\"\"}",
                          ITEM_PUBLISH, &err) == NULL);
    ASSERT_STR_EQ(err.field, "headline");
    ASSERT_TRUE(parse_str("{\"headline\":\"h\",\"version\":1.0}", ITEM_PUBLISH, &err) == NULL);
    ASSERT_STR_EQ(err.field, "version");
    ASSERT_TRUE(parse_str("{\"headline\":\"h\",\"urgency\":\"FLASH\"}", ITEM_PUBLISH, &err) ==
                NULL);
    ASSERT_STR_EQ(err.field, "urgency");
}

static void test_defaults(void)
{
    struct item_error err;
    size_t len;
    int64_t before = item_time_now_ms(), t;
    json_t *item = parse_str("{\"ext\":{\"k\":[1]},\"topics\":[],\"headline\":\"H\","
                             "\"urgency\":\"flash\"}",
                             ITEM_PUBLISH, &err);
    ASSERT_TRUE(item != NULL);
    const char *pub = json_string_value(json_object_get(item, "published_at"));
    ASSERT_TRUE(pub != NULL && strlen(pub) == 24 && pub[23] == 'Z' && pub[19] == '.');
    ASSERT_EQ(item_time_parse(pub, &t), 0);
    ASSERT_TRUE(t >= before - 1 && t <= item_time_now_ms());
    char *enc = item_encode(item, &len);
    char want[256];
    snprintf(want, sizeof(want),
             "{\"kind\":\"alert\",\"version\":1,\"urgency\":\"flash\",\"headline\":\"H\","
             "\"lang\":\"en\",\"topics\":[],\"published_at\":\"%s\",\"ext\":{\"k\":[1]}}",
             pub);
    ASSERT_STR_EQ(enc, want);
    ASSERT_EQ(len, strlen(want));
    free(enc);
    json_decref(item);
    /* Given values are kept; an id-less item is not given one. */
    item = parse_str("{\"lang\":\"fr\",\"headline\":\"H\",\"published_at\":"
                     "\"2024-05-01T12:00:00.000Z\",\"expires_at\":\"2024-05-01T12:00:00.001Z\"}",
                     ITEM_PUBLISH, &err);
    ASSERT_TRUE(item != NULL);
    enc = item_encode(item, NULL);
    ASSERT_STR_EQ(enc, "{\"kind\":\"alert\",\"version\":1,\"urgency\":\"bulletin\",\"headline\":"
                       "\"H\",\"lang\":\"fr\",\"published_at\":\"2024-05-01T12:00:00.000Z\","
                       "\"expires_at\":\"2024-05-01T12:00:00.001Z\"}");
    free(enc);
    json_decref(item);
    /* expires_at is compared with the published_at filled in: now. */
    ASSERT_TRUE(parse_str("{\"headline\":\"H\",\"expires_at\":\"2020-01-01T00:00:00Z\"}",
                          ITEM_PUBLISH, &err) == NULL);
    ASSERT_STR_EQ(err.field, "expires_at");
    item = parse_str("{\"headline\":\"H\",\"expires_at\":\"2999-01-01T00:00:00Z\"}", ITEM_PUBLISH,
                     &err);
    ASSERT_TRUE(item != NULL);
    json_decref(item);
}

/* sig and kid: relayed untouched when of their shape, both or neither;
 * never taken from a publisher. */
static void test_signature_fields(void)
{
    struct item_error err;
    const char *sig =
        "RDzHTFo4Jn0rupB2PfwiQ2Eov-KSp4621o7TIJ7ghxFqrdSbrj7MshneX0hxR1jedw9KzJc2AX7r6o1EnN75CQ";
    char text[512];
    snprintf(text, sizeof(text),
             "{\"id\":\"1-0\",\"headline\":\"H\",\"sig\":\"%s\",\"kid\":\"If4x36FUomFia_hU\"}",
             sig);
    json_t *item = parse_str(text, ITEM_RELAY, &err);
    ASSERT_TRUE(item != NULL);
    char *enc = item_encode(item, NULL);
    ASSERT_CONTAINS(enc, sig);
    ASSERT_CONTAINS(enc, "\"kid\":\"If4x36FUomFia_hU\"");
    free(enc);
    json_decref(item);
    memmove(text + 1, text + 12, strlen(text + 12) + 1); /* without the id */
    ASSERT_TRUE(parse_str(text, ITEM_PUBLISH, &err) == NULL);
    ASSERT_STR_EQ(err.field, "sig");
    ASSERT_CONTAINS(err.message, "--sign-key");
    static const struct {
        const char *json, *field, *message;
    } bad[] = {
        {"{\"headline\":\"H\",\"kid\":\"If4x36FUomFia_hU\"}", "sig", "required with kid"},
        {"{\"headline\":\"H\",\"kid\":\"If4x36FUomFia_h\"}", "kid", "16 base64url"},
        {"{\"headline\":\"H\",\"kid\":\"If4x36FUomFia_h=\"}", "kid", "16 base64url"},
        {"{\"headline\":\"H\",\"kid\":7}", "kid", "16 base64url"},
        {"{\"headline\":\"H\",\"sig\":\"abc\",\"kid\":\"If4x36FUomFia_hU\"}", "sig",
         "86 base64url"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_str(bad[i].json, ITEM_RELAY, &err) != NULL)
            TEST_FAIL_("%s: accepted", bad[i].json);
        ASSERT_STR_EQ(err.field, bad[i].field);
        ASSERT_CONTAINS(err.message, bad[i].message);
    }
    /* A signature with stray bits in its last character, or padding. */
    snprintf(text, sizeof(text),
             "{\"headline\":\"H\",\"sig\":\"%.85sR\",\"kid\":\"If4x36FUomFia_hU\"}", sig);
    ASSERT_TRUE(parse_str(text, ITEM_RELAY, &err) == NULL);
    ASSERT_STR_EQ(err.field, "sig");
    snprintf(text, sizeof(text),
             "{\"headline\":\"H\",\"sig\":\"%.84s==\",\"kid\":\"If4x36FUomFia_hU\"}", sig);
    ASSERT_TRUE(parse_str(text, ITEM_RELAY, &err) == NULL);
    ASSERT_STR_EQ(err.field, "sig");
}

static void test_relay(void)
{
    struct item_error err;
    unsigned dropped = 0;
    const char *text = "{\"id\":\"1714564800000-3\",\"headline\":\"H\",\"colour\":\"red\","
                       "\"x\":{\"deep\":[1,2]},\"urgency\":\"routine\"}";
    json_t *item = item_parse(text, strlen(text), ITEM_RELAY, &err, &dropped);
    ASSERT_TRUE(item != NULL);
    ASSERT_EQ(dropped, 2);
    char *enc = item_encode(item, NULL);
    /* Nothing else changes: no defaults, same order. */
    ASSERT_STR_EQ(enc, "{\"id\":\"1714564800000-3\",\"headline\":\"H\",\"urgency\":\"routine\"}");
    free(enc);
    json_decref(item);
    /* The same item from a publisher is refused: first the unknown field... */
    ASSERT_TRUE(item_parse(text, strlen(text), ITEM_PUBLISH, &err, &dropped) == NULL);
    ASSERT_STR_EQ(err.field, "colour");
    ASSERT_STR_EQ(err.message, "unknown field \"colour\"");
    /* ...and without it, the id. */
    ASSERT_TRUE(parse_str("{\"id\":\"1-0\",\"headline\":\"H\"}", ITEM_PUBLISH, &err) == NULL);
    ASSERT_STR_EQ(err.field, "id");
    ASSERT_STR_EQ(err.message, "set by the server, a publisher never sets it");
    /* Relaying still checks everything else, unknown image keys included. */
    ASSERT_TRUE(parse_str("{\"id\":\"1-x\",\"headline\":\"H\"}", ITEM_RELAY, &err) == NULL);
    ASSERT_STR_EQ(err.field, "id");
    ASSERT_TRUE(parse_str("{\"headline\":\"H\",\"image\":{\"url\":\"https://a.b/c\",\"w\":1}}",
                          ITEM_RELAY, &err) == NULL);
    ASSERT_STR_EQ(err.field, "image.w");
    item = parse_str("{\"headline\":\"H\"}", ITEM_RELAY, &err);
    ASSERT_TRUE(item != NULL);
    ASSERT_EQ(json_object_size(item), 1);
    json_decref(item);
    /* Field names from hostile keys stay printable and within struct item_error. */
    char key[300] = "{\"\\u001b";
    for (int i = 0; i < 100; i++)
        strcat(key, "\xc3\xa9");
    strcat(key, "\":1,\"headline\":\"H\"}");
    ASSERT_TRUE(parse_str(key, ITEM_PUBLISH, &err) == NULL);
    ASSERT_EQ(err.field[0], '?');
    ASSERT_TRUE(strlen(err.field) < sizeof(err.field));
    ASSERT_EQ(strlen(err.field) % 2, 1); /* '?' then whole two-byte characters */
}

static void test_topics(void)
{
    struct item_error err;
    ASSERT_EQ(validate_with("topics", json_pack("[]"), &err), 0);
    ASSERT_EQ(validate_with("topics", json_pack("[s,s]", "a-1", "0"), &err), 0);
    ASSERT_EQ(validate_with("topics", json_pack("[s,s,s]", "a", "b", "b"), &err), -1);
    ASSERT_STR_EQ(err.field, "topics[2]");
    ASSERT_STR_EQ(err.message, "duplicates topics[1]");
    ASSERT_EQ(validate_with("topics", json_pack("[s]", "caf\xc3\xa9"), &err), -1);
    ASSERT_STR_EQ(err.field, "topics[0]");
    ASSERT_EQ(validate_with("topics", json_pack("{}"), &err), -1);
    ASSERT_STR_EQ(err.field, "topics");
}

static void test_ext_limits(void)
{
    struct item_error err;
    char pad[2100];
    /* {"p":"…"} is 8 bytes plus the padding. */
    memset(pad, 'x', sizeof(pad));
    pad[2040] = '\0';
    ASSERT_EQ(validate_with("ext", json_pack("{s:s}", "p", pad), &err), 0);
    pad[2040] = 'x';
    pad[2041] = '\0';
    ASSERT_EQ(validate_with("ext", json_pack("{s:s}", "p", pad), &err), -1);
    ASSERT_STR_EQ(err.message, "must be at most 2048 bytes encoded (got 2049)");
    /* Seven levels of ext (eight with the item) pass; eight do not. */
    json_t *deep = json_object();
    for (int i = 0; i < 6; i++)
        deep = json_pack("{s:o}", "d", deep);
    ASSERT_EQ(validate_with("ext", json_deep_copy(deep), &err), 0);
    ASSERT_EQ(validate_with("ext", json_pack("{s:o}", "d", deep), &err), -1);
    ASSERT_STR_EQ(err.field, "ext");
    ASSERT_EQ(validate_with("ext", json_pack("{s:s#}", "a", "x\0y", (int)3), &err), -1);
    ASSERT_CONTAINS(err.message, "U+0000");
}

/* A big item whose encoded size is tuned byte by byte with ext padding. */
static json_t *big_item(size_t ext_pad)
{
    char url[2049], pad[2100], rend[2049];
    memset(url, 'u', sizeof(url));
    memcpy(url, "https://example.org/", 20);
    url[2048] = '\0';
    memcpy(rend, url, sizeof(rend));
    memset(pad, 'p', ext_pad);
    pad[ext_pad] = '\0';
    json_t *item = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s}},s:s,s:{s:s}}", "kind",
                             "alert", "urgency", "flash", "headline", "H", "url", url, "image",
                             "url", url, "renditions", "xs", rend, "sm", rend, "md", rend, "lg",
                             rend, "published_at", "2024-05-01T12:00:00.000Z", "ext", "p", pad);
    json_object_set_new(item, "summary", json_string(""));
    char *s = malloc(3001);
    s[0] = '\0';
    for (int i = 0; i < 1000; i++)
        strcat(s, "\xe7\x95\x8c");
    json_string_set(json_object_get(item, "summary"), s);
    free(s);
    return item;
}

static void test_size_limit(void)
{
    struct item_error err;
    size_t len;
    /* Find the padding that makes the item, with room for its id, exactly 16 KiB. */
    json_t *item = big_item(0);
    ASSERT_EQ(item_validate(item, ITEM_PUBLISH, &err, NULL), 0);
    char *enc = item_encode(item, &len);
    free(enc);
    json_decref(item);
    size_t reserve = strlen("\"id\":\"\",") + ITEM_ID_STRLEN - 1;
    ASSERT_TRUE(len + reserve < ITEM_MAX_BYTES);
    size_t pad = ITEM_MAX_BYTES - reserve - len;
    ASSERT_TRUE(pad < 2040);
    item = big_item(pad);
    if (item_validate(item, ITEM_PUBLISH, &err, NULL) != 0)
        TEST_FAIL_("at the limit: %s", err.message);
    /* With the longest id, what a node relays is exactly the limit too. */
    json_object_set_new(item, "id", json_string("18446744073709551615-18446744073709551615"));
    enc = item_encode(item, &len);
    free(enc);
    ASSERT_EQ(len, ITEM_MAX_BYTES);
    ASSERT_EQ(item_validate(item, ITEM_RELAY, &err, NULL), 0);
    json_decref(item);
    item = big_item(pad + 1);
    ASSERT_EQ(item_validate(item, ITEM_PUBLISH, &err, NULL), -1);
    ASSERT_STR_EQ(err.field, "");
    ASSERT_CONTAINS(err.message, "must be at most 16384 bytes encoded");
    ASSERT_CONTAINS(err.message, "(got 16385)");
    json_decref(item);
}

/* ------------------------------------------------------------------------
 * Hostile input
 * ---------------------------------------------------------------------- */

static void test_hostile(void)
{
    struct item_error err;
    size_t mib = 1024 * 1024;
    char *buf = malloc(mib + 64);
    ASSERT_TRUE(buf != NULL);
    /* A megabyte of '[' is refused on its size, before any decoding. */
    memset(buf, '[', mib);
    clock_t start = clock();
    ASSERT_TRUE(item_parse(buf, mib, ITEM_PUBLISH, &err, NULL) == NULL);
    ASSERT_STR_EQ(err.field, "");
    ASSERT_CONTAINS(err.message, "16384 bytes");
    /* Within the size limit, deep nesting is refused before jansson recurses. */
    ASSERT_TRUE(item_parse(buf, ITEM_MAX_BYTES, ITEM_PUBLISH, &err, NULL) == NULL);
    ASSERT_CONTAINS(err.message, "nests deeper than 32 levels");
    ASSERT_TRUE((clock() - start) < CLOCKS_PER_SEC);
    /* Brackets inside strings do not count. */
    strcpy(buf, "{\"headline\":\"");
    memset(buf + 13, '[', 1000);
    strcpy(buf + 1013, "\\\"{{\"}");
    json_t *item = item_parse(buf, strlen(buf), ITEM_PUBLISH, &err, NULL);
    ASSERT_TRUE(item == NULL);
    ASSERT_STR_EQ(err.field, "headline"); /* too long, but decoded */
    /* An escaped quote does not end the string: these brackets are text too. */
    strcpy(buf, "{\"headline\":\"\\\"");
    memset(buf + 15, '[', 40);
    strcpy(buf + 55, "\"}");
    item = item_parse(buf, strlen(buf), ITEM_PUBLISH, &err, NULL);
    if (item == NULL)
        TEST_FAIL_("refused %s: %s", buf, err.message);
    json_decref(item);
    /* 30 levels pass the scan and meet the item's own depth rule. */
    strcpy(buf, "{\"headline\":\"H\",\"ext\":{\"a\":");
    for (int i = 0; i < 28; i++)
        strcat(buf, "[");
    for (int i = 0; i < 28; i++)
        strcat(buf, "]");
    strcat(buf, "}}");
    ASSERT_TRUE(item_parse(buf, strlen(buf), ITEM_PUBLISH, &err, NULL) == NULL);
    ASSERT_STR_EQ(err.field, "ext");
    /* A megabyte-long headline. */
    memcpy(buf, "{\"headline\":\"", 13);
    memset(buf + 13, 'a', mib);
    memcpy(buf + 13 + mib, "\"}", 3);
    ASSERT_TRUE(item_parse(buf, strlen(buf), ITEM_PUBLISH, &err, NULL) == NULL);
    ASSERT_STR_EQ(err.field, "");
    free(buf);
    /* Invalid UTF-8, U+0000 escaped and raw, an overlong encoding, lone surrogates. */
    static const char *const bad[] = {
        "{\"headline\":\"\xff\"}",
        "{\"headline\":\"a\\u0000b\"}",
        "{\"headline\":\"\xc0\xaf\"}",
        "{\"headline\":\"\\udc00\"}",
        "{\"headline\":\"\xed\xa0\x80\"}",
        "{\"headline\":\"a\",\"headline\":\"b\"}",
        "[]",
        "\"headline\"",
        "42",
        "",
        "{\"headline\":\"H\"} x",
        "{\"headline\":\"H\"",
        "null",
        "{\"headline\":'H'}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_str(bad[i], ITEM_PUBLISH, &err) != NULL)
            TEST_FAIL_("accepted %s", bad[i]);
        ASSERT_STR_EQ(err.field, "");
    }
    ASSERT_TRUE(parse_str("{\"headline\":\"a\\u0000b\"}", ITEM_PUBLISH, &err) == NULL);
    ASSERT_CONTAINS(err.message, "not valid JSON: ");
    ASSERT_CONTAINS(err.message, "line 1 column");
    ASSERT_TRUE(item_parse("{\"headline\":\"a\0\"}", 17, ITEM_PUBLISH, &err, NULL) == NULL);
    ASSERT_CONTAINS(err.message, "NUL");
    ASSERT_TRUE(parse_str("[1]", ITEM_PUBLISH, &err) == NULL);
    ASSERT_STR_EQ(err.message, "must be a JSON object");
    ASSERT_TRUE(item_parse(NULL, 0, ITEM_PUBLISH, &err, NULL) == NULL);
    ASSERT_EQ(item_validate(NULL, ITEM_PUBLISH, &err, NULL), -1);
    ASSERT_EQ(item_validate(NULL, ITEM_PUBLISH, NULL, NULL), -1); /* err is optional */
}

static void test_encode(void)
{
    size_t len = 0;
    json_t *item = json_pack("{s:s,s:s}", "headline", "\xe2\x80\x9cQuoted\xe2\x80\x9d \"x\"",
                             "summary", "</script>");
    char *enc = item_encode(item, &len);
    ASSERT_STR_EQ(enc, "{\"headline\":\"\xe2\x80\x9cQuoted\xe2\x80\x9d \\\"x\\\"\","
                       "\"summary\":\"</script>\"}");
    ASSERT_EQ(len, strlen(enc));
    free(enc);
    enc = item_encode(item, NULL);
    ASSERT_TRUE(enc != NULL);
    free(enc);
    json_decref(item);
}

TEST_MAIN(TEST_CASE(test_valid_examples), TEST_CASE(test_invalid_examples),
          TEST_CASE(test_id_parse), TEST_CASE(test_time_parse), TEST_CASE(test_time_format),
          TEST_CASE(test_code_points), TEST_CASE(test_control_characters), TEST_CASE(test_urls),
          TEST_CASE(test_lang), TEST_CASE(test_kinds_and_versions), TEST_CASE(test_defaults),
          TEST_CASE(test_relay), TEST_CASE(test_signature_fields), TEST_CASE(test_topics),
          TEST_CASE(test_ext_limits), TEST_CASE(test_size_limit), TEST_CASE(test_hostile),
          TEST_CASE(test_encode))
