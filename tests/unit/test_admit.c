/*
 * test_admit — one admission decision for WebSocket and SSE (admit.h):
 * every verdict and its message, since and Last-Event-ID, tokens and
 * restricted topics, and that a refusal leaves nothing allocated.
 */
#include "admit.h"
#include "fields.h"
#include "origin.h"
#include "jwt.h"
#include "test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "0123456789abcdef0123456789abcdef-admit-test-key"
#define NOW 1700000000
#define EXP 1700000600

static const char *HS256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static struct grant grant;   /* restricted: premium, members; tokens checked */
static struct grant nogrant; /* nothing restricted, no tokens */
static struct query q;
static char *origins[] = {"https://news.example", "https://m.news.example"};

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* An HS256 token for payload signed with key, into out. */
static void mint(char *out, const char *key, const char *payload)
{
    jwt_mint(out, key, HS256, payload);
}

/* "token=" and a token granting `topics` (a JSON array's inside), valid at NOW. */
static void token_arg(char *out, const char *key, const char *topics)
{
    char payload[256], tok[1024];
    snprintf(payload, sizeof(payload), "{\"exp\":%d,\"topics\":[%s]}", EXP, topics);
    mint(tok, key, payload);
    snprintf(out, 1100, "token=%s", tok);
}

/* Sets up both grants; returns 0 when done. */
static int setup(void)
{
    char path[] = "/tmp/test_admit_XXXXXX", err[256];
    int fd = mkstemp(path), rc = -1;
    if (fd < 0)
        return -1;
    if (write(fd, KEY "\n", strlen(KEY) + 1) == (ssize_t)strlen(KEY) + 1) {
        grant_clear(&grant);
        grant_clear(&nogrant);
        rc = grant_set_topics(&grant, "premium,members", err, sizeof(err)) ||
             grant_load_key(&grant, path, err, sizeof(err));
    }
    close(fd);
    unlink(path);
    return rc;
}

/* A node with room, any Origin, tokens checked. */
static struct admit_node node(void)
{
    return (struct admit_node){0, 10, 100, NULL, 0, &grant, NOW, 25, 10, 300};
}

/* A request from no browser, with the query q. */
static struct admit_request request(void)
{
    return (struct admit_request){NULL, 0, &q, NULL};
}

/* q holding the given arguments, NULL-terminated. */
static void args(const char *first, ...)
{
    va_list ap;
    query_init(&q);
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        query_add(&q, a, strlen(a));
    va_end(ap);
}

/* Checks a refusal: its verdict, that the message says `why`, and that
 * nothing is left to free or to use. */
#define ASSERT_REFUSED(a, v, why)                                                                  \
    do {                                                                                           \
        ASSERT_EQ((a).verdict, (v));                                                               \
        ASSERT_CONTAINS((a).message, (why));                                                       \
        ASSERT_TRUE((a).filter == NULL);                                                           \
        ASSERT_EQ((a).has_since, 0);                                                               \
    } while (0)

/* ------------------------------------------------------------------------
 * Node state, Origin, room
 * ---------------------------------------------------------------------- */

static void test_everything_plain_is_admitted(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args(NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_TRUE(a.filter == NULL);
    ASSERT_EQ(a.has_since, 0);
    ASSERT_EQ(a.grants, 0);
    ASSERT_EQ(a.token_exp, 0);
}

static void test_a_draining_node_takes_no_one(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args("topics=world", NULL);
    n.draining = 1;
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_DRAINING, "draining");
    /* Before any other reason. */
    n.connections = n.max_connections;
    n.origins = origins;
    n.norigins = 2;
    r.origin = "https://evil.example";
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_DRAINING, "draining");
}

static void test_origin_against_the_list(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args(NULL);
    n.origins = origins;
    n.norigins = 2;

    r.origin = "https://evil.example";
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_ORIGIN, "origin not allowed");
    r.origin = "https://news.example.evil.example"; /* a prefix is not a match */
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_ORIGIN, "origin not allowed");
    r.origin = "https://news.exampl";
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_ORIGIN);

    r.origin = "https://m.news.example";
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    r.origin = "HTTPS://News.Example"; /* scheme and host ignore case */
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    r.origin = NULL; /* not from a browser page */
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);

    /* An Origin too long to read is refused, whatever the header held. */
    r.origin = NULL;
    r.origin_unreadable = 1;
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_ORIGIN, "origin not allowed");
}

static void test_any_origin_with_an_empty_list(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args(NULL);
    r.origin = "https://anything.example";
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    r.origin = "null";
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
}

