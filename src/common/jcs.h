/*
 * jcs — the canonical JSON text of a value, as RFC 8785 (JSON
 * Canonicalization Scheme) defines it: no whitespace; object members
 * sorted by their names compared as UTF-16 code units; strings escaped as
 * ECMAScript's JSON.stringify escapes them (\" \\ \b \f \n \r \t, other
 * controls as \u00xx, everything else as UTF-8); numbers printed as
 * ECMAScript prints an IEEE 754 double (shortest digits that read back
 * the same; 1e21 and up, and below 1e-6, in exponent form).
 *
 * Why a module: a signature must not depend on how a relay re-encodes an
 * item (member order, spacing, escapes, 1.0 against 1, a real printed
 * with 17 digits). The signer and every verifier sign and check the
 * canonical text of the value, never the bytes that travelled; in
 * JavaScript it is JSON.stringify over members sorted with the default
 * sort (PROTOCOL.md, "Signed alerts").
 *
 * An integer is canonicalized as the double it is closest to, as any
 * JSON reader in JavaScript sees it. Pure functions; jcs_encode allocates
 * the text it returns.
 */
#ifndef ALERT_JCS_H
#define ALERT_JCS_H

#include <jansson.h>
#include <stddef.h>

#define JCS_NUMBER_MAX 32 /* the longest number text and its NUL: "-1.2345678901234567e-308" */

/* The canonical text of v, malloc'd and NUL-terminated; *len (if not NULL)
 * gets its length. NULL when out of memory or when a string is not valid
 * UTF-8 (jansson never makes one). */
char *jcs_encode(const json_t *v, size_t *len);

/* The ECMAScript text of a finite double; 0, or -1 for NaN or infinity. */
int jcs_number(double d, char out[JCS_NUMBER_MAX]);

#endif
