/*
 * inbox — see inbox.h.
 */
#include "inbox.h"

#include "clk.h"
#include "msg.h"
#include "wsp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One whole text message, `wire` bytes of frames as received (`z`:
 * compressed, p[0..n) being what it inflated to). */
static void inbox_message(struct conn_env *e, struct conn *c, const unsigned char *p, size_t n,
                          int64_t rx_ns, size_t wire, int z)
{
    struct stats_deliver *ds = e->ds;
    struct msg_tag t;
    if (msg_scan((const char *)p, n, &t) != 0) {
        ds->other_frames++;
        return;
    }
    if (t.run != e->run_id || t.seq >= (int64_t)e->o->alerts || c->rx == NULL) {
        ds->foreign++;
        return;
    }
    if (c->rx[t.seq]) {
        ds->duplicates++;
        return;
    }
    int64_t us = (rx_ns - t.bench_ns) / CLK_NS_PER_US;
    c->rx[t.seq] = (uint32_t)(us < 0 ? 1 : us >= UINT32_MAX - 1 ? UINT32_MAX : us + 1);
    ds->deliveries++;
    ds->ws_bytes += wire;
    ds->deflated += z != 0;
    if (ds->frame_min == 0 || n < ds->frame_min)
        ds->frame_min = n;
    if (n > ds->frame_max)
        ds->frame_max = n;
    if (rx_ns > ds->last_rx_ns)
        ds->last_rx_ns = rx_ns;
    if (++c->got == e->o->alerts)
        e->complete++;
}

/* A whole data message: text goes to inbox_message, inflated first when
 * compressed (`z`). Returns 0, or -1 when c was dropped. */
static int inbox_data(struct conn_env *e, struct conn *c, int opcode, const unsigned char *p,
                      size_t n, int64_t rx_ns, size_t wire, int z)
{
    if (opcode != WSP_TEXT) {
        e->ds->other_frames++;
        return 0;
    }
    if (z) {
        int rc = wsz_inflate(&e->z, p, n, &n);
        if (rc != 0) {
            conn_drop(e, c, rc == WSZ_TOO_BIG ? 1009 : 1007,
                      rc == WSZ_TOO_BIG ? "inflated message too big" : "message does not inflate");
            return -1;
        }
        p = e->z.out;
    }
    if (e->record && c->index == 0) {
        fwrite(p, 1, n, e->record);
        fputc('\n', e->record);
    }
    inbox_message(e, c, p, n, rx_ns, wire, z);
    return 0;
}

/* One whole frame. Returns 0, or -1 when c was dropped. */
static int inbox_frame(struct conn_env *e, struct conn *c, const struct wsp_frame *f,
                       const unsigned char *pl, int64_t rx_ns)
{
    unsigned char ctl[WSP_CONTROL_MAX];
    size_t n = (size_t)f->payload_len;
    switch (f->opcode) {
    case WSP_PING:
        e->ds->pings++;
        conn_send(e, c, ctl, wsp_control(ctl, WSP_PONG, pl, n));
        return 0;
    case WSP_PONG:
        return 0;
    case WSP_CLOSE: {
        int code = n >= 2 ? pl[0] << 8 | pl[1] : 1005;
        conn_send(e, c, ctl, wsp_control(ctl, WSP_CLOSE, pl, n >= 2 ? 2 : 0));
        conn_drop(e, c, code, "close frame from the server");
        return -1;
    }
    case WSP_CONT:
        if (c->frag == NULL || c->frag_len + n > CONN_MSG_MAX) {
            conn_drop(e, c, 1002, "bad continuation frame");
            return -1;
        }
        unsigned char *grown = realloc(c->frag, c->frag_len + n);
        if (grown == NULL && c->frag_len + n > 0) {
            conn_drop(e, c, 1006, "out of memory");
            return -1;
        }
        memcpy(grown + c->frag_len, pl, n);
        c->frag = grown;
        c->frag_len += (uint32_t)n;
        c->frag_wire += (uint32_t)(f->header_len + n);
        if (f->fin) {
            int rc =
                inbox_data(e, c, c->frag_op, c->frag, c->frag_len, rx_ns, c->frag_wire, c->frag_z);
            if (rc != 0)
                return rc;
            free(c->frag);
            c->frag = NULL;
            c->frag_len = c->frag_wire = 0;
        }
        return 0;
    default: /* text or binary */
        if (c->frag) {
            conn_drop(e, c, 1002, "new message inside a fragmented one");
            return -1;
        }
        if (!f->fin) {
            if ((c->frag = malloc(n ? n : 1)) == NULL) {
                conn_drop(e, c, 1006, "out of memory");
                return -1;
            }
            memcpy(c->frag, pl, n);
            c->frag_len = (uint32_t)n;
            c->frag_wire = (uint32_t)(f->header_len + n);
            c->frag_op = (uint8_t)f->opcode;
            c->frag_z = (uint8_t)f->rsv1;
            return 0;
        }
        return inbox_data(e, c, f->opcode, pl, n, rx_ns, f->header_len + n, f->rsv1);
    }
}