static void test_origin_allowed_directly(void)
{
    ASSERT_EQ(origin_allowed(origins, 2, NULL), 1);
    ASSERT_EQ(origin_allowed(origins, 0, "https://x.example"), 1);
    ASSERT_EQ(origin_allowed(origins, 2, "https://NEWS.example"), 1);
    ASSERT_EQ(origin_allowed(origins, 1, "https://m.news.example"), 0); /* only the first */
    ASSERT_EQ(origin_allowed(origins, 2, ""), 0);
    ASSERT_EQ(origin_allowed(origins, 2, "https://news.example/"), 0);
}

static void test_a_full_worker_takes_no_one_more(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args("topics=world", NULL);
    n.connections = n.max_connections - 1;
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    free(a.filter);
    n.connections = n.max_connections;
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_FULL, "too many connections");
    /* The Origin is judged first. */
    n.origins = origins;
    n.norigins = 2;
    r.origin = "https://evil.example";
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_ORIGIN);
}

/* ------------------------------------------------------------------------
 * The query: filter, since, Last-Event-ID
 * ---------------------------------------------------------------------- */

static void test_the_filter_is_the_callers(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args("topics=world,sport", "lang=EN", NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_TRUE(a.filter != NULL);
    ASSERT_EQ(a.filter->ntopics, 2);
    ASSERT_STR_EQ(a.filter->topics[1], "sport");
    ASSERT_STR_EQ(a.filter->langs[0], "en");
    ASSERT_EQ(a.filter->grants, 0);
    free(a.filter);
}

static void test_bad_topics_are_a_bad_request(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args("topics=world,NOT+A+TOPIC", NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_BAD_REQUEST, "NOT+A+TOPIC");
    ASSERT_CONTAINS(a.message, "topics");
    args("lang=en;fr", NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_BAD_REQUEST, "lang");
}

static void test_since(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args("since=1700000000000-2", NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_EQ(a.has_since, 1);
    ASSERT_EQ(a.since.ms, 1700000000000ull);
    ASSERT_EQ(a.since.seq, 2);
    args("since=", NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_EQ(a.has_since, 0);
}

static void test_a_bad_since_is_a_bad_request_and_frees_the_filter(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    /* The filter is made before since is read: the refusal must free it. */
    args("topics=world", "since=yesterday", NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_BAD_REQUEST, "since must be an alert id");
    args("topics=world", "since=01-0", NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_BAD_REQUEST, "since must be an alert id");
}

static void test_last_event_id_wins_over_since(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args("since=1-0", NULL);
    r.last_event_id = "1700000000005-1";
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_EQ(a.has_since, 1);
    ASSERT_EQ(a.since.ms, 1700000000005ull);
    ASSERT_EQ(a.since.seq, 1);
    /* Even over a since= that is not an id. */
    args("since=garbage", NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_EQ(a.since.ms, 1700000000005ull);
}

static void test_a_bad_last_event_id_is_refused_even_with_a_good_since(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args("topics=world", "since=1700000000000-0", NULL);
    r.last_event_id = "not-an-id";
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_BAD_REQUEST, "since must be an alert id");
    /* conn.c passes "" for a Last-Event-ID too long to read. */
    r.last_event_id = "";
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_BAD_REQUEST, "since must be an alert id");
}

/* ------------------------------------------------------------------------
 * Tokens and restricted topics
 * ---------------------------------------------------------------------- */

static void test_a_verified_token_gives_its_grants(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    char tok[1100];
    ASSERT_EQ(setup(), 0);
    token_arg(tok, KEY, "\"premium\",\"world\"");
    args("topics=premium,world", tok, NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_EQ(a.grants, grant_bit(&grant, "premium"));
    ASSERT_TRUE(a.grants != 0);
    ASSERT_EQ(a.token_exp, EXP);
    ASSERT_TRUE(a.filter != NULL);
    ASSERT_EQ(a.filter->grants, a.grants);
    ASSERT_EQ(a.filter->ntopics, 2);
    free(a.filter);

    /* Without a filter, grants alone make one: an empty filter would be
     * "everything public". */
    token_arg(tok, KEY, "\"members\"");
    args(tok, NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_TRUE(a.filter != NULL);
    ASSERT_EQ(a.filter->ntopics, 0);
    ASSERT_EQ(a.filter->grants, grant_bit(&grant, "members"));
    free(a.filter);

    /* A token granting nothing restricted: no filter needed. */
    token_arg(tok, KEY, "\"world\"");
    args(tok, NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_TRUE(a.filter == NULL);
    ASSERT_EQ(a.grants, 0);
    ASSERT_EQ(a.token_exp, EXP);
}

static void test_a_restricted_topic_needs_a_token_that_grants_it(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    char tok[1100];
    ASSERT_EQ(setup(), 0);
    args("topics=world,members", NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_FORBIDDEN, "topic members is restricted");
    /* A token that grants another restricted topic does not open this one. */
    token_arg(tok, KEY, "\"premium\"");
    args("topics=world,members", tok, NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_FORBIDDEN, "topic members is restricted");
}

static void test_a_bad_token_is_forbidden(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    char tok[1100];
    ASSERT_EQ(setup(), 0);
    token_arg(tok, "another key, not the one configured!", "\"premium\"");
    args("topics=premium", tok, NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_FORBIDDEN, "bad signature");
    /* Expired: exp is not after now. */
    token_arg(tok, KEY, "\"premium\"");
    args("topics=premium", tok, NULL);
    n.now = EXP;
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_FORBIDDEN, "expired");
    n.now = NOW;
    args("token=garbage", NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_FORBIDDEN, "not a JWT");
}

static void test_a_token_is_ignored_when_the_server_checks_none(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    char tok[1100];
    ASSERT_EQ(setup(), 0);
    n.grant = &nogrant;
    args("topics=premium", "token=garbage", NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_EQ(a.grants, 0);
    ASSERT_EQ(a.token_exp, 0);
    ASSERT_TRUE(a.filter != NULL);
    ASSERT_EQ(a.filter->ntopics, 1);
    free(a.filter);
    token_arg(tok, KEY, "\"premium\"");
    args(tok, NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_EQ(a.token_exp, 0);
    ASSERT_TRUE(a.filter == NULL);
}

static void test_a_token_too_long_or_not_text(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    static char big[QUERY_ARG_MAX + 2];
    ASSERT_EQ(setup(), 0);
    /* Longer than an argument may be: dropped when the query is read. */
    memcpy(big, "token=", 6);
    memset(big + 6, 'a', sizeof(big) - 7);
    big[sizeof(big) - 1] = '\0';
    args("topics=world", "lang=en", "since=", big, NULL);
    ASSERT_EQ(q.dropped, 1);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_FORBIDDEN, "token: too long");
    /* Without the other arguments, the dropped one might have been any of
     * them: still refused, never admitted with everything. */
    args(big, NULL);
    admit_client(&n, &r, &a);
    ASSERT_TRUE(a.verdict != ADMIT_OK);
    ASSERT_CONTAINS(a.message, "too long");
    ASSERT_TRUE(a.filter == NULL);
    /* A token that decoded to a NUL byte. */
    query_init(&q);
    query_add(&q, "topics=premium", 14);
    query_add(&q, "token=a.b\0.c", 12);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_FORBIDDEN, "not text");
}

/* ------------------------------------------------------------------------
 * admit_grants, admit_query_token
 * ---------------------------------------------------------------------- */

static struct hub_filter *filter_of(const char *topics)
{
    struct hub_filter *f = calloc(1, sizeof(*f));
    char err[160];
    if (f && hubfilter_set_topics(f, topics, err, sizeof(err))) {
        free(f);
        return NULL;
    }
    return f;
}

static void test_admit_grants_without_a_token_keeps_the_grants_given(void)
{
    uint32_t premium, grants;
    int64_t exp = 1234;
    char err[160] = "";
    struct hub_filter *f;
    ASSERT_EQ(setup(), 0);
    premium = grant_bit(&grant, "premium");
    /* A filter naming the topic the grants open. */
    f = filter_of("premium,world");
    grants = premium;
    ASSERT_EQ(admit_grants(&grant, NULL, NOW, &f, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(grants, premium);
    ASSERT_EQ(exp, 1234);
    ASSERT_EQ(f->grants, premium);
    free(f);
    /* No filter: one is made to carry the grants. */
    f = NULL;
    ASSERT_EQ(admit_grants(&grant, NULL, NOW, &f, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(f->grants, premium);
    free(f);
    /* No filter and no grants: still none. */
    f = NULL;
    grants = 0;
    ASSERT_EQ(admit_grants(&grant, NULL, NOW, &f, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_TRUE(f == NULL);
    /* Grants that do not open the topic named: refused, the filter freed. */
    f = filter_of("members");
    grants = premium;
    ASSERT_EQ(admit_grants(&grant, NULL, NOW, &f, &grants, &exp, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "members");
}

static void test_admit_grants_with_a_token(void)
{
    uint32_t grants = 0;
    int64_t exp = 0;
    char arg[1100], err[160] = "";
    struct hub_filter *f = filter_of("members");
    ASSERT_EQ(setup(), 0);
    token_arg(arg, KEY, "\"members\",\"premium\"");
    ASSERT_EQ(admit_grants(&grant, arg + 6, NOW, &f, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_EQ(grants, grant_bit(&grant, "members") | grant_bit(&grant, "premium"));
    ASSERT_EQ(exp, EXP);
    ASSERT_EQ(f->grants, grants);
    /* A bad token frees the filter it was given. */
    ASSERT_EQ(admit_grants(&grant, "x.y.z", NOW, &f, &grants, &exp, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "token");
}

static void test_admit_query_token(void)
{
    uint32_t grants = 0;
    int64_t exp = 0;
    char arg[1100], err[160] = "";
    struct hub_filter *f = NULL;
    ASSERT_EQ(setup(), 0);
    token_arg(arg, KEY, "\"premium\"");
    args("limit=5", arg, NULL);
    ASSERT_EQ(admit_query_token(&grant, &q, NOW, &f, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_EQ(grants, grant_bit(&grant, "premium"));
    ASSERT_EQ(exp, EXP);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(f->grants, grants);
    free(f);

    /* No token= at all: nothing changes. */
    f = NULL;
    grants = 0;
    exp = 0;
    args("limit=5", NULL);
    ASSERT_EQ(admit_query_token(&grant, &q, NOW, &f, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_TRUE(f == NULL);
    ASSERT_EQ(exp, 0);
    /* An empty token= is none. */
    args("token=", NULL);
    ASSERT_EQ(admit_query_token(&grant, &q, NOW, &f, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_TRUE(f == NULL);

    /* A bad one is refused and the filter given freed. */
    f = filter_of("world");
    args("token=nope", NULL);
    ASSERT_EQ(admit_query_token(&grant, &q, NOW, &f, &grants, &exp, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "token");
    /* So is one that is not text. */
    f = filter_of("world");
    query_init(&q);
    query_add(&q, "token=\0", 7);
    ASSERT_EQ(admit_query_token(&grant, &q, NOW, &f, &grants, &exp, err, sizeof(err)), -1);
    ASSERT_TRUE(f == NULL);
    ASSERT_CONTAINS(err, "token: too long or not text");

    /* A server that checks no tokens does not look. */
    f = filter_of("world");
    args("token=nope", NULL);
    ASSERT_EQ(admit_query_token(&nogrant, &q, NOW, &f, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_TRUE(f != NULL);
    free(f);
}

static void test_heartbeat_is_clamped_to_the_nodes_range(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    const char *asks[] = {"heartbeat=1", "heartbeat=60", "heartbeat=9999", NULL};
    const int got[] = {10, 60, 300, 25};
    ASSERT_EQ(setup(), 0);
    for (int i = 0; i < 4; i++) {
        args(asks[i], NULL);
        admit_client(&n, &r, &a);
        ASSERT_EQ(a.verdict, ADMIT_OK);
        ASSERT_EQ(a.heartbeat, got[i]);
    }
    args("heartbeat=soon", NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_BAD_REQUEST, "heartbeat must be a whole number of seconds");
    ASSERT_CONTAINS(a.message, "10-300");
}

static void test_fields_are_parsed_and_unknown_ones_named(void)
{
    struct admit_node n = node();
    struct admit_request r = request();
    struct admission a;
    ASSERT_EQ(setup(), 0);
    args(NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.fields, FIELDS_ALL);
    args("topics=world", "fields=headline", NULL);
    admit_client(&n, &r, &a);
    ASSERT_EQ(a.verdict, ADMIT_OK);
    ASSERT_EQ(a.fields, fields_bit("headline", 8) | FIELDS_ALWAYS);
    free(a.filter);
    args("topics=world", "fields=headline,size", NULL);
    admit_client(&n, &r, &a);
    ASSERT_REFUSED(a, ADMIT_BAD_REQUEST, "\"size\"");
}

TEST_MAIN(TEST_CASE(test_everything_plain_is_admitted),
          TEST_CASE(test_a_draining_node_takes_no_one), TEST_CASE(test_origin_against_the_list),
          TEST_CASE(test_any_origin_with_an_empty_list), TEST_CASE(test_origin_allowed_directly),
          TEST_CASE(test_a_full_worker_takes_no_one_more),
          TEST_CASE(test_the_filter_is_the_callers), TEST_CASE(test_bad_topics_are_a_bad_request),
          TEST_CASE(test_since), TEST_CASE(test_a_bad_since_is_a_bad_request_and_frees_the_filter),
          TEST_CASE(test_last_event_id_wins_over_since),
          TEST_CASE(test_a_bad_last_event_id_is_refused_even_with_a_good_since),
          TEST_CASE(test_a_verified_token_gives_its_grants),
          TEST_CASE(test_a_restricted_topic_needs_a_token_that_grants_it),
          TEST_CASE(test_a_bad_token_is_forbidden),
          TEST_CASE(test_a_token_is_ignored_when_the_server_checks_none),
          TEST_CASE(test_a_token_too_long_or_not_text),
          TEST_CASE(test_admit_grants_without_a_token_keeps_the_grants_given),
          TEST_CASE(test_admit_grants_with_a_token), TEST_CASE(test_admit_query_token),
          TEST_CASE(test_heartbeat_is_clamped_to_the_nodes_range),
          TEST_CASE(test_fields_are_parsed_and_unknown_ones_named))
