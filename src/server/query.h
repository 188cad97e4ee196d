/*
 * query — reads one parameter of the request's query string, safely.
 *
 * lws hands out URL-decoded "name=value" fragments; this finds a name,
 * copies its value with an explicit length and refuses values that are too
 * long or that decoded to a NUL byte (lws 4.1's own lookup silently
 * truncates at %00).
 */
#ifndef ALERTD_QUERY_H
#define ALERTD_QUERY_H

#include <libwebsockets.h>
#include <stddef.h>

#define QUERY_ABSENT  (-1)
#define QUERY_INVALID (-2)

/* Returns the value's length, QUERY_ABSENT, or QUERY_INVALID. */
int query_get(struct lws *wsi, const char *name, char *out, size_t outlen);

#endif
