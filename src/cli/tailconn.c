/*
 * tailconn — see tailconn.h.
 *
 * Everything runs on the calling thread inside lws_service() (callbacks and
 * sul timers); the signal handler only sets a flag and wakes the loop with
 * lws_cancel_service(), the one lws call that is safe from elsewhere.
 */
#include "tailconn.h"

#include "cli.h"

#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAILCONN_BACKOFF_BASE_MS 500
#define TAILCONN_BACKOFF_CAP_MS  30000
#define TAILCONN_BUSY_MIN_MS     5000 /* after 4029, 4030 or 4031, wait at least this long */
#define TAILCONN_GOING_AWAY_MS   5000 /* after 1001, wait up to this long */
#define TAILCONN_SLOW_MS         1000 /* after a first 4001, wait up to this long */
/* A connection that lived this long, with a hello, resets the backoff. */
#define TAILCONN_HEALTHY_MS        30000
#define TAILCONN_CONNECT_TIMEOUT_S 10          /* TCP + TLS + upgrade */
#define TAILCONN_CLOSE_GRACE_MS    2000        /* at the end, time left for the close handshake */
#define TAILCONN_MAX_MESSAGE       (64 * 1024) /* larger server messages are skipped */
#define TAILCONN_US_PER_MS         1000

static volatile sig_atomic_t tailconn_signalled;
static struct lws_context *tailconn_signal_ctx;

/* lws pings the server after 30 s without a pong and hangs up 15 s later
 * (the server pings us every heartbeat, which lws answers by itself). */
static const lws_retry_bo_t tailconn_idle_policy = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 45,
};

void tailconn_text(char *out, size_t outlen, const char *in, size_t len)
{
    size_t n = 0;
    for (; n < len && n + 1 < outlen && in[n]; n++)
        out[n] = (unsigned char)in[n] < 0x20 || in[n] == 0x7f ? ' ' : in[n];
    while (n > 0 && out[n - 1] == ' ')
        n--;
    if (outlen)
        out[n] = '\0';
}

