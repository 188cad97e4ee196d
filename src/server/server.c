/*
 * server — see server.h.
 */
#include "server.h"

#include "conn.h"
#include "grant.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "sse.h"
#include "tickets.h"
#include "ws.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SERVER_DRAIN_TICK_MS 50

/* ------------------------------------------------------------------------
 * TLS
 * ---------------------------------------------------------------------- */

/* Counts handshakes that ended in failure (bad version, plain HTTP on the
 * TLS port, bad client hello...). */
static void server_tls_info(const SSL *ssl, int where, int ret)
{
    (void)ssl;
    if ((where & SSL_CB_ACCEPT_EXIT) && ret == 0)
        metrics->tls_failures++;
}

/* A TLS 1.3 server sends its session ticket after reading the client's
 * Finished, before the request that usually follows. Sent alone, the
 * ticket and then the answer were two small segments in flight: the client
 * delayed its ACK and Linux sent a loss probe a few milliseconds later, a
 * spurious retransmission for nearly every connection. So the ticket is
 * held to leave in one segment with the answer (released by ws_established
 * with the 101 and hello, after http_request, or by the close), and the
 * Finished is acknowledged at once instead: a client using Nagle's
 * algorithm holds its request until then. TLS 1.2 sends its ticket inside
 * the handshake, where the client waits for what follows. */
static void server_hold_ticket(SSL *ssl)
{
    if (SSL_version(ssl) == TLS1_3_VERSION) {
        int fd = SSL_get_fd(ssl);
        listener_cork(fd, 1);
        listener_ack_now(fd);
    }
}

static int server_tls_setup(SSL_CTX *ctx)
{
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
        return -1;
    SSL_CTX_set_info_callback(ctx, server_tls_info);
    /* One session ticket per handshake (OpenSSL sends two by default): a
     * reconnecting client needs one, and each costs an encryption. */
    SSL_CTX_set_num_tickets(ctx, 1);
    return tickets_install(ctx, server_hold_ticket);
}

/* Loads the certificate and key into a scratch context first: lws reloads
 * in place and reports nothing, so a broken file must be caught here, and
 * the certificate in use then stays. */
static int server_tls_check(const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int ok = ctx && SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;
    if (!ok)
        ERR_error_string_n(ERR_get_error(), err, errlen);
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int server_reload_cert(struct node *n)
{
    char err[256] = "";
    if (server_tls_check(n->cfg->tls_cert, n->cfg->tls_key, err, sizeof(err))) {
        log_error("TLS reload refused: keeping the certificate in use",
                  KV_S("tls_cert", n->cfg->tls_cert), KV_S("tls_key", n->cfg->tls_key),
                  KV_S("error", err));
        return -1;
    }
    lws_tls_cert_updated(n->lws, n->cfg->tls_cert, n->cfg->tls_key, NULL, 0, NULL, 0);
    log_info("TLS certificate reloaded", KV_S("tls_cert", n->cfg->tls_cert));
    return 0;
}

int server_reload_keys(const struct config *cfg, int announce)
{
    char err[256];
    int rc = 0;
    if (!cfg->plain && cfg->tls_ticket_key) {
        if (tickets_load(cfg->tls_ticket_key, err, sizeof(err))) {
            log_error("session ticket keys not reloaded: keeping the keys in use",
                      KV_S("error", err));
            rc = -1;
        } else if (announce) {
            log_info("session ticket keys reloaded", KV_S("tls_ticket_key", cfg->tls_ticket_key),
                     KV_I("keys", tickets_count()));
        }
    }
    if (cfg->jwt_secret) {
        if (grant_reload_key(cfg->jwt_secret, err, sizeof(err))) {
            log_error("token key not reloaded: keeping the key in use", KV_S("error", err));
            rc = -1;
        } else if (announce) {
            log_info("token key reloaded", KV_S("jwt_secret", cfg->jwt_secret));
        }
    }
    return rc;
}

int server_reload(struct node *n)
{
    int rc = 0;
    if (!n->cfg->plain && n->lws != NULL)
        rc |= server_reload_cert(n);
    rc |= server_reload_keys(n->cfg, 1);
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * The protocol callback
 * ---------------------------------------------------------------------- */

/* Only WebSocket upgrades, only on /v1/ws, only with our subprotocol if
 * any is offered. lws would switch to HTTP/2 on an h2c upgrade (even
 * inside TLS) and cannot ignore one, so that is refused too. lws asks
 * before any session data (struct conn) exists, so a refusal is lws' own
 * status page. `upgrade` is the Upgrade header. */
static int server_upgrade_allowed(struct lws *wsi, const char *upgrade)
{
    char uri[64];
    if (strcasecmp(upgrade, "websocket") != 0)
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
                               "only WebSocket upgrades are served (no HTTP/2)");
    else if (listener_is_admin(wsi))
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "no WebSocket on the metrics port");
    else if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
             strcmp(uri, "/v1/ws") != 0)
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "no WebSocket here: connect to /v1/ws");
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0 &&
             !http_header_contains(wsi, WSI_TOKEN_PROTOCOL, "alert.v1"))
        /* lws would close without a word. */
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
                               "the WebSocket subprotocol here is alert.v1");
    else
        return 1;
    return 0;
}

