/*
 * jwt.h — minting HS256 tokens for unit tests (header-only, like test.h):
 * base64url and the HMAC, from OpenSSL, independent of grant.c's parser.
 */
#ifndef ALERT_TEST_JWT_H
#define ALERT_TEST_JWT_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

/* base64url of len bytes, no padding, appended to out. */
static inline void jwt_b64url(const unsigned char *in, size_t len, char *out)
{
    unsigned char tmp[1024];
    int n = EVP_EncodeBlock(tmp, in, (int)len);
    while (n > 0 && tmp[n - 1] == '=')
        n--;
    size_t o = strlen(out);
    for (int i = 0; i < n; i++)
        out[o++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
    out[o] = '\0';
}

/* header.payload.signature for the two JSON texts, signed with key. */
static inline void jwt_mint(char *out, const char *key, const char *header, const char *payload)
{
    unsigned char mac[32];
    unsigned int maclen = 0;
    out[0] = '\0';
    jwt_b64url((const unsigned char *)header, strlen(header), out);
    strcat(out, ".");
    jwt_b64url((const unsigned char *)payload, strlen(payload), out);
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)out, strlen(out), mac,
         &maclen);
    strcat(out, ".");
    jwt_b64url(mac, maclen, out);
}

#endif
