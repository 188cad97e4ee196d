/*
 * query — see query.h.
 */
#include "query.h"

#include "fields.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void query_init(struct query *q)
{
    q->nargs = 0;
    q->dropped = 0;
    q->ndropped_names = 0;
    q->dropped_unnamed = 0;
    q->used = 0;
}

void query_drop(struct query *q, const char *arg, size_t len)
{
    const char *eq = arg ? memchr(arg, '=', len) : NULL;
    size_t nlen = eq ? (size_t)(eq - arg) : len; /* arg need not end in NUL */
    q->dropped++;
    if (arg == NULL || nlen > QUERY_NAME_MAX || memchr(arg, '\0', nlen) ||
        q->ndropped_names == QUERY_DROPPED_NAMES) {
        q->dropped_unnamed++;
        return;
    }
    memcpy(q->dropped_names[q->ndropped_names], arg, nlen);
    q->dropped_names[q->ndropped_names++][nlen] = '\0';
}

/* 1 when an argument called `name` may have been dropped. */
static int query_maybe_dropped(const struct query *q, const char *name)
{
    if (q->dropped_unnamed)
        return 1;
    for (int i = 0; i < q->ndropped_names; i++)
        if (strcmp(q->dropped_names[i], name) == 0)
            return 1;
    return 0;
}

void query_add(struct query *q, const char *arg, size_t len)
{
    if (q->nargs == QUERY_MAX_ARGS || len > QUERY_ARG_MAX || len > sizeof(q->store) - q->used) {
        query_drop(q, arg, len);
        return;
    }
    memcpy(q->store + q->used, arg, len);
    q->args[q->nargs++] = (struct query_arg){q->store + q->used, len};
    q->used += len;
}

int query_get(const struct query *q, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (int i = 0; i < q->nargs; i++) {
        const struct query_arg *a = &q->args[i];
        if (a->len <= nlen || memcmp(a->text, name, nlen) != 0 || a->text[nlen] != '=')
            continue;
        size_t vlen = a->len - nlen - 1;
        const char *value = a->text + nlen + 1;
        if (vlen >= outlen || memchr(value, '\0', vlen))
            return QUERY_INVALID;
        memcpy(out, value, vlen);
        out[vlen] = '\0';
        return (int)vlen;
    }
    return query_maybe_dropped(q, name) ? QUERY_INVALID : QUERY_ABSENT;
}

struct hub_filter *query_filter_or_null(struct hub_filter *f)
{
    if (f && f->ntopics == 0 && f->nlangs == 0 && f->grants == 0) {
        free(f);
        return NULL;
    }
    return f;
}

typedef int (*query_set_fn)(struct hub_filter *, const char *, char *, size_t);

static int query_list(const struct query *q, const char *name, struct hub_filter *f,
                      query_set_fn set, char *err, size_t errlen)
{
    char value[1024];
    int n = query_get(q, name, value, sizeof(value));
    if (n == QUERY_INVALID) {
        snprintf(err, errlen, "%s: too long or not text", name);
        return -1;
    }
    return n >= 0 ? set(f, value, err, errlen) : 0;
}

int query_filter(const struct query *q, struct hub_filter **out, char *err, size_t errlen)
{
    struct hub_filter *f = calloc(1, sizeof(*f));
    *out = NULL;
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (query_list(q, "topics", f, hubfilter_set_topics, err, errlen) ||
        query_list(q, "lang", f, hubfilter_set_langs, err, errlen)) {
        free(f);
        return -1;
    }
    *out = query_filter_or_null(f);
    return 0;
}

int query_since(const struct query *q, struct item_id *since)
{
    char value[ITEM_ID_STRLEN + 8];
    int n = query_get(q, "since", value, sizeof(value));
    if (n == QUERY_ABSENT || n == 0)
        return 0;
    if (n < 0 || item_id_parse(value, since))
        return -1;
    return 1;
}

long query_number(const struct query *q, const char *name, long min, long max, long dflt)
{
    char value[24], *end;
    int n = query_get(q, name, value, sizeof(value));
    if (n == QUERY_ABSENT || n == 0)
        return dflt;
    if (n < 0)
        return -1;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || *end != '\0' || end == value || v < min || v > max)
        return -1;
    return v;
}

long query_clamped(const struct query *q, const char *name, long min, long max, long dflt)
{
    char value[64];
    int n = query_get(q, name, value, sizeof(value));
    if (n == QUERY_ABSENT || n == 0)
        return dflt;
    if (n < 0 || strspn(value, "0123456789") != (size_t)n)
        return -1;
    errno = 0;
    long v = strtol(value, NULL, 10);
    if (errno || v > max) /* digits beyond a long: larger than any max */
        return max;
    return v < min ? min : v;
}

int query_fields(const struct query *q, uint32_t *set, char *err, size_t errlen)
{
    char value[1024];
    int n = query_get(q, "fields", value, sizeof(value));
    *set = FIELDS_ALL;
    if (n == QUERY_INVALID) {
        snprintf(err, errlen, "fields: too long or not text");
        return -1;
    }
    return n > 0 ? fields_parse(value, set, err, errlen) : 0;
}
