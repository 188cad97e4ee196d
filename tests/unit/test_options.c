/*
 * test_options — the ITEM OPTIONS of `alert push`/`update`: durations, one
 * option at a time into the right field, -f FILE, and the layers (base <
 * file < options, then kind and ref) assembled into one validated item.
 */
#include "cli/options.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define REF_ID    "1700000000000-0"
#define OTHER_ID  "1700000000001-0"
#define FIXED_PUB "2030-01-02T03:04:05.678Z"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Takes one option that must be taken; the test fails otherwise. */
#define TAKE(o, opt, arg)                                                                          \
    do {                                                                                           \
        struct item_error e_;                                                                      \
        int taken_ = options_take((o), (opt), (arg), &e_);                                         \
        if (taken_ != 1)                                                                           \
            TEST_FAIL_("options_take(%s, \"%s\") = %d: %s: %s", #opt, (arg), taken_, e_.field,     \
                       e_.message);                                                                \
    } while (0)

/* A temporary file holding `len` bytes of `fill`; its path in path (free
 * with unlink). 0 or -1. */
static int temp_file(char path[64], size_t len, char fill)
{
    snprintf(path, 64, "/tmp/test_options.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    char *buf = malloc(len ? len : 1);
    int ok = buf != NULL;
    if (ok) {
        memset(buf, fill, len);
        ok = write(fd, buf, len) == (ssize_t)len;
    }
    free(buf);
    close(fd);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Durations
 * ---------------------------------------------------------------------- */

static void test_duration_accepted(void)
{
    long long s = -1;
    ASSERT_EQ(options_parse_duration("90s", &s), 0);
    ASSERT_EQ(s, 90);
    ASSERT_EQ(options_parse_duration("30m", &s), 0);
    ASSERT_EQ(s, 1800);
    ASSERT_EQ(options_parse_duration("2h", &s), 0);
    ASSERT_EQ(s, 7200);
    ASSERT_EQ(options_parse_duration("1d", &s), 0);
    ASSERT_EQ(s, 86400);
    ASSERT_EQ(options_parse_duration("1h30m", &s), 0);
    ASSERT_EQ(s, 5400);
    ASSERT_EQ(options_parse_duration("1d2h3m4s", &s), 0);
    ASSERT_EQ(s, 86400 + 7200 + 180 + 4);
    ASSERT_EQ(options_parse_duration("0h5s", &s), 0); /* a zero part in a sum is fine */
    ASSERT_EQ(s, 5);
    ASSERT_EQ(options_parse_duration("366d", &s), 0); /* the most there is */
    ASSERT_EQ(s, 366LL * 86400);
    ASSERT_EQ(options_parse_duration("365d24h", &s), 0);
    ASSERT_EQ(s, 366LL * 86400);
}

static void test_duration_refused(void)
{
    static const char *const bad[] = {
        "0s",
        "0d0h",
        "90",
        "1h30",
        "",
        "s",
        "h1",
        "-5s",
        "+5s",
        "1.5h",
        "1 h",
        " 1h",
        "1h ",
        "1w",
        "1H",
        "abc",
        "5s!",
        "367d",
        "366d1s",
        "8785h",
        "527041m",
        "31622401s",
        "99999999999999999999s",
        "9223372036854775807s",
        "18446744073709551617d",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long s = 12345;
        if (options_parse_duration(bad[i], &s) != -1)
            TEST_FAIL_("\"%s\" accepted as %lld seconds", bad[i], s);
        if (s != 12345)
            TEST_FAIL_("\"%s\" refused but wrote %lld", bad[i], s);
    }
    long long s;
    ASSERT_EQ(options_parse_duration(NULL, &s), -1);
}

/* ------------------------------------------------------------------------
 * One option at a time
 * ---------------------------------------------------------------------- */

static void test_take_item_options(void)
{
    static const struct {
        int opt;
        const char *field;
    } plain[] = {
        {OPT_HEADLINE, "headline"}, {OPT_SUMMARY, "summary"}, {OPT_URL, "url"},
        {OPT_URGENCY, "urgency"},   {OPT_LANG, "lang"},       {OPT_BYLINE, "byline"},
        {OPT_CREDIT, "credit"},
    };
    static const struct {
        int opt;
        const char *field;
    } image[] = {{OPT_IMAGE, "url"}, {OPT_CAPTION, "caption"}, {OPT_IMAGE_CREDIT, "credit"}};
    struct options_item o;
    char value[64];

    options_init(&o);
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        snprintf(value, sizeof(value), "value of %s", plain[i].field);
        TAKE(&o, plain[i].opt, value);
    }
    for (size_t i = 0; i < sizeof(image) / sizeof(image[0]); i++) {
        snprintf(value, sizeof(value), "value of image.%s", image[i].field);
        TAKE(&o, image[i].opt, value);
    }
    ASSERT_EQ(json_object_size(o.fields), sizeof(plain) / sizeof(plain[0]));
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        snprintf(value, sizeof(value), "value of %s", plain[i].field);
        ASSERT_STR_EQ(str_at(o.fields, plain[i].field), value);
    }
    ASSERT_EQ(json_object_size(o.image), sizeof(image) / sizeof(image[0]));
    for (size_t i = 0; i < sizeof(image) / sizeof(image[0]); i++) {
        snprintf(value, sizeof(value), "value of image.%s", image[i].field);
        ASSERT_STR_EQ(str_at(o.image, image[i].field), value);
    }
    ASSERT_TRUE(o.topics == NULL);
    ASSERT_TRUE(o.file == NULL);
    options_free(&o);
}