static const char *tailconn_close_name(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {{1000, "normal closure"},
                 {1001, "going away"},
                 {1002, "protocol error"},
                 {1003, "unacceptable data"},
                 {1006, "connection lost"},
                 {1007, "invalid data"},
                 {1008, "policy violation"},
                 {1009, "message too big"},
                 {1011, "server error"},
                 {4001, "slow consumer"},
                 {4003, "forbidden or token expired"},
                 {4029, "too many connections"},
                 {4030, "too many frames"},
                 {4031, "too many replays"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == code)
            return names[i].name;
    return "closed";
}

/* ------------------------------------------------------------------------
 * The end of a run
 * ---------------------------------------------------------------------- */

static void tailconn_grace_over(lws_sorted_usec_list_t *sul)
{
    struct tailconn *c = lws_container_of(sul, struct tailconn, grace_sul);
    c->gave_up = 1;
    lws_cancel_service(c->ctx); /* see tailconn_finish */
}

void tailconn_finish(struct tailconn *c, int status)
{
    if (c->done)
        return;
    c->done = 1;
    c->status = status;
    lws_sul_cancel(&c->retry_sul);
    lws_sul_cancel(&c->timeout_sul);
    /* lws_service() runs timers before it polls: wake that poll, so that
     * tailconn_run sees the end even when nothing else is to happen. */
    lws_cancel_service(c->ctx);
    if (c->wsi == NULL || !c->up) {
        c->gave_up = 1; /* nothing to say goodbye to */
        return;
    }
    /* The close frame goes out from the next WRITEABLE callback. */
    lws_callback_on_writable(c->wsi);
    lws_sul_schedule(c->ctx, 0, &c->grace_sul, tailconn_grace_over,
                     (lws_usec_t)TAILCONN_CLOSE_GRACE_MS * TAILCONN_US_PER_MS);
}

static void tailconn_timeout(lws_sorted_usec_list_t *sul)
{
    struct tailconn *c = lws_container_of(sul, struct tailconn, timeout_sul);
    if (c->up) {
        tailconn_finish(c, CLI_EXIT_OK);
        return;
    }
    cli_error("not connected to %s after %ld s%s%s", c->server, c->timeout,
              c->last_error[0] ? ": " : "", c->last_error);
    tailconn_finish(c, CLI_EXIT_REFUSED);
}

/* ------------------------------------------------------------------------
 * Connecting and reconnecting
 * ---------------------------------------------------------------------- */

static void tailconn_connect(lws_sorted_usec_list_t *sul);

/* A delay drawn uniformly from [0, max_ms]. */
static unsigned tailconn_random_ms(struct tailconn *c, unsigned max_ms)
{
    uint32_t r = 0;
    lws_get_random(c->ctx, &r, sizeof(r));
    return r % (max_ms + 1);
}

/* How long to wait before the next attempt, by the close code
 * (proto/PROTOCOL.md, sections 7 and 8). The backoff is exponential with
 * full jitter: uniform in [0, min(cap, base * 2^attempt)]. */
static unsigned tailconn_delay_ms(struct tailconn *c, int code)
{
    unsigned window = TAILCONN_BACKOFF_CAP_MS;

    if (code == 1001) /* a node restarting or draining: not a failure */
        return tailconn_random_ms(c, TAILCONN_GOING_AWAY_MS);
    if (code == 4001 && !c->slow_before) { /* at once, unless it repeats */
        c->slow_before = 1;
        return tailconn_random_ms(c, TAILCONN_SLOW_MS);
    }
    if (c->attempt < 16 && (TAILCONN_BACKOFF_BASE_MS << c->attempt) < TAILCONN_BACKOFF_CAP_MS)
        window = TAILCONN_BACKOFF_BASE_MS << c->attempt;
    if (c->attempt < 64)
        c->attempt++;
    int busy = code == 4029 || code == 4030 || code == 4031;
    return (busy ? TAILCONN_BUSY_MIN_MS : 0) + tailconn_random_ms(c, window);
}

/* The connection is gone (or never came up): decides between the end of
 * the run and another attempt after a backoff. `why` describes it. */
static void tailconn_dropped(struct tailconn *c, const char *why)
{
    int code = c->close_code;
    lws_usec_t now = lws_now_usecs();

    if (c->up && c->hello &&
        now - c->up_since >= (lws_usec_t)TAILCONN_HEALTHY_MS * TAILCONN_US_PER_MS)
        c->attempt = c->slow_before = 0;
    c->up = 0;
    if (c->done)
        return;
    snprintf(c->last_error, sizeof(c->last_error), "%s", why);
    if (code == 1008 || code == 4003) {
        cli_error("%s refused this client (close %d %s%s%s)", c->server, code,
                  tailconn_close_name(code), c->close_reason[0] ? ": " : "", c->close_reason);
        tailconn_finish(c, CLI_EXIT_REFUSED);
        return;
    }
    if (c->cert_error[0] && !c->ever_up) {
        /* Not a passing failure: the same certificate comes back. */
        cli_error("%s: %s", c->server, why);
        if (c->cert_name_mismatch)
            cli_error("it is not for %s: use a name it lists (or, for a development "
                      "certificate, --insecure)",
                      c->host);
        else
            cli_error("to trust it, give its CA with --ca FILE (or, for a development "
                      "certificate, --insecure)");
        tailconn_finish(c, CLI_EXIT_REFUSED);
        return;
    }
    unsigned delay = tailconn_delay_ms(c, code);
    cli_error("%s: %s; retrying in %u.%u s", c->server, why, delay / 1000, delay % 1000 / 100);
    lws_sul_schedule(c->ctx, 0, &c->retry_sul, tailconn_connect,
                     (lws_usec_t)delay * TAILCONN_US_PER_MS);
}

static void tailconn_connect(lws_sorted_usec_list_t *sul)
{
    struct tailconn *c = lws_container_of(sul, struct tailconn, retry_sul);
    struct lws_client_connect_info i;
    char path[TAILCONN_PATH_MAX + 64], since[ITEM_ID_STRLEN];

    if (c->done)
        return;
    snprintf(path, sizeof(path), "%s", c->path);
    if (c->has_resume) {
        item_id_format(c->resume, since);
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "%ssince=%s",
                 strchr(path, '?') ? "&" : "?", since);
    }
    c->close_code = 0;
    c->hello = 0;
    c->close_reason[0] = '\0';
    c->cert_error[0] = '\0';
    c->cert_name_mismatch = 0;
    c->rx_len = 0;
    c->rx_skip = 0;

    memset(&i, 0, sizeof(i));
    i.context = c->ctx;
    i.address = c->host;
    i.port = c->port;
    i.path = path;
    i.host = c->host_header;
    i.origin = NULL; /* not a browser: no Origin header */
    i.protocol = TAILCONN_SUBPROTOCOL;
    i.local_protocol_name = TAILCONN_SUBPROTOCOL;
    i.alpn = "http/1.1";
    i.userdata = c;
    i.pwsi = &c->wsi; /* set early; NULLed by lws only on an early failure */
    i.retry_and_idle_policy = &tailconn_idle_policy;
    if (c->tls) {
        i.ssl_connection = LCCSCF_USE_SSL;
        if (c->insecure)
            i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_INSECURE |
                                LCCSCF_ALLOW_EXPIRED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
        else if (c->host_is_ip6)
            /* lws cuts the host at its first ':' before checking it: the
             * address is checked in tailconn_verify instead. */
            i.ssl_connection |= LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    }
    c->connecting = 1;
    if (lws_client_connect_via_info(&i) == NULL && c->connecting) {
        /* Failed before any callback could report it. */
        c->connecting = 0;
        tailconn_dropped(c, "cannot start a connection");
    }
}

