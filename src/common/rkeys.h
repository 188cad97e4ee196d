/*
 * rkeys — the names alertd's data has in Redis, for a key prefix P
 * (default "alert"; `alert --prefix`, `alertd --prefix`):
 *
 *   P:stream       Stream: the history, one entry per item (field `item`)
 *   P:live         pub/sub channel: each item as published, with its id
 *   P:idem:<key>   idempotency key -> id, 24 h
 *   P:ver:<root>   the last version of an alert and its updates, 30 days
 *   P:hb:<tag>     pub/sub channel: one node worker's liveness probe
 *   P:embargo      hash: embargoed alerts waiting, handle -> record (embargo.h)
 *   P:embargo:due  sorted set: the same handles, scored by release time (ms)
 *   P:embargo:released:<handle>   the id a handle was released as, 24 h
 *   P:push:reg:<n>      hash: registration id -> registration (alertd-push)
 *   P:push:jobs         Stream: one entry per alert and shard to send
 *   P:push:item:<id>    string: an alert being sent, 24 h
 *   P:push:sent:<id>:<n> set: registrations done for that alert and shard
 *   P:push:sending:<id>:<n> set: registrations whose request may have
 *                        been written (marked before it), 24 h
 *   P:push:story:<root>      string: a version of that story was sent, 24 h
 *   P:push:retracted:<root>  string: that story was retracted (the
 *                            retraction's id): its sends stop, 24 h
 *   P:rcpt:<id>    set: the nodes that counted receipts for alert <id>
 *   P:rcpt:<id>:<node>  hash: that node's receipts (receipt.h), 7 days
 *
 * Every program builds these names here, so that they cannot drift apart;
 * ARCHITECTURE.md ("Redis") says what each holds and who writes it.
 */
#ifndef ALERT_RKEYS_H
#define ALERT_RKEYS_H

#include <stddef.h>

#define RKEYS_PREFIX_DEFAULT "alert"

#define RKEYS_STREAM         ":stream"
#define RKEYS_LIVE           ":live"
#define RKEYS_IDEM           ":idem:"
#define RKEYS_VER            ":ver:"
#define RKEYS_HB             ":hb:"
#define RKEYS_RCPT           ":rcpt:"
#define RKEYS_PUSH_REG       ":push:reg:"
#define RKEYS_PUSH_JOBS      ":push:jobs"
#define RKEYS_PUSH_ITEM      ":push:item:"
#define RKEYS_PUSH_SENT      ":push:sent:"
#define RKEYS_PUSH_STORY     ":push:story:"
#define RKEYS_PUSH_RETRACTED ":push:retracted:"
#define RKEYS_PUSH_MARK      ":push:sending:" /* feed.h */

#define RKEYS_EMBARGO          ":embargo"
#define RKEYS_EMBARGO_DUE      ":embargo:due"
#define RKEYS_EMBARGO_RELEASED ":embargo:released:"

/* prefix, then one of the suffixes above, then `tail` (NULL: none), into
 * out: 0, or -1 when it does not fit (out then holds "" ). */
int rkeys_name(char *out, size_t outlen, const char *prefix, const char *suffix, const char *tail);

/* P:rcpt:<id> (node NULL), or P:rcpt:<id>:<node>; as rkeys_name. */
int rkeys_receipts(char *out, size_t outlen, const char *prefix, const char *id, const char *node);

#endif
