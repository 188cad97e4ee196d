/*
 * es256 — see es256.h.
 */
#include "es256.h"

#include "b64u.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *es256_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char group[32] = "";
    if (f == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (key == NULL) {
        ERR_clear_error();
        snprintf(err, errlen, "%s is not a PEM private key", path);
        return NULL;
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) ||
        strcmp(group, "prime256v1") != 0) {
        snprintf(err, errlen, "%s is not a P-256 (prime256v1) EC key", path);
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

int es256_public(EVP_PKEY *key, unsigned char out[ES256_PUBLIC_LEN])
{
    size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out, ES256_PUBLIC_LEN,
                                         &len) ||
        len != ES256_PUBLIC_LEN || out[0] != 0x04) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

/* DER ECDSA-Sig-Value to r||s, each left-padded to 32 bytes. */
static int es256_raw(const unsigned char *der, size_t derlen, unsigned char raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    const BIGNUM *r, *s;
    int ok;
    if (sig == NULL)
        return -1;
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

char *es256_jwt(EVP_PKEY *key, const char *header_json, const char *claims_json)
{
    size_t hlen = strlen(header_json), clen = strlen(claims_json);
    size_t cap = B64U_LEN(hlen) + B64U_LEN(clen) + B64U_LEN(64) + 3;
    char *jwt = malloc(cap);
    unsigned char der[80], raw[64];
    size_t derlen = sizeof(der), n;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (jwt == NULL || md == NULL)
        goto fail;
    n = b64u_encode((const unsigned char *)header_json, hlen, jwt);
    jwt[n++] = '.';
    n += b64u_encode((const unsigned char *)claims_json, clen, jwt + n);
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &derlen, (const unsigned char *)jwt, n) != 1 ||
        es256_raw(der, derlen, raw))
        goto fail;
    jwt[n++] = '.';
    b64u_encode(raw, sizeof(raw), jwt + n);
    EVP_MD_CTX_free(md);
    return jwt;
fail:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(jwt);
    return NULL;
}