/* ------------------------------------------------------------------------
 * TLS verification
 * ---------------------------------------------------------------------- */

/* Called by lws for each certificate of the chain the server sends; keeps
 * OpenSSL's verdict for the message, and checks an IPv6 address (see
 * tailconn_connect). Returns 0 to leave the verdict as it is. */
static void tailconn_cert_refused(struct tailconn *c, int err, int depth)
{
    c->cert_name_mismatch =
        err == X509_V_ERR_HOSTNAME_MISMATCH || err == X509_V_ERR_IP_ADDRESS_MISMATCH;
    snprintf(c->cert_error, sizeof(c->cert_error), "%s (certificate %d of the chain)",
             X509_verify_cert_error_string(err), depth);
}

static int tailconn_verify(struct tailconn *c, X509_STORE_CTX *x509, int preverify_ok)
{
    int depth = X509_STORE_CTX_get_error_depth(x509);
    if (!preverify_ok) {
        tailconn_cert_refused(c, X509_STORE_CTX_get_error(x509), depth);
        return 0;
    }
    if (!c->host_is_ip6 || c->insecure || depth != 0 ||
        X509_check_ip_asc(X509_STORE_CTX_get_current_cert(x509), c->host, 0) == 1)
        return 0;
    X509_STORE_CTX_set_error(x509, X509_V_ERR_IP_ADDRESS_MISMATCH);
    tailconn_cert_refused(c, X509_V_ERR_IP_ADDRESS_MISMATCH, depth);
    return 1;
}

/* ------------------------------------------------------------------------
 * Receiving
 * ---------------------------------------------------------------------- */

/* Collects the fragments of one message; returns 1 when `*msg` holds a
 * whole one, 0 while more is to come, -1 when out of memory. */
