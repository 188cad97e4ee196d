/*
 * item — the alert item: parse, validate, fill defaults, encode.
 *
 * One module owns every rule of proto/alert.schema.json so that the
 * publisher (`alert`) and the relay (`alertd`) agree on what an item is. An
 * item lives as a jansson object; this module checks it, normalises it
 * (defaults, dropped fields) and encodes it compactly.
 *
 * Ids (itemid.h), times (itemtime.h), UTF-8 (itemutf8.h) and the checks of
 * single fields with the error record (itemcheck.h) are modules of their
 * own; this header includes them, as every user of an item needs them.
 *
 * Ownership: item_parse returns a new reference (json_decref it);
 * item_encode returns malloc'd text (free it). item_validate changes the
 * object it is given in place.
 */
#ifndef ALERT_ITEM_H
#define ALERT_ITEM_H

#include "itemcheck.h"
#include "itemid.h"
#include "itemtime.h"
#include "itemutf8.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ITEM_MAX_BYTES (16 * 1024) /* encoded item, whole */

/* Topics: slugs of [a-z0-9-], at most ITEM_TOPIC_MAX_LEN bytes, at most
 * ITEM_MAX_TOPICS per item. Filters and restricted topics use the same rule. */
#define ITEM_TOPIC_MAX_LEN 32
#define ITEM_MAX_TOPICS    16
#define ITEM_TOPIC_RULE    "[a-z0-9-]{1,32}" /* for messages */

/* Top-level fields, in the canonical order item_validate leaves them in
 * (what a client may pick with fields=: fields.h). */
#define ITEM_NKEYS 18
extern const char *const item_keys[ITEM_NKEYS];

/* The signature (PROTOCOL.md, "Signed alerts"): `sig` is the Ed25519
 * signature in base64url without padding, `kid` the signing key's id (the
 * first ITEM_KID_BYTES bytes of SHA-256 of the raw public key, base64url).
 * Both or neither; only a signer sets them (never a publisher's input), a
 * node relays them untouched. */
#define ITEM_SIG_BYTES 64
#define ITEM_SIG_LEN   86 /* base64url characters of 64 bytes */
#define ITEM_KID_BYTES 12
#define ITEM_KID_LEN   16 /* base64url characters of 12 bytes */

/* 1 when s[0..len) is a topic slug. */
int item_topic_ok(const char *s, size_t len);

/* 1 when s is a language tag as `lang` takes it (BCP 47, practically: a 2-8
 * letter primary subtag, then -subtags of 1-8 letters or digits, 35
 * characters at most). */
#define ITEM_LANG_MAX 35
int item_lang_ok(const char *s);

/* ------------------------------------------------------------------------
 * Validation
 * ---------------------------------------------------------------------- */
/* struct item_error (itemcheck.h): the field and the rule it broke. */

/* Modes of item_validate / item_parse. */
/* From a publisher: `id` is refused, unknown fields are refused, defaults
 * are filled (kind, version, urgency, lang, published_at = now). */
#define ITEM_PUBLISH 0x1u
/* From Redis, at a node: `id` is allowed (validated), unknown top-level
 * fields are removed and counted in *dropped; nothing else is changed. */
#define ITEM_RELAY 0x2u

/* Checks every rule of the schema; returns 0, or -1 with *err filled.
 * `dropped` may be NULL. */
int item_validate(json_t *item, unsigned mode, struct item_error *err, unsigned *dropped);

/* Decodes UTF-8 JSON text (which need not be NUL-terminated) and validates
 * it: text over ITEM_MAX_BYTES, invalid UTF-8, a NUL byte, duplicate keys,
 * nesting deeper than the schema allows and anything but an object are
 * refused with a clear message. Returns a new reference or NULL. */
json_t *item_parse(const char *text, size_t len, unsigned mode, struct item_error *err,
                   unsigned *dropped);

/* Compact JSON in the object's key order; malloc'd, NUL-terminated. *len
 * (if not NULL) gets its length. NULL on allocation failure. */
char *item_encode(const json_t *item, size_t *len);

#endif
