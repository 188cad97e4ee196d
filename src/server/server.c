/*
 * server — see server.h.
 */
#include "server.h"

#include "admin.h"
#include "conn.h"
#include "files.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "origin.h"
#include "reply.h"
#include "request.h"
#include "rest.h"
#include "sse.h"
#include "tls.h"
#include "wire.h"
#include "ws.h"
#include "wsdeflate.h"
#include "wsfan.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SERVER_SUBPROTOCOL "alert.v1"
/* A connection holds a header buffer from connect until its request is
 * complete: with 256 of them, one address's silent connections (up to
 * --max-per-ip, 1000 by default) made every new client wait. */
#define SERVER_HEADER_POOL 4096
/* What lws reads at a time: one whole TLS record (16 KiB of plaintext at
 * most). With lws' default of 4 KiB, the rest of a record waits inside
 * OpenSSL, and on our libuv loop lws did not come back for it until the
 * next event on the socket: a request of more than 4 KiB in one record
 * stalled until the client gave up. */
#define SERVER_READ_BYTES (16384 + LWS_PRE)
/* lws' header buffer for a budget b; a header's length is 16 bits there. */
#define SERVER_HEADER_BUFFER(b) ((b)*2 > 65535 ? 65535 : (b)*2)
#define SERVER_TIMEOUT_SECS     10

/* ------------------------------------------------------------------------
 * Routing
 * ---------------------------------------------------------------------- */

/* ------------------------------------------------------------------------
 * A strict wire: what every request must meet before it is routed
 * ---------------------------------------------------------------------- */

/* The request's target and headers within --max-header-bytes. lws cuts
 * each header one byte past the budget and keeps reading, so an oversized
 * one is seen here, with the request whole. */
static int server_headers_fit(struct node *n, struct lws *wsi, char *why, size_t len)
{
    size_t bytes = request_header_bytes(wsi), budget = (size_t)n->cfg->max_header_bytes;
    char peer[64] = "";
    if (bytes <= budget)
        return 1;
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    log_warn("request headers over the budget: answered 431", KV_S("peer", peer),
             KV_I("bytes", bytes), KV_I("max_header_bytes", budget));
    snprintf(why, len, "request headers: over %zu bytes\n", budget);
    return 0;
}

/* Whether a request is routed: its headers fit, its method is served and
 * it has no body to read (wire.h). 1 to route it, 0 when refused (*rc is
 * what to return to lws). */
static int server_request_ok(struct node *n, struct conn *c, struct lws *wsi, int *rc)
{
    static const struct reply_end end_close = {NULL, 1}, end_405 = {WIRE_ALLOW, 1};
    char why[200], clen[32];
    struct wire_answer a;
    if (!server_headers_fit(n, wsi, why, sizeof(why))) {
        *rc = reply_refuse(n, c, wsi, 431, &end_close, why);
        return 0;
    }
    if (request_method(wsi) == 0) {
        /* A body may follow that is never read: the connection closes. */
        *rc = reply_refuse(n, c, wsi, 405, &end_405, "only GET and HEAD are served here\n");
        return 0;
    }
    int len = request_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, clen, sizeof(clen));
    wire_check_body((struct wire_text){clen, len},
                    lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0, &a);
    if (a.status) {
        snprintf(why, sizeof(why), "%s\n", a.message);
        *rc = reply_refuse(n, c, wsi, a.status, &end_close, why);
        return 0;
    }
    return 1;
}

/* LWS_CALLBACK_HTTP: `uri` is the request path. 0, or -1 to drop. A HEAD
 * takes the same way as a GET (reply.h leaves its body out). */
static int server_http(struct node *n, struct conn *c, struct lws *wsi, const char *uri)
{
    int admin = listener_is_admin(wsi), rc;
    if (!server_request_ok(n, c, wsi, &rc))
        return rc;
    if (strcmp(uri, "/healthz") == 0)
        return admin_healthz(n, c, wsi);
    if (strcmp(uri, "/readyz") == 0)
        return admin_readyz(n, c, wsi);
    /* /metrics tells anyone the node's load and internals: on the readers'
     * port only if asked (--public-metrics). The metrics port serves
     * nothing for readers. */
    if (strcmp(uri, "/metrics") == 0 && (admin || n->cfg->public_metrics))
        return admin_metrics(n, c, wsi);
    if (admin)
        return reply_text(n, c, wsi, 404, "this port serves /metrics, /healthz and /readyz only\n");
    if (strcmp(uri, "/v1/alerts") == 0)
        return rest_alerts(n, c, wsi);
    if (strcmp(uri, "/v1/sse") == 0)
        return sse_start(n, c, wsi);
    if (strcmp(uri, "/v1/ws") == 0)
        return reply_text(n, c, wsi, 426, "this is a WebSocket endpoint: upgrade required\n");
    if (files_serve(n, c, wsi, uri, &rc))
        return rc;
    return reply_text(n, c, wsi, 404, "not found\n");
}