static void test_take_repeats_and_file(void)
{
    struct options_item o;
    options_init(&o);
    TAKE(&o, OPT_HEADLINE, "first");
    TAKE(&o, OPT_HEADLINE, "second"); /* a repeated text option: the last wins */
    TAKE(&o, OPT_TOPIC, "world");
    TAKE(&o, OPT_TOPIC, "asia");
    TAKE(&o, OPT_TOPIC, "world"); /* kept: the item's rules judge duplicates */
    TAKE(&o, OPT_FILE, "item.json");
    ASSERT_STR_EQ(str_at(o.fields, "headline"), "second");
    ASSERT_EQ(json_array_size(o.topics), 3);
    ASSERT_STR_EQ(json_string_value(json_array_get(o.topics, 0)), "world");
    ASSERT_STR_EQ(json_string_value(json_array_get(o.topics, 1)), "asia");
    ASSERT_STR_EQ(json_string_value(json_array_get(o.topics, 2)), "world");
    ASSERT_STR_EQ(o.file, "item.json");
    ASSERT_TRUE(o.image == NULL);
    options_free(&o);
}

static void test_take_not_an_item_option(void)
{
    struct options_item o;
    struct item_error err;
    options_init(&o);
    ASSERT_EQ(options_take(&o, OPT_KEY, "k", &err), 0);
    ASSERT_EQ(options_take(&o, OPT_MAXLEN, "10", &err), 0);
    ASSERT_EQ(options_take(&o, 'x', "x", &err), 0);
    ASSERT_TRUE(o.fields == NULL && o.image == NULL && o.topics == NULL && o.file == NULL);
    options_free(&o);
}

static void test_take_expires_as_duration(void)
{
    struct options_item o;
    int64_t at;
    options_init(&o);
    int64_t before = item_time_now_ms();
    TAKE(&o, OPT_EXPIRES, "1h30m");
    int64_t after = item_time_now_ms();
    ASSERT_EQ(item_time_parse(str_at(o.fields, "expires_at"), &at), 0);
    ASSERT_TRUE(at >= before + 5400 * 1000LL && at <= after + 5400 * 1000LL);
    options_free(&o);
}

static void test_take_expires_as_rfc3339(void)
{
    struct options_item o;
    struct item_error err;
    options_init(&o);
    TAKE(&o, OPT_EXPIRES, "2030-01-02T03:04:05Z");
    ASSERT_STR_EQ(str_at(o.fields, "expires_at"), "2030-01-02T03:04:05.000Z");
    TAKE(&o, OPT_EXPIRES, "2030-01-02T03:04:05.25+02:00"); /* to UTC, milliseconds */
    ASSERT_STR_EQ(str_at(o.fields, "expires_at"), "2030-01-02T01:04:05.250Z");
    ASSERT_EQ(options_take(&o, OPT_EXPIRES, "tomorrow", &err), -1);
    ASSERT_STR_EQ(err.field, "expires_at");
    ASSERT_CONTAINS(err.message, "tomorrow");
    ASSERT_EQ(options_take(&o, OPT_EXPIRES, "0s", &err), -1);
    ASSERT_STR_EQ(err.field, "expires_at");
    ASSERT_STR_EQ(str_at(o.fields, "expires_at"), "2030-01-02T01:04:05.250Z");
    options_free(&o);
}

