/*
 * fold — how updates and retractions fold into the alerts they revise: the
 * one rule the node's hub (replays, SSE, REST, what it keeps in memory) and
 * `alert list` both follow, so that a reader ends in the same state
 * whichever of them it reads.
 *
 * The versions of one story share a root: an alert is its own root, an
 * update or a retraction names its root in `ref` (the CLI always names the
 * original; a ref naming an update means that update's root, which the
 * reader resolves when it holds the update). When two versions of a story
 * meet, fold_meet says which one is served:
 *   - a retraction withdraws every other version, older or newer: a
 *     retracted story is served only as its retractions (the tombstones:
 *     id, kind, ref, the reason as summary; nothing of the story's text);
 *   - otherwise the newer version wins: a story is served as its newest
 *     version, at that version's own place in id order.
 * Live readers still get every version as it comes; only replays and
 * reads of the history fold.
 *
 * Pure functions on values; nothing here allocates.
 */
#ifndef ALERT_FOLD_H
#define ALERT_FOLD_H

#include "itemid.h"

#include <jansson.h>

enum fold_kind { FOLD_ALERT, FOLD_UPDATE, FOLD_RETRACTION };

/* One version of a story. */
struct fold_ver {
    struct item_id id, root;
    enum fold_kind kind;
};

/* The version a validated item is (its kind, and its ref as root, or its
 * own id for an alert). 0, or -1 when an update or retraction has no
 * valid ref (item_validate refuses those). */
int fold_ver_of(const json_t *item, struct item_id id, struct fold_ver *v);

/* Two versions of one story meet: which is served. */
enum fold_verdict {
    FOLD_BOTH,       /* two retractions: both are tombstones */
    FOLD_DROP_OLDER, /* the older is superseded or withdrawn */
    FOLD_DROP_NEWER  /* the newer revises a withdrawn story: never served */
};
enum fold_verdict fold_meet(enum fold_kind newer, enum fold_kind older);

#endif