static void server_release(struct node *n, struct conn *c)
{
    hub_detach(&n->hub, &c->hc);
    free(c->filter);
    c->filter = NULL;
    ws_release(c);
    http_release(c);
    if (c->counted) {
        c->counted = 0;
        n->connections--;
        metrics->connections--;
    }
}

static int server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    struct conn *c = user;
    struct node *n;

    if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS)
        return server_tls_setup(user); /* user is the SSL_CTX; wsi is a stand-in */
    n = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        int rc = http_request(n, c, wsi, in) ? -1 : 0;
        listener_cork(lws_get_socket_fd(wsi), 0); /* a held ticket, with the answer */
        return rc;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c->kind == CONN_SSE ? sse_writeable(n, c) : http_writeable(n, c);
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* no endpoint takes a body: read and dropped */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        /* Not lws' default, which ends the transaction while the answer
         * may still wait for a writeable callback; the answer ends it. */
        return 0;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        /* A keep-alive connection's next request or upgrade: lws frees the
         * session data after this, without LWS_CALLBACK_WSI_DESTROY. */
        if (c != NULL)
            server_release(n, c);
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        c->last_rx = server_now_s(n);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        /* Allowed: the 101 waits for the hello (ws_established releases
         * both); refused: the answer goes out with any held ticket. */
        int allowed = server_upgrade_allowed(wsi, in);
        listener_cork(lws_get_socket_fd(wsi), allowed);
        return !allowed;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        int rc = ws_established(n, c, wsi);
        listener_cork(lws_get_socket_fd(wsi), 0);
        return rc;
    }
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(n, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(n, c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return ws_peer_closed(n, c);
    case LWS_CALLBACK_WSI_DESTROY:
        listener_release(n, wsi);
        if (c != NULL)
            server_release(n, c);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* ------------------------------------------------------------------------
 * Hub callbacks: WebSocket and SSE clients alike
 * ---------------------------------------------------------------------- */

void server_attach(struct node *n, struct conn *c, struct hub_filter *filter,
                   const struct item_id *since)
{
    free(c->filter);
    c->filter = filter;
    switch (hub_attach(&n->hub, &c->hc, filter, since)) {
    case HUB_GAP:
        c->gap_since = *since;
        c->owe |= CONN_OWE_GAP;
        metrics->gaps++;
        break;
    case HUB_REPLAY:
        metrics->replays++;
        break;
    case HUB_LIVE:
        break;
    }
    if (c->owe || hub_pending(&n->hub, &c->hc))
        lws_callback_on_writable(c->wsi);
}

void server_wake(struct hub *hub, struct hub_client *hc)
{
    struct conn *c = (struct conn *)hc;
    if (c->kind == CONN_WS)
        ws_wake(hub->user, c);
    else
        lws_callback_on_writable(c->wsi);
}

static void server_close_client(struct conn *c, uint16_t code)
{
    if (c->kind == CONN_SSE)
        sse_close(c);
    else
        ws_close_with(c, code);
}

void server_lagging(struct hub *hub, struct hub_client *hc)
{
    struct conn *c = (struct conn *)hc;
    (void)hub;
    if (c->kind == CONN_SSE) {
        metrics->slow_closes++;
        sse_close(c);
    } else {
        ws_lagging(c);
    }
}

/* A small receive buffer, which lws allocates for every connection:
 * clients send only small control frames, and larger ones arrive in parts
 * that ws_receive joins. And a send limit that lets a batch of alerts go
 * out in one write: without it lws would cut every write at the receive
 * buffer's size. */
static const struct lws_protocols server_protocols[] = {
    {"alert.v1", server_callback, sizeof(struct conn), 128, 0, NULL, WS_BATCH_BYTES + 16},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* ------------------------------------------------------------------------
 * Heartbeat sweep
 * ---------------------------------------------------------------------- */

static uv_timer_t server_sweep_timer;

void server_close_in(struct lws *wsi, int secs)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, secs ? secs : LWS_TO_KILL_ASYNC);
    /* From outside an lws callback, lws would not notice the new timer
     * until its next I/O; waking it re-arms its timer now. */
    lws_cancel_service(lws_get_context(wsi));
}

uint32_t server_now_s(const struct node *n)
{
    return (uint32_t)(uv_now(n->loop) / 1000);
}

/* Once a second, every client on the hub: closes for expired tokens
 * (4003), WebSocket pings and closes of silent clients, SSE heartbeat
 * comments and hung-up checks. O(clients) once a second costs about as
 * much as one alert's fan-out. */
static void server_sweep(uv_timer_t *t)
{
    struct node *n = t->data;
    uint32_t now = server_now_s(n);
    int64_t wall = (int64_t)time(NULL);
    for (struct hub_client *hc = n->hub.clients, *next; hc; hc = next) {
        struct conn *c = (struct conn *)hc;
        next = hc->next; /* a close may detach c */
        if (c->token_exp != 0 && wall >= c->token_exp) {
            c->token_exp = 0;
            if (c->kind == CONN_SSE)
                sse_close(c);
            else
                ws_refuse_token(c, "token: expired");
            continue;
        }
        if (c->kind == CONN_SSE)
            sse_heartbeat(n, c, now);
        else
            ws_heartbeat(n, c, now);
    }
}

/* ------------------------------------------------------------------------
 * Start and stop
 * ---------------------------------------------------------------------- */

/* No lws validity timers (its pings): lws keeps every timer in one sorted
 * list and inserts by walking it, so with tens of thousands of clients each
 * handshake's timeout and each pong's timer reset walked every client: a
 * third of the server's CPU at 10k clients. server_sweep does the
 * heartbeat instead, once a second over the hub's clients. */
static const lws_retry_bo_t server_no_validity_timers;

static void server_lws_log(int level, const char *line)
{
    size_t len = strlen(line);
    char msg[256];
    snprintf(msg, sizeof(msg), "%.*s", (int)(len && line[len - 1] == '\n' ? len - 1 : len), line);
    if (level & LLL_ERR)
        log_error("lws", KV_S("detail", msg));
    else if (level & LLL_WARN)
        log_warn("lws", KV_S("detail", msg));
    else
        log_debug("lws", KV_S("detail", msg));
}

/* --metrics-listen: a second vhost, plain HTTP, that listener.c hands the
 * metrics port's connections to; http.c serves only /metrics, /healthz and
 * /readyz on it. */
static int server_start_admin(struct node *n)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = server_protocols;
    info.vhost_name = "alertd-metrics";
    info.server_string = "alertd";
    info.timeout_secs = 10;
    info.retry_and_idle_policy = &server_no_validity_timers;
    n->admin_vhost = lws_create_vhost(n->lws, &info);
    if (n->admin_vhost == NULL) {
        log_error("cannot start the metrics listener");
        return -1;
    }
    return 0;
}

