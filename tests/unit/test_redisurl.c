/*
 * test_redisurl — Redis URLs: redis://, unix:// and redis+sentinel://, and
 * what a Sentinel's answer is taken to mean.
 */
#include "redisurl.h"
#include "test.h"

static struct redis_url parsed(const char *url, int *rc, char *err, size_t errlen)
{
    struct redis_url u;
    *rc = redisurl_parse(url, &u, err, errlen);
    return u;
}

static const char *described(const struct redis_url *u)
{
    static char out[1024];
    redisurl_describe(u, out, sizeof(out));
    return out;
}

static void test_plain_urls(void)
{
    char err[256];
    int rc;
    struct redis_url u = parsed("redis://alertd:s%40cret@10.0.0.5:6380/2", &rc, err, sizeof(err));
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(u.host, "10.0.0.5");
    ASSERT_EQ(u.port, 6380);
    ASSERT_STR_EQ(u.user, "alertd");
    ASSERT_STR_EQ(u.password, "s@cret");
    ASSERT_EQ(u.db, 2);
    ASSERT_STR_EQ(u.master, "");
    ASSERT_STR_EQ(described(&u), "redis://10.0.0.5:6380/2");
    u = parsed("redis://[::1]", &rc, err, sizeof(err));
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(described(&u), "redis://[::1]:6379/0");
    u = parsed("unix:///run/redis.sock?db=3", &rc, err, sizeof(err));
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(described(&u), "unix:///run/redis.sock");
}

static void test_sentinel_url(void)
{
    char err[256];
    int rc;
    struct redis_url u =
        parsed("redis+sentinel://publisher:pw@10.0.0.1,10.0.0.2:26380,[fd00::3]/news-master/1"
               "?sentinel-password=s%3Dp",
               &rc, err, sizeof(err));
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(u.nsentinels, 3);
    ASSERT_STR_EQ(u.sentinels[0].host, "10.0.0.1");
    ASSERT_EQ(u.sentinels[0].port, 26379);
    ASSERT_EQ(u.sentinels[1].port, 26380);
    ASSERT_STR_EQ(u.sentinels[2].host, "fd00::3");
    ASSERT_STR_EQ(u.master, "news-master");
    ASSERT_EQ(u.db, 1);
    ASSERT_STR_EQ(u.user, "publisher");
    ASSERT_STR_EQ(u.password, "pw");
    ASSERT_STR_EQ(u.sentinel_password, "s=p");
    ASSERT_STR_EQ(u.host, ""); /* until a Sentinel names the master */
    /* No credentials in the description. */
    ASSERT_STR_EQ(described(&u),
                  "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380,[fd00::3]:26379/news-master/1");
    u = parsed("redis+sentinel://sentinel/mymaster", &rc, err, sizeof(err));
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(u.db, 0);
    ASSERT_STR_EQ(u.sentinel_password, "");
}

static void test_sentinel_url_errors_say_what_is_wrong(void)
{
    static const struct {
        const char *url, *words;
    } bad[] = {
        {"redis+sentinel://10.0.0.1", "needs the master's name"},
        {"redis+sentinel://10.0.0.1/", "master name"},
        {"redis+sentinel://10.0.0.1/my master", "master name"},
        {"redis+sentinel://10.0.0.1,/m", "no host"},
        {"redis+sentinel://10.0.0.1:0/m", "port must be 1-65535"},
        {"redis+sentinel://10.0.0.1/m/x", "database must be a number"},
        {"redis+sentinel://10.0.0.1/m?password=x", "accepts only ?sentinel-password"},
        {"redis+sentinel://10.0.0.1/m?sentinel-password=", "bad sentinel-password"},
        {"redis+sentinel://a,b,c,d,e,f,g,h,i/m", "at most 8 Sentinels"},
        {"sentinel://10.0.0.1/m", "redis+sentinel://"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        int rc;
        parsed(bad[i].url, &rc, err, sizeof(err));
        if (rc != -1 || strstr(err, bad[i].words) == NULL)
            TEST_FAIL_("%s: rc %d, \"%s\" (wanted \"%s\")", bad[i].url, rc, err, bad[i].words);
    }
}

/* Found by fuzz_redisurl: a host holding a bracket was taken ("[[d003]"
 * gave the host "[d003"), and its description was no URL that parses. */
static void test_a_stray_bracket_in_a_host_is_refused(void)
{
    static const char *const bad[] = {
        "redis+sentinel://pu80,[fd00::3],[[d003]/news/0",
        "redis://[[::1]:6379",
        "redis://a]b:6379",
        "redis://a[b",
        "redis+sentinel://x]/m",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        int rc;
        parsed(bad[i], &rc, err, sizeof(err));
        if (rc != -1 || strstr(err, "stray '[' or ']'") == NULL)
            TEST_FAIL_("%s: rc %d, \"%s\"", bad[i], rc, err);
    }
    char err[256];
    int rc;
    struct redis_url u = parsed("redis://[fd00::3]:6380", &rc, err, sizeof(err));
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(u.host, "fd00::3");
}

static redisReply *str_reply(const char *s)
{
    static redisReply r[4];
    static int next;
    redisReply *x = &r[next++ % 4];
    memset(x, 0, sizeof(*x));
    x->type = REDIS_REPLY_STRING;
    x->str = (char *)s;
    x->len = strlen(s);
    return x;
}

static void test_what_a_sentinel_answer_means(void)
{
    char err[256];
    int rc;
    struct redis_url u = parsed("redis+sentinel://127.0.0.1/mymaster", &rc, err, sizeof(err));
    redisReply *pair[2] = {str_reply("10.0.0.9"), str_reply("6390")};
    redisReply addr = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = pair};
    ASSERT_EQ(redisurl_sentinel_reply(&u, &addr, err, sizeof(err)), 0);
    ASSERT_STR_EQ(u.host, "10.0.0.9");
    ASSERT_EQ(u.port, 6390);

    redisReply nil = {.type = REDIS_REPLY_NIL};
    ASSERT_EQ(redisurl_sentinel_reply(&u, &nil, err, sizeof(err)), 1);
    ASSERT_CONTAINS(err, "knows no master \"mymaster\"");

    redisReply noauth = {.type = REDIS_REPLY_ERROR, .str = "NOAUTH Authentication required."};
    ASSERT_EQ(redisurl_sentinel_reply(&u, &noauth, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "NOAUTH");

    redisReply *badport[2] = {str_reply("10.0.0.77"), str_reply("70000")};
    redisReply bad = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = badport};
    ASSERT_EQ(redisurl_sentinel_reply(&u, &bad, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "not an address");
    ASSERT_STR_EQ(u.host, "10.0.0.9"); /* unchanged by a bad answer */
}

TEST_MAIN(TEST_CASE(test_plain_urls), TEST_CASE(test_sentinel_url),
          TEST_CASE(test_sentinel_url_errors_say_what_is_wrong),
          TEST_CASE(test_a_stray_bracket_in_a_host_is_refused),
          TEST_CASE(test_what_a_sentinel_answer_means))
