/*
 * rest — see rest.h.
 */
#include "rest.h"

#include "admit.h"
#include "fields.h"
#include "metrics.h"
#include "query.h"
#include "reply.h"
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The newest `limit` alerts the filter wants, after `since` if given, that
 * have not expired, in the hub's encoding for `variant` (their fields). */
static void rest_collect(struct hub *hub, const struct hub_filter *f, const struct item_id *since,
                         long limit, unsigned variant, struct rest_buf *b)
{
    long found = 0;
    int64_t now = item_time_now_ms();
    const struct hub_msg *m;
    for (size_t k = 0; found < limit && (m = hub_nth_newest(hub, k)) != NULL; k++) {
        if (since && item_id_cmp(m->id, *since) <= 0)
            break;
        if (!hubfilter_serves(f, m) || hub_msg_expired(m, now))
            continue; /* filtered out, folded (fold.h) or expired */
        const struct hubmsg_enc *e = hub_enc(hub, m, variant);
        rest_puts(b, found++ ? "," : "");
        rest_put(b, e->item, e->item_len);
    }
}

/* The answer's body: {"alerts":[…],"last_id":"…"}, and "fields" when the
 * items are compact (as in the hello frame). */
static void rest_body(struct hub *hub, const struct hub_filter *f, const struct item_id *since,
                      long limit, uint32_t fields, struct rest_buf *b)
{
    char names[FIELDS_NNAMES * 16];
    unsigned variant = hub_variant_acquire(hub, fields);
    if (variant == 0 && fields != FIELDS_ALL)
        metrics->fields_full++;
    rest_puts(b, "{\"alerts\":[");
    rest_collect(hub, f, since, limit, variant, b);
    rest_puts(b, "],\"last_id\":\"");
    rest_puts(b, hub_last_id(hub));
    rest_puts(b, "\"");
    if (variant && fields_json(hub_variant_fields(hub, variant), names, sizeof(names)) > 0) {
        rest_puts(b, ",\"fields\":");
        rest_puts(b, names);
    }
    rest_puts(b, "}");
    hub_variant_release(hub, variant);
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

/* The query's filter with the grants of its token; 0, or -1 with the
 * refusal answered (*rc). */
static int rest_filter(struct node *n, struct conn *c, struct lws *wsi, const struct query *q,
                       struct hub_filter **filter, int64_t *token_exp, int *rc)
{
    char err[160];
    uint32_t grants = 0;
    *token_exp = 0;
    if (query_filter(q, filter, err, sizeof(err))) {
        *rc = reply_error(n, c, wsi, 400, "bad_request", err);
        return -1;
    }
    if (admit_query_token(n->grant, q, (int64_t)time(NULL), filter, &grants, token_exp, err,
                          sizeof(err))) {
        *rc = reply_error(n, c, wsi, 403, "forbidden", err);
        return -1;
    }
    return 0;
}

int rest_alerts(struct node *n, struct conn *c, struct lws *wsi)
{
    struct hub_filter *filter = NULL;
    struct item_id since;
    struct rest_buf b = {0};
    struct query q;
    char etag[24];
    int64_t token_exp;
    uint32_t fields;
    char err[160];
    int rc;

    request_query(wsi, &q);
    long limit = query_number(&q, "limit", 1, REST_LIMIT_MAX, REST_LIMIT_DEFAULT);
    int has_since = query_since(&q, &since);
    if (limit < 0) {
        char why[64];
        snprintf(why, sizeof(why), "limit must be a whole number from 1 to %d", REST_LIMIT_MAX);
        return reply_error(n, c, wsi, 400, "bad_request", why);
    }
    if (has_since < 0)
        return reply_error(n, c, wsi, 400, "bad_request", QUERY_SINCE_RULE);
    if (query_fields(&q, &fields, err, sizeof(err)))
        return reply_error(n, c, wsi, 400, "bad_request", err);
    if (rest_filter(n, c, wsi, &q, &filter, &token_exp, &rc))
        return rc;

    rest_body(&n->hub, filter, has_since ? &since : NULL, limit, fields, &b);
    free(filter);
    if (b.failed) {
        free(b.p);
        return -1;
    }
    snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)rest_fnv1a(b.p, b.len));
    /* Short-lived caching: a CDN may absorb a crowd, readers stay fresh.
     * An answer opened by a token is for its holder only. */
    const char *cache =
        token_exp ? "private, no-store" : "public, max-age=2, stale-while-revalidate=10";
    if (request_header_is(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, etag)) {
        struct reply r = {304, REPLY_JSON, "", 0, cache, etag, NULL, 0};
        rc = reply_send(n, c, wsi, &r);
    } else {
        struct reply r = {200, REPLY_JSON, b.p, b.len, cache, etag, NULL, 0};
        rc = reply_send(n, c, wsi, &r);
    }
    free(b.p);
    return rc;
}