int server_start(struct node *n)
{
    struct lws_context_creation_info info;
    void *foreign_loops[1] = {n->loop};
    const struct config *cfg = n->cfg;

    lws_set_log_level(LLL_ERR | LLL_WARN | (log_enabled(LOG_DEBUG) ? LLL_NOTICE : 0),
                      server_lws_log);
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = foreign_loops;
    /* listener.c accepts and hands connections over to this vhost. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = server_protocols;
    info.user = n;
    info.vhost_name = "alertd";
    info.server_string = "alertd";
    /* Bounded headers, handshakes and idle HTTP connections. */
    info.max_http_header_data = 4096;
    /* A connection holds a header buffer from connect until its request
     * is complete: with 256 of them, one address's silent connections
     * (up to --max-per-ip, 1000 by default) made every new client wait. */
    info.max_http_header_pool = 4096;
    info.timeout_secs = 10;
    info.timeout_secs_ah_idle = 10;
    info.retry_and_idle_policy = &server_no_validity_timers;
    if (!cfg->plain) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        /* ALLOW_NO_DHE_KEX: a TLS 1.3 client resuming with a ticket may
         * skip the key exchange (psk_ke), which makes a reconnect storm
         * after a restart cost a fraction of full handshakes. Clients that
         * want forward secrecy for resumed sessions offer psk_dhe_ke and
         * get it. */
        info.ssl_options_set =
            SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_RENEGOTIATION | SSL_OP_ALLOW_NO_DHE_KEX;
        info.alpn = "http/1.1";
    }

    info.pcontext = &n->lws;
    uv_timer_init(n->loop, &server_sweep_timer);
    server_sweep_timer.data = n;
    uv_timer_start(&server_sweep_timer, server_sweep, 1000, 1000);
    n->lws = lws_create_context(&info);
    if (n->lws == NULL || (n->vhost = lws_get_vhost_by_name(n->lws, "alertd")) == NULL) {
        log_error("cannot start the server", KV_S("tls_cert", cfg->plain ? "" : cfg->tls_cert),
                  KV_S("tls_key", cfg->plain ? "" : cfg->tls_key),
                  KV_S("hint", "are the certificate and key readable PEM files that match?"));
        return -1;
    }
    return cfg->metrics_listen.host ? server_start_admin(n) : 0;
}

