/*
 * ws — see ws.h.
 */
#include "ws.h"

#include "cframe.h"
#include "frames.h"
#include "metrics.h"
#include "pace.h"
#include "pmd.h"
#include "query.h"
#include "receipts.h"
#include "wsfan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ws_init(struct node *n)
{
    wsfan_init(n);
    pace_rule_init(&n->frame_pace, (uint32_t)n->cfg->max_frames_per_sec, 1000000);
    pace_rule_init(&n->replay_pace, (uint32_t)n->cfg->max_replays_per_min, 60 * 1000000ULL);
}

void ws_stop(struct node *n)
{
    wsfan_stop(n);
    pmd_inflater_free(&n->inflater);
}

/* ------------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------- */

/* One text frame through lws, from the node's write buffer. */
static int ws_send_text(struct node *n, struct lws *wsi, const char *text, size_t len)
{
    if (len > NODE_OUT_BYTES)
        return -1;
    memcpy(n->out + LWS_PRE, text, len);
    return lws_write(wsi, n->out + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len ? -1 : 0;
}

/* A control frame frames.c formatted (len < 0: it did not fit). */
static int ws_send_frame(struct node *n, struct lws *wsi, const char *text, int len)
{
    return len < 0 ? -1 : ws_send_text(n, wsi, text, (size_t)len);
}

static int ws_send_hello(struct node *n, struct conn *c)
{
    char text[FRAMES_MAX];
    return ws_send_frame(n, c->wsi, text, conn_hello_frame(n, c, text, sizeof(text)));
}

/* Queues an error frame; the newest error replaces one not yet sent. */
static void ws_owe_error(struct conn *c, const char *code, const char *message)
{
    char *text = frames_error(code, message);
    if (text == NULL)
        return;
    free(c->error);
    c->error = text;
    c->owe |= CONN_OWE_ERROR;
    lws_callback_on_writable(c->wsi);
}

void ws_close_with(struct conn *c, uint16_t code)
{
    if (c->close_code == 0)
        c->close_code = code;
    lws_callback_on_writable(c->wsi);
}

static int ws_has_more(const struct node *n, const struct conn *c)
{
    if (c->close_sent)
        return 0;
    return c->owe || c->pongs || c->close_code || hub_pending(&n->hub, &c->hc);
}

/* Our close frame: framed here and sent raw, because lws 4.1 loses a
 * reason set with lws_close_reason when the close starts in a writeable
 * callback. The socket stays open, ignoring input, until the client's
 * close arrives (ws_peer_closed) or the timeout: closing at once would
 * reset a connection whose client is still sending, and lose the frame. */
static int ws_send_close(struct node *n, struct conn *c)
{
    unsigned char *f = n->out + LWS_PRE;
    size_t len = frames_close(f, c->close_code);
    c->close_sent = 1;
    hub_detach(&n->hub, &c->hc);
    conn_close_in(c->wsi, WS_CLOSE_WAIT_SECS);
    return lws_write(c->wsi, f, len, LWS_WRITE_RAW) < (int)len ? -1 : 0;
}

/* Writes the one thing most due, by priority. */
static int ws_write_next(struct node *n, struct conn *c)
{
    if (c->owe & CONN_OWE_HELLO) {
        c->owe &= (uint8_t)~CONN_OWE_HELLO;
        return ws_send_hello(n, c);
    }
    if (c->owe & CONN_OWE_ERROR) {
        c->owe &= (uint8_t)~CONN_OWE_ERROR;
        int rc = ws_send_text(n, c->wsi, c->error, strlen(c->error));
        free(c->error);
        c->error = NULL;
        return rc;
    }
    if (c->close_code)
        return c->close_sent ? 0 : ws_send_close(n, c);
    if (c->pongs) {
        c->pongs--;
        return ws_send_text(n, c->wsi, FRAMES_PONG, sizeof(FRAMES_PONG) - 1);
    }
    if (!c->hc.attached)
        return 0;
    return wsfan_write(n, c);
}

int ws_writeable(struct node *n, struct conn *c)
{
    if (ws_write_next(n, c))
        return -1;
    if (ws_has_more(n, c))
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* ------------------------------------------------------------------------
 * Rates: a client over --max-frames-per-sec or --max-replays-per-min is
 * closed (4030, 4031), not answered: either would let one connection
 * keep a core busy.
 * ---------------------------------------------------------------------- */

static uint64_t ws_now_us(const struct node *n)
{
    return uv_now(n->loop) * 1000;
}

/* Counts a frame from the client: 1 within the rate, 0 (closing) over it. */
static int ws_paced(struct node *n, struct conn *c)
{
    if (pace_allow(&n->frame_pace, &c->frame_tat, ws_now_us(n)))
        return 1;
    metrics->frame_rate_closes++;
    ws_close_with(c, 4030);
    return 0;
}

/* Counts a replay asked for: 1 within the rate, 0 (closing) over it. */
static int ws_replay_paced(struct node *n, struct conn *c)
{
    if (pace_allow(&n->replay_pace, &c->replay_tat, ws_now_us(n)))
        return 1;
    metrics->replay_rate_closes++;
    ws_close_with(c, 4031);
    return 0;
}

void ws_pong(struct node *n, struct conn *c)
{
    c->last_rx = conn_now_s(n);
    if (c->close_code == 0)
        ws_paced(n, c);
}

/* ------------------------------------------------------------------------
 * Subscriptions
 * ---------------------------------------------------------------------- */

/* A subscribe (cframe.h) takes effect: its token, if it has one (else the
 * connection's grants stay), then its filter and since on the hub. 0
 * (applied, or refused for the replay rate: closing); -1
 * for a token that is not a string (err set); 1 when the token or a
 * restricted topic is refused (err set). */
static int ws_subscribe(struct node *n, struct conn *c, struct cframe *fr, char *err, size_t errlen)
{
    struct hub_filter *f = fr->filter;
    const char *token = NULL;
    uint32_t grants = c->grants;
    int64_t exp = c->token_exp;
    if (fr->has_token && grant_enabled(n->grant)) { /* else ignored, as in the URL */
        if (fr->token == NULL)
            return snprintf(err, errlen, "token must be a string"), -1;
        token = fr->token;
    }
    fr->filter = NULL; /* admit_grants frees it on a refusal */
    if (admit_grants(n->grant, token, (int64_t)time(NULL), &f, &grants, &exp, err, errlen))
        return 1;
    c->grants = grants;
    if (exp != c->token_exp)
        conn_due(n, c, conn_now_s(n) + 1); /* the sweep checks the new expiry */
    c->token_exp = exp;
    if (fr->has_since && !ws_replay_paced(n, c)) { /* refused: closing (4031) */
        free(f);
        return 0;
    }
    conn_attach(n, c, query_filter_or_null(f), fr->has_since ? &fr->since : NULL);
    return 0;
}

/* ------------------------------------------------------------------------
 * Connection life
 * ---------------------------------------------------------------------- */

void ws_refuse_token(struct conn *c, const char *message)
{
    ws_owe_error(c, "forbidden", message);
    ws_close_with(c, 4003);
}

/* The refusal in WebSocket's words: an error frame (but for a draining or
 * full node), then the close code. (A refused Origin never gets here: it
 * is answered 403 before the upgrade, server.c.) */
static void ws_refuse(struct conn *c, const struct admission *a)
{
    switch (a->verdict) {
    case ADMIT_DRAINING:
        ws_close_with(c, 1001);
        break;
    case ADMIT_FULL:
        ws_close_with(c, 4029);
        break;
    case ADMIT_BAD_REQUEST:
        ws_owe_error(c, "bad_request", a->message);
        ws_close_with(c, 1008);
        break;
    default: /* ADMIT_FORBIDDEN */
        ws_refuse_token(c, a->message);
        break;
    }
}

int ws_established(struct node *n, struct conn *c, struct lws *wsi)
{
    struct admission a;
    c->kind = CONN_WS;
    c->wsi = wsi;
    c->last_rx = conn_now_s(n);
    metrics->deflate_clients += c->deflate;
    conn_admit(n, c, wsi, 0, &a);
    if (a.verdict != ADMIT_OK) {
        ws_refuse(c, &a);
        return 0;
    }
    /* The hello goes out right behind lws' 101 response: the client wakes
     * once for both, and no poll round trip (two epoll_ctl calls and a
     * loop pass) is spent per connection. After a partial 101, in order. */
    if (lws_partial_buffered(wsi))
        c->owe |= CONN_OWE_HELLO;
    else if (ws_send_hello(n, c)) {
        free(a.filter);
        return -1;
    }
    if (a.has_since)
        ws_replay_paced(n, c); /* the first: always within the rate */
    conn_attach(n, c, a.filter, a.has_since ? &a.since : NULL);
    conn_due(n, c, c->last_rx + c->heartbeat);
    return 0;
}

static int ws_bad_request(struct conn *c, const char *message)
{
    metrics->bad_requests++;
    ws_owe_error(c, "bad_request", message);
    if (++c->abuse >= WS_MAX_ABUSE)
        ws_close_with(c, 1008);
    return 0;
}

static int ws_handle_frame(struct node *n, struct conn *c, const char *text, size_t len)
{
    char err[160];
    struct cframe fr;
    int rc = 0;
    cframe_parse(text, len, &fr);
    if (fr.type == CFRAME_BAD)
        rc = ws_bad_request(c, fr.err);
    else if (fr.type == CFRAME_PING) {
        if (c->pongs < 4)
            c->pongs++;
        lws_callback_on_writable(c->wsi);
    } else if (fr.type == CFRAME_ACK) {
        receipts_ack(n, c, fr.ids, fr.nids);
    } else {
        int sub = ws_subscribe(n, c, &fr, err, sizeof(err));
        if (sub < 0)
            rc = ws_bad_request(c, err);
        else if (sub > 0)
            ws_refuse_token(c, err);
    }
    cframe_release(&fr);
    return rc;
}

/* A whole client message: inflated first if it came compressed (the
 * worker's one inflater, reset per message: clients were told to compress
 * each message on its own), then checked for UTF-8 (lws does not: it would
 * check compressed bytes), then handled. */
static int ws_message(struct node *n, struct conn *c, const char *text, size_t len)
{
    if (c->rx_deflated) {
        int rc = pmd_inflate(&n->inflater, text, len, FRAMES_CLIENT_MAX, &text, &len);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            ws_close_with(c, rc == PMD_TOO_BIG ? 1009 : 1007);
            return 0;
        }
    }
    if (!item_utf8_valid(text, len)) {
        ws_close_with(c, 1007);
        return 0;
    }
    return ws_handle_frame(n, c, text, len);
}

int ws_receive(struct node *n, struct conn *c, const void *in, size_t len)
{
    struct lws *wsi = c->wsi;
    int final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;

    c->last_rx = conn_now_s(n);
    if (c->close_code)
        return 0; /* closing: ignore what else arrives */
    if (lws_frame_is_binary(wsi)) {
        ws_close_with(c, 1003);
        return 0;
    }
    /* RSV1 on a message's first frame: compressed (lws lets it through
     * only on a connection that negotiated permessage-deflate). */
    if (lws_is_first_fragment(wsi))
        c->rx_deflated = (lws_get_reserved_bits(wsi) & 0x40) != 0;
    if (c->rx_len + len > FRAMES_CLIENT_MAX) {
        ws_close_with(c, 1009);
        return 0;
    }
    if (final && c->rx == NULL)
        return ws_paced(n, c) ? ws_message(n, c, in, len) : 0;
    if (c->rx == NULL && (c->rx = malloc(FRAMES_CLIENT_MAX)) == NULL)
        return -1;
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!final)
        return 0;
    int rc = ws_paced(n, c) ? ws_message(n, c, c->rx, c->rx_len) : 0;
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    return rc;
}

