/*
 * conn — see conn.h. How the reading is paced (once per wake-up, then only
 * while OpenSSL holds bytes) is in inbox.c, which drives conn_read.
 */
#include "conn.h"

#include "clk.h"
#include "tcprx.h"
#include "tlsc.h"
#include "wsp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONN_RECORD_MAX 16384 /* TLS plaintext per record */
#define CONN_SCRATCH    (CONN_MSG_MAX + 16 + 2 * CONN_RECORD_MAX)

static struct conn_env *conn_ticket_env; /* for the ticket hook: one env per process */

/* ------------------------------------------------------------------------
 * Setup
 * ---------------------------------------------------------------------- */

int conn_env_init(struct conn_env *e, const struct bench_opts *o, SSL_CTX *ctx, int epfd)
{
    memset(e, 0, sizeof(*e));
    e->o = o, e->ctx = ctx, e->epfd = epfd;
    e->scratch = malloc(CONN_SCRATCH);
    conn_ticket_env = e;
    if (e->scratch == NULL || (o->deflate && wsz_init(&e->z, CONN_MSG_MAX) != 0))
        return -1;
    return 0;
}

void conn_env_free(struct conn_env *e)
{
    wsz_free(&e->z);
    free(e->scratch);
    e->scratch = NULL;
    conn_ticket_env = NULL;
}

int conn_on_ticket(SSL *ssl, SSL_SESSION *sess)
{
    struct conn *c = SSL_get_app_data(ssl);
    if (c == NULL)
        return 0;
    if (c->ticket)
        SSL_SESSION_free(c->ticket);
    c->ticket = sess;
    if (!c->ticketed && conn_ticket_env) {
        c->ticketed = 1;
        conn_ticket_env->cs->tickets++;
    }
    return 1;
}

static void conn_note_error(char *first, const char *fmt, const char *a, const char *b)
{
    if (first[0] == '\0')
        snprintf(first, STATS_ERR_LEN, fmt, a, b);
}

/* Frees everything c holds but the ticket; closes the socket. */
static void conn_release(struct conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->state != CONN_IDLE && c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    free(c->carry), free(c->out), free(c->frag);
    c->carry = c->out = c->frag = NULL;
    c->carry_len = c->out_len = c->frag_len = c->frag_wire = 0;
    c->pmd = c->frag_z = 0;
    c->fd = -1;
    c->events = 0;
    c->state = CONN_IDLE;
}

void conn_fail(struct conn_env *e, struct conn *c, enum stats_fail kind, const char *what,
               const char *detail)
{
    e->cs->failed++;
    e->cs->fail[kind]++;
    e->cs->last_ns = clk_mono_ns();
    e->pending--;
    conn_note_error(e->cs->first_error, "%s: %s", what, detail);
    conn_release(c);
}

void conn_drop(struct conn_env *e, struct conn *c, int code, const char *detail)
{
    static const int codes[] = STATS_CLOSE_CODES;
    int i = 0;
    while (i < STATS_N_CLOSE && codes[i] != code)
        i++;
    e->ds->dropped++;
    e->ds->close_codes[i]++;
    if (c->got == e->o->alerts && e->complete > 0)
        e->complete--;
    e->open--;
    char what[32];
    snprintf(what, sizeof(what), "dropped (close %d)", code);
    conn_note_error(e->ds->first_error, "%s: %s", what, detail);
    conn_release(c);
}

static int conn_watch(struct conn_env *e, struct conn *c, int want_out)
{
    uint8_t ev = (uint8_t)(want_out ? 3 : 1);
    if (c->events == ev)
        return 0;
    struct epoll_event ee = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.ptr = c};
    int rc = epoll_ctl(e->epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ee);
    if (rc == 0)
        c->events = ev;
    return rc;
}

/* ------------------------------------------------------------------------
 * Connecting
 * ---------------------------------------------------------------------- */

void conn_start(struct conn_env *e, struct conn *c, uint32_t index)
{
    const struct bench_opts *o = e->o;
    int one = 1;
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = opts_source(o, index)};

    c->index = index;
    free(c->rx);
    c->rx = NULL;
    c->got = 0;
    c->ticketed = 0;
    c->wire0 = -1;
    c->t_start = clk_mono_ns();
    if (e->cs->first_ns == 0)
        e->cs->first_ns = c->t_start;
    e->cs->attempted++;
    e->pending++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_fail(e, c, FAIL_SOCKET, "socket", strerror(errno));
        return;
    }
    c->state = CONN_TCP;
    /* The port is chosen at connect(), per destination, rather than at
     * bind(), per source address alone: a port bind() picks is taken for
     * every destination, so the ephemeral range would cap the clients of
     * one source address however many servers they reach, while connect()
     * only needs the whole address pair to be unique (bench/README.md,
     * --sources). */
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
        conn_fail(e, c, FAIL_SOCKET, "bind", strerror(errno));
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) != 0 &&
        errno != EINPROGRESS) {
        conn_fail(e, c, FAIL_CONNECT, "connect", strerror(errno));
        return;
    }
    if (conn_watch(e, c, 1) != 0)
        conn_fail(e, c, FAIL_SOCKET, "epoll_ctl", strerror(errno));
}

