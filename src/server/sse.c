/*
 * sse — see sse.h.
 */
#include "sse.h"

#include "http.h"
#include "metrics.h"
#include "query.h"
#include "server.h"
#include "ws.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Events are gathered here before one write: room for the largest item. */
#define SSE_BATCH (32 * 1024)
static unsigned char sse_scratch[LWS_PRE + SSE_BATCH];

struct sse_out {
    char *p;
    size_t len, cap;
};

static int sse_printf(struct sse_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int sse_printf(struct sse_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        return -1;
    o->len += (size_t)n;
    return 0;
}

static const char *sse_last_id(const struct node *n)
{
    const struct hub_msg *newest = hub_newest(&n->hub);
    return newest ? newest->id_str : "";
}

/* Last-Event-ID (EventSource's reconnect) wins over ?since=. */
static int sse_since(struct lws *wsi, struct item_id *since)
{
    char value[ITEM_ID_STRLEN + 8];
    int len = lws_hdr_custom_length(wsi, "last-event-id:", 14);
    if (len > 0) {
        if (len >= (int)sizeof(value) ||
            lws_hdr_custom_copy(wsi, value, sizeof(value), "last-event-id:", 14) < 0 ||
            item_id_parse(value, since))
            return -1;
        return 1;
    }
    return query_since(wsi, since);
}

static int sse_refuse(struct node *n, struct conn *c, struct lws *wsi, const char *message)
{
    metrics->bad_requests++;
    return http_text(n, c, wsi, 400, message);
}

int sse_start(struct node *n, struct conn *c, struct lws *wsi)
{
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    struct hub_filter *filter = NULL;
    struct item_id since;
    char err[160];
    int has_since;

    if (n->draining)
        return http_text(n, c, wsi, 503, "draining\n");
    if (!http_origin_allowed(n, wsi, NULL, 0))
        return http_text(n, c, wsi, 403, "origin not allowed\n");
    if (n->connections >= (size_t)n->cfg->max_connections) {
        metrics->too_many++;
        return http_text(n, c, wsi, 503, "too many connections\n");
    }
    if (query_filter(wsi, &filter, err, sizeof(err))) {
        strcat(err, "\n");
        return sse_refuse(n, c, wsi, err);
    }
    if ((has_since = sse_since(wsi, &since)) < 0) {
        free(filter);
        return sse_refuse(n, c, wsi, "since must be an alert id like 1700000000000-0\n");
    }
    if (query_token_filter(wsi, &filter, &c->grants, &c->token_exp, err, sizeof(err))) {
        strcat(err, "\n");
        return http_text(n, c, wsi, 403, err);
    }
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/event-stream",
                                    LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        http_add_cors(n, wsi, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end)) {
        free(filter);
        return -1;
    }
    lws_http_mark_sse(wsi);

    c->kind = CONN_SSE;
    c->wsi = wsi;
    c->counted = 1;
    n->connections++;
    metrics->connections++;
    metrics->connections_total++;
    c->owe |= CONN_OWE_HELLO;
    c->last_ping = server_now_s(n);
    server_attach(n, c, filter, has_since ? &since : NULL);
    return 0;
}

/* Control events first, then as many alerts as fit the batch. */
static int sse_fill(struct node *n, struct conn *c, struct sse_out *o)
{
    const struct hub_msg *m;
    if (c->owe & CONN_OWE_HELLO) {
        char hello[1024];
        if (ws_format_hello(n, hello, sizeof(hello)) < 0 ||
            sse_printf(o, "retry: 2000\nevent: hello\ndata: %s\n\n", hello) == 0)
            c->owe &= (uint8_t)~CONN_OWE_HELLO;
    }
    if (c->owe & CONN_OWE_GAP) {
        char since[ITEM_ID_STRLEN];
        const struct hub_msg *oldest = hub_oldest(&n->hub);
        item_id_format(c->gap_since, since);
        if (sse_printf(
                o, "event: gap\ndata: {\"type\":\"gap\",\"since\":\"%s\",\"oldest\":\"%s\"}\n\n",
                since, oldest ? oldest->id_str : "") == 0)
            c->owe &= (uint8_t)~CONN_OWE_GAP;
    }
    if ((c->owe & CONN_OWE_PING) && sse_printf(o, ": ping\n\n") == 0)
        c->owe &= (uint8_t)~CONN_OWE_PING;
    for (;;) {
        enum hub_next_kind k = hub_next(&n->hub, &c->hc, &m);
        if (k == HUB_NONE)
            return 0;
        if (k == HUB_REPLAYED) {
            if (sse_printf(o,
                           "event: replayed\ndata: {\"type\":\"replayed\",\"count\":%u,"
                           "\"last_id\":\"%s\"}\n\n",
                           c->hc.replayed, sse_last_id(n)))
                return 0;
        } else {
            if (sse_printf(o, "id: %s\nevent: alert\ndata: %.*s\n\n", m->id_str, (int)m->item_len,
                           m->item))
                return 0;
            metrics->deliveries++;
        }
        hub_advance(&n->hub, &c->hc, k);
    }
}

int sse_writeable(struct node *n, struct conn *c)
{
    struct sse_out o = {(char *)sse_scratch + LWS_PRE, 0, SSE_BATCH};
    sse_fill(n, c, &o);
    if (o.len && lws_write(c->wsi, sse_scratch + LWS_PRE, o.len, LWS_WRITE_HTTP) < (int)o.len)
        return -1;
    if (c->owe || hub_pending(&n->hub, &c->hc))
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* 1 when the client has hung up (or sent anything: an SSE client has
 * nothing to say after its request, so a TLS close_notify counts too).
 * lws does not read an HTTP connection in the middle of a response, so
 * it never sees the end-of-file itself. */
static int sse_client_gone(struct lws *wsi)
{
    char byte;
    ssize_t n = recv(lws_get_socket_fd(wsi), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void sse_heartbeat(struct node *n, struct conn *c, uint32_t now)
{
    if (sse_client_gone(c->wsi)) {
        sse_close(c);
        return;
    }
    if (now - c->last_ping >= (uint32_t)n->cfg->heartbeat) {
        c->last_ping = now;
        c->owe |= CONN_OWE_PING;
        lws_callback_on_writable(c->wsi);
    }
}

void sse_close(struct conn *c)
{
    server_close_in(c->wsi, 0);
}
