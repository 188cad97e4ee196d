/*
 * embargo — what the CLI and the nodes agree on about embargoed alerts:
 * the handle an embargoed alert is known by until its release, and the
 * record it is kept as meanwhile.
 *
 * An embargoed alert is not in the stream: it waits in two keys (rkeys.h),
 *   P:embargo        hash: handle -> record
 *   P:embargo:due    sorted set: handle, scored by its release time (Unix ms)
 * and a node's release script (server/release.c) moves it into the stream
 * at its time, where XADD gives it its id. After that, for
 * EMBARGO_RELEASED_TTL seconds,
 *   P:embargo:released:<handle>   string: the id it was released as
 * lets `alert update`/`retract` of the handle reach the published alert.
 *
 * The record is "<maxlen> <item>": the publisher's XADD MAXLEN ~ N, one
 * space, then the item JSON exactly as the publish script would store it
 * (no "id", "version" first, published_at = the release time).
 */
#ifndef ALERT_EMBARGO_H
#define ALERT_EMBARGO_H

#include <stddef.h>
#include <stdint.h>

/* "emb-" and 16 lowercase hex digits (64 random bits): never a stream id. */
#define EMBARGO_HANDLE_PREFIX "emb-"
#define EMBARGO_HANDLE_HEX    16
#define EMBARGO_HANDLE_STRLEN (sizeof(EMBARGO_HANDLE_PREFIX) - 1 + EMBARGO_HANDLE_HEX + 1)

#define EMBARGO_RELEASED_TTL (24 * 3600)                /* seconds a released handle resolves */
#define EMBARGO_AHEAD_MAX_MS (366LL * 24 * 3600 * 1000) /* the latest release: 366 days on */

/* 1 if s is a well-formed handle. */
int embargo_handle_ok(const char *s);

/* Splits a record into its maxlen and item; 0, or -1 if it is not one. */
int embargo_record_split(const char *rec, size_t len, long *maxlen, const char **item,
                         size_t *item_len);

#endif
