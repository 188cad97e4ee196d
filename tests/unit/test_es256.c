/*
 * test_es256 — ES256 JWTs: three base64url parts, the header and claims as
 * given, and a 64-byte r||s signature that verifies once made DER again
 * (OpenSSL signs in DER; JWS wants r||s).
 */
#include "b64u.h"
#include "es256.h"
#include "test.h"

#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static EVP_PKEY *test_key(char *path, size_t len)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char err[200];
    snprintf(path, len, "/tmp/test_es256_%d.pem", (int)getpid());
    FILE *f = fopen(path, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(key);
    return es256_load(path, err, sizeof(err));
}

static int verify(EVP_PKEY *key, const char *jwt)
{
    const char *dot2 = strrchr(jwt, '.');
    unsigned char raw[64], der[80], *p = der;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;
    if (b64u_decode(dot2 + 1, strlen(dot2 + 1), raw, sizeof(raw)) != 64)
        return 0;
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
    int derlen = i2d_ECDSA_SIG(sig, &p);
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)jwt,
                          (size_t)(dot2 - jwt)) == 1;
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return ok;
}

static void test_a_jwt_verifies_and_carries_what_was_given(void)
{
    char path[64], part[128];
    EVP_PKEY *key = test_key(path, sizeof(path));
    ASSERT_TRUE(key != NULL);
    for (int i = 0; i < 20; i++) { /* r or s with leading zero bytes come up too */
        char *jwt = es256_jwt(key, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}", "{\"aud\":\"x\"}");
        ASSERT_TRUE(jwt != NULL);
        const char *dot1 = strchr(jwt, '.');
        long n = b64u_decode(jwt, (size_t)(dot1 - jwt), (unsigned char *)part, sizeof(part));
        ASSERT_TRUE(n > 0);
        part[n] = '\0';
        ASSERT_STR_EQ(part, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}");
        ASSERT_EQ(strlen(strrchr(jwt, '.') + 1), (size_t)B64U_LEN(64));
        ASSERT_TRUE(verify(key, jwt));
        jwt[5] ^= 1; /* the header changed: the signature no longer holds */
        ASSERT_TRUE(!verify(key, jwt));
        free(jwt);
    }
    unsigned char pub[ES256_PUBLIC_LEN];
    ASSERT_EQ(es256_public(key, pub), 0);
    ASSERT_EQ(pub[0], 0x04);
    EVP_PKEY_free(key);
    unlink(path);
}

static void test_keys_that_are_not_p256_are_refused(void)
{
    char err[200], path[64];
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    snprintf(path, sizeof(path), "/tmp/test_es256_rsa_%d.pem", (int)getpid());
    FILE *f = fopen(path, "w");
    PEM_write_PrivateKey(f, rsa, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(rsa);
    ASSERT_TRUE(es256_load(path, err, sizeof(err)) == NULL);
    ASSERT_CONTAINS(err, "P-256");
    unlink(path);
    ASSERT_TRUE(es256_load("/nonexistent/key.pem", err, sizeof(err)) == NULL);
    ASSERT_CONTAINS(err, "cannot open");
}

TEST_MAIN(TEST_CASE(test_a_jwt_verifies_and_carries_what_was_given),
          TEST_CASE(test_keys_that_are_not_p256_are_refused))
