/*
 * test_itemsig — signed items: the test vector of proto/examples/signing
 * (signed bytes, key id, signature, made again from RFC 8032's test key),
 * what breaks a signature, and verify.c's decisions (unsigned, unknown key,
 * bad signature, stale, replayed; live against replayed).
 *
 * Runs from the repository root (`make unit`).
 */
#include "cli/itemsig.h"
#include "cli/verify.h"
#include "test.h"

#include <stdlib.h>

#define VECTOR_DIR "proto/examples/signing"

/* RFC 8032, section 7.1, TEST 1: a published test key, never a real one. */
static const char rfc8032_seed[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(65536) : NULL;
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    if (f)
        fclose(f);
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static EVP_PKEY *test_key(void)
{
    unsigned char seed[32];
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        sscanf(rfc8032_seed + 2 * i, "%2x", &v);
        seed[i] = (unsigned char)v;
    }
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
}

static json_t *vector_item(void)
{
    json_error_t jerr;
    return json_load_file(VECTOR_DIR "/alert.json", JSON_REJECT_DUPLICATES, &jerr);
}

static void test_vector_signed_bytes(void)
{
    size_t want_len, len;
    json_t *item = vector_item();
    char *want = slurp(VECTOR_DIR "/signed-bytes.txt", &want_len);
    ASSERT_TRUE(item != NULL && want != NULL);
    char *msg = itemsig_message(item, &len);
    ASSERT_EQ(len, want_len);
    ASSERT_STR_EQ(msg, want);
    free(msg);
    free(want);
    json_decref(item);
}

static void test_vector_verifies_and_is_made_again(void)
{
    char err[256], kid[ITEM_KID_LEN + 1], raw[ITEMSIG_RAW_LEN + 1];
    json_t *item = vector_item();
    EVP_PKEY *pub = itemsig_load_public(VECTOR_DIR "/public-key.pem", err, sizeof(err));
    EVP_PKEY *priv = test_key();
    ASSERT_TRUE(item && pub && priv);
    ASSERT_EQ(itemsig_key_id(pub, kid), 0);
    ASSERT_STR_EQ(kid, json_string_value(json_object_get(item, "kid")));
    ASSERT_EQ(itemsig_key_id(priv, kid), 0); /* a private key's id is its public key's */
    ASSERT_STR_EQ(kid, json_string_value(json_object_get(item, "kid")));
    ASSERT_EQ(itemsig_raw_public(pub, raw), 0);
    ASSERT_STR_EQ(raw, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    ASSERT_EQ(itemsig_check(item, pub), 1);

    /* Ed25519 is deterministic: signing again gives the same signature. */
    json_t *again = json_deep_copy(item);
    json_object_del(again, "sig");
    json_object_del(again, "kid");
    ASSERT_EQ(itemsig_sign(again, priv, err, sizeof(err)), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(again, "sig")),
                  json_string_value(json_object_get(item, "sig")));
    /* The id is not signed: another one changes nothing. */
    json_object_set_new(again, "id", json_string("1767225699999-7"));
    ASSERT_EQ(itemsig_check(again, pub), 1);
    json_decref(again);
    json_decref(item);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(priv);
}

/* One change to a signed item, then whether its signature still holds. */
static int still_valid(const char *key, json_t *value)
{
    char err[256];
    json_t *item = vector_item();
    EVP_PKEY *pub = itemsig_load_public(VECTOR_DIR "/public-key.pem", err, sizeof(err));
    json_object_set_new(item, key, value);
    int rc = itemsig_check(item, pub);
    json_decref(item);
    EVP_PKEY_free(pub);
    return rc;
}

static void test_changes_break_the_signature(void)
{
    ASSERT_EQ(still_valid("headline", json_string("Magnitude 7.2 earthquake")), 0);
    ASSERT_EQ(still_valid("published_at", json_string("2026-01-01T00:00:00.121Z")), 0);
    ASSERT_EQ(still_valid("version", json_integer(2)), 0);
    ASSERT_EQ(still_valid("ref", json_string("1767225600000-0")), 0);
    ASSERT_EQ(still_valid("kid", json_string("AAAAAAAAAAAAAAAA")), 0);
    ASSERT_EQ(still_valid("extra", json_true()), 0);
    /* A forged signature, one of the wrong shape, stray bits, none. */
    ASSERT_EQ(still_valid("sig", json_string("RDzHTFo4Jn0rupB2PfwiQ2Eov-KSp4621o7TIJ7ghxFqrdSbrj7"
                                             "MshneX0hxR1jedw9KzJc2AX7r6o1EnN75CA")),
              0);
    ASSERT_EQ(still_valid("sig", json_string("RDzHTFo4Jn0rupB2PfwiQ2Eov-KSp4621o7TIJ7ghxFqrdSbrj7"
                                             "MshneX0hxR1jedw9KzJc2AX7r6o1EnN75CR")),
              0);
    ASSERT_EQ(still_valid("sig", json_string("short")), 0);
    ASSERT_EQ(still_valid("sig", json_null()), 0);
    /* Member order and the encoding of numbers do not matter. */
    ASSERT_EQ(still_valid("version", json_real(1.0)), 1);
}

