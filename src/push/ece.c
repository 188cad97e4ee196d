/*
 * ece — see ece.h.
 *
 * The elliptic-curve work goes through EC_GROUP/EC_POINT, which OpenSSL
 * 3.0 keeps (not deprecated), rather than EVP_PKEY: the same
 * EC_POINT_mul calls its ECDH and key generation make, without a group
 * built and a key imported for every message.
 */
#include "ece.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define ECE_RECORD_SIZE 4096
#define ECE_SECRET_LEN  32 /* the ECDH shared secret: the x coordinate */

struct ece {
    EC_GROUP *group;
    BN_CTX *bn;
    BIGNUM *d;           /* the message's ephemeral private key, cleared after it */
    BIGNUM *x;           /* the shared point's x, cleared after use */
    EC_POINT *peer;      /* the subscriber's public key */
    EC_POINT *mine;      /* the ephemeral public key */
    EC_POINT *shared;    /* d times peer; overwritten with the generator after use */
    EVP_MAC_CTX *hmac;   /* HMAC-SHA-256, rekeyed for each use */
    EVP_CIPHER_CTX *gcm; /* AES-128-GCM, rekeyed for each message */
};

struct ece *ece_new(void)
{
    struct ece *e = calloc(1, sizeof(*e));
    EVP_MAC *mac = NULL;
    EVP_CIPHER *aes = NULL;
    OSSL_PARAM digest[] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_END};
    if (e == NULL)
        return NULL;
    if ((e->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
        (e->bn = BN_CTX_secure_new()) == NULL || (e->d = BN_secure_new()) == NULL ||
        (e->x = BN_secure_new()) == NULL || (e->peer = EC_POINT_new(e->group)) == NULL ||
        (e->mine = EC_POINT_new(e->group)) == NULL ||
        (e->shared = EC_POINT_new(e->group)) == NULL ||
        (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
        (e->hmac = EVP_MAC_CTX_new(mac)) == NULL || EVP_MAC_CTX_set_params(e->hmac, digest) != 1 ||
        (aes = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL)) == NULL ||
        (e->gcm = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_EncryptInit_ex2(e->gcm, aes, NULL, NULL, NULL) != 1) {
        ece_free(e);
        e = NULL;
    } else {
        BN_set_flags(e->d, BN_FLG_CONSTTIME);
    }
    EVP_MAC_free(mac); /* the contexts hold their own references */
    EVP_CIPHER_free(aes);
    ERR_clear_error();
    return e;
}

void ece_free(struct ece *e)
{
    if (e == NULL)
        return;
    EVP_CIPHER_CTX_free(e->gcm);
    EVP_MAC_CTX_free(e->hmac);
    EC_POINT_clear_free(e->shared);
    EC_POINT_free(e->mine);
    EC_POINT_free(e->peer);
    BN_clear_free(e->x);
    BN_clear_free(e->d);
    BN_CTX_free(e->bn);
    EC_GROUP_free(e->group);
    free(e);
}

/* An uncompressed point on the group: oct2point refuses coordinates out
 * of range and points off the curve (P-256's cofactor is 1: every point on
 * it has the group's order). */
static int ece_point(const EC_GROUP *group, EC_POINT *p, const unsigned char key[ECE_PUBLIC_LEN],
                     BN_CTX *bn)
{
    return key[0] == 0x04 && EC_POINT_oct2point(group, p, key, ECE_PUBLIC_LEN, bn) == 1 &&
                   EC_POINT_is_on_curve(group, p, bn) == 1
               ? 0
               : -1;
}

int ece_public_ok(const unsigned char key[ECE_PUBLIC_LEN])
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *p = group ? EC_POINT_new(group) : NULL;
    int ok = p != NULL && ece_point(group, p, key, NULL) == 0;
    EC_POINT_free(p);
    EC_GROUP_free(group);
    ERR_clear_error();
    return ok;
}

/* HMAC-SHA-256(key, msg || 0x01 when `expand`): HKDF's extract, or its
 * expand to one block (RFC 5869 with a single T(1)). */
