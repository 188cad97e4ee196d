/*
 * test_config — alertd's settings: defaults, file, environment and flags in
 * rising precedence, and clear errors naming the setting.
 */
#include "config.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum config_result load(struct config *cfg, char *err, int argc, char **argv)
{
    return config_load(cfg, argc, argv, err, 256);
}

static void clear_env(void)
{
    unsetenv("ALERTD_HEARTBEAT");
    unsetenv("ALERTD_CONFIG");
    unsetenv("ALERTD_ALLOWED_ORIGIN");
    unsetenv("ALERTD_LISTEN");
}

static void test_defaults(void)
{
    struct config cfg;
    char err[256];
    char *argv[] = {"alertd", NULL};
    clear_env();
    ASSERT_EQ(load(&cfg, err, 1, argv), CONFIG_OK);
    ASSERT_STR_EQ(cfg.listen.host, "127.0.0.1");
    ASSERT_EQ(cfg.listen.port, 8443);
    ASSERT_STR_EQ(cfg.redis_url, "redis://127.0.0.1:6379");
    ASSERT_STR_EQ(cfg.prefix, "alert");
    ASSERT_EQ(cfg.history, 10000);
    ASSERT_EQ(cfg.heartbeat, 25);
    ASSERT_EQ(cfg.heartbeat_min, 10);
    ASSERT_EQ(cfg.heartbeat_max, 300);
    ASSERT_TRUE(cfg.workers >= 1);
    ASSERT_EQ(cfg.plain, 0);
    ASSERT_EQ(cfg.max_header_bytes, 16384);
    ASSERT_EQ(cfg.hsts_max_age, 31536000);
    config_free(&cfg);
}

static void test_origin_patterns(void)
{
    struct config cfg;
    char err[256];
    const char *good[] = {"https://*.example.org", "http://*.news.example.org:8080",
                          "https://news.example:8443"};
    const char *bad[] = {"https://*.org",          "https://*",
                         "https://*example.org",   "https://a.*.example.org",
                         "https://*.example.org/", "https://*..example.org",
                         "https://*.example.org:", "https://*.example.org:x",
                         "*.example.org"};
    clear_env();
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *argv[] = {"alertd", "--allowed-origin", (char *)good[i], NULL};
        if (load(&cfg, err, 3, argv) != CONFIG_OK)
            TEST_FAIL_("%s refused: %s", good[i], err);
        config_free(&cfg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"alertd", "--allowed-origin", (char *)bad[i], NULL};
        if (load(&cfg, err, 3, argv) != CONFIG_ERROR || strstr(err, "--allowed-origin") == NULL)
            TEST_FAIL_("%s taken", bad[i]);
        config_free(&cfg);
    }
}

static void test_header_budget_range(void)
{
    struct config cfg;
    char err[256];
    char *low[] = {"alertd", "--max-header-bytes", "4095", NULL};
    char *high[] = {"alertd", "--max-header-bytes", "32769", NULL};
    char *ok[] = {"alertd", "--max-header-bytes", "32768", "--hsts-max-age", "0", NULL};
    clear_env();
    ASSERT_EQ(load(&cfg, err, 3, low), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "--max-header-bytes");
    ASSERT_CONTAINS(err, "4096-32768");
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 3, high), CONFIG_ERROR);
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 5, ok), CONFIG_OK);
    ASSERT_EQ(cfg.max_header_bytes, 32768);
    ASSERT_EQ(cfg.hsts_max_age, 0);
    config_free(&cfg);
}

static void test_flags_beat_env_beat_file(void)
{
    struct config cfg;
    char err[256], path[] = "/tmp/alertd-test-config-XXXXXX";
    int fd = mkstemp(path);
    const char text[] = "# test\nheartbeat = 7\nhistory 55\nplain\n"
                        "allowed-origin = https://a.example\nlisten = [::1]:9000\n";
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(write(fd, text, sizeof(text) - 1), (long)sizeof(text) - 1);
    close(fd);
    clear_env();
    setenv("ALERTD_HEARTBEAT", "9", 1);
    setenv("ALERTD_ALLOWED_ORIGIN", "https://b.example,https://c.example", 1);
    char *argv[] = {"alertd", "--config", path, "--heartbeat=11", NULL};
    enum config_result r = load(&cfg, err, 4, argv);
    unlink(path);
    clear_env();
    ASSERT_EQ(r, CONFIG_OK);
    ASSERT_EQ(cfg.heartbeat, 11);
    ASSERT_EQ(cfg.history, 55);
    ASSERT_EQ(cfg.plain, 1);
    ASSERT_STR_EQ(cfg.listen.host, "::1");
    ASSERT_EQ(cfg.listen.port, 9000);
    ASSERT_EQ(cfg.norigins, 2); /* the environment's list replaced the file's */
    ASSERT_STR_EQ(cfg.origins[1], "https://c.example");
    config_free(&cfg);
}

