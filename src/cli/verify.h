/*
 * verify — what `alert tail --verify` decides about each alert it
 * receives (PROTOCOL.md, "Signed alerts"): whether it is signed by one of
 * the pinned keys, unaltered, fresh, and not a genuine alert sent again.
 *
 * The rules, checked in this order, each with the reason it gives:
 *   unsigned       no `sig` and `kid`
 *   unknown key    `kid` is none of the pinned keys'
 *   bad signature  `sig` is not the key's signature of the signed bytes
 *                  (a forged signature, or any field changed after signing)
 *   stale          published_at is more than max_age from the time in the
 *                  item's id (any item: a genuine alert stored again gets
 *                  a new id), or, for a live item (not part of a replay
 *                  asked for with since), from the reader's clock
 *   replayed       the same signature came earlier under another id (a
 *                  genuine alert stored again within max_age)
 *
 * Keys belong to the struct (verify_free releases them); nothing else is
 * allocated. The signatures of accepted alerts are remembered in a ring of
 * VERIFY_SEEN, enough for any rate of alerts within max_age.
 */
#ifndef ALERT_VERIFY_H
#define ALERT_VERIFY_H

#include "item.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>

#define VERIFY_MAX_KEYS 8    /* --verify files */
#define VERIFY_SEEN     1024 /* signatures remembered for replays */

enum verify_reason {
    VERIFY_OK,
    VERIFY_UNSIGNED,
    VERIFY_UNKNOWN_KEY,
    VERIFY_BAD_SIGNATURE,
    VERIFY_STALE,
    VERIFY_REPLAYED,
};

struct verify_seen {
    char sig[ITEM_SIG_LEN + 1];
    char id[ITEM_ID_STRLEN];
};

struct verify {
    EVP_PKEY *keys[VERIFY_MAX_KEYS];
    char kids[VERIFY_MAX_KEYS][ITEM_KID_LEN + 1];
    int nkeys;
    int64_t max_age_ms;
    struct verify_seen seen[VERIFY_SEEN];
    unsigned next; /* ring position */
};

/* Pins the public key in `path` (PEM). 0, or -1 with err (unreadable, not
 * Ed25519, too many keys, or the same key twice). */
int verify_add_key(struct verify *v, const char *path, char *err, size_t errlen);

/* Judges one item (with its id); `live`: not part of a replay. On any
 * reason but VERIFY_OK, `why` gets a sentence that starts with the
 * reason's name. */
enum verify_reason verify_item(struct verify *v, const json_t *item, int live, int64_t now_ms,
                               char *why, size_t whylen);

void verify_free(struct verify *v);

#endif
