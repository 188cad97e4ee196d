/*
 * test_settings — the settings-table machinery both daemons share, on a
 * table of its own: defaults, file, environment and flags in rising
 * precedence, lists replaced per layer and bounded, errors naming the
 * setting and where it came from, --help generated from the rows.
 */
#include "settings.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS_MAX_WORDS 3

struct ts {
    struct settings_addr addr;
    char *word;
    int count;
    int on;
    char *words[TS_MAX_WORDS];
    int nwords;
};

/* A word is lowercase letters only. */
static int ts_word_ok(const char *s)
{
    return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz") == strlen(s);
}

static const struct settings_list ts_words = {
    .count_offset = offsetof(struct ts, nwords),
    .valid = ts_word_ok,
    .rule = "a word in lowercase letters",
    .noun = "words",
};

#define TS_AT(field) offsetof(struct ts, field)

static const struct settings_row ts_rows[] = {
    {"addr", SETTINGS_ADDR, TS_AT(addr), 0, 0, "HOST:PORT", "where", "127.0.0.1:80", NULL, NULL},
    {"word", SETTINGS_STR, TS_AT(word), 0, 0, "W", "a word", "hello", NULL, NULL},
    {"count", SETTINGS_INT, TS_AT(count), 1, 9, "N", "how many", "3", NULL, NULL},
    {"on", SETTINGS_FLAG, TS_AT(on), 0, 1, NULL, "switch", "off", NULL, NULL},
    {"words", SETTINGS_LIST, TS_AT(words), 0, TS_MAX_WORDS, "W", "words, repeatable", NULL, "none",
     &ts_words},
    {"config", SETTINGS_FILE, 0, 0, 0, "FILE", "read settings from FILE", NULL, "none", NULL},
};

static const struct settings_table ts_table = {
    .program = "tsprog",
    .env_prefix = "TSET_",
    .about = "About it.\n\n",
    .epilogue = "The end.\n",
    .column = 12,
    .rows = ts_rows,
    .nrows = sizeof(ts_rows) / sizeof(ts_rows[0]),
    .size = sizeof(struct ts),
};

static void ts_clear_env(void)
{
    unsetenv("TSET_COUNT");
    unsetenv("TSET_WORDS");
    unsetenv("TSET_CONFIG");
    unsetenv("TSET_ON");
}

static enum settings_result ts_load(struct ts *t, char *err, int argc, char **argv)
{
    if (settings_defaults(&ts_table, t, err, 256))
        return SETTINGS_ERROR;
    return settings_load(&ts_table, t, argc, argv, err, 256);
}

/* A temporary config file holding text; its path is written to path. */
static int ts_file(char *path, const char *text)
{
    strcpy(path, "/tmp/alert-test-settings-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void test_defaults_from_the_rows(void)
{
    struct ts t;
    char err[256];
    char *argv[] = {"tsprog", NULL};
    ts_clear_env();
    ASSERT_EQ(ts_load(&t, err, 1, argv), SETTINGS_OK);
    ASSERT_STR_EQ(t.addr.host, "127.0.0.1");
    ASSERT_EQ(t.addr.port, 80);
    ASSERT_STR_EQ(t.word, "hello");
    ASSERT_EQ(t.count, 3);
    ASSERT_EQ(t.on, 0);
    ASSERT_EQ(t.nwords, 0);
    settings_free(&ts_table, &t);
    ASSERT_TRUE(t.word == NULL && t.addr.host == NULL);
}

static void test_layers_in_rising_precedence(void)
{
    struct ts t;
    char err[256], path[64];
    ASSERT_EQ(ts_file(path, "# c\n\ncount = 4\nword  there\non\nwords = a, b\naddr [::1]:8\n"), 0);
    ts_clear_env();
    setenv("TSET_CONFIG", path, 1); /* the file may come from the environment */
    setenv("TSET_COUNT", "5", 1);
    setenv("TSET_WORDS", "c d", 1);
    char *argv[] = {"tsprog", "--count=6", NULL};
    enum settings_result r = ts_load(&t, err, 2, argv);
    unlink(path);
    ts_clear_env();
    ASSERT_EQ(r, SETTINGS_OK);
    ASSERT_EQ(t.count, 6);
    ASSERT_STR_EQ(t.word, "there");
    ASSERT_EQ(t.on, 1);
    ASSERT_STR_EQ(t.addr.host, "::1");
    ASSERT_EQ(t.addr.port, 8);
    ASSERT_EQ(t.nwords, 2); /* the environment's list replaced the file's */
    ASSERT_STR_EQ(t.words[0], "c");
    ASSERT_STR_EQ(t.words[1], "d");
    settings_free(&ts_table, &t);
}

static void test_list_within_a_layer_adds(void)
{
    struct ts t;
    char err[256];
    char *two[] = {"tsprog", "--words", "a", "--words=b", NULL};
    char *four[] = {"tsprog", "--words", "a,b", "--words=c,d", NULL};
    char *bad[] = {"tsprog", "--words", "a,B", NULL};
    ts_clear_env();
    ASSERT_EQ(ts_load(&t, err, 4, two), SETTINGS_OK);
    ASSERT_EQ(t.nwords, 2);
    ASSERT_STR_EQ(t.words[1], "b");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 4, four), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "--words: at most 3 words");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 3, bad), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "--words: \"B\" is not a word in lowercase letters");
    settings_free(&ts_table, &t);
}

