/*
 * query — what a request's query string asks for: one parameter, a client
 * filter (topics, lang), a `since` id, a bounded or clamped number, a
 * field set.
 *
 * struct query holds the decoded "name=value" arguments (request.c fills
 * it from lws, which URL-decodes them; a test fills it with query_add).
 * Values are copied with explicit lengths: one too long, or that decoded
 * to a NUL byte, is refused rather than silently cut (lws 4.1's own
 * lookup stops at %00). Pure: no sockets, no lws.
 */
#ifndef ALERTD_QUERY_H
#define ALERTD_QUERY_H

#include "hubfilter.h"

#include <stddef.h>
#include <stdint.h>

#define QUERY_MAX_ARGS      128
#define QUERY_ARG_MAX       2048 /* one "name=value", decoded */
#define QUERY_STORE_MAX     4096 /* all of them; what does not fit is dropped */
#define QUERY_DROPPED_NAMES 8    /* names of dropped arguments remembered */
#define QUERY_NAME_MAX      32

#define QUERY_ABSENT  (-1)
#define QUERY_INVALID (-2)

struct query_arg {
    const char *text; /* "name=value" or "name", in store; may hold NUL bytes */
    size_t len;
};

struct query {
    struct query_arg args[QUERY_MAX_ARGS];
    int nargs;
    int dropped; /* arguments not kept: too long, or past the limits above */
    int ndropped_names;
    int dropped_unnamed; /* dropped ones whose name is not remembered */
    char dropped_names[QUERY_DROPPED_NAMES][QUERY_NAME_MAX + 1];
    size_t used;
    char store[QUERY_STORE_MAX];
};

void query_init(struct query *q);
/* Keeps one decoded argument (len bytes); one that does not fit is dropped
 * (query_drop). */
void query_add(struct query *q, const char *arg, size_t len);
/* Counts an argument not kept in q->dropped and remembers its name: a
 * lookup of that name then answers QUERY_INVALID (the error names the
 * argument that was too long). When the name cannot be remembered (NULL
 * arg, a name over QUERY_NAME_MAX, too many dropped), any name not kept
 * answers QUERY_INVALID rather than QUERY_ABSENT: it might have been it. */
void query_drop(struct query *q, const char *arg, size_t len);

/* The value of `name` into out (NUL-terminated): its length, QUERY_ABSENT,
 * or QUERY_INVALID (too long for out, holds a NUL byte, or among the
 * dropped arguments). The first occurrence counts. */
int query_get(const struct query *q, const char *name, char *out, size_t outlen);

/* topics=a,b and lang=en,fr into a malloc'd filter (NULL when the client
 * wants everything; the caller frees it). Returns 0, or -1 with err set. */
int query_filter(const struct query *q, struct hub_filter **out, char *err, size_t errlen);

/* An empty filter means everything: frees it and returns NULL. */
struct hub_filter *query_filter_or_null(struct hub_filter *f);

/* What a client is told when its since (or Last-Event-ID) is not an id. */
#define QUERY_SINCE_RULE "since must be an alert id like 1700000000000-0"

/* since=ID: 0 when absent or empty, 1 with *since set, -1 when not an id. */
int query_since(const struct query *q, struct item_id *since);

/* name=N within [min, max]: `dflt` when absent or empty, -1 when invalid. */
long query_number(const struct query *q, const char *name, long min, long max, long dflt);

/* name=N, a whole number brought within [min, max] (a smaller one gets
 * min, a larger one max: a wish, not a demand): `dflt` when absent or
 * empty, -1 when not digits. */
long query_clamped(const struct query *q, const char *name, long min, long max, long dflt);

/* fields=a,b: the field set a client receives (fields.h): FIELDS_ALL when
 * absent or empty. 0, or -1 with err naming what is wrong. */
int query_fields(const struct query *q, uint32_t *set, char *err, size_t errlen);

#endif
