/*
 * pending — embargoed alerts before their release, from the CLI's side:
 * the two scripts that hold one and that cancel or replace one, and the
 * reads `alert list --embargoed`, `update` and `retract` need. The keys
 * and the record are described in embargo.h; the release is the nodes'
 * (server/release.c). Nothing here prints.
 *
 * A handle names a pending alert (embargo.h). Once released it resolves
 * for EMBARGO_RELEASED_TTL to the id it got, so a cancel or a replace that
 * comes too late says so (PENDING_RELEASED) and the caller retracts or
 * updates that id instead.
 *
 * Idempotency: like the publish script, both scripts take the key of the
 * call (`--key`, or one `alert` made) and write nothing when it is known,
 * returning what it recorded.
 */
#ifndef ALERT_PENDING_H
#define ALERT_PENDING_H

#include "embargo.h"
#include "item.h"

#include <hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Outcomes; the codes shared with publish.h mean the same there. */
#define PENDING_OK          0
#define PENDING_ERR_REDIS   -1 /* unreachable, refused, or an unexpected reply */
#define PENDING_ERR_INPUT   -3 /* the request itself is malformed */
#define PENDING_ERR_UNKNOWN -4 /* sent whole, no answer: it may have run */
#define PENDING_ERR_HANDLE  -5 /* no such pending alert, and not released lately */

enum pending_state {
    PENDING_HELD,      /* stored; value = the handle */
    PENDING_DUPLICATE, /* the idempotency key was known; value = what it recorded */
    PENDING_CANCELLED, /* value = the handle */
    PENDING_REPLACED,  /* value = the handle */
    PENDING_RELEASED,  /* too late: value = the id it was released as */
};

struct pending_result {
    enum pending_state state;
    char value[ITEM_ID_STRLEN]; /* a handle or an id */
};

/* Holding a new alert, or replacing or cancelling a pending one. */
struct pending_request {
    const char *prefix;
    const char *handle;   /* a new one to hold, or the pending one */
    int cancel;           /* pending_change: 1 cancel, 0 replace */
    int64_t due_ms;       /* release time; 0 for a replace that keeps it */
    const char *item;     /* the item as the publish script would store it */
    size_t item_len;      /* (unused for a cancel) */
    long maxlen;          /* XADD MAXLEN ~ at release */
    const char *idem_key; /* required */
};

int pending_hold(redisContext *c, const struct pending_request *req, struct pending_result *out,
                 char *err, size_t errlen);
int pending_change(redisContext *c, const struct pending_request *req, struct pending_result *out,
                   char *err, size_t errlen);

/* A new handle from 64 random bits; 0, or -1 without randomness. */
int pending_new_handle(char out[EMBARGO_HANDLE_STRLEN]);

/* What `handle` is now: pending (PENDING_HELD: *item, *due_ms set),
 * released (PENDING_RELEASED: released = its id), or neither
 * (PENDING_ERR_HANDLE). Returns PENDING_OK or an error, message in err. */
int pending_fetch(redisContext *c, const char *prefix, const char *handle,
                  enum pending_state *state, json_t **item, int64_t *due_ms,
                  char released[ITEM_ID_STRLEN], char *err, size_t errlen);

/* The first `limit` pending alerts by release time, as a new array of
 * {"handle", "release_at", "item"}; records that hold no valid item are
 * skipped and counted in *skipped. NULL with a message in err. */
json_t *pending_list(redisContext *c, const char *prefix, long limit, unsigned *skipped, char *err,
                     size_t errlen);

#endif