/* Consumes buf[0..n), read at rx_ns (CLOCK_REALTIME): the upgrade answer,
 * then frames. Keeps what is not whole in c->carry. Returns 0, or -1 when
 * c was closed (failed or dropped) meanwhile. */
static int inbox_consume(struct conn_env *e, struct conn *c, unsigned char *buf, size_t n,
                         int64_t rx_ns)
{
    size_t off = 0;
    if (c->state == CONN_UPGRADE) {
        int status;
        int head = wsp_response((const char *)buf, n, c->accept, &status);
        if (head < 0) {
            char s[16];
            snprintf(s, sizeof(s), "HTTP %d", status);
            conn_fail(e, c, FAIL_UPGRADE, "upgrade refused", status ? s : "malformed answer");
            return -1;
        }
        if (head == 0)
            goto keep;
        /* Only what was offered may be accepted (RFC 6455, 9.1). */
        int pmd = wsp_response_pmd((const char *)buf, (size_t)head);
        if (pmd < 0 || (pmd > 0 && !e->o->deflate)) {
            conn_fail(e, c, FAIL_UPGRADE, "upgrade", "Sec-WebSocket-Extensions not as offered");
            return -1;
        }
        off = (size_t)head;
        conn_opened(e, c, pmd);
    }
    while (off < n) {
        struct wsp_frame f;
        int r = wsp_parse(buf + off, n - off, c->pmd, &f);
        if (r < 0 || f.payload_len > CONN_MSG_MAX) {
            conn_drop(e, c, 1002, r < 0 ? "protocol error" : "message too big");
            return -1;
        }
        if (r == 0 || f.header_len + f.payload_len > n - off)
            break;
        if (inbox_frame(e, c, &f, buf + off + f.header_len, rx_ns) != 0)
            return -1;
        off += f.header_len + (size_t)f.payload_len;
    }
keep:
    if (off < n) {
        if ((c->carry = malloc(n - off)) == NULL) {
            conn_drop(e, c, 1006, "out of memory");
            return -1;
        }
        memcpy(c->carry, buf + off, n - off);
        c->carry_len = (uint32_t)(n - off);
    }
    return 0;
}

/* Epoll is level-triggered and OpenSSL reads ahead (one read(2) takes what
 * the socket holds). After a record, a connection reads again only while
 * OpenSSL still holds bytes (conn_pending): whatever is left in the kernel
 * wakes epoll again, so the read(2) that would only say EAGAIN is never
 * made. What OpenSSL holds is at most one read-ahead buffer (about 16 KiB),
 * so one connection cannot keep the others waiting. */
void inbox_io(struct conn_env *e, struct conn *c, uint32_t events)
{
    unsigned char *buf;
    size_t n;
    int64_t rx_ns;

    if (!conn_io(e, c, events))
        return;
    do {
        if (conn_read(e, c, &buf, &n, &rx_ns) <= 0 || inbox_consume(e, c, buf, n, rx_ns) != 0)
            return;
    } while (conn_pending(c));
}
