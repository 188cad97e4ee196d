/*
 * test_grant — restricted topics and HS256 tokens (grant.h).
 */
#include "grant.h"
#include "jwt.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "0123456789abcdef0123456789abcdef-test-key"

static struct grant g;

static void setup(void)
{
    char path[] = "/tmp/test_grant_XXXXXX", err[256];
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(write(fd, KEY "\n", strlen(KEY) + 1), (ssize_t)strlen(KEY) + 1);
    close(fd);
    ASSERT_EQ(grant_setup(&g, "premium,members", path, err, sizeof(err)), 0);
    unlink(path);
}

static const char *HS256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static int verify(const char *token, uint32_t *grants, char *err)
{
    int64_t exp;
    return grant_verify(&g, token, 1700000000, grants, &exp, err, 160);
}

static void test_a_valid_token_grants_its_restricted_topics(void)
{
    char tok[1024], err[160];
    uint32_t grants = 99;
    int64_t exp = 0;
    setup();
    jwt_mint(tok, KEY, HS256, "{\"exp\":1700000100,\"topics\":[\"members\",\"world\"]}");
    ASSERT_EQ(grant_verify(&g, tok, 1700000000, &grants, &exp, err, sizeof(err)), 0);
    ASSERT_EQ(grants, grant_bit(&g, "members"));
    ASSERT_EQ(exp, 1700000100);
    ASSERT_EQ(grant_bit(&g, "premium"), 1u);
    ASSERT_EQ(grant_bit(&g, "world"), 0u);
    grant_clear(&g);
}

static void test_restricted_mask_of_an_alerts_topics(void)
{
    setup();
    ASSERT_EQ(grant_mask_of(&g, "world\0premium\0"), grant_bit(&g, "premium"));
    ASSERT_EQ(grant_mask_of(&g, "world\0sport\0"), 0u);
    ASSERT_EQ(grant_mask_of(&g, ""), 0u);
    grant_clear(&g);
    ASSERT_EQ(grant_mask_of(&g, "premium\0"), 0u); /* nothing restricted */
}

static void test_refused_tokens_say_why(void)
{
    char tok[1024], err[160];
    uint32_t grants;
    setup();
    jwt_mint(tok, "another key, not the one configured!", HS256, "{\"exp\":1700000100}");
    ASSERT_EQ(verify(tok, &grants, err), -1);
    ASSERT_TRUE(strstr(err, "bad signature") != NULL);
    jwt_mint(tok, KEY, HS256, "{\"exp\":1700000000}");
    ASSERT_EQ(verify(tok, &grants, err), -1);
    ASSERT_TRUE(strstr(err, "expired") != NULL);
    jwt_mint(tok, KEY, HS256, "{\"topics\":[\"premium\"]}");
    ASSERT_EQ(verify(tok, &grants, err), -1);
    ASSERT_TRUE(strstr(err, "exp") != NULL);
    jwt_mint(tok, KEY, "{\"alg\":\"none\"}", "{\"exp\":1700000100}");
    ASSERT_EQ(verify(tok, &grants, err), -1);
    ASSERT_TRUE(strstr(err, "HS256") != NULL);
    jwt_mint(tok, KEY, HS256, "{\"exp\":1700000100,\"nbf\":1700000050}");
    ASSERT_EQ(verify(tok, &grants, err), -1);
    jwt_mint(tok, KEY, HS256, "{\"exp\":1700000100,\"topics\":\"premium\"}");
    ASSERT_EQ(verify(tok, &grants, err), -1);
    ASSERT_EQ(verify("not-a-token", &grants, err), -1);
    ASSERT_EQ(verify("a.b", &grants, err), -1);
    ASSERT_EQ(verify("!!!.???.***", &grants, err), -1);
    /* A tampered payload under the original signature. */
    jwt_mint(tok, KEY, HS256, "{\"exp\":1700000100,\"topics\":[]}");
    char forged[1024] = "";
    strncat(forged, tok, (size_t)(strchr(tok, '.') - tok) + 1);
    jwt_b64url((const unsigned char *)"{\"exp\":1700000100,\"topics\":[\"premium\"]}", 39, forged);
    strcat(forged, strrchr(tok, '.'));
    ASSERT_EQ(verify(forged, &grants, err), -1);
    ASSERT_TRUE(strstr(err, "bad signature") != NULL);
    grant_clear(&g);
}

/* Found by fuzz_grant: the signature's last character carries 4 bits and 2
 * unused ones, and any value of those was accepted, so one token had four
 * spellings that all verified. Only the canonical one (unused bits zero)
 * is. The same holds for the header and the payload. */
