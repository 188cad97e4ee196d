/*
 * query — see query.h.
 */
#include "query.h"

#include "grant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUERY_FRAGMENT_MAX 2048

int query_get(struct lws *wsi, const char *name, char *out, size_t outlen)
{
    char frag[QUERY_FRAGMENT_MAX];
    size_t nlen = strlen(name);
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) {
            /* The end of the list, or a fragment too long to inspect. */
            int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
            return flen >= (int)sizeof(frag) ? QUERY_INVALID : QUERY_ABSENT;
        }
        if ((size_t)n <= nlen || memcmp(frag, name, nlen) != 0 || frag[nlen] != '=')
            continue;
        size_t vlen = (size_t)n - nlen - 1;
        if (vlen >= outlen || memchr(frag + nlen + 1, '\0', vlen))
            return QUERY_INVALID;
        memcpy(out, frag + nlen + 1, vlen);
        out[vlen] = '\0';
        return (int)vlen;
    }
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

static int query_list(struct lws *wsi, const char *name, struct hub_filter *f, query_set_fn set,
                      char *err, size_t errlen)
{
    char value[1024];
    int n = query_get(wsi, name, value, sizeof(value));
    if (n == QUERY_INVALID) {
        snprintf(err, errlen, "%s: too long or not text", name);
        return -1;
    }
    return n >= 0 ? set(f, value, err, errlen) : 0;
}

int query_filter(struct lws *wsi, struct hub_filter **out, char *err, size_t errlen)
{
    struct hub_filter *f = calloc(1, sizeof(*f));
    *out = NULL;
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (query_list(wsi, "topics", f, hub_filter_set_topics, err, errlen) ||
        query_list(wsi, "lang", f, hub_filter_set_langs, err, errlen)) {
        free(f);
        return -1;
    }
    *out = query_filter_or_null(f);
    return 0;
}

int query_since(struct lws *wsi, struct item_id *since)
{
    char value[ITEM_ID_STRLEN + 8];
    int n = query_get(wsi, "since", value, sizeof(value));
    if (n == QUERY_ABSENT || n == 0)
        return 0;
    if (n < 0 || item_id_parse(value, since))
        return -1;
    return 1;
}

long query_number(struct lws *wsi, const char *name, long min, long max, long dflt)
{
    char value[24], *end;
    int n = query_get(wsi, name, value, sizeof(value));
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

int query_apply_grants(struct hub_filter **f, uint32_t grants, char *err, size_t errlen)
{
    if (*f == NULL && grants != 0 && (*f = calloc(1, sizeof(**f))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (*f == NULL)
        return 0;
    (*f)->grants = grants;
    for (int i = 0; i < (*f)->ntopics; i++) {
        uint32_t bit = grant_bit((*f)->topics[i]);
        if (bit && (bit & grants) == 0) {
            snprintf(err, errlen, "topic %s is restricted: it needs a token that grants it",
                     (*f)->topics[i]);
            return -1;
        }
    }
    return 0;
}

int query_token_filter(struct lws *wsi, struct hub_filter **f, uint32_t *grants, int64_t *exp,
                       char *err, size_t errlen)
{
    char token[GRANT_TOKEN_MAX];
    int n = grant_enabled() ? query_get(wsi, "token", token, sizeof(token)) : QUERY_ABSENT;
    int rc = 0;
    *grants = 0;
    *exp = 0;
    if (n == QUERY_INVALID) {
        snprintf(err, errlen, "token: too long or not text");
        rc = -1;
    } else if (n > 0) {
        rc = grant_verify(token, (int64_t)time(NULL), grants, exp, err, errlen);
    }
    if (rc == 0)
        rc = query_apply_grants(f, *grants, err, errlen);
    if (rc != 0) {
        free(*f);
        *f = NULL;
    }
    return rc;
}