static int ece_hmac(struct ece *e, const unsigned char *key, size_t keylen,
                    const unsigned char *msg, size_t msglen, int expand, unsigned char out[32])
{
    static const unsigned char one = 0x01;
    size_t outlen = 0;
    return EVP_MAC_init(e->hmac, key, keylen, NULL) == 1 &&
                   EVP_MAC_update(e->hmac, msg, msglen) == 1 &&
                   (!expand || EVP_MAC_update(e->hmac, &one, 1) == 1) &&
                   EVP_MAC_final(e->hmac, out, &outlen, 32) == 1 && outlen == 32
               ? 0
               : -1;
}

/* ECDH between e->d and the subscription's key: the shared secret, and
 * the ephemeral public key. */
static int ece_agree(struct ece *e, const unsigned char ua_public[ECE_PUBLIC_LEN],
                     unsigned char secret[ECE_SECRET_LEN], unsigned char as_public[ECE_PUBLIC_LEN])
{
    int rc = -1;
    if (ece_point(e->group, e->peer, ua_public, e->bn) == 0 &&
        EC_POINT_mul(e->group, e->mine, e->d, NULL, NULL, e->bn) == 1 &&
        EC_POINT_point2oct(e->group, e->mine, POINT_CONVERSION_UNCOMPRESSED, as_public,
                           ECE_PUBLIC_LEN, e->bn) == ECE_PUBLIC_LEN &&
        EC_POINT_mul(e->group, e->shared, NULL, e->peer, e->d, e->bn) == 1 &&
        EC_POINT_get_affine_coordinates(e->group, e->shared, e->x, NULL, e->bn) == 1 &&
        BN_bn2binpad(e->x, secret, ECE_SECRET_LEN) == ECE_SECRET_LEN)
        rc = 0;
    BN_clear(e->x);
    EC_POINT_copy(e->shared, EC_GROUP_get0_generator(e->group));
    return rc;
}

/* RFC 8291, section 3.4: the content encryption key and nonce. */
static int ece_keys(struct ece *e, const unsigned char ua_public[ECE_PUBLIC_LEN],
                    const unsigned char as_public[ECE_PUBLIC_LEN],
                    const unsigned char auth[ECE_AUTH_LEN],
                    const unsigned char secret[ECE_SECRET_LEN],
                    const unsigned char salt[ECE_SALT_LEN], unsigned char cek[16],
                    unsigned char nonce[12])
{
    static const char key_label[] = "WebPush: info"; /* with its NUL */
    static const char cek_label[] = "Content-Encoding: aes128gcm";
    static const char nonce_label[] = "Content-Encoding: nonce";
    unsigned char key_info[sizeof(key_label) + 2 * ECE_PUBLIC_LEN];
    unsigned char prk_key[32], ikm[32], prk[32], t[32];
    int rc = -1;
    memcpy(key_info, key_label, sizeof(key_label));
    memcpy(key_info + sizeof(key_label), ua_public, ECE_PUBLIC_LEN);
    memcpy(key_info + sizeof(key_label) + ECE_PUBLIC_LEN, as_public, ECE_PUBLIC_LEN);
    if (ece_hmac(e, auth, ECE_AUTH_LEN, secret, ECE_SECRET_LEN, 0, prk_key) == 0 &&
        ece_hmac(e, prk_key, 32, key_info, sizeof(key_info), 1, ikm) == 0 &&
        ece_hmac(e, salt, ECE_SALT_LEN, ikm, 32, 0, prk) == 0 &&
        ece_hmac(e, prk, 32, (const unsigned char *)cek_label, sizeof(cek_label), 1, t) == 0) {
        memcpy(cek, t, 16);
        if (ece_hmac(e, prk, 32, (const unsigned char *)nonce_label, sizeof(nonce_label), 1, t) ==
            0) {
            memcpy(nonce, t, 12);
            rc = 0;
        }
    }
    OPENSSL_cleanse(prk_key, sizeof(prk_key));
    OPENSSL_cleanse(ikm, sizeof(ikm));
    OPENSSL_cleanse(prk, sizeof(prk));
    OPENSSL_cleanse(t, sizeof(t));
    return rc;
}

static int ece_seal(struct ece *e, const unsigned char cek[16], const unsigned char nonce[12],
                    const unsigned char *plain, size_t len, unsigned char *out)
{
    unsigned char delimiter = 0x02; /* the last (and only) record */
    int n1 = 0, n2 = 0, n3 = 0;
    return EVP_EncryptInit_ex2(e->gcm, NULL, cek, nonce, NULL) == 1 &&
                   EVP_EncryptUpdate(e->gcm, out, &n1, plain, (int)len) == 1 &&
                   EVP_EncryptUpdate(e->gcm, out + n1, &n2, &delimiter, 1) == 1 &&
                   EVP_EncryptFinal_ex(e->gcm, out + n1 + n2, &n3) == 1 &&
                   EVP_CIPHER_CTX_ctrl(e->gcm, EVP_CTRL_GCM_GET_TAG, ECE_TAG_LEN, out + len + 1) ==
                       1
               ? 0
               : -1;
}

