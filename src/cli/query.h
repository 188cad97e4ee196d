/*
 * query — reading the history back: one entry by id, the recent entries
 * newest first (filtered by topic and language), and the numbers `alert
 * status` shows. Nothing here writes to Redis or prints.
 *
 * Ownership: json_t results are new references (json_decref them).
 */
#ifndef ALERT_QUERY_H
#define ALERT_QUERY_H

#include "item.h"

#include <hiredis.h>
#include <jansson.h>
#include <stddef.h>

#define QUERY_OK        0
#define QUERY_ERR_REDIS -1 /* unreachable, refused, unexpected reply */
#define QUERY_NOT_FOUND -2 /* no such entry */
#define QUERY_ERR_ITEM  -3 /* the entry holds no valid item */

/* The item stored under `id` (validated as a node would, without "id").
 * Returns QUERY_OK with *out set, or an error code with a message in err. */
int query_fetch(redisContext *c, const char *prefix, const char *id, json_t **out, char *err,
                size_t errlen);

struct query_filter {
    long limit;        /* items wanted, 1-1000 */
    const char *topic; /* only items with this topic, or NULL */
    const char *lang;  /* only items in this language, or NULL */
    long scan_max;     /* entries examined at most (filters and folding may skip many) */
};

/* The newest items matching the filter, newest first, each with "id" as
 * its first member, folded as a node folds them (fold.h): each story once,
 * as its newest version, a retracted one only as its retractions. Entries that hold no valid item
 * are skipped and counted in *skipped. Returns a new array or NULL with a message in err. */
json_t *query_recent(redisContext *c, const char *prefix, const struct query_filter *f,
                     unsigned *skipped, char *err, size_t errlen);

struct query_status {
    long long nodes;                          /* PUBSUB NUMSUB P:live */
    long long length;                         /* XLEN P:stream */
    char last_id[ITEM_ID_STRLEN];             /* newest entry, "" when the stream is empty */
    char last_published_at[ITEM_TIME_STRLEN]; /* of that entry, "" if unknown */
};

int query_status(redisContext *c, const char *prefix, struct query_status *out, char *err,
                 size_t errlen);

#endif
