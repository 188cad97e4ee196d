/*
 * ece — Web Push message encryption (RFC 8291) in the aes128gcm content
 * coding (RFC 8188): one record, a fresh ephemeral P-256 key and a random
 * salt per message, keyed to a subscription's p256dh and auth secrets.
 *
 * What does not change between messages is made once and kept in a
 * struct ece for the gateway's lifetime: the P-256 group (with its
 * Montgomery set-up and generator table), a BN_CTX, the HMAC-SHA-256 and
 * AES-128-GCM implementations and their contexts. OpenSSL 3.0's EVP key
 * path would rebuild the group and re-import the subscriber's key for every
 * message, a quarter of the CPU of one. Nothing secret outlives a call:
 * the ephemeral key, the shared secret and the derived keys are wiped,
 * and the contexts rekeyed with zeros.
 *
 * A struct ece is not thread-safe (its contexts are scratch space): one per
 * thread; alertd-push has one loop, one thread, one struct ece.
 */
#ifndef PUSH_ECE_H
#define PUSH_ECE_H

#include <stddef.h>

#define ECE_PUBLIC_LEN  65 /* p256dh: an uncompressed P-256 point */
#define ECE_PRIVATE_LEN 32 /* a P-256 private key, big-endian */
#define ECE_AUTH_LEN    16 /* auth secret */
#define ECE_SALT_LEN    16
/* salt, record size (4 bytes), key id length (1), key id (the ephemeral
 * public key) */
#define ECE_HEADER_LEN (ECE_SALT_LEN + 4 + 1 + ECE_PUBLIC_LEN)
#define ECE_TAG_LEN    16
/* Push services must take 4096-byte bodies (RFC 8030, section 7.2): what
 * is left after the header, the tag and the padding delimiter. */
#define ECE_MAX_BODY      4096
#define ECE_MAX_PLAINTEXT (ECE_MAX_BODY - ECE_HEADER_LEN - ECE_TAG_LEN - 1)

struct ece;

/* The kept state; NULL when OpenSSL cannot provide P-256, HMAC-SHA-256 or
 * AES-128-GCM, or out of memory. The caller owns it: ece_free. */
struct ece *ece_new(void);
void ece_free(struct ece *e);

/* 1 when `key` is a point on P-256 in uncompressed form. Needs no struct
 * ece (registrations are rare; it makes and frees a group). */
int ece_public_ok(const unsigned char key[ECE_PUBLIC_LEN]);

/* Encrypts `len` bytes (at most ECE_MAX_PLAINTEXT) for the subscription's
 * keys into out, which holds ECE_MAX_BODY bytes; *outlen gets the body's
 * length. A fresh ephemeral key pair and a fresh random salt every call.
 * 0, or -1 (a key that is not an uncompressed P-256 point, randomness or
 * memory). */
int ece_encrypt(struct ece *e, const unsigned char ua_public[ECE_PUBLIC_LEN],
                const unsigned char auth[ECE_AUTH_LEN], const unsigned char *plain, size_t len,
                unsigned char *out, size_t *outlen);

/* ece_encrypt's work with the ephemeral private key and the salt given
 * instead of drawn, so that RFC 8291's test vector (Appendix A) can be
 * reproduced byte for byte. RFC 8291 forbids using either for two
 * messages: the gateway sends only what ece_encrypt makes. -1 also for a
 * private key outside [1, n-1]. */
int ece_encrypt_with(struct ece *e, const unsigned char as_private[ECE_PRIVATE_LEN],
                     const unsigned char salt[ECE_SALT_LEN],
                     const unsigned char ua_public[ECE_PUBLIC_LEN],
                     const unsigned char auth[ECE_AUTH_LEN], const unsigned char *plain, size_t len,
                     unsigned char *out, size_t *outlen);

#endif