static void test_take_invalid_utf8_names_the_field(void)
{
    static const struct {
        int opt;
        const char *field;
    } cases[] = {
        {OPT_HEADLINE, "headline"},     {OPT_SUMMARY, "summary"},
        {OPT_TOPIC, "topics"},          {OPT_IMAGE, "image.url"},
        {OPT_CAPTION, "image.caption"}, {OPT_IMAGE_CREDIT, "image.credit"},
    };
    static const char *const bad[] = {"bad \xff\xfe", "overlong \xc0\xaf", "cut \xe2\x82"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
            struct options_item o;
            struct item_error err;
            options_init(&o);
            ASSERT_EQ(options_take(&o, cases[i].opt, bad[j], &err), -1);
            ASSERT_STR_EQ(err.field, cases[i].field);
            ASSERT_CONTAINS(err.message, "UTF-8");
            options_free(&o);
        }
    }
}

/* ------------------------------------------------------------------------
 * -f FILE
 * ---------------------------------------------------------------------- */

static void test_read_file_sizes(void)
{
    static char buf[ITEM_MAX_BYTES + 1];
    char path[64], err[256];

    ASSERT_EQ(temp_file(path, ITEM_MAX_BYTES, ' '), 0);
    long n = options_read_file(path, buf, sizeof(buf), err, sizeof(err));
    unlink(path);
    ASSERT_EQ(n, ITEM_MAX_BYTES); /* the limit itself is allowed */

    ASSERT_EQ(temp_file(path, ITEM_MAX_BYTES + 1, ' '), 0);
    n = options_read_file(path, buf, sizeof(buf), err, sizeof(err));
    unlink(path);
    ASSERT_EQ(n, -2);
    ASSERT_CONTAINS(err, path);

    ASSERT_EQ(temp_file(path, 1 << 20, '{'), 0);
    n = options_read_file(path, buf, sizeof(buf), err, sizeof(err));
    unlink(path);
    ASSERT_EQ(n, -2);

    ASSERT_EQ(temp_file(path, 0, ' '), 0);
    n = options_read_file(path, buf, sizeof(buf), err, sizeof(err));
    unlink(path);
    ASSERT_EQ(n, 0);
}

static void test_read_file_unreadable(void)
{
    static char buf[ITEM_MAX_BYTES + 1];
    char err[256];
    ASSERT_EQ(options_read_file("/nonexistent/item.json", buf, sizeof(buf), err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "/nonexistent/item.json");
    ASSERT_EQ(options_read_file("/", buf, sizeof(buf), err, sizeof(err)), -1); /* a directory */
    ASSERT_CONTAINS(err, "/");
    /* A buffer without room for one byte past the limit is refused. */
    ASSERT_EQ(options_read_file("/dev/null", buf, ITEM_MAX_BYTES, err, sizeof(err)), -1);
}

/* ------------------------------------------------------------------------
 * Assembling
 * ---------------------------------------------------------------------- */

/* base < file < options; image options go into the file's image. */
static void test_build_layers(void)
{
    static const char file[] = "{\"headline\":\"File\",\"url\":\"https://example.org/f\","
                               "\"summary\":\"File summary\",\"topics\":[\"x\",\"y\"],"
                               "\"image\":{\"url\":\"https://example.org/i.jpg\","
                               "\"caption\":\"File caption\"}}";
    struct options_item o;
    struct item_error err;
    json_t *base =
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:[s]}", "version", 2, "headline", "Base", "summary",
                  "Base summary", "byline", "Base byline", "lang", "fr", "topics", "base");
    json_t *before = json_deep_copy(base);

    options_init(&o);
    TAKE(&o, OPT_SUMMARY, "Option summary");
    TAKE(&o, OPT_CAPTION, "Option caption");
    TAKE(&o, OPT_TOPIC, "z");
    json_t *item = options_build(&o, base, file, sizeof(file) - 1, "update", REF_ID, &err);
    if (item == NULL)
        TEST_FAIL_("refused: %s: %s", err.field, err.message);
    ASSERT_STR_EQ(str_at(item, "headline"), "File");             /* file over base */
    ASSERT_STR_EQ(str_at(item, "summary"), "Option summary");    /* options over both */
    ASSERT_STR_EQ(str_at(item, "byline"), "Base byline");        /* base alone */
    ASSERT_STR_EQ(str_at(item, "lang"), "fr");                   /* base alone */
    ASSERT_STR_EQ(str_at(item, "url"), "https://example.org/f"); /* file alone */
    json_t *topics = json_object_get(item, "topics");
    ASSERT_EQ(json_array_size(topics), 1); /* --topic replaces the list */
    ASSERT_STR_EQ(json_string_value(json_array_get(topics, 0)), "z");
    json_t *image = json_object_get(item, "image");
    ASSERT_STR_EQ(str_at(image, "url"), "https://example.org/i.jpg");
    ASSERT_STR_EQ(str_at(image, "caption"), "Option caption");
    ASSERT_STR_EQ(str_at(item, "kind"), "update");
    ASSERT_STR_EQ(str_at(item, "ref"), REF_ID);
    ASSERT_EQ(json_integer_value(json_object_get(item, "version")), 2);
    ASSERT_TRUE(json_equal(base, before)); /* the base is not changed */
    json_decref(item);
    json_decref(base);
    json_decref(before);
    options_free(&o);
}