void conn_check_timeout(struct conn_env *e, struct conn *c, int64_t now)
{
    if (c->state == CONN_IDLE || c->state == CONN_OPEN)
        return;
    if (now - c->t_start > (int64_t)(e->o->connect_timeout * CLK_NS_PER_S))
        conn_fail(e, c, FAIL_TIMEOUT, "timeout",
                  c->state == CONN_TCP   ? "TCP connect"
                  : c->state == CONN_TLS ? "TLS handshake"
                                         : "upgrade answer");
}

int conn_send(struct conn_env *e, struct conn *c, const void *buf, size_t len)
{
    if (c->out_len)
        return 0;
    ERR_clear_error();
    int w = SSL_write(c->ssl, buf, (int)len);
    if (w > 0)
        return 0;
    int err = SSL_get_error(c->ssl, w);
    if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
        return -1;
    if ((c->out = malloc(len)) == NULL)
        return -1;
    memcpy(c->out, buf, len);
    c->out_len = (uint32_t)len;
    return conn_watch(e, c, 1);
}

static int conn_flush(struct conn_env *e, struct conn *c)
{
    if (c->out_len == 0)
        return conn_watch(e, c, 0);
    ERR_clear_error();
    int w = SSL_write(c->ssl, c->out, (int)c->out_len);
    if (w > 0) {
        free(c->out);
        c->out = NULL;
        c->out_len = 0;
        return conn_watch(e, c, 0);
    }
    int err = SSL_get_error(c->ssl, w);
    return err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ ? 0 : -1;
}

static void conn_tcp_done(struct conn_env *e, struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        conn_fail(e, c, FAIL_CONNECT, "connect", strerror(err));
        return;
    }
    if ((c->ssl = SSL_new(e->ctx)) == NULL || !SSL_set_fd(c->ssl, c->fd)) {
        conn_fail(e, c, FAIL_TLS, "SSL_new", "out of memory");
        return;
    }
    SSL_set_app_data(c->ssl, c);
    struct in_addr ip;
    if (inet_pton(AF_INET, e->o->host, &ip) != 1)
        SSL_set_tlsext_host_name(c->ssl, e->o->host);
    if (c->ticket)
        SSL_set_session(c->ssl, c->ticket);
    SSL_set_connect_state(c->ssl);
    c->state = CONN_TLS;
}

/* Handshake done: note what was negotiated, send the upgrade request. */
static void conn_tls_done(struct conn_env *e, struct conn *c)
{
    char req[WSP_REQUEST_MAX];
    struct stats_connect *cs = e->cs;
    if (cs->tls_version[0] == '\0') {
        snprintf(cs->tls_version, sizeof(cs->tls_version), "%s", SSL_get_version(c->ssl));
        snprintf(cs->cipher, sizeof(cs->cipher), "%s", SSL_get_cipher_name(c->ssl));
    }
    if (SSL_session_reused(c->ssl))
        cs->resumed++;
    int n = wsp_request(req, sizeof(req), e->o->host, e->o->port, e->o->path, e->o->subprotocol,
                        e->o->deflate ? WSP_PMD_OFFER : NULL, c->accept);
    if (n < 0 || conn_send(e, c, req, (size_t)n) != 0) {
        conn_fail(e, c, FAIL_CLOSED, "upgrade request", "write failed");
        return;
    }
    c->state = CONN_UPGRADE;
}

static void conn_handshake(struct conn_env *e, struct conn *c)
{
    char detail[STATS_ERR_LEN];
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        conn_tls_done(e, c);
        return;
    }
    int err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (conn_watch(e, c, err == SSL_ERROR_WANT_WRITE) != 0)
            conn_fail(e, c, FAIL_SOCKET, "epoll_ctl", strerror(errno));
        return;
    }
    if (err == SSL_ERROR_SSL) {
        long v = SSL_get_verify_result(c->ssl);
        tlsc_error(detail, sizeof(detail), "handshake");
        conn_fail(e, c, FAIL_TLS, v == X509_V_OK ? "TLS" : X509_verify_cert_error_string(v),
                  detail);
        return;
    }
    conn_fail(e, c, FAIL_CLOSED, "TLS handshake",
              errno && err == SSL_ERROR_SYSCALL ? strerror(errno) : "connection closed");
}

/* ------------------------------------------------------------------------
 * Receiving
 * ---------------------------------------------------------------------- */

