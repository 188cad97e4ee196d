/*
 * notif — what one alert becomes as a notification: whether it is sent at
 * all (its kind, its urgency among those the operator selected, not yet
 * expired), the payload a device gets (JSON: id, kind, ref, version,
 * urgency, headline, url, lang, published_at, and summary when it fits),
 * until when it is worth delivering, its Web Push Urgency and its Topic
 * (the story: an update's ref, else its own id, so an update replaces
 * the notification still waiting in the push service). Pure.
 *
 * A retraction is a notification too, of another kind: it is sent to
 * withdraw its story (`ref`) from the devices that may show it, so it is
 * sent whatever its urgency (the fleet sends it only where its story was
 * sent), at Urgency high, with the story's Topic; its payload is the same
 * fields (id, kind, ref, version, lang, published_at and the reason as
 * summary). Each provider makes of it a message that shows nothing
 * (PROTOCOL.md, section 13).
 */
#ifndef PUSH_NOTIF_H
#define PUSH_NOTIF_H

#include "item.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Urgencies, as bits of the operator's selection (--urgencies). */
#define NOTIF_FLASH    0x1u
#define NOTIF_URGENT   0x2u
#define NOTIF_BULLETIN 0x4u
#define NOTIF_ROUTINE  0x8u

#define NOTIF_TOPIC_MAX 32 /* RFC 8030, section 5.4 */

struct notif {
    char id[ITEM_ID_STRLEN];
    char story[ITEM_ID_STRLEN];      /* an update's ref, else its own id: the collapse id */
    char topic[NOTIF_TOPIC_MAX + 1]; /* the story for Web Push; "" when longer */
    int retraction;                  /* 1: it withdraws `story` */
    unsigned urgency_bit;            /* NOTIF_* of the item's urgency; 0 for a retraction */
    const char *urgency;             /* RFC 8030 Urgency: high, normal, low */
    int64_t expires_ms;              /* not sent after this */
    json_t *topics;                  /* the alert's topics (owned), for matching */
    char lang[ITEM_LANG_MAX + 1];
    char *payload; /* JSON for the device (malloc'd) */
    size_t len;
};

/* "flash,bulletin" into a mask: 0, or -1 with err naming the word. */
int notif_urgencies_parse(const char *csv, unsigned *mask, char *err, size_t errlen);

/* The item with stream id `id` (its JSON without id): 1 when it is to be
 * sent (n filled; notif_free it; n->retraction for a retraction), 0 when
 * not (*why says why: an urgency not selected, expired), -1 when the item
 * is invalid (err).
 * Without expires_at it is worth sending for ttl_secs after publication. */
int notif_build(struct notif *n, const char *id, const char *text, size_t len, unsigned urgencies,
                int ttl_secs, int64_t now_ms, const char **why, struct item_error *err);

void notif_free(struct notif *n);

#endif
