/*
 * fields — which item fields a client receives (`fields=` in its URL,
 * proto/PROTOCOL.md section 1): the names it may pick, a list parsed into
 * a set, and the set written out for its hello frame. alertd encodes
 * alerts by it; `alert tail --fields` checks its list with it.
 *
 * A set is a bit mask: bit i is item_keys[i] (item.h), the signature
 * fields `kid` and `sig` (PROTOCOL.md, "Signed alerts") among them. `id`, `kind`,
 * `ref`, `sig` and `kid` are in every set, so that an update, a retraction
 * and a signature still mean something to a client that asked for little.
 * A set holding every field is the full item. Pure: no sockets, no lws.
 */
#ifndef ALERTD_FIELDS_H
#define ALERTD_FIELDS_H

#include "item.h"

#include <stddef.h>
#include <stdint.h>

#define FIELDS_KID    (UINT32_C(1) << 16) /* item_keys[16] */
#define FIELDS_SIG    (UINT32_C(1) << 17) /* item_keys[17] */
#define FIELDS_NNAMES ITEM_NKEYS
#define FIELDS_ALL    ((UINT32_C(1) << FIELDS_NNAMES) - 1)
/* id, kind, ref (item_keys[0..2]) and the signature fields. */
#define FIELDS_ALWAYS (UINT32_C(0x7) | FIELDS_SIG | FIELDS_KID)
_Static_assert(FIELDS_NNAMES <= 32, "a field set is a 32-bit mask");

/* The bit of the field named key[0..len), 0 for a name not known. */
uint32_t fields_bit(const char *key, size_t len);

/* A comma-separated list of field names ("headline,url") into a set, the
 * always-present fields added; an empty list is the full item. 0, or -1
 * with err naming every unknown name. */
int fields_parse(const char *csv, uint32_t *set, char *err, size_t errlen);

/* The set as a JSON array of names, in item order ("[\"id\",\"kind\",…]"):
 * its length, or -1 when it does not fit out. */
int fields_json(uint32_t set, char *out, size_t len);

#endif
