/*
 * test_ece — RFC 8291 encryption: RFC 8291's own test vector (Appendix A)
 * byte for byte, also from a struct ece that has served other messages;
 * what ece_encrypt makes decrypts with the user agent's key through
 * OpenSSL's EVP path (not the one ece uses); a fresh ephemeral key and salt
 * for every message; keys that are not uncompressed P-256 points refused.
 */
#include "b64u.h"
#include "ece.h"
#include "test.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8291, Appendix A. */
#define RFC_PLAIN      "When I grow up, I want to be a watermelon"
#define RFC_AS_PRIVATE "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
#define RFC_UA_PUBLIC                                                                              \
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
#define RFC_UA_PRIVATE "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
#define RFC_SALT       "DGv6ra1nlYgDCS1FRnbzlw"
#define RFC_AUTH       "BTBZMqHH6r4Tts7J_aSIgg"
#define RFC_BODY                                                                                   \
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAm"  \
    "S6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_"  \
    "Qulcy4a-fN"

struct vector {
    unsigned char as_private[ECE_PRIVATE_LEN], ua_public[ECE_PUBLIC_LEN];
    unsigned char ua_private[32], salt[ECE_SALT_LEN], auth[ECE_AUTH_LEN];
};

static int vector_load(struct vector *v)
{
    return b64u_decode(RFC_AS_PRIVATE, strlen(RFC_AS_PRIVATE), v->as_private, 32) == 32 &&
           b64u_decode(RFC_UA_PUBLIC, strlen(RFC_UA_PUBLIC), v->ua_public, 65) == 65 &&
           b64u_decode(RFC_UA_PRIVATE, strlen(RFC_UA_PRIVATE), v->ua_private, 32) == 32 &&
           b64u_decode(RFC_SALT, strlen(RFC_SALT), v->salt, 16) == 16 &&
           b64u_decode(RFC_AUTH, strlen(RFC_AUTH), v->auth, 16) == 16;
}

static void test_rfc8291_appendix_a_byte_for_byte(void)
{
    struct vector v;
    struct ece *e = ece_new();
    unsigned char out[ECE_MAX_BODY];
    char b64[B64U_LEN(ECE_MAX_BODY) + 1];
    size_t len = 0;
    ASSERT_TRUE(e != NULL && vector_load(&v));
    /* Twice: the contexts kept in e must leave nothing behind. */
    for (int round = 0; round < 2; round++) {
        memset(out, 0, sizeof(out));
        ASSERT_EQ(ece_encrypt_with(e, v.as_private, v.salt, v.ua_public, v.auth,
                                   (const unsigned char *)RFC_PLAIN, strlen(RFC_PLAIN), out, &len),
                  0);
        b64u_encode(out, len, b64);
        ASSERT_STR_EQ(b64, RFC_BODY);
        ASSERT_EQ(ece_encrypt(e, v.ua_public, v.auth, (const unsigned char *)"x", 1, out, &len), 0);
    }
    ece_free(e);
}

/* The user agent's side through EVP: its key pair from the private key. */
static EVP_PKEY *ua_key(const struct vector *v)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *d = BN_bin2bn(v->ua_private, 32, NULL);
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    if (b && d && ctx &&
        OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d) &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, v->ua_public, 65) &&
        (params = OSSL_PARAM_BLD_to_param(b)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(d);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static EVP_PKEY *as_key(const unsigned char pub[65])
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
                           OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 65),
                           OSSL_PARAM_END};
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static void hmac(const unsigned char *key, size_t keylen, const void *msg, size_t len,
                 unsigned char out[32])
{
    unsigned outlen = 32;
    HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &outlen);
}

/* RFC 8291 section 3.4 and RFC 8188 from the receiving end: the plaintext,
 * or -1 when the body does not decrypt. */
static long ua_decrypt(const struct vector *v, const unsigned char *body, size_t len,
                       unsigned char *plain)
{
    EVP_PKEY *mine = ua_key(v), *peer = as_key(body + 21);
    EVP_PKEY_CTX *dctx = mine ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    unsigned char secret[32], prk_key[32], ikm[32], prk[32], cek[32], nonce[32], info[145];
    unsigned char msg[64];
    size_t slen = sizeof(secret), clen = len - ECE_HEADER_LEN - ECE_TAG_LEN;
    int n = 0, f = 0;
    long rc = -1;
    if (peer && dctx && EVP_PKEY_derive_init(dctx) == 1 &&
        EVP_PKEY_derive_set_peer(dctx, peer) == 1 && EVP_PKEY_derive(dctx, secret, &slen) == 1) {
        hmac(v->auth, 16, secret, 32, prk_key);
        memcpy(info, "WebPush: info", 14);
        memcpy(info + 14, v->ua_public, 65);
        memcpy(info + 79, body + 21, 65);
        info[144] = 0x01; /* HKDF-Expand's T(1) */
        hmac(prk_key, 32, info, sizeof(info), ikm);
        hmac(body, 16, ikm, 32, prk);
        memcpy(msg, "Content-Encoding: aes128gcm\0\x01", 29);
        hmac(prk, 32, msg, 29, cek);
        memcpy(msg, "Content-Encoding: nonce\0\x01", 25);
        hmac(prk, 32, msg, 25, nonce);
        if (EVP_DecryptInit_ex2(c, EVP_aes_128_gcm(), cek, nonce, NULL) == 1 &&
            EVP_DecryptUpdate(c, plain, &n, body + ECE_HEADER_LEN, (int)clen) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(body + len - 16)) == 1 &&
            EVP_DecryptFinal_ex(c, plain + n, &f) == 1 && n + f > 0 && plain[n + f - 1] == 0x02)
            rc = n + f - 1;
    }
    EVP_CIPHER_CTX_free(c);
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
    return rc;
}

