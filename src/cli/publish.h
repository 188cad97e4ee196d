/*
 * publish — puts one item into Redis: the Lua script that appends it to the
 * stream, publishes it on the live channel and records the idempotency key,
 * all in one atomic step, and the call that runs it.
 *
 * Redis keys, for a prefix P (default "alert"):
 *   P:stream       Stream, one entry per item, field `item` = the JSON
 *   P:live         pub/sub channel, message = the item JSON with "id" first
 *   P:idem:<key>   idempotency key -> id, 24 h
 *   P:ver:<root>   last version given to the alert <root> and its updates, 30 days
 *
 * The script and its contract are documented in publish.c.
 */
#ifndef ALERT_PUBLISH_H
#define ALERT_PUBLISH_H

#include "item.h"

#include <hiredis.h>
#include <stddef.h>

#define PUBLISH_IDEM_TTL (24 * 3600)      /* seconds an idempotency key is kept */
#define PUBLISH_VER_TTL  (30 * 24 * 3600) /* seconds a version counter is kept */

/* Room the live message needs on top of the stored item: "id":"<id>", */
#define PUBLISH_ID_OVERHEAD (ITEM_ID_STRLEN + 8)

struct publish_request {
    const char *prefix;   /* key prefix */
    const char *item;     /* encoded item without "id", whose first member is
                             "version" (the script rewrites it for an update) */
    size_t item_len;      /* length of item */
    const char *kind;     /* "alert", "update" or "retraction" */
    const char *ref;      /* id the update/retraction refers to; NULL for an alert */
    const char *idem_key; /* --key, or NULL */
    long maxlen;          /* XADD MAXLEN ~ */
    int durable;          /* 1: publish_wait follows (a duplicate then rewrites its key) */
    int signed_item;      /* the item is signed: its version is never rewritten */
};

struct publish_result {
    char id[ITEM_ID_STRLEN]; /* the new entry's id (or the earlier one, if duplicate) */
    long long subscribers;   /* PUBLISH's answer: nodes subscribed to P:live */
    int duplicate;           /* 1: the idempotency key was known; nothing published */
    long long version;       /* version the item was stored with; 0 if duplicate;
                                the version due, with PUBLISH_ERR_VERSION */
};

/* Outcomes of publish_item. */
#define PUBLISH_OK        0
#define PUBLISH_ERR_REDIS -1 /* unreachable, refused, or an unexpected reply */
#define PUBLISH_ERR_REF   -2 /* ref is not in the stream (unknown or trimmed) */
#define PUBLISH_ERR_INPUT -3 /* the request itself is malformed */
/* The command was sent whole but no answer came (a timeout, a lost
 * connection): Redis may have run it. Nothing else is "unknown": a command
 * not sent whole is never run, and an error answer means nothing was
 * written (the script checks everything before its first write). */
#define PUBLISH_ERR_UNKNOWN -4
/* A signed update carries a version other than the one its story is due
 * (another update came first): nothing was written; *out's version says
 * which one to sign again with. */
#define PUBLISH_ERR_VERSION -5

/* Runs the script (EVALSHA, then EVAL if Redis does not have it cached).
 * Returns PUBLISH_OK with *out filled, or an error code with a message in
 * err. With an idempotency key (always, from `alert`), running it again
 * after PUBLISH_ERR_UNKNOWN publishes at most once. */
int publish_item(redisContext *c, const struct publish_request *req, struct publish_result *out,
                 char *err, size_t errlen);

/* After publish_item on the same connection: WAIT until `replicas`
 * replicas hold every write this connection made, or `timeout_ms` passed.
 * Returns the number of replicas that confirmed (*confirmed), which may be
 * fewer than asked; -1 with a message in err when Redis refused WAIT or
 * did not answer (then nothing is confirmed). */
int publish_wait(redisContext *c, int replicas, long timeout_ms, long long *confirmed, char *err,
                 size_t errlen);

#endif
