/*
 * ece — see ece.h.
 */
#include "ece.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <string.h>

#define ECE_RECORD_SIZE 4096

static EVP_PKEY *ece_peer(const unsigned char pub[ECE_PUBLIC_LEN])
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, ECE_PUBLIC_LEN),
        OSSL_PARAM_END};
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

int ece_public_ok(const unsigned char key[ECE_PUBLIC_LEN])
{
    EVP_PKEY *pk;
    EVP_PKEY_CTX *ctx;
    int ok = 0;
    if (key[0] != 0x04 || (pk = ece_peer(key)) == NULL) {
        ERR_clear_error();
        return 0;
    }
    if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) != NULL)
        ok = EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return ok;
}

/* HMAC-SHA-256(key, a || b || 0x01): HKDF's extract (b NULL, no 0x01) or
 * its expand to one block (RFC 5869 with a single T(1)). */
static int ece_hmac(const unsigned char *key, size_t keylen, const unsigned char *a, size_t alen,
                    const unsigned char *b, size_t blen, int expand, unsigned char out[32])
{
    unsigned char msg[200];
    unsigned outlen = 32;
    if (alen + blen + 1 > sizeof(msg))
        return -1;
    memcpy(msg, a, alen);
    if (blen)
        memcpy(msg + alen, b, blen);
    if (expand)
        msg[alen + blen++] = 0x01;
    return HMAC(EVP_sha256(), key, (int)keylen, msg, alen + blen, out, &outlen) ? 0 : -1;
}

/* ECDH between a fresh key and the subscription's: the shared secret, and
 * the fresh public key. */
static int ece_agree(const unsigned char ua_public[ECE_PUBLIC_LEN], unsigned char secret[32],
                     unsigned char as_public[ECE_PUBLIC_LEN])
{
    EVP_PKEY *mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *peer = ece_peer(ua_public);
    EVP_PKEY_CTX *ctx = mine ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
    size_t slen = 32, plen = 0;
    int rc = -1;
    if (peer && ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
        EVP_PKEY_derive(ctx, secret, &slen) == 1 && slen == 32 &&
        EVP_PKEY_get_octet_string_param(mine, OSSL_PKEY_PARAM_PUB_KEY, as_public, ECE_PUBLIC_LEN,
                                        &plen) == 1 &&
        plen == ECE_PUBLIC_LEN)
        rc = 0;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
    ERR_clear_error();
    return rc;
}

/* RFC 8291, section 3.4: the content encryption key and nonce. */
static int ece_keys(const unsigned char ua_public[ECE_PUBLIC_LEN],
                    const unsigned char as_public[ECE_PUBLIC_LEN],
                    const unsigned char auth[ECE_AUTH_LEN], const unsigned char secret[32],
                    const unsigned char salt[ECE_SALT_LEN], unsigned char cek[16],
                    unsigned char nonce[12])
{
    static const char key_label[] = "WebPush: info"; /* with its NUL */
    static const char cek_label[] = "Content-Encoding: aes128gcm";
    static const char nonce_label[] = "Content-Encoding: nonce";
    unsigned char key_info[sizeof(key_label) + 2 * ECE_PUBLIC_LEN];
    unsigned char prk_key[32], ikm[32], prk[32], t[32];
    memcpy(key_info, key_label, sizeof(key_label));
    memcpy(key_info + sizeof(key_label), ua_public, ECE_PUBLIC_LEN);
    memcpy(key_info + sizeof(key_label) + ECE_PUBLIC_LEN, as_public, ECE_PUBLIC_LEN);
    if (ece_hmac(auth, ECE_AUTH_LEN, secret, 32, NULL, 0, 0, prk_key) ||
        ece_hmac(prk_key, 32, key_info, sizeof(key_info), NULL, 0, 1, ikm) ||
        ece_hmac(salt, ECE_SALT_LEN, ikm, 32, NULL, 0, 0, prk) ||
        ece_hmac(prk, 32, (const unsigned char *)cek_label, sizeof(cek_label), NULL, 0, 1, t))
        return -1;
    memcpy(cek, t, 16);
    if (ece_hmac(prk, 32, (const unsigned char *)nonce_label, sizeof(nonce_label), NULL, 0, 1, t))
        return -1;
    memcpy(nonce, t, 12);
    return 0;
}

static int ece_seal(const unsigned char cek[16], const unsigned char nonce[12],
                    const unsigned char *plain, size_t len, unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    unsigned char delimiter = 0x02; /* the last (and only) record */
    int n1 = 0, n2 = 0, n3 = 0, rc = -1;
    if (c && EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, cek, nonce) == 1 &&
        EVP_EncryptUpdate(c, out, &n1, plain, (int)len) == 1 &&
        EVP_EncryptUpdate(c, out + n1, &n2, &delimiter, 1) == 1 &&
        EVP_EncryptFinal_ex(c, out + n1 + n2, &n3) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, ECE_TAG_LEN, out + len + 1) == 1)
        rc = 0;
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int ece_encrypt(const unsigned char ua_public[ECE_PUBLIC_LEN],
                const unsigned char auth[ECE_AUTH_LEN], const unsigned char *plain, size_t len,
                unsigned char *out, size_t *outlen)
{
    unsigned char secret[32], cek[16], nonce[12];
    unsigned char *salt = out, *as_public = out + ECE_SALT_LEN + 5;
    if (len > ECE_MAX_PLAINTEXT || RAND_bytes(salt, ECE_SALT_LEN) != 1 ||
        ece_agree(ua_public, secret, as_public) ||
        ece_keys(ua_public, as_public, auth, secret, salt, cek, nonce))
        return -1;
    out[ECE_SALT_LEN] = (unsigned char)(ECE_RECORD_SIZE >> 24);
    out[ECE_SALT_LEN + 1] = (unsigned char)(ECE_RECORD_SIZE >> 16);
    out[ECE_SALT_LEN + 2] = (unsigned char)(ECE_RECORD_SIZE >> 8);
    out[ECE_SALT_LEN + 3] = (unsigned char)ECE_RECORD_SIZE;
    out[ECE_SALT_LEN + 4] = ECE_PUBLIC_LEN;
    if (ece_seal(cek, nonce, plain, len, out + ECE_HEADER_LEN))
        return -1;
    *outlen = ECE_HEADER_LEN + len + 1 + ECE_TAG_LEN;
    return 0;
}