/* The contexts keyed with zeros: the last message's key schedules (the
 * CEK's, the PRK's HMAC state) do not outlive the call. */
static void ece_forget(struct ece *e)
{
    static const unsigned char zero[32];
    EVP_EncryptInit_ex2(e->gcm, NULL, zero, zero, NULL);
    EVP_MAC_init(e->hmac, zero, sizeof(zero), NULL);
}

/* The body for e->d and the salt, which the caller has put at out[0]. */
static int ece_body(struct ece *e, const unsigned char ua_public[ECE_PUBLIC_LEN],
                    const unsigned char auth[ECE_AUTH_LEN], const unsigned char *plain, size_t len,
                    unsigned char *out, size_t *outlen)
{
    unsigned char secret[ECE_SECRET_LEN], cek[16], nonce[12];
    unsigned char *as_public = out + ECE_SALT_LEN + 5;
    int rc = -1;
    out[ECE_SALT_LEN] = (unsigned char)(ECE_RECORD_SIZE >> 24);
    out[ECE_SALT_LEN + 1] = (unsigned char)(ECE_RECORD_SIZE >> 16);
    out[ECE_SALT_LEN + 2] = (unsigned char)(ECE_RECORD_SIZE >> 8);
    out[ECE_SALT_LEN + 3] = (unsigned char)ECE_RECORD_SIZE;
    out[ECE_SALT_LEN + 4] = ECE_PUBLIC_LEN;
    if (ece_agree(e, ua_public, secret, as_public) == 0 &&
        ece_keys(e, ua_public, as_public, auth, secret, out, cek, nonce) == 0 &&
        ece_seal(e, cek, nonce, plain, len, out + ECE_HEADER_LEN) == 0) {
        *outlen = ECE_HEADER_LEN + len + 1 + ECE_TAG_LEN;
        rc = 0;
    }
    BN_clear(e->d);
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(cek, sizeof(cek));
    OPENSSL_cleanse(nonce, sizeof(nonce));
    ece_forget(e);
    ERR_clear_error();
    return rc;
}

int ece_encrypt(struct ece *e, const unsigned char ua_public[ECE_PUBLIC_LEN],
                const unsigned char auth[ECE_AUTH_LEN], const unsigned char *plain, size_t len,
                unsigned char *out, size_t *outlen)
{
    const BIGNUM *order = EC_GROUP_get0_order(e->group);
    if (len > ECE_MAX_PLAINTEXT)
        return -1;
    if (RAND_bytes(out, ECE_SALT_LEN) != 1) {
        ERR_clear_error();
        return -1;
    }
    /* As OpenSSL's own EC key generation: uniform in [0, n), zero redrawn. */
    do
        if (BN_priv_rand_range_ex(e->d, order, 0, e->bn) != 1) {
            BN_clear(e->d);
            ERR_clear_error();
            return -1;
        }
    while (BN_is_zero(e->d));
    return ece_body(e, ua_public, auth, plain, len, out, outlen);
}

int ece_encrypt_with(struct ece *e, const unsigned char as_private[ECE_PRIVATE_LEN],
                     const unsigned char salt[ECE_SALT_LEN],
                     const unsigned char ua_public[ECE_PUBLIC_LEN],
                     const unsigned char auth[ECE_AUTH_LEN], const unsigned char *plain, size_t len,
                     unsigned char *out, size_t *outlen)
{
    if (len > ECE_MAX_PLAINTEXT || BN_bin2bn(as_private, ECE_PRIVATE_LEN, e->d) == NULL ||
        BN_is_zero(e->d) || BN_cmp(e->d, EC_GROUP_get0_order(e->group)) >= 0) {
        BN_clear(e->d);
        ERR_clear_error();
        return -1;
    }
    memcpy(out, salt, ECE_SALT_LEN);
    return ece_body(e, ua_public, auth, plain, len, out, outlen);
}