/* A header for wire.h: read into buf (NUL-terminated), with its length or
 * WIRE_ABSENT / WIRE_TOO_LONG. */
static struct wire_text server_wire_header(struct lws *wsi, enum lws_token_indexes h, char *buf,
                                           size_t len)
{
    int n = request_header(wsi, h, buf, len);
    return (struct wire_text){buf, n >= 0 ? n : n == REQUEST_ABSENT ? WIRE_ABSENT : WIRE_TOO_LONG};
}

/* The upgrade request against RFC 6455 and what lws 4.1 can parse
 * (wire.h): 0, or the refusal's status with its message and header. */
static unsigned server_handshake_ok(struct lws *wsi, struct wire_answer *a)
{
    char host[256], conn[WIRE_LIST_MAX + 1], version[8], key[32], protocols[WIRE_LIST_MAX + 1];
    struct wire_handshake h = {
        request_method(wsi) == 1,
        server_wire_header(wsi, WSI_TOKEN_HOST, host, sizeof(host)),
        server_wire_header(wsi, WSI_TOKEN_CONNECTION, conn, sizeof(conn)),
        server_wire_header(wsi, WSI_TOKEN_VERSION, version, sizeof(version)),
        server_wire_header(wsi, WSI_TOKEN_KEY, key, sizeof(key)),
        server_wire_header(wsi, WSI_TOKEN_PROTOCOL, protocols, sizeof(protocols)),
    };
    if (h.host.len == WIRE_TOO_LONG)
        h.host.len = (int)strlen(host); /* present: that is all asked of it */
    wire_check_upgrade(&h, a);
    if (a->status == 0 && h.protocols.len >= 0 &&
        !request_list_has(protocols, SERVER_SUBPROTOCOL)) {
        /* lws would close without a word. */
        a->status = 400;
        snprintf(a->message, sizeof(a->message),
                 "Sec-WebSocket-Protocol: the subprotocol here is " SERVER_SUBPROTOCOL);
    }
    return a->status;
}

/* A browser page's Origin must be allowed: refused before the upgrade. */
static int server_origin_ok(struct node *n, struct lws *wsi, char *why, size_t len)
{
    char origin[REQUEST_ORIGIN_MAX];
    int olen = request_header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin));
    if (olen == REQUEST_ABSENT ||
        (olen >= 0 && origin_allowed(n->cfg->origins, n->cfg->norigins, origin)))
        return 1;
    snprintf(why, len, "Origin %s is not allowed here\n", olen >= 0 ? origin : "(too long)");
    return 0;
}

/* Only WebSocket upgrades, only on /v1/ws, only as RFC 6455 asks (wire.h),
 * only with our subprotocol if any is offered, and only from an allowed
 * Origin. lws would switch to HTTP/2 on an h2c upgrade (even inside TLS)
 * and cannot ignore one, so that is refused too. lws asks before any
 * session data (struct conn) exists, so a refusal is written whole here
 * (reply_now) and the connection closes. `upgrade` is the Upgrade header. */
static int server_upgrade_allowed(struct node *n, struct lws *wsi, const char *upgrade)
{
    char uri[64], why[300];
    struct wire_answer a;
    int ulen = 0;
    char *uptr = NULL;
    if (strcasecmp(upgrade, "websocket") != 0)
        reply_now(n, wsi, 400, NULL, "only WebSocket upgrades are served (no HTTP/2)\n");
    else if (listener_is_admin(wsi))
        reply_now(n, wsi, 404, NULL, "no WebSocket on the metrics port\n");
    else if (!server_headers_fit(n, wsi, why, sizeof(why)))
        reply_now(n, wsi, 431, NULL, why);
    else if (lws_http_get_uri_and_method(wsi, &uptr, &ulen) < 0 || ulen >= (int)sizeof(uri) ||
             (memcpy(uri, uptr, (size_t)ulen), uri[ulen] = '\0', strcmp(uri, "/v1/ws") != 0))
        reply_now(n, wsi, 404, NULL, "no WebSocket here: connect to /v1/ws\n");
    else if (server_handshake_ok(wsi, &a)) {
        snprintf(why, sizeof(why), "%s\n", a.message);
        reply_now(n, wsi, a.status, a.header, why);
    } else if (!server_origin_ok(n, wsi, why, sizeof(why)))
        reply_now(n, wsi, 403, NULL, why);
    else
        return 1;
    return 0;
}