int ws_peer_closed(struct node *n, struct conn *c, const unsigned char *payload, size_t len)
{
    /* Our close went first: this is its answer, the connection ends now. */
    if (c->close_sent)
        return -1;
    /* lws 4.1 has put 1002 in place of the codes it finds invalid (not
     * 5000 and above, nor a 1-byte payload) and would echo that with the
     * client's reason: 1002 is answered here, by our own close frame, as
     * is every other invalid close. lws calls this only with nothing of
     * ours left unwritten, so the frame goes out whole and in order; the
     * connection then ends (the client has closed already). */
    unsigned code = len >= 2 ? (unsigned)payload[0] << 8 | payload[1] : 0;
    if (frames_client_close_valid(payload, len) && code != 1002)
        return 0; /* lws echoes the client's close */
    c->close_code = 1002;
    ws_send_close(n, c);
    return -1;
}

void ws_release(struct node *n, struct conn *c)
{
    if (c->kind == CONN_WS && c->deflate) {
        metrics->deflate_clients--;
        c->deflate = 0;
    }
    wsfan_forget(n, c);
    free(c->rx);
    free(c->error);
    c->rx = c->error = NULL;
}

uint32_t ws_heartbeat(struct conn *c, uint32_t now)
{
    uint32_t hb = c->heartbeat;
    if (c->close_code || c->close_sent)
        return 0; /* closing: its close timer ends it */
    if (now - c->last_rx >= 2 * hb) {
        /* Silent for two heartbeats: gone, or stuck behind a dead link. */
        conn_close_in(c->wsi, 0);
        return 0;
    }
    if (now - c->last_rx >= hb && now - c->last_ping >= hb) {
        /* FIN, ping, 2-byte payload: lws 4.1 reports no empty pong */
        static unsigned char ping[4] = {0x89, 0x02, 'h', 'b'};
        if (lws_partial_buffered(c->wsi))
            return now + 1; /* behind a partial write: try again in a second */
        c->last_ping = now;
        metrics->heartbeats++;
        if (lws_write(c->wsi, ping, sizeof(ping), LWS_WRITE_RAW) < (int)sizeof(ping)) {
            conn_close_in(c->wsi, 0);
            return 0;
        }
    }
    /* Heard from within a heartbeat: the next ping is due a heartbeat
     * after that; pinged already: the close, unless it answers. */
    return now - c->last_rx < hb ? c->last_rx + hb : c->last_rx + 2 * hb;
}

void ws_lagging(struct conn *c)
{
    metrics->slow_closes++;
    /* The hub has let go of it: nothing more is queued. Its close frame
     * goes out once lws has written what it holds of the last write, when
     * the client reads again; one that does not within the bound is
     * dropped without it. */
    ws_close_with(c, 4001);
    conn_close_in(c->wsi, WS_LAG_CLOSE_SECS);
}
