/*
 * b64u — base64url without padding (RFC 4648, section 5), as JWTs, VAPID
 * keys and Web Push subscription keys use it.
 */
#ifndef PUSH_B64U_H
#define PUSH_B64U_H

#include <stddef.h>

/* The encoded length of n bytes (no terminator). */
#define B64U_LEN(n) (((n)*4 + 2) / 3)

/* Encodes n bytes into out, NUL-terminated; out holds B64U_LEN(n) + 1.
 * Returns the length written. */
size_t b64u_encode(const unsigned char *in, size_t n, char *out);

/* Decodes `len` characters (padding '=' at the end tolerated) into out,
 * which holds outcap bytes. Returns the decoded length, or -1 for a
 * character outside the alphabet, a length no encoding has, or too
 * little room. */
long b64u_decode(const char *in, size_t len, unsigned char *out, size_t outcap);

#endif
