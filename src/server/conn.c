/*
 * conn — see conn.h.
 */
#include "conn.h"

#include "fields.h"
#include "frames.h"
#include "metrics.h"
#include "request.h"

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

void conn_admit(struct node *n, struct conn *c, struct lws *wsi, int sse, struct admission *a)
{
    char origin[REQUEST_ORIGIN_MAX], last_id[ITEM_ID_STRLEN + 8];
    struct query q;
    const struct config *cfg = n->cfg;
    struct admit_node node = {n->draining,         n->connections, (size_t)cfg->max_connections,
                              cfg->origins,        cfg->norigins,  n->grant,
                              (int64_t)time(NULL), cfg->heartbeat, cfg->heartbeat_min,
                              cfg->heartbeat_max};
    int olen = request_header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin));
    int llen = sse ? request_custom_header(wsi, "last-event-id:", last_id, sizeof(last_id))
                   : REQUEST_ABSENT;
    struct admit_request r = {olen >= 0 ? origin : NULL, olen == REQUEST_TOO_LONG, &q,
                              llen >= 0                  ? last_id
                              : llen == REQUEST_TOO_LONG ? ""
                                                         : NULL};

    request_query(wsi, &q);
    admit_client(&node, &r, a);
    switch (a->verdict) {
    case ADMIT_OK:
        c->wsi = wsi;
        c->counted = 1;
        c->grants = a->grants;
        c->token_exp = a->token_exp;
        c->heartbeat = (uint16_t)a->heartbeat;
        c->variant = (uint8_t)hub_variant_acquire(&n->hub, a->fields);
        if (c->variant == 0 && a->fields != FIELDS_ALL)
            metrics->fields_full++;
        n->connections++;
        metrics->connections++;
        metrics->connections_total++;
        break;
    case ADMIT_FULL:
        metrics->too_many++;
        break;
    case ADMIT_BAD_REQUEST:
        metrics->bad_requests++;
        break;
    default:
        break;
    }
}

void conn_attach(struct node *n, struct conn *c, struct hub_filter *filter,
                 const struct item_id *since)
{
    free(c->filter);
    c->filter = filter;
    c->hc.urgent = c->kind == CONN_WS; /* SSE resumes by its last event id: in order only */
    if (hub_attach(&n->hub, &c->hc, filter, since) != HUB_LIVE)
        metrics->replays++; /* asked for: a replay, an await or a gap */
    if (c->owe || hub_pending(&n->hub, &c->hc))
        lws_callback_on_writable(c->wsi);
}

int conn_hello_frame(const struct node *n, const struct conn *c, char *out, size_t len)
{
    char fields[FIELDS_NNAMES * 16];
    int compact = c->variant != 0 &&
                  fields_json(hub_variant_fields(&n->hub, c->variant), fields, sizeof(fields)) > 0;
    return frames_hello(out, len, n->node_json, c->heartbeat, hub_last_id(&n->hub),
                        compact ? fields : NULL);
}

int conn_gap_frame(const struct node *n, const struct conn *c, char *out, size_t len)
{
    const struct hub_msg *oldest = hub_oldest(&n->hub);
    return frames_gap(out, len, c->hc.since, oldest ? oldest->id_str : "");
}

int conn_shed_frame(const struct node *n, const struct conn *c, char *out, size_t len)
{
    (void)n;
    return frames_shed(out, len, c->hc.shed_after, c->hc.shed_through, c->hc.shed_count);
}

void conn_release(struct node *n, struct conn *c)
{
    hub_detach(&n->hub, &c->hc);
    wheel_del(&c->due);
    hub_variant_release(&n->hub, c->variant);
    c->variant = 0;
    free(c->filter);
    c->filter = NULL;
    if (c->counted) {
        c->counted = 0;
        n->connections--;
        metrics->connections--;
    }
}

void conn_due(struct node *n, struct conn *c, uint32_t due)
{
    if (c->token_exp != 0) { /* its token's expiry, if sooner */
        uint32_t now = conn_now_s(n);
        int64_t left = c->token_exp - (int64_t)time(NULL);
        if (left < (int64_t)(due - now))
            due = now + (uint32_t)(left > 0 ? left : 0);
    }
    wheel_add(&n->wheel, &c->due, due);
}

struct conn *conn_of_due(struct wheel_entry *e)
{
    return (struct conn *)(void *)((char *)e - offsetof(struct conn, due));
}

void conn_close_in(struct lws *wsi, int secs)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, secs ? secs : LWS_TO_KILL_ASYNC);
    /* From outside an lws callback, lws would not notice the new timer
     * until its next I/O; waking it re-arms its timer now. */
    lws_cancel_service(lws_get_context(wsi));
}

uint32_t conn_now_s(const struct node *n)
{
    return (uint32_t)(uv_now(n->loop) / 1000);
}