void conn_opened(struct conn_env *e, struct conn *c, int pmd)
{
    int64_t now = clk_mono_ns();
    c->state = CONN_OPEN;
    c->pmd = (uint8_t)(pmd != 0);
    e->cs->pmd += c->pmd;
    free(c->rx);
    c->rx = calloc(e->o->alerts, sizeof(*c->rx));
    e->pending--;
    e->open++;
    e->cs->established++;
    e->cs->last_ns = now;
    e->cs->handshake_us += (now - c->t_start) / CLK_NS_PER_US;
}

/* A read that returned r <= 0: puts back the `have` bytes carried into
 * the scratch buffer and tells why. Returns 0 (nothing to read now) or -1
 * (c failed or was dropped). */
static int conn_read_stopped(struct conn_env *e, struct conn *c, int r, size_t have)
{
    int err = SSL_get_error(c->ssl, r);
    char detail[STATS_ERR_LEN];
    if (have && (c->carry = malloc(have)) != NULL) {
        memcpy(c->carry, e->scratch, have);
        c->carry_len = (uint32_t)have;
    }
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (err == SSL_ERROR_WANT_WRITE)
            conn_watch(e, c, 1);
        return 0;
    }
    if (err == SSL_ERROR_SSL)
        tlsc_error(detail, sizeof(detail), "read");
    else
        snprintf(detail, sizeof(detail), "%s",
                 err == SSL_ERROR_ZERO_RETURN ? "TLS close_notify"
                 : errno                      ? strerror(errno)
                                              : "connection closed");
    if (c->state == CONN_OPEN)
        conn_drop(e, c, 1006, detail);
    else
        conn_fail(e, c, FAIL_CLOSED, "upgrade", detail);
    return -1;
}

int conn_read(struct conn_env *e, struct conn *c, unsigned char **buf, size_t *n, int64_t *rx_ns)
{
    size_t have = c->carry_len;
    if (have) {
        memcpy(e->scratch, c->carry, have);
        free(c->carry);
        c->carry = NULL;
        c->carry_len = 0;
    }
    ERR_clear_error();
    int r = SSL_read(c->ssl, e->scratch + have, CONN_SCRATCH - (int)have);
    *rx_ns = clk_real_ns();
    if (r <= 0)
        return conn_read_stopped(e, c, r, have);
    if (have + (size_t)r > CONN_MSG_MAX + 16 + CONN_RECORD_MAX) {
        conn_drop(e, c, 1009, "message too big");
        return -1;
    }
    *buf = e->scratch;
    *n = have + (size_t)r;
    return 1;
}

int conn_pending(const struct conn *c)
{
    return c->ssl != NULL && SSL_has_pending(c->ssl);
}

int conn_io(struct conn_env *e, struct conn *c, uint32_t events)
{
    if (c->state == CONN_TCP) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return 0;
        conn_tcp_done(e, c);
        if (c->state != CONN_TLS)
            return 0;
    }
    if (c->state == CONN_TLS) {
        conn_handshake(e, c);
        if (c->state != CONN_UPGRADE)
            return 0;
    }
    if ((events & EPOLLOUT) && conn_flush(e, c) != 0) {
        if (c->state == CONN_OPEN)
            conn_drop(e, c, 1006, "write failed");
        else
            conn_fail(e, c, FAIL_CLOSED, "upgrade request", "write failed");
        return 0;
    }
    return c->state == CONN_UPGRADE || c->state == CONN_OPEN;
}

/* ------------------------------------------------------------------------
 * Closing
 * ---------------------------------------------------------------------- */

void conn_close(struct conn_env *e, struct conn *c, int keep_ticket)
{
    if (c->state == CONN_OPEN) {
        unsigned char ctl[WSP_CONTROL_MAX];
        static const unsigned char normal[2] = {1000 >> 8, 1000 & 0xFF};
        ERR_clear_error();
        if (c->out_len == 0)
            SSL_write(c->ssl, ctl, (int)wsp_control(ctl, WSP_CLOSE, normal, 2));
        SSL_shutdown(c->ssl);
        ERR_clear_error();
        if (c->got == e->o->alerts && e->complete > 0)
            e->complete--;
        e->open--;
    } else if (c->state != CONN_IDLE) {
        e->pending--;
    }
    conn_release(c);
    if (!keep_ticket && c->ticket) {
        SSL_SESSION_free(c->ticket);
        c->ticket = NULL;
    }
}

void conn_mark_wire(struct conn *c)
{
    c->wire0 = c->state == CONN_OPEN ? tcprx_bytes(c->fd) : -1;
}

void conn_add_wire(const struct conn *c, uint64_t *sum, uint64_t *conns)
{
    int64_t now = c->state == CONN_OPEN && c->wire0 >= 0 ? tcprx_bytes(c->fd) : -1;
    if (now < 0 || now < c->wire0)
        return;
    *sum += (uint64_t)(now - c->wire0);
    (*conns)++;
}

void conn_forget(struct conn *c)
{
    free(c->rx);
    c->rx = NULL;
    if (c->ticket) {
        SSL_SESSION_free(c->ticket);
        c->ticket = NULL;
    }
}