/* A connection's end: what its transport holds, then its client state. */
static void server_release(struct node *n, struct conn *c)
{
    ws_release(n, c);
    reply_release(c);
    conn_release(n, c);
}

static int server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    struct conn *c = user;
    struct node *n = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        /* user is the SSL_CTX; wsi is a stand-in */
        return tls_setup(user, n->tickets, n->cfg->tls_ocsp ? &n->staple : NULL);
    case LWS_CALLBACK_HTTP: {
        int rc = server_http(n, c, wsi, in) ? -1 : 0;
        listener_cork(lws_get_socket_fd(wsi), 0); /* a held ticket, with the answer */
        return rc;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c->kind == CONN_SSE ? sse_writeable(n, c) : reply_writeable(c);
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
        ws_pong(n, c);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        /* Allowed: the 101 waits for the hello (ws_established releases
         * both); refused: the answer goes out with any held ticket. */
        int allowed = server_upgrade_allowed(n, wsi, in);
        listener_cork(lws_get_socket_fd(wsi), allowed);
        return !allowed;
    }
    case LWS_CALLBACK_CONFIRM_EXTENSION_OKAY:
        return wsdeflate_confirm(wsi, in);
    case LWS_CALLBACK_ADD_HEADERS:
        return wsdeflate_add_headers(c, in);
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
        return ws_peer_closed(n, c, in, len);
    case LWS_CALLBACK_WSI_DESTROY:
        listener_release(&n->listener, wsi);
        if (c != NULL)
            server_release(n, c);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* A small receive buffer, which lws allocates for every connection:
 * clients send only small control frames, and larger ones arrive in parts
 * that ws_receive joins. And a send limit that lets a batch of alerts go
 * out in one write: without it lws would cut every write at the receive
 * buffer's size. */
static const struct lws_protocols server_protocols[] = {{SERVER_SUBPROTOCOL, server_callback,
                                                         sizeof(struct conn), 128, 0, NULL,
                                                         WSFAN_BATCH_BYTES + 16},
                                                        {NULL, NULL, 0, 0, 0, NULL, 0}};

/* ------------------------------------------------------------------------
 * Hub callbacks: WebSocket and SSE clients alike
 * ---------------------------------------------------------------------- */

static void server_wake(struct hub *hub, struct hub_client *hc)
{
    struct conn *c = (struct conn *)hc;
    if (c->kind == CONN_WS)
        wsfan_wake(hub->user, c);
    else
        lws_callback_on_writable(c->wsi);
}

/* Only WebSocket clients are urgent (conn_attach). */
static void server_urgent(struct hub *hub, struct hub_client *hc)
{
    wsfan_urgent(hub->user, (struct conn *)hc);
}

static void server_lagging(struct hub *hub, struct hub_client *hc)
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

/* ------------------------------------------------------------------------
 * Start and stop
 * ---------------------------------------------------------------------- */

/* No lws validity timers (its pings): lws keeps every timer in one sorted
 * list and inserts by walking it, so with tens of thousands of clients each
 * handshake's timeout and each pong's timer reset walked every client: a
 * third of the server's CPU at 10k clients. sweep.c does the heartbeat
 * instead, once a second over the hub's clients. */
static const lws_retry_bo_t server_no_validity_timers;

static void server_lws_log(int level, const char *line)
{
    size_t len = strlen(line);
    char msg[256];
    snprintf(msg, sizeof(msg), "%.*s", (int)(len && line[len - 1] == '\n' ? len - 1 : len), line);
    if (strstr(msg, "Ran out of header data space") || strstr(msg, "More hdr frags than")) {
        /* A client's headers overflowed lws' buffer: lws 4.1 fails the
         * parse with no callback and closes; nothing can answer it. */
        log_warn("request headers over lws' buffer: closed without an answer", KV_S("detail", msg));
        return;
    }
    if (strstr(msg, "exceeds limit"))
        level = LLL_NOTICE; /* a header cut at the budget: answered 431 */
    if (level & LLL_ERR)
        log_error("lws", KV_S("detail", msg));
    else if (level & LLL_WARN)
        log_warn("lws", KV_S("detail", msg));
    else
        log_debug("lws", KV_S("detail", msg));
}

/* --metrics-listen: a second vhost, plain HTTP, that the listener hands
 * the metrics port's connections to; only /metrics, /healthz and /readyz
 * are served on it. */
