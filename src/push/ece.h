/*
 * ece — Web Push message encryption (RFC 8291) in the aes128gcm content
 * coding (RFC 8188): one record, a fresh ephemeral P-256 key and a random
 * salt per message, keyed to a subscription's p256dh and auth secrets.
 */
#ifndef PUSH_ECE_H
#define PUSH_ECE_H

#include <stddef.h>

#define ECE_PUBLIC_LEN 65 /* p256dh: an uncompressed P-256 point */
#define ECE_AUTH_LEN   16 /* auth secret */
#define ECE_SALT_LEN   16
/* salt, record size (4 bytes), key id length (1), key id (the ephemeral
 * public key) */
#define ECE_HEADER_LEN (ECE_SALT_LEN + 4 + 1 + ECE_PUBLIC_LEN)
#define ECE_TAG_LEN    16
/* Push services must take 4096-byte bodies (RFC 8030, section 7.2): what
 * is left after the header, the tag and the padding delimiter. */
#define ECE_MAX_BODY      4096
#define ECE_MAX_PLAINTEXT (ECE_MAX_BODY - ECE_HEADER_LEN - ECE_TAG_LEN - 1)

/* 1 when `key` is a point on P-256 in uncompressed form. */
int ece_public_ok(const unsigned char key[ECE_PUBLIC_LEN]);

/* Encrypts `len` bytes (at most ECE_MAX_PLAINTEXT) for the subscription's
 * keys into out, which holds ECE_MAX_BODY bytes; *outlen gets the body's
 * length. 0, or -1 (a key OpenSSL refuses, randomness or memory). */
int ece_encrypt(const unsigned char ua_public[ECE_PUBLIC_LEN],
                const unsigned char auth[ECE_AUTH_LEN], const unsigned char *plain, size_t len,
                unsigned char *out, size_t *outlen);

#endif
