/*
 * test_reg — a push registration: what a request may hold, its id and
 * shard, its stored form, and which alerts it matches.
 */
#include "b64u.h"
#include "reg.h"
#include "test.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char p256dh[B64U_LEN(65) + 1];
static const char auth[] = "AAECAwQFBgcICQoLDA0ODw"; /* 16 bytes */

static void make_key(void)
{
    unsigned char pub[65];
    size_t len = 0;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len);
    b64u_encode(pub, 65, p256dh);
    EVP_PKEY_free(key);
}

static int parse(const char *endpoint, const char *extra, struct reg *r, struct item_error *err)
{
    static struct reg_hosts hosts = {{"127.0.0.1", ".push.example"}, 2};
    char body[2048];
    if (p256dh[0] == '\0')
        make_key();
    snprintf(body, sizeof(body),
             "{\"provider\":\"webpush\",\"subscription\":{\"endpoint\":\"%s\",\"keys\":"
             "{\"p256dh\":\"%s\",\"auth\":\"%s\"}}%s}",
             endpoint, p256dh, auth, extra);
    return reg_parse_request(body, strlen(body), &hosts, REG_BIT(REG_WEBPUSH), r, err);
}

static void test_a_registration_and_its_id(void)
{
    struct reg a, b;
    struct item_error err;
    ASSERT_EQ(parse("https://a.push.example/s/1", ",\"topics\":[\"world\"],\"langs\":[\"en-GB\"]",
                    &a, &err),
              0);
    ASSERT_TRUE(reg_id_ok(a.id));
    ASSERT_EQ(a.shard, reg_shard_of(a.id));
    ASSERT_TRUE(a.shard >= 0 && a.shard < PUSH_SHARDS);
    ASSERT_STR_EQ(a.langs[0], "en-gb");
    ASSERT_EQ(parse("https://a.push.example/s/1", "", &b, &err), 0);
    ASSERT_STR_EQ(a.id, b.id); /* the same endpoint: the same entry */
    ASSERT_EQ(parse("https://a.push.example/s/2", "", &b, &err), 0);
    ASSERT_TRUE(strcmp(a.id, b.id) != 0);
    ASSERT_TRUE(!reg_id_ok("0123") && !reg_id_ok("0123456789ABCDEF0123456789abcdef"));
}

static void test_refusals_name_the_field(void)
{
    struct reg r;
    struct item_error err;
    static const struct {
        const char *endpoint, *extra, *field;
    } cases[] = {
        {"http://127.0.0.1/s", "", "subscription.endpoint"},
        {"https://evil.example/s", "", "subscription.endpoint"},
        {"https://push.example.evil/s", "", "subscription.endpoint"},
        {"https://user@127.0.0.1/s", "", "subscription.endpoint"},
        {"https://127.0.0.1/a b", "", "subscription.endpoint"},
        {"https://127.0.0.1/s", ",\"topics\":[\"A\"]", "topics[0]"},
        {"https://127.0.0.1/s", ",\"topics\":\"a\"", "topics"},
        {"https://127.0.0.1/s", ",\"langs\":[\"e\"]", "langs[0]"},
        {"https://127.0.0.1/s", ",\"langs\":[\"en\",\"EN\"]", "langs[1]"},
        {"https://127.0.0.1/s", ",\"extra\":1", "extra"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_EQ(parse(cases[i].endpoint, cases[i].extra, &r, &err), -1);
        ASSERT_STR_EQ(err.field, cases[i].field);
    }
    ASSERT_EQ(reg_parse_request("[]", 2, &(struct reg_hosts){{"x"}, 1}, 1, &r, &err), -1);
}

static void test_stored_form_round_trips(void)
{
    struct reg a, b;
    struct item_error err;
    ASSERT_EQ(parse("https://127.0.0.1:8443/s/x", ",\"topics\":[\"world\",\"sport\"]", &a, &err),
              0);
    a.expires_ms = 1234567890123;
    char *text = reg_encode(&a);
    ASSERT_TRUE(text != NULL);
    ASSERT_EQ(reg_decode(a.id, text, strlen(text), &b), 0);
    ASSERT_STR_EQ(b.endpoint, a.endpoint);
    ASSERT_TRUE(memcmp(a.p256dh, b.p256dh, 65) == 0 && memcmp(a.auth, b.auth, 16) == 0);
    ASSERT_EQ(b.ntopics, 2);
    ASSERT_STR_EQ(b.topics[1], "sport");
    ASSERT_EQ(b.expires_ms, a.expires_ms);
    ASSERT_EQ(reg_decode(a.id, "{\"e\":1}", 7, &b), -1);
    free(text);
}

static void test_matching(void)
{
    struct reg r;
    struct item_error err;
    json_t *world = json_pack("[s,s]", "world", "europe"), *sport = json_pack("[s]", "sport");
    json_t *none = json_array();
    ASSERT_EQ(parse("https://127.0.0.1/s", "", &r, &err), 0);
    ASSERT_TRUE(reg_matches(&r, none, NULL) && reg_matches(&r, sport, "fr"));
    ASSERT_EQ(parse("https://127.0.0.1/s", ",\"topics\":[\"europe\"],\"langs\":[\"fr\"]", &r, &err),
              0);
    ASSERT_TRUE(reg_matches(&r, world, "FR"));
    ASSERT_TRUE(!reg_matches(&r, world, "en") && !reg_matches(&r, world, NULL));
    ASSERT_TRUE(!reg_matches(&r, sport, "fr") && !reg_matches(&r, none, "fr"));
    json_decref(world);
    json_decref(sport);
    json_decref(none);
}

static void test_hosts(void)
{
    struct reg_hosts h = {{0}, 0};
    char err[200];
    ASSERT_EQ(reg_hosts_parse(&h, "fcm.googleapis.com, .notify.windows.com", err, sizeof(err)), 0);
    ASSERT_EQ(h.n, 2);
    ASSERT_EQ(reg_hosts_parse(&h, "a/b", err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "--webpush-hosts");
    reg_hosts_free(&h);
}

TEST_MAIN(TEST_CASE(test_a_registration_and_its_id), TEST_CASE(test_refusals_name_the_field),
          TEST_CASE(test_stored_form_round_trips), TEST_CASE(test_matching), TEST_CASE(test_hosts))