static int server_start_admin(struct node *n)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = server_protocols;
    info.vhost_name = "alertd-metrics";
    info.server_string = "alertd";
    info.timeout_secs = SERVER_TIMEOUT_SECS;
    info.retry_and_idle_policy = &server_no_validity_timers;
    n->admin_vhost = lws_create_vhost(n->lws, &info);
    if (n->admin_vhost == NULL) {
        log_error("cannot start the metrics listener");
        return -1;
    }
    return 0;
}

static void server_tls_info(struct lws_context_creation_info *info, const struct config *cfg)
{
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = cfg->tls_cert;
    info->ssl_private_key_filepath = cfg->tls_key;
    /* ALLOW_NO_DHE_KEX: a TLS 1.3 client resuming with a ticket may skip
     * the key exchange (psk_ke), which makes a reconnect storm after a
     * restart cost a fraction of full handshakes. Clients that want
     * forward secrecy for resumed sessions offer psk_dhe_ke and get it. */
    info->ssl_options_set =
        SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_RENEGOTIATION | SSL_OP_ALLOW_NO_DHE_KEX;
    info->alpn = "http/1.1";
}

int server_start(struct node *n)
{
    struct lws_context_creation_info info;
    void *foreign_loops[1] = {n->loop};
    const struct config *cfg = n->cfg;

    n->hub.wake = server_wake;
    n->hub.lagging = server_lagging;
    n->hub.urgent = server_urgent;
    n->hub.user = n;
    lws_set_log_level(LLL_ERR | LLL_WARN | (log_enabled(LOG_DEBUG) ? LLL_NOTICE : 0),
                      server_lws_log);
    memset(&info, 0, sizeof(info));
    /* No LWS_SERVER_OPTION_VALIDATE_UTF8: lws would check compressed
     * bytes; ws.c checks each whole message, once inflated. */
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = foreign_loops;
    /* The listener accepts and hands connections over to this vhost. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = server_protocols;
    info.extensions = wsdeflate_extensions;
    info.user = n;
    info.vhost_name = "alertd";
    info.server_string = "alertd";
    /* Bounded headers, handshakes and idle HTTP connections. lws cuts a
     * header one byte past the budget (server_headers_fit then answers
     * 431); its buffer has room for the budget once more, for the headers
     * it does not know by name, which it cannot cut (past it, lws 4.1
     * closes the connection without an answer: server_lws_log). */
    request_token_limits(&n->header_limits, cfg->max_header_bytes);
    info.token_limits = &n->header_limits;
    info.max_http_header_data = (unsigned short)SERVER_HEADER_BUFFER(cfg->max_header_bytes);
    info.max_http_header_pool = SERVER_HEADER_POOL;
    info.pt_serv_buf_size = SERVER_READ_BYTES;
    info.timeout_secs = SERVER_TIMEOUT_SECS;
    info.timeout_secs_ah_idle = SERVER_TIMEOUT_SECS;
    info.retry_and_idle_policy = &server_no_validity_timers;
    if (!cfg->plain) {
        /* lws fails with no word, and leaves the loop unusable, on a
         * certificate that does not load: a worker started again after the
         * file went bad must stop here, and say why. */
        char err[256];
        if (tls_check_files(cfg, err, sizeof(err))) {
            log_error("cannot start the server: the certificate and key do not load",
                      KV_S("tls_cert", cfg->tls_cert), KV_S("tls_key", cfg->tls_key),
                      KV_S("error", err));
            return -1;
        }
        if (cfg->tls_ocsp)
            tls_load_staple(&n->staple, cfg); /* refused: serves without, logged */
        server_tls_info(&info, cfg);
    }
    info.pcontext = &n->lws;
    n->lws = lws_create_context(&info);
    if (n->lws == NULL || (n->vhost = lws_get_vhost_by_name(n->lws, "alertd")) == NULL) {
        log_error("cannot start the server", KV_S("tls_cert", cfg->plain ? "" : cfg->tls_cert),
                  KV_S("tls_key", cfg->plain ? "" : cfg->tls_key),
                  KV_S("hint", "are the certificate and key readable PEM files that match?"));
        return -1;
    }
    return cfg->metrics_listen.host ? server_start_admin(n) : 0;
}

int server_reload(struct node *n)
{
    int rc = 0;
    if (!n->cfg->plain && n->lws != NULL)
        rc |= tls_reload_cert(n->lws, n->cfg, n->cfg->tls_ocsp ? &n->staple : NULL);
    rc |= tls_reload_keys(n->cfg, n->tickets, n->grant, 1);
    return rc ? -1 : 0;
}

void server_stop(struct node *n)
{
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