/* kind and ref come from the command; a file that says otherwise is
 * refused rather than silently changed. */
static void test_build_kind_and_ref_forced(void)
{
    static const char agrees[] =
        "{\"headline\":\"h\",\"kind\":\"update\",\"ref\":\"" REF_ID "\",\"version\":3}";
    static const char other_kind[] = "{\"headline\":\"h\",\"kind\":\"alert\",\"version\":2}";
    static const char kind_not_text[] = "{\"headline\":\"h\",\"kind\":7,\"version\":2}";
    static const char other_ref[] = "{\"headline\":\"h\",\"ref\":\"" OTHER_ID "\",\"version\":2}";
    static const char retract[] = "{\"lang\":\"de\"}";
    struct options_item o;
    struct item_error err;
    json_t *item;

    options_init(&o);
    item = options_build(&o, NULL, agrees, sizeof(agrees) - 1, "update", REF_ID, &err);
    ASSERT_TRUE(item != NULL);
    ASSERT_EQ(json_integer_value(json_object_get(item, "version")), 3);
    json_decref(item);

    ASSERT_TRUE(options_build(&o, NULL, other_kind, sizeof(other_kind) - 1, "update", REF_ID,
                              &err) == NULL);
    ASSERT_STR_EQ(err.field, "kind");
    ASSERT_CONTAINS(err.message, "\"alert\"");
    ASSERT_CONTAINS(err.message, "\"update\"");

    ASSERT_TRUE(options_build(&o, NULL, kind_not_text, sizeof(kind_not_text) - 1, "update", REF_ID,
                              &err) == NULL);
    ASSERT_STR_EQ(err.field, "kind");

    ASSERT_TRUE(options_build(&o, NULL, other_ref, sizeof(other_ref) - 1, "update", REF_ID, &err) ==
                NULL);
    ASSERT_STR_EQ(err.field, "ref");
    ASSERT_CONTAINS(err.message, OTHER_ID);

    /* Without a file, kind and ref are simply set. */
    item = options_build(&o, NULL, retract, sizeof(retract) - 1, "retraction", REF_ID, &err);
    ASSERT_TRUE(item != NULL);
    ASSERT_STR_EQ(str_at(item, "kind"), "retraction");
    ASSERT_STR_EQ(str_at(item, "ref"), REF_ID);
    ASSERT_STR_EQ(str_at(item, "lang"), "de");
    json_decref(item);
    options_free(&o);
}

/* A file alone is the item as written: what item_parse makes of it, kind,
 * version and ext included. */
static void test_build_file_alone(void)
{
    static const char file[] = "{\"ext\":{\"b\":1,\"a\":[true,null]},\"urgency\":\"flash\","
                               "\"headline\":\"As written\",\"published_at\":\"" FIXED_PUB "\"}";
    struct options_item o;
    struct item_error err;

    options_init(&o);
    json_t *item = options_build(&o, NULL, file, sizeof(file) - 1, NULL, NULL, &err);
    json_t *parsed = item_parse(file, sizeof(file) - 1, ITEM_PUBLISH, &err, NULL);
    ASSERT_TRUE(item != NULL && parsed != NULL);
    char *a = item_encode(item, NULL), *b = item_encode(parsed, NULL);
    ASSERT_STR_EQ(a, b);
    ASSERT_STR_EQ(str_at(item, "kind"), "alert");
    ASSERT_STR_EQ(str_at(item, "published_at"), FIXED_PUB);
    ASSERT_EQ(json_object_size(json_object_get(item, "ext")), 2);
    free(a);
    free(b);
    json_decref(item);
    json_decref(parsed);

    options_free(&o);
}

/* A file alone is judged by the item module on its own text: the same
 * verdict in the same words as item_parse (the messages proto/examples
 * documents), not those of a re-encoded copy. */