static int tailconn_collect(struct tailconn *c, struct lws *wsi, const char *in, size_t len,
                            const char **msg, size_t *msglen)
{
    int final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (final && c->rx_len == 0 && !c->rx_skip) {
        *msg = in;
        *msglen = len;
        return 1;
    }
    if (!c->rx_skip && c->rx_len + len > TAILCONN_MAX_MESSAGE) {
        cli_error("warning: skipped a server message over %d bytes", TAILCONN_MAX_MESSAGE);
        c->rx_skip = 1;
    }
    if (!c->rx_skip) {
        if (c->rx_len + len > c->rx_cap) {
            size_t cap = c->rx_cap ? c->rx_cap : 8192;
            while (cap < c->rx_len + len)
                cap *= 2;
            char *p = realloc(c->rx, cap);
            if (p == NULL)
                return -1;
            c->rx = p;
            c->rx_cap = cap;
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
    }
    if (!final)
        return 0;
    int whole = !c->rx_skip;
    *msg = c->rx;
    *msglen = c->rx_len;
    c->rx_len = 0;
    c->rx_skip = 0;
    return whole;
}

static int tailconn_receive(struct tailconn *c, struct lws *wsi, const char *in, size_t len)
{
    const char *msg;
    size_t msglen;
    if (c->done)
        return 0; /* ending: nothing more is printed */
    int rc = tailconn_collect(c, wsi, in, len, &msg, &msglen);
    if (rc < 0) {
        cli_error("out of memory");
        tailconn_finish(c, CLI_EXIT_FAIL);
        return 0;
    }
    if (rc == 1)
        c->on_message(c, msg, msglen);
    return 0;
}

/* ------------------------------------------------------------------------
 * The protocol callback
 * ---------------------------------------------------------------------- */

static int tailconn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
{
    struct tailconn *c = lws_context_user(lws_get_context(wsi));
    char why[TAILCONN_ERR_MAX];

    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        /* user is the X509_STORE_CTX, len is preverify_ok. */
        return tailconn_verify(c, user, (int)len);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c->connecting = 0;
        c->wsi = NULL;
        if (c->cert_error[0])
            snprintf(why, sizeof(why), "TLS: the server's certificate failed verification: %s",
                     c->cert_error);
        else {
            char detail[TAILCONN_ERR_MAX - 32];
            tailconn_text(detail, sizeof(detail), in ? in : "", in ? len : 0);
            snprintf(why, sizeof(why), "cannot connect%s%s", detail[0] ? ": " : "", detail);
        }
        tailconn_dropped(c, why);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->connecting = 0;
        c->up = c->ever_up = 1;
        c->up_since = lws_now_usecs();
        c->last_error[0] = '\0';
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (tailconn_receive(c, wsi, in, len))
            return -1;
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *p = in;
            c->close_code = p[0] << 8 | p[1];
            tailconn_text(c->close_reason, sizeof(c->close_reason), (const char *)p + 2, len - 2);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->connecting = 0;
        c->wsi = NULL;
        snprintf(why, sizeof(why), "connection closed (%d %s%s%s)",
                 c->close_code ? c->close_code : 1006,
                 tailconn_close_name(c->close_code ? c->close_code : 1006),
                 c->close_reason[0] ? ": " : "", c->close_reason);
        tailconn_dropped(c, why);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (tailconn_signalled)
            tailconn_finish(c, CLI_EXIT_OK);
        return 0;
    default:
        return 0;
    }
    if (c->done && c->wsi == wsi) {
        /* One close frame, then lws waits (bounded) for the answer. */
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
        return -1;
    }
    return 0;
}

static const struct lws_protocols tailconn_protocols[] = {
    {TAILCONN_SUBPROTOCOL, tailconn_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ------------------------------------------------------------------------
 * The run
 * ---------------------------------------------------------------------- */

/* lws errors, as our messages; everything else stays quiet. */
static void tailconn_lws_log(int level, const char *line)
{
    char text[TAILCONN_ERR_MAX];
    (void)level;
    if (strncmp(line, "SSL error: ", 11) == 0)
        return; /* a refused certificate: tailconn_dropped reports it, with a hint */
    tailconn_text(text, sizeof(text), line, strlen(line));
    cli_error("lws: %s", text);
}

static void tailconn_on_signal(int signum)
{
    (void)signum;
    tailconn_signalled = 1;
    if (tailconn_signal_ctx)
        lws_cancel_service(tailconn_signal_ctx);
}

int tailconn_run(struct tailconn *c)
{
    struct lws_context_creation_info info;
    struct sigaction sa, old_int, old_term;

    /* Signals first: a Ctrl-C during the setup ends the run cleanly too. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tailconn_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    if (old_int.sa_handler == SIG_IGN) /* started in the background: leave it so */
        sigaction(SIGINT, &old_int, NULL);

    lws_set_log_level(LLL_ERR, tailconn_lws_log);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = tailconn_protocols;
    info.user = c;
    info.options = c->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    info.client_ssl_ca_filepath = c->ca; /* added to the system's CAs */
    info.timeout_secs = TAILCONN_CONNECT_TIMEOUT_S;
    info.fd_limit_per_thread = 8;
    c->ctx = lws_create_context(&info);
    if (c->ctx == NULL) {
        cli_error("cannot set up the WebSocket client");
        c->status = CLI_EXIT_FAIL;
        goto out;
    }
    tailconn_signal_ctx = c->ctx;

    if (c->timeout)
        lws_sul_schedule(c->ctx, 0, &c->timeout_sul, tailconn_timeout,
                         (lws_usec_t)c->timeout * LWS_US_PER_SEC);
    lws_sul_schedule(c->ctx, 0, &c->retry_sul, tailconn_connect, 1);

    while (!(c->done && (c->wsi == NULL || c->gave_up))) {
        if (tailconn_signalled && !c->done)
            tailconn_finish(c, CLI_EXIT_OK);
        if (lws_service(c->ctx, 0) < 0)
            break;
    }

    tailconn_signal_ctx = NULL;
    lws_sul_cancel(&c->grace_sul);
    lws_context_destroy(c->ctx);
    c->ctx = NULL;
out:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(c->rx);
    c->rx = NULL;
    return c->status;
}