static void test_only_the_canonical_base64url_is_accepted(void)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char tok[1024], err[160];
    uint32_t grants = 0;
    setup();
    jwt_mint(tok, KEY, HS256, "{\"exp\":1800000000,\"topics\":[\"premium\",\"world\"]}");
    ASSERT_EQ(verify(tok, &grants, err), 0);
    char *last = tok + strlen(tok) - 1, was = *last;
    int accepted = 0;
    for (const char *c = abc; *c; c++) {
        *last = *c;
        if (verify(tok, &grants, err) == 0)
            accepted++;
        else
            ASSERT_CONTAINS(err, "bad signature");
    }
    *last = was;
    ASSERT_EQ(accepted, 1);
    ASSERT_EQ(verify(tok, &grants, err), 0);
    /* {"alg":"HS256","x":12} is eyJhbGciOiJIUzI1NiIsIngiOjEyfQ; its last character
     * made R (one unused bit set) decodes to the same bytes, and is refused. */
    ASSERT_EQ(verify("eyJhbGciOiJIUzI1NiIsIngiOjEyfR.e30.AAAA", &grants, err), -1);
    ASSERT_CONTAINS(err, "algorithm must be HS256");
    ASSERT_EQ(verify("eyJhbGciOiJIUzI1NiIsIngiOjEyfQ.e30.AAAA", &grants, err), -1);
    ASSERT_CONTAINS(err, "bad signature");
    grant_clear(&g);
}

static void test_setup_errors(void)
{
    char err[256];
    ASSERT_EQ(grant_setup(&g, "premium", NULL, err, sizeof(err)), -1);
    ASSERT_TRUE(strstr(err, "--jwt-secret") != NULL);
    ASSERT_EQ(grant_setup(&g, "Premium!", "/nonexistent", err, sizeof(err)), -1);
    ASSERT_TRUE(strstr(err, "not a topic") != NULL);
    ASSERT_EQ(grant_setup(&g, "premium", "/nonexistent/key", err, sizeof(err)), -1);
    ASSERT_TRUE(strstr(err, "/nonexistent/key") != NULL);
    ASSERT_EQ(grant_setup(&g, NULL, NULL, err, sizeof(err)), 0);
    ASSERT_EQ(grant_enabled(&g), 0);
}

/* A key file at a fresh path holding `key`. */
static void key_file(char *path, const char *key)
{
    strcpy(path, "/tmp/test_grant_XXXXXX");
    int fd = mkstemp(path);
    if (fd >= 0) {
        if (write(fd, key, strlen(key)) != (ssize_t)strlen(key))
            path[0] = '\0';
        close(fd);
    }
}

static void test_a_reload_replaces_the_key_and_a_bad_file_keeps_it(void)
{
    char tok[1024], path[64], err[256];
    uint32_t grants;
    const char *payload = "{\"exp\":1800000000,\"topics\":[\"premium\"]}";
    const char *next = "the next key, also thirty-two bytes or more";
    setup();
    key_file(path, "short");
    ASSERT_EQ(grant_load_key(&g, path, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "32 to");
    unlink(path);
    jwt_mint(tok, KEY, HS256, payload);
    ASSERT_EQ(verify(tok, &grants, err), 0); /* the key in use stays */
    ASSERT_EQ(grant_load_key(&g, "/nonexistent/key", err, sizeof(err)), -1);
    ASSERT_EQ(verify(tok, &grants, err), 0);
    key_file(path, next);
    ASSERT_EQ(grant_load_key(&g, path, err, sizeof(err)), 0);
    unlink(path);
    ASSERT_EQ(verify(tok, &grants, err), -1);
    ASSERT_CONTAINS(err, "signature");
    jwt_mint(tok, next, HS256, payload);
    ASSERT_EQ(verify(tok, &grants, err), 0);
    ASSERT_EQ(grants, grant_bit(&g, "premium"));
}

/* Topics can be restricted without a key (a hub's view), and two tables
 * are independent: nothing is process-wide. */
static void test_tables_are_values_of_their_own(void)
{
    struct grant a = {0}, b = {0};
    char err[256];
    ASSERT_EQ(grant_set_topics(&a, "premium,members", err, sizeof(err)), 0);
    ASSERT_EQ(grant_set_topics(&b, "members", err, sizeof(err)), 0);
    ASSERT_EQ(grant_bit(&a, "members"), 2u);
    ASSERT_EQ(grant_bit(&b, "members"), 1u);
    ASSERT_EQ(grant_bit(&b, "premium"), 0u);
    ASSERT_EQ(grant_enabled(&a), 0);
    ASSERT_EQ(grant_mask_of(NULL, "premium\0"), 0u);
    ASSERT_EQ(grant_set_topics(&a, "ok,Not-A-Topic", err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "Not-A-Topic");
    ASSERT_EQ(grant_bit(&a, "ok"), 0u); /* a refused list restricts nothing */
}

TEST_MAIN(TEST_CASE(test_a_valid_token_grants_its_restricted_topics),
          TEST_CASE(test_only_the_canonical_base64url_is_accepted),
          TEST_CASE(test_tables_are_values_of_their_own),
          TEST_CASE(test_a_reload_replaces_the_key_and_a_bad_file_keeps_it),
          TEST_CASE(test_restricted_mask_of_an_alerts_topics),
          TEST_CASE(test_refused_tokens_say_why), TEST_CASE(test_setup_errors))
