/*
 * sse — see sse.h.
 */
#include "sse.h"

#include "frames.h"
#include "metrics.h"
#include "receipts.h"
#include "reply.h"
#include "request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The longest event around an item: "id: <id>\nevent: alert\ndata: " and
 * "\n\n". A batch always has room for one whole item. */
#define SSE_EVENT_OVERHEAD (ITEM_ID_STRLEN + 32)
#define SSE_RETRY_MS       2000
_Static_assert(NODE_OUT_BYTES >= ITEM_MAX_BYTES + SSE_EVENT_OVERHEAD,
               "an SSE batch must hold the largest item");

/* A batch of events being formatted into the node's write buffer. */
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

/* One control event: the frame text as its data. */
static int sse_event(struct sse_out *o, const char *event, const char *data, int len)
{
    return len < 0 ? -1 : sse_printf(o, "event: %s\ndata: %s\n\n", event, data);
}

/* The refusal in HTTP's words. */
static int sse_refuse(struct node *n, struct conn *c, struct lws *wsi, const struct admission *a)
{
    static const unsigned status[] = {
        [ADMIT_DRAINING] = 503,    [ADMIT_ORIGIN] = 403,    [ADMIT_FULL] = 503,
        [ADMIT_BAD_REQUEST] = 400, [ADMIT_FORBIDDEN] = 403,
    };
    char text[sizeof(a->message) + 2];
    snprintf(text, sizeof(text), "%s\n", a->message);
    return reply_text(n, c, wsi, status[a->verdict], text);
}

static int sse_headers(struct node *n, struct lws *wsi)
{
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    return lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/event-stream",
                                       LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
           lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                       (const unsigned char *)"no-store", 8, &p, end) ||
           reply_add_shared(n, wsi, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end);
}

int sse_start(struct node *n, struct conn *c, struct lws *wsi)
{
    struct admission a;
    conn_admit(n, c, wsi, 1, &a);
    if (a.verdict != ADMIT_OK)
        return sse_refuse(n, c, wsi, &a);
    c->kind = CONN_SSE;
    if (sse_headers(n, wsi)) {
        free(a.filter);
        return -1;
    }
    if (request_method(wsi) == 2) {
        /* HEAD: the stream's headers, and no stream. */
        free(a.filter);
        conn_release(n, c);
        return reply_headers_only(c, wsi);
    }
    lws_http_mark_sse(wsi);
    c->owe |= CONN_OWE_HELLO;
    c->last_ping = conn_now_s(n);
    conn_attach(n, c, a.filter, a.has_since ? &a.since : NULL);
    conn_due(n, c, c->last_ping + SSE_HANGUP_SECS);
    return 0;
}

/* Control events first, then as many alerts as fit the batch. */
static void sse_fill(struct node *n, struct conn *c, struct sse_out *o)
{
    char text[FRAMES_MAX];
    const struct hub_msg *m;
    if (c->owe & CONN_OWE_HELLO) {
        /* EventSource reconnects after `retry` ms, resuming by itself. */
        if (conn_hello_frame(n, c, text, sizeof(text)) < 0 ||
            sse_printf(o, "retry: %d\nevent: hello\ndata: %s\n\n", SSE_RETRY_MS, text) == 0)
            c->owe &= (uint8_t)~CONN_OWE_HELLO;
    }
    if ((c->owe & CONN_OWE_PING) && sse_printf(o, ": ping\n\n") == 0)
        c->owe &= (uint8_t)~CONN_OWE_PING;
    for (;;) {
        enum hub_next_kind k = hub_next(&n->hub, &c->hc, &m);
        if (k == HUB_NONE)
            return;
        if (k == HUB_GAPPED) {
            if (sse_event(o, "gap", text, conn_gap_frame(n, c, text, sizeof(text))))
                return;
            metrics->gaps++;
        } else if (k == HUB_REPLAYED) {
            int len = frames_replayed(text, sizeof(text), c->hc.replayed, hub_last_id(&n->hub));
            if (sse_event(o, "replayed", text, len))
                return;
        } else {
            const struct hubmsg_enc *e = hub_enc(&n->hub, m, c->variant);
            if (sse_printf(o, "id: %s\nevent: alert\ndata: %.*s\n\n", m->id_str, (int)e->item_len,
                           e->item))
                return;
            metrics->deliveries++;
            receipts_written_sse(n, m);
            metrics->replayed += c->hc.replay_end && c->hc.cursor < c->hc.replay_end;
        }
        hub_advance(&n->hub, &c->hc, k);
    }
}

int sse_writeable(struct node *n, struct conn *c)
{
    struct sse_out o = {(char *)n->out + LWS_PRE, 0, NODE_OUT_BYTES};
    sse_fill(n, c, &o);
    if (o.len && lws_write(c->wsi, n->out + LWS_PRE, o.len, LWS_WRITE_HTTP) < (int)o.len)
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

uint32_t sse_heartbeat(struct conn *c, uint32_t now)
{
    uint32_t next;
    if (sse_client_gone(c->wsi)) {
        sse_close(c);
        return 0;
    }
    if (now - c->last_ping >= c->heartbeat) {
        c->last_ping = now;
        c->owe |= CONN_OWE_PING;
        metrics->heartbeats++;
        lws_callback_on_writable(c->wsi);
    }
    /* The next comment, but a look for a hang-up sooner. */
    next = c->last_ping + c->heartbeat;
    return next - now > SSE_HANGUP_SECS ? now + SSE_HANGUP_SECS : next;
}

void sse_close(struct conn *c)
{
    conn_close_in(c->wsi, 0);
}