static void test_what_it_encrypts_the_user_agent_decrypts(void)
{
    struct vector v;
    struct ece *e = ece_new();
    unsigned char out[ECE_MAX_BODY], plain[ECE_MAX_BODY], big[ECE_MAX_PLAINTEXT];
    size_t len = 0;
    ASSERT_TRUE(e != NULL && vector_load(&v));
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7);
    for (int i = 0; i < 20; i++) {
        size_t n = i == 0 ? sizeof(big) : (size_t)(i * 37 % 300) + 1;
        ASSERT_EQ(ece_encrypt(e, v.ua_public, v.auth, big, n, out, &len), 0);
        ASSERT_EQ(len, ECE_HEADER_LEN + n + 1 + ECE_TAG_LEN);
        ASSERT_EQ(out[16] << 24 | out[17] << 16 | out[18] << 8 | out[19], 4096);
        ASSERT_EQ(out[20], ECE_PUBLIC_LEN);
        ASSERT_EQ(ua_decrypt(&v, out, len, plain), (long)n);
        ASSERT_TRUE(memcmp(plain, big, n) == 0);
    }
    ASSERT_EQ(len <= ECE_MAX_BODY, 1);
    ASSERT_EQ(ece_encrypt(e, v.ua_public, v.auth, big, ECE_MAX_PLAINTEXT + 1, out, &len), -1);
    ece_free(e);
}

static void test_every_message_has_its_own_key_and_salt(void)
{
    struct vector v;
    struct ece *e = ece_new();
    enum { N = 50 };
    static unsigned char bodies[N][ECE_MAX_BODY];
    size_t len = 0;
    ASSERT_TRUE(e != NULL && vector_load(&v));
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(ece_encrypt(e, v.ua_public, v.auth, (const unsigned char *)RFC_PLAIN,
                              strlen(RFC_PLAIN), bodies[i], &len),
                  0);
        ASSERT_TRUE(ece_public_ok(bodies[i] + 21));
        for (int j = 0; j < i; j++) {
            ASSERT_TRUE(memcmp(bodies[i], bodies[j], ECE_SALT_LEN) != 0);
            ASSERT_TRUE(memcmp(bodies[i] + 21, bodies[j] + 21, ECE_PUBLIC_LEN) != 0);
        }
    }
    ece_free(e);
}

static void test_keys_that_are_not_points_are_refused(void)
{
    struct vector v;
    struct ece *e = ece_new();
    unsigned char key[ECE_PUBLIC_LEN], out[ECE_MAX_BODY], d[ECE_PRIVATE_LEN];
    size_t len = 0;
    ASSERT_TRUE(e != NULL && vector_load(&v));
    ASSERT_TRUE(ece_public_ok(v.ua_public));
    memcpy(key, v.ua_public, sizeof(key));
    key[64] ^= 1; /* off the curve */
    ASSERT_TRUE(!ece_public_ok(key));
    ASSERT_EQ(ece_encrypt(e, key, v.auth, (const unsigned char *)"x", 1, out, &len), -1);
    memcpy(key, v.ua_public, sizeof(key));
    key[0] = 0x06 | (key[64] & 1); /* the same point in hybrid form */
    ASSERT_TRUE(!ece_public_ok(key));
    ASSERT_EQ(ece_encrypt(e, key, v.auth, (const unsigned char *)"x", 1, out, &len), -1);
    memset(key, 0, sizeof(key));
    key[0] = 0x04;
    ASSERT_TRUE(!ece_public_ok(key));
    memset(key + 1, 0xff, 64); /* coordinates beyond the field */
    ASSERT_TRUE(!ece_public_ok(key));
    /* Private keys outside [1, n-1]. */
    memset(d, 0, sizeof(d));
    ASSERT_EQ(ece_encrypt_with(e, d, v.salt, v.ua_public, v.auth, (const unsigned char *)"x", 1,
                               out, &len),
              -1);
    memset(d, 0xff, sizeof(d));
    ASSERT_EQ(ece_encrypt_with(e, d, v.salt, v.ua_public, v.auth, (const unsigned char *)"x", 1,
                               out, &len),
              -1);
    /* And after all of that, the vector still comes out. */
    ASSERT_EQ(ece_encrypt_with(e, v.as_private, v.salt, v.ua_public, v.auth,
                               (const unsigned char *)RFC_PLAIN, strlen(RFC_PLAIN), out, &len),
              0);
    char b64[B64U_LEN(ECE_MAX_BODY) + 1];
    b64u_encode(out, len, b64);
    ASSERT_STR_EQ(b64, RFC_BODY);
    ece_free(e);
}

TEST_MAIN(TEST_CASE(test_rfc8291_appendix_a_byte_for_byte),
          TEST_CASE(test_what_it_encrypts_the_user_agent_decrypts),
          TEST_CASE(test_every_message_has_its_own_key_and_salt),
          TEST_CASE(test_keys_that_are_not_points_are_refused))