/* ------------------------------------------------------------------------
 * verify.c
 * ---------------------------------------------------------------------- */

#define T0 1767225600120LL /* the vector's published_at, in ms */

static void test_verify_accepts_and_rejects(void)
{
    struct verify *v = calloc(1, sizeof(*v));
    char err[256], why[400];
    json_t *item = vector_item();
    ASSERT_TRUE(v && item);
    v->max_age_ms = 300000;
    ASSERT_EQ(verify_add_key(v, VECTOR_DIR "/public-key.pem", err, sizeof(err)), 0);
    ASSERT_EQ(verify_add_key(v, VECTOR_DIR "/public-key.pem", err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "twice");

    /* Live, 2 s after publishing: good; the same alert again is not news. */
    ASSERT_EQ(verify_item(v, item, 1, T0 + 2000, why, sizeof(why)), VERIFY_OK);
    ASSERT_EQ(verify_item(v, item, 1, T0 + 2000, why, sizeof(why)), VERIFY_OK); /* same id */
    json_object_set_new(item, "id", json_string("1767225660000-0"));
    ASSERT_EQ(verify_item(v, item, 1, T0 + 60000, why, sizeof(why)), VERIFY_REPLAYED);
    ASSERT_CONTAINS(why, "replayed: the same signed alert came earlier as 1767225600123-0");

    /* Stored again ten minutes later: its id gives it away, live or not. */
    json_object_set_new(item, "id", json_string("1767226200000-0"));
    ASSERT_EQ(verify_item(v, item, 0, T0 + 600000, why, sizeof(why)), VERIFY_STALE);
    ASSERT_CONTAINS(why, "stale: published_at 2026-01-01T00:00:00.120Z is 599 s before the time");

    /* A genuine id, but live ten minutes late: stale; in a replay: history. */
    json_object_set_new(item, "id", json_string("1767225600123-0"));
    ASSERT_EQ(verify_item(v, item, 1, T0 + 600000, why, sizeof(why)), VERIFY_STALE);
    ASSERT_CONTAINS(why, "before now");
    ASSERT_EQ(verify_item(v, item, 0, T0 + 600000, why, sizeof(why)), VERIFY_OK);
    ASSERT_EQ(verify_item(v, item, 1, T0 - 400000, why, sizeof(why)), VERIFY_STALE);
    ASSERT_CONTAINS(why, "after now");

    json_object_set_new(item, "headline", json_string("Changed"));
    ASSERT_EQ(verify_item(v, item, 1, T0, why, sizeof(why)), VERIFY_BAD_SIGNATURE);
    ASSERT_CONTAINS(why, "bad signature");
    json_object_set_new(item, "kid", json_string("AAAAAAAAAAAAAAAA"));
    ASSERT_EQ(verify_item(v, item, 1, T0, why, sizeof(why)), VERIFY_UNKNOWN_KEY);
    ASSERT_CONTAINS(why, "unknown key: kid AAAAAAAAAAAAAAAA");
    json_object_del(item, "sig");
    ASSERT_EQ(verify_item(v, item, 1, T0, why, sizeof(why)), VERIFY_UNSIGNED);
    ASSERT_CONTAINS(why, "unsigned");
    json_decref(item);
    verify_free(v);
    free(v);
}

static void test_verify_keys(void)
{
    struct verify *v = calloc(1, sizeof(*v));
    char err[256];
    ASSERT_TRUE(v != NULL);
    ASSERT_EQ(verify_add_key(v, VECTOR_DIR "/alert.json", err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "not a PEM public key");
    ASSERT_EQ(verify_add_key(v, VECTOR_DIR "/no-such-file", err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "No such file");
    ASSERT_EQ(v->nkeys, 0);
    free(v);
}

TEST_MAIN(TEST_CASE(test_vector_signed_bytes), TEST_CASE(test_vector_verifies_and_is_made_again),
          TEST_CASE(test_changes_break_the_signature), TEST_CASE(test_verify_accepts_and_rejects),
          TEST_CASE(test_verify_keys))