static void server_drain_cancel(void);

void server_stop(struct node *n)
{
    server_drain_cancel();
    listener_close(n);
    if (!uv_is_closing((uv_handle_t *)&server_sweep_timer))
        uv_close((uv_handle_t *)&server_sweep_timer, NULL);
    ws_stop();
    if (n->lws)
        lws_context_destroy(n->lws); /* starts closing its loop handles */
}

/* On a foreign libuv loop, lws frees the context only when called again
 * after its handles have closed; it then clears n->lws (info.pcontext). */
void server_finish(struct node *n)
{
    for (int i = 0; i < 3 && n->lws; i++) {
        lws_context_destroy(n->lws);
        uv_run(n->loop, UV_RUN_NOWAIT);
    }
}

/* ------------------------------------------------------------------------
 * Drain
 * ---------------------------------------------------------------------- */

static uv_timer_t server_drain_timer;
static int server_drain_running; /* the timer is started and not closed */
static size_t server_drain_batch;
static uint64_t server_drain_deadline;
static void (*server_drain_done)(struct node *n);

static void server_drain_closed(uv_handle_t *h)
{
    struct node *n = h->data;
    server_drain_done(n);
}

static void server_drain_cancel(void)
{
    if (server_drain_running) {
        server_drain_running = 0;
        uv_close((uv_handle_t *)&server_drain_timer, NULL);
    }
}

static void server_drain_tick(uv_timer_t *t)
{
    struct node *n = t->data;
    for (size_t i = 0; i < server_drain_batch && n->hub.clients; i++) {
        struct conn *c = (struct conn *)n->hub.clients;
        hub_detach(&n->hub, &c->hc);
        server_close_client(c, 1001);
    }
    /* Done when every client is gone, or a second after the window. */
    if (n->connections == 0 || uv_now(n->loop) > server_drain_deadline) {
        server_drain_running = 0;
        uv_close((uv_handle_t *)t, server_drain_closed);
    }
}

void server_drain(struct node *n, unsigned window_ms, void (*done)(struct node *n))
{
    if (n->draining)
        return;
    n->draining = 1;
    listener_pause(n); /* new connections go to other nodes meanwhile */
    size_t ticks = window_ms / SERVER_DRAIN_TICK_MS + 1;
    server_drain_batch = (n->hub.nclients + ticks - 1) / ticks;
    if (server_drain_batch == 0)
        server_drain_batch = 1;
    server_drain_deadline = uv_now(n->loop) + window_ms + 1000;
    server_drain_done = done;
    log_info("draining", KV_I("clients", n->connections), KV_I("window_ms", window_ms));
    uv_timer_init(n->loop, &server_drain_timer);
    server_drain_timer.data = n;
    uv_timer_start(&server_drain_timer, server_drain_tick, 0, SERVER_DRAIN_TICK_MS);
    server_drain_running = 1;
}
