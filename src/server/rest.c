/*
 * rest — see rest.h.
 */
#include "rest.h"

#include "http.h"
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable text buffer for one response. */
struct rest_buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void rest_put(struct rest_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void rest_puts(struct rest_buf *b, const char *s)
{
    rest_put(b, s, strlen(s));
}

/* The newest `limit` alerts the filter wants, after `since` if given. */
static void rest_collect(const struct hub *hub, const struct hub_filter *f,
                         const struct item_id *since, long limit, struct rest_buf *b)
{
    long found = 0;
    const struct hub_msg *m;
    for (size_t k = 0; found < limit && (m = hub_nth_newest(hub, k)) != NULL; k++) {
        if (since && item_id_cmp(m->id, *since) <= 0)
            break;
        if (!hub_filter_match(f, m))
            continue;
        rest_puts(b, found++ ? "," : "");
        rest_put(b, m->item, m->item_len);
    }
}

static uint64_t rest_fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int rest_error(struct node *n, struct conn *c, struct lws *wsi, unsigned status,
                      const char *code, const char *what)
{
    json_t *doc = json_pack("{s:s,s:s}", "error", code, "message", what);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL)
        return -1;
    struct http_reply r = {status, "application/json", text, strlen(text), NULL, NULL, NULL, 0};
    int rc = http_send(n, c, wsi, &r);
    free(text);
    return rc;
}

static int rest_bad_request(struct node *n, struct conn *c, struct lws *wsi, const char *what)
{
    return rest_error(n, c, wsi, 400, "bad_request", what);
}

int rest_alerts(struct node *n, struct conn *c, struct lws *wsi)
{
    struct hub_filter *filter = NULL;
    struct item_id since;
    struct rest_buf b = {0};
    char err[160], etag[24];
    const struct hub_msg *newest = hub_newest(&n->hub);
    long limit = query_number(wsi, "limit", 1, REST_LIMIT_MAX, REST_LIMIT_DEFAULT);
    int has_since = query_since(wsi, &since), rc;

    if (limit < 0)
        return rest_bad_request(n, c, wsi, "limit must be a whole number from 1 to 200");
    if (has_since < 0)
        return rest_bad_request(n, c, wsi, "since must be an alert id like 1700000000000-0");
    if (query_filter(wsi, &filter, err, sizeof(err)))
        return rest_bad_request(n, c, wsi, err);
    uint32_t grants;
    int64_t exp;
    if (query_token_filter(wsi, &filter, &grants, &exp, err, sizeof(err)))
        return rest_error(n, c, wsi, 403, "forbidden", err);

    rest_puts(&b, "{\"alerts\":[");
    rest_collect(&n->hub, filter, has_since ? &since : NULL, limit, &b);
    rest_puts(&b, "],\"last_id\":\"");
    rest_puts(&b, newest ? newest->id_str : "");
    rest_puts(&b, "\"}");
    free(filter);
    if (b.failed) {
        free(b.p);
        return -1;
    }
    snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)rest_fnv1a(b.p, b.len));
    /* Short-lived caching: a CDN may absorb a crowd, readers stay fresh.
     * An answer opened by a token is for its holder only. */
    const char *cache = exp ? "private, no-store" : "public, max-age=2, stale-while-revalidate=10";
    if (http_header_equals(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, etag)) {
        struct http_reply r = {304, "application/json", "", 0, cache, etag, NULL, 0};
        rc = http_send(n, c, wsi, &r);
    } else {
        struct http_reply r = {200, "application/json", b.p, b.len, cache, etag, NULL, 0};
        rc = http_send(n, c, wsi, &r);
    }
    free(b.p);
    return rc;
}