static void test_errors_name_the_setting(void)
{
    struct config cfg;
    char err[256];
    char *bad_port[] = {"alertd", "--listen", "127.0.0.1:99999", NULL};
    char *bad_int[] = {"alertd", "--history", "lots", NULL};
    char *bad_origin[] = {"alertd", "--allowed-origin", "https://x.example/path", NULL};
    char *unknown[] = {"alertd", "--frobnicate", NULL};
    char *stray[] = {"alertd", "extra", NULL};
    clear_env();
    ASSERT_EQ(load(&cfg, err, 3, bad_port), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "--listen");
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 3, bad_int), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "--history");
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 3, bad_origin), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "--allowed-origin");
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 2, unknown), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "--frobnicate");
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 2, stray), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "extra");
    config_free(&cfg);
}

static void test_env_error_names_variable(void)
{
    struct config cfg;
    char err[256];
    char *argv[] = {"alertd", NULL};
    clear_env();
    setenv("ALERTD_HEARTBEAT", "0", 1);
    ASSERT_EQ(load(&cfg, err, 1, argv), CONFIG_ERROR);
    clear_env();
    ASSERT_CONTAINS(err, "ALERTD_HEARTBEAT");
    config_free(&cfg);
}

static void test_file_errors_name_line(void)
{
    struct config cfg;
    char err[256], path[] = "/tmp/alertd-test-config-XXXXXX";
    int fd = mkstemp(path);
    const char text[] = "history = 5\nbogus = 1\n";
    ASSERT_EQ(write(fd, text, sizeof(text) - 1), (long)sizeof(text) - 1);
    close(fd);
    clear_env();
    char *argv[] = {"alertd", "--config", path, NULL};
    enum config_result r = load(&cfg, err, 3, argv);
    unlink(path);
    ASSERT_EQ(r, CONFIG_ERROR);
    ASSERT_CONTAINS(err, ":2: unknown setting \"bogus\"");
    config_free(&cfg);
    char *missing[] = {"alertd", "--config", "/nonexistent/alertd.conf", NULL};
    ASSERT_EQ(load(&cfg, err, 3, missing), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "/nonexistent/alertd.conf");
    config_free(&cfg);
}

static void test_heartbeat_range_must_hold_the_default(void)
{
    struct config cfg;
    char err[256];
    char *inverted[] = {"alertd", "--heartbeat-min", "60", "--heartbeat-max", "30", NULL};
    char *below[] = {"alertd", "--heartbeat", "5", NULL};
    char *above[] = {"alertd", "--heartbeat-max", "20", NULL};
    char *fine[] = {"alertd", "--heartbeat", "5", "--heartbeat-min", "5", NULL};
    clear_env();
    ASSERT_EQ(load(&cfg, err, 5, inverted), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "--heartbeat-min (60) must not exceed --heartbeat-max (30)");
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 3, below), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "--heartbeat (5) must lie within");
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 3, above), CONFIG_ERROR);
    ASSERT_CONTAINS(err, "(10-20)");
    config_free(&cfg);
    ASSERT_EQ(load(&cfg, err, 5, fine), CONFIG_OK);
    ASSERT_EQ(cfg.heartbeat_min, 5);
    config_free(&cfg);
}

TEST_MAIN(TEST_CASE(test_defaults), TEST_CASE(test_flags_beat_env_beat_file),
          TEST_CASE(test_errors_name_the_setting), TEST_CASE(test_env_error_names_variable),
          TEST_CASE(test_file_errors_name_line), TEST_CASE(test_origin_patterns),
          TEST_CASE(test_header_budget_range),
          TEST_CASE(test_heartbeat_range_must_hold_the_default))
