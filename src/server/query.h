/*
 * query — reads the request's query string safely: one parameter, a
 * client filter (topics, lang), a `since` id, a bounded number.
 *
 * lws hands out URL-decoded "name=value" fragments; values are copied with
 * explicit lengths, and values too long or that decoded to a NUL byte are
 * refused (lws 4.1's own lookup silently truncates at %00).
 */
#ifndef ALERTD_QUERY_H
#define ALERTD_QUERY_H

#include "hub.h"

#include <libwebsockets.h>
#include <stddef.h>

#define QUERY_ABSENT  (-1)
#define QUERY_INVALID (-2)

/* Returns the value's length, QUERY_ABSENT, or QUERY_INVALID. */
int query_get(struct lws *wsi, const char *name, char *out, size_t outlen);

/* topics=a,b and lang=en,fr into a malloc'd filter (NULL when the client
 * wants everything; the caller frees it). Returns 0, or -1 with err set. */
int query_filter(struct lws *wsi, struct hub_filter **out, char *err, size_t errlen);

/* An empty filter means everything: frees it and returns NULL. */
struct hub_filter *query_filter_or_null(struct hub_filter *f);

/* since=ID: 0 when absent, 1 with *since set, -1 when not an id. */
int query_since(struct lws *wsi, struct item_id *since);

/* The request's token= (grant.h), checked, and its grants put into *f
 * (query_apply_grants). Sets *grants and *exp (both 0 without a token, or
 * when no topic is restricted). -1 with err set when the token or a topic
 * is refused; *f is then freed and NULL. */
int query_token_filter(struct lws *wsi, struct hub_filter **f, uint32_t *grants, int64_t *exp,
                       char *err, size_t errlen);

/* Puts a client's grants into its filter (making one if there is none and
 * grants is not 0). -1 with err set when the filter asks for a restricted
 * topic that grants does not open. */
int query_apply_grants(struct hub_filter **f, uint32_t grants, char *err, size_t errlen);

/* name=N within [min, max]: `dflt` when absent, -1 when invalid. */
long query_number(struct lws *wsi, const char *name, long min, long max, long dflt);

#endif
