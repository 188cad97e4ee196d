/*
 * itemid — alert ids: a Redis stream entry id "<ms>-<seq>", which is also
 * the alert's id on every transport. Ids compare as (ms, seq) and only grow.
 *
 * Pure functions on values; nothing here allocates.
 */
#ifndef ALERT_ITEMID_H
#define ALERT_ITEMID_H

#include <stdint.h>

struct item_id {
    uint64_t ms, seq;
};
#define ITEM_ID_STRLEN 42 /* "<20 digits>-<20 digits>" and NUL */

/* Strict: both parts decimal digits without sign or leading zero, each
 * fitting 64 bits. 0, or -1 (out untouched). out may be NULL to only check. */
int item_id_parse(const char *s, struct item_id *out);
int item_id_cmp(struct item_id a, struct item_id b); /* <0, 0, >0 */
void item_id_format(struct item_id id, char out[ITEM_ID_STRLEN]);

#endif