static void test_build_file_alone_errors_are_the_items(void)
{
    static char deep[200];
    static const char *const files[] = {
        "{\"headline\":\"h\",\"evil\":1}",
        "{\"headline\":",
        "{\"headline\":\"a\",\"headline\":\"b\"}",
        deep,
    };
    struct options_item o;
    struct item_error built, parsed;

    /* An ext nested 60 deep: valid JSON, deeper than an item may be. */
    strcpy(deep, "{\"headline\":\"h\",\"ext\":");
    for (int i = 0; i < 60; i++)
        strcat(deep, "[");
    for (int i = 0; i < 60; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    options_init(&o);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len = strlen(files[i]);
        ASSERT_TRUE(options_build(&o, NULL, files[i], len, NULL, NULL, &built) == NULL);
        ASSERT_TRUE(item_parse(files[i], len, ITEM_PUBLISH, &parsed, NULL) == NULL);
        ASSERT_STR_EQ(built.field, parsed.field);
        ASSERT_STR_EQ(built.message, parsed.message);
    }
    ASSERT_STR_EQ(built.field, "");
    options_free(&o);
}

static void test_build_file_not_an_object(void)
{
    static const char *const files[] = {"[\"headline\"]", "{\"headline\":", "\"text\""};
    struct options_item o;
    struct item_error err;
    options_init(&o);
    TAKE(&o, OPT_URGENCY, "flash"); /* with an option: the merging path */
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (options_build(&o, NULL, files[i], strlen(files[i]), NULL, NULL, &err) != NULL)
            TEST_FAIL_("file %s accepted", files[i]);
    static const char nul[] = "{\"headline\":\"a\"}\0";
    ASSERT_TRUE(options_build(&o, NULL, nul, sizeof(nul) - 1, NULL, NULL, &err) == NULL);
    ASSERT_CONTAINS(err.message, "NUL");
    options_free(&o);
}

/* The result is validated as it will be published; the field at fault is
 * named. */
static void test_build_invalid_names_the_field(void)
{
    static const struct {
        int opt;
        const char *arg;
        const char *field;
    } cases[] = {
        {OPT_HEADLINE, "", "headline"},
        {OPT_URL, "javascript:alert(1)", "url"},
        {OPT_URGENCY, "nope", "urgency"},
        {OPT_LANG, "english language", "lang"},
        {OPT_TOPIC, "BAD", "topics[0]"},
        {OPT_CAPTION, "a caption without an image url", "image.url"},
        {OPT_IMAGE, "ftp://example.org/i.jpg", "image.url"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct options_item o;
        struct item_error err;
        options_init(&o);
        if (cases[i].opt != OPT_HEADLINE)
            TAKE(&o, OPT_HEADLINE, "A headline");
        TAKE(&o, cases[i].opt, cases[i].arg);
        json_t *item = options_build(&o, NULL, NULL, 0, NULL, NULL, &err);
        if (item != NULL)
            TEST_FAIL_("\"%s\" accepted", cases[i].arg);
        ASSERT_STR_EQ(err.field, cases[i].field);
        options_free(&o);
    }

    /* An alert needs a headline; options alone, no file. */
    struct options_item o;
    struct item_error err;
    options_init(&o);
    TAKE(&o, OPT_SUMMARY, "no headline");
    ASSERT_TRUE(options_build(&o, NULL, NULL, 0, NULL, NULL, &err) == NULL);
    ASSERT_STR_EQ(err.field, "headline");
    /* ... and an update a version of 2 or more, which a base gives. */
    TAKE(&o, OPT_HEADLINE, "h");
    ASSERT_TRUE(options_build(&o, NULL, NULL, 0, "update", REF_ID, &err) == NULL);
    ASSERT_STR_EQ(err.field, "version");
    options_free(&o);
}

TEST_MAIN(TEST_CASE(test_duration_accepted), TEST_CASE(test_duration_refused),
          TEST_CASE(test_take_item_options), TEST_CASE(test_take_repeats_and_file),
          TEST_CASE(test_take_not_an_item_option), TEST_CASE(test_take_expires_as_duration),
          TEST_CASE(test_take_expires_as_rfc3339),
          TEST_CASE(test_take_invalid_utf8_names_the_field), TEST_CASE(test_read_file_sizes),
          TEST_CASE(test_read_file_unreadable), TEST_CASE(test_build_layers),
          TEST_CASE(test_build_kind_and_ref_forced), TEST_CASE(test_build_file_alone),
          TEST_CASE(test_build_file_alone_errors_are_the_items),
          TEST_CASE(test_build_file_not_an_object), TEST_CASE(test_build_invalid_names_the_field))
