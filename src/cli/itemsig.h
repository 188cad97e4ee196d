/*
 * itemsig — Ed25519 signatures over alert items (OpenSSL 3): the bytes a
 * signature covers, signing, checking, key ids and the key files.
 *
 * The signed bytes are the canonical JSON (jcs.h, RFC 8785) of the item
 * without `id` and `sig`: everything the publisher sets, `kid` and
 * `published_at` included, but not the id Redis assigns after signing
 * (PROTOCOL.md, "Signed alerts"). Canonical, so that nothing a relay does
 * to the encoding (member order, escapes, numbers) changes them.
 *
 * Key files are PEM: PKCS#8 for a private key ("BEGIN PRIVATE KEY", what
 * `openssl genpkey -algorithm ed25519` writes), SubjectPublicKeyInfo for a
 * public one ("BEGIN PUBLIC KEY"). A key id is the first ITEM_KID_BYTES of
 * SHA-256 over the 32-byte raw public key, in base64url.
 *
 * Ownership: keys are EVP_PKEY (EVP_PKEY_free them); itemsig_message
 * returns malloc'd bytes. Errors: -1 or NULL with a message in err.
 */
#ifndef ALERT_ITEMSIG_H
#define ALERT_ITEMSIG_H

#include "item.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

#define ITEMSIG_RAW_BYTES   32         /* an Ed25519 public key, raw */
#define ITEMSIG_RAW_LEN     43         /* its base64url characters */
#define ITEMSIG_MAX_AGE_SEC 300        /* default freshness window of a verifier */
#define ITEMSIG_KEYFILE_MAX (8 * 1024) /* a PEM key file is read up to this size */

/* The bytes a signature covers, malloc'd (NUL-terminated, not counted);
 * NULL when out of memory. */
char *itemsig_message(const json_t *item, size_t *len);

/* An Ed25519 private key from a PEM file that only its owner may read or
 * write: a file group or others may access is refused, naming its mode. */
EVP_PKEY *itemsig_load_private(const char *path, char *err, size_t errlen);

/* An Ed25519 public key from a PEM file (SubjectPublicKeyInfo). */
EVP_PKEY *itemsig_load_public(const char *path, char *err, size_t errlen);

/* The key id of a key (private or public); 0 or -1. */
int itemsig_key_id(EVP_PKEY *key, char kid[ITEM_KID_LEN + 1]);

/* The raw public key in base64url, as a web page pins it; 0 or -1. */
int itemsig_raw_public(EVP_PKEY *key, char out[ITEMSIG_RAW_LEN + 1]);

/* Signs the item with `key`: sets `kid`, then `sig` over the signed bytes
 * (an earlier signature is replaced). 0, or -1 with err. */
int itemsig_sign(json_t *item, EVP_PKEY *key, char *err, size_t errlen);

/* 1 when the item's `sig` is a signature by `key` of its signed bytes, 0
 * when not (or when `sig` is not of its shape), -1 when out of memory. */
int itemsig_check(const json_t *item, EVP_PKEY *key);

/* base64url without padding of n bytes; out has room for 4*n/3 + 3. */
void itemsig_b64url(const unsigned char *in, size_t n, char *out);

#endif
