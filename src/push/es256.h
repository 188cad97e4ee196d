/*
 * es256 — ES256 JSON Web Tokens (RFC 7515/7518): ECDSA on P-256 with
 * SHA-256, the signature as the 64 bytes r||s that JWS requires (OpenSSL
 * gives DER). VAPID signs with it today, APNs' provider tokens will.
 *
 * The key is an EVP_PKEY the caller owns.
 */
#ifndef PUSH_ES256_H
#define PUSH_ES256_H

#include <openssl/evp.h>
#include <stddef.h>

#define ES256_PUBLIC_LEN 65 /* uncompressed point: 0x04 || X || Y */

/* Loads a PEM P-256 private key (SEC 1 "EC PRIVATE KEY" or PKCS#8).
 * NULL with err set when the file is unreadable, not a key or not P-256. */
EVP_PKEY *es256_load(const char *path, char *err, size_t errlen);

/* The public key as an uncompressed point into out[ES256_PUBLIC_LEN]. */
int es256_public(EVP_PKEY *key, unsigned char out[ES256_PUBLIC_LEN]);

/* A signed JWT: base64url(header) "." base64url(claims) "." base64url(r||s),
 * header and claims given as JSON text. Returns a malloc'd string, or NULL
 * (out of memory, or OpenSSL refused). */
char *es256_jwt(EVP_PKEY *key, const char *header_json, const char *claims_json);

#endif