static void test_errors_name_setting_and_place(void)
{
    struct ts t;
    char err[256], path[64];
    char *range[] = {"tsprog", "--count", "10", NULL};
    char *flag[] = {"tsprog", "--on=maybe", NULL};
    char *empty[] = {"tsprog", "--word=", NULL};
    char *port[] = {"tsprog", "--addr", "h:0", NULL};
    char *noport[] = {"tsprog", "--addr", "h", NULL};
    char *unknown[] = {"tsprog", "--nope", NULL};
    char *stray[] = {"tsprog", "extra", NULL};
    char *missing[] = {"tsprog", "--config", "/nonexistent/ts.conf", NULL};
    ts_clear_env();
    ASSERT_EQ(ts_load(&t, err, 3, range), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "--count: expected a whole number 1-9, got \"10\"");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 2, flag), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "unknown or incomplete option \"--on=maybe\" (see tsprog --help)");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 2, empty), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "--word: must not be empty");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 3, port), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "--addr: port must be 1-65535, got \"0\"");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 3, noport), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "--addr: expected HOST:PORT, got \"h\"");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 2, unknown), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "unknown or incomplete option \"--nope\" (see tsprog --help)");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 2, stray), SETTINGS_ERROR);
    ASSERT_STR_EQ(err, "unexpected argument \"extra\" (see tsprog --help)");
    settings_free(&ts_table, &t);
    ASSERT_EQ(ts_load(&t, err, 3, missing), SETTINGS_ERROR);
    ASSERT_CONTAINS(err, "--config: cannot open /nonexistent/ts.conf: ");
    settings_free(&ts_table, &t);

    setenv("TSET_ON", "maybe", 1);
    ASSERT_EQ(ts_load(&t, err, 1, stray), SETTINGS_ERROR);
    ts_clear_env();
    ASSERT_STR_EQ(err, "TSET_ON: --on: expected true or false, got \"maybe\"");
    settings_free(&ts_table, &t);

    ASSERT_EQ(ts_file(path, "count = 2\nconfig = /x\n"), 0);
    char *nested[] = {"tsprog", "--config", path, NULL};
    ASSERT_EQ(ts_load(&t, err, 3, nested), SETTINGS_ERROR);
    ASSERT_CONTAINS(err, ":2: unknown setting \"config\"");
    settings_free(&ts_table, &t);
    unlink(path);
    ASSERT_EQ(ts_file(path, "count = 0\n"), 0);
    ASSERT_EQ(ts_load(&t, err, 3, nested), SETTINGS_ERROR);
    unlink(path);
    ASSERT_CONTAINS(err, ":1: --count: expected a whole number 1-9, got \"0\"");
    settings_free(&ts_table, &t);
}

static void test_help_from_the_rows(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ASSERT_TRUE(out != NULL);
    settings_usage(&ts_table, out);
    fclose(out);
    ASSERT_STR_EQ(text, "usage: tsprog [OPTIONS]\n\nAbout it.\n\n"
                        "  --addr HOST:PORT where\n"
                        "               default: 127.0.0.1:80; env TSET_ADDR\n"
                        "  --word W     a word\n"
                        "               default: hello; env TSET_WORD\n"
                        "  --count N    how many\n"
                        "               default: 3; env TSET_COUNT\n"
                        "  --on         switch\n"
                        "               default: off; env TSET_ON\n"
                        "  --words W    words, repeatable\n"
                        "               default: none; env TSET_WORDS\n"
                        "  --config FILE read settings from FILE\n"
                        "               default: none; env TSET_CONFIG\n"
                        "  --help       show this help\n"
                        "  --version    print the version\n"
                        "The end.\n");
    free(text);
}

/* The exact-origin rule both programs' allowed-origin lists share. */
static void test_an_exact_origin(void)
{
    ASSERT_TRUE(settings_origin_exact("https://news.example"));
    ASSERT_TRUE(settings_origin_exact("http://localhost:8443"));
    ASSERT_TRUE(!settings_origin_exact("https://"));
    ASSERT_TRUE(!settings_origin_exact("ftp://news.example"));
    ASSERT_TRUE(!settings_origin_exact("https://news.example/"));
    ASSERT_TRUE(!settings_origin_exact("https://news.example?x"));
    ASSERT_TRUE(!settings_origin_exact("https://news .example"));
    ASSERT_TRUE(!settings_origin_exact("https://*.news.example"));
    ASSERT_STR_EQ(settings_origin_host("https://a.example:1"), "a.example:1");
    ASSERT_TRUE(settings_origin_host("wss://a.example") == NULL);
}

TEST_MAIN(TEST_CASE(test_defaults_from_the_rows), TEST_CASE(test_layers_in_rising_precedence),
          TEST_CASE(test_list_within_a_layer_adds), TEST_CASE(test_errors_name_setting_and_place),
          TEST_CASE(test_help_from_the_rows), TEST_CASE(test_an_exact_origin))
