/*
 * listener — see listener.h.
 */
#include "listener.h"

#include "ipcount.h"
#include "iprate.h"
#include "log.h"
#include "metrics.h"
#include "proxyproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTENER_BACKLOG      4096 /* somaxconn on these machines */
#define LISTENER_ACCEPT_BURST 256  /* accepts per wakeup, so TLS work interleaves */
#define LISTENER_SNDBUF       (64 * 1024)
#define LISTENER_RATE_SLOTS   (64 * 1024) /* addresses tracked for --max-rate-per-ip */
#define LISTENER_EMFILE_MS    100         /* pause after running out of file descriptors */
/* --proxy-protocol: a PROXY header not whole at accept is waited for this
 * long (a balancer sends it at once), by at most this many connections. */
#define LISTENER_PROXY_WAIT_MS  5000
#define LISTENER_PROXY_WAITING  4096
#define LISTENER_PROXY_SWEEP_MS 1000
/* The opaque user data of a connection: its per-address slot + 1, or this
 * for a metrics-port connection. */
#define LISTENER_ADMIN_MARK ((intptr_t)-1)

/* What has arrived of a connection's PROXY header (--proxy-protocol). */
struct listener_header {
    unsigned char buf[PROXYPROTO_MAX];
    size_t have; /* bytes taken from the socket: all part of the header */
};

/* A reader's connection whose PROXY header had not all arrived at accept:
 * watched until it has, or until its deadline. Freed in its poll handle's
 * close callback. */
struct listener_wait {
    uv_poll_t poll;
    struct listener_wait *prev, *next;
    struct listener *l;
    uint64_t deadline;            /* uv_now() ms */
    struct sockaddr_storage peer; /* the socket's own peer: the balancer */
    struct listener_header h;
    int fd;
};

static int listener_fail(char *err, size_t errlen, const char *what, const char *host, int port)
{
    snprintf(err, errlen, "%s %s:%d: %s", what, host, port, strerror(errno));
    return -1;
}

/* A socket bound to host:port with SO_REUSEADDR (a restart must not wait
 * out TIME_WAIT) and, if asked, SO_REUSEPORT; -1 with err set. */
static int listener_bind(const char *host, int port, int reuseport, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1, fd;

    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        len = sizeof(*v6);
    } else {
        snprintf(err, errlen, "--listen: \"%s\" is not an IPv4 or IPv6 address", host);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return listener_fail(err, errlen, "cannot make a socket for", host, port);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    if (ss.ss_family == AF_INET6) /* "::" serves IPv4 too */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){0}, sizeof(int));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0)
        goto fail;
    return fd;
fail:
    listener_fail(err, errlen, "cannot listen on", host, port);
    int saved = errno;
    close(fd);
    errno = saved; /* the caller tells "in use" from other failures */
    return -1;
}

int listener_open_all(const char *host, int port, int n, int *fds, char *err, size_t errlen)
{
    int reuseport = n > 1;
    if (reuseport) {
        /* SO_REUSEPORT lets any socket of the same user that sets it too
         * join the port: a second alertd with workers would silently take
         * a share of the connections. A probe bound without it fails if
         * anything listens there already. */
        int probe = listener_bind(host, port, 0, err, errlen);
        if (probe < 0) {
            if (errno == EADDRINUSE)
                snprintf(err + strlen(err), errlen - strlen(err),
                         " (another process listens there)");
            return -1;
        }
        close(probe);
    }
    for (int i = 0; i < n; i++) {
        fds[i] = listener_bind(host, port, reuseport, err, errlen);
        if (fds[i] >= 0 && listen(fds[i], LISTENER_BACKLOG) < 0) {
            listener_fail(err, errlen, "cannot listen on", host, port);
            close(fds[i]);
            fds[i] = -1;
        }
        if (fds[i] < 0) {
            while (i-- > 0)
                close(fds[i]);
            return -1;
        }
    }
    return 0;
}

/* Runs on the loop's thread for every reader connection accepted. */
static void listener_adopt(struct listener *l, int fd, const struct sockaddr *peer)
{
    int sndbuf = LISTENER_SNDBUF;
    if (!iprate_allow(&l->rate, peer, (uint32_t)(uv_now(l->readers.poll.loop) / 1000))) {
        metrics->rate_refused++;
        close(fd);
        return;
    }
    long slot = ipcount_acquire(&l->ips, peer);
    if (slot < 0) {
        metrics->per_ip_refused++;
        close(fd);
        return;
    }
    /* A bounded send buffer: Linux would grow a stalled client's to
     * several MiB, hiding hundreds of alerts from the max-queue rule. */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    /* No Nagle: writes are already whole (a frame, or a batch of them),
     * and an alert must not wait for the client's delayed ACK of the one
     * before (up to 200 ms on some clients). lws does not set it on an
     * adopted socket. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    struct lws *wsi = lws_adopt_socket_vhost(l->vhost, fd);
    if (wsi == NULL) { /* lws closed fd */
        ipcount_release(&l->ips, slot);
        return;
    }
    lws_set_opaque_user_data(wsi, (void *)(intptr_t)(slot + 1));
}

/* A metrics-port connection: into the plain vhost (lws may move it to the
 * readers' vhost by its Host header once the request is read, so it is
 * marked instead; see listener_is_admin). */
static void listener_adopt_admin(struct listener *l, int fd)
{
    struct lws *wsi = lws_adopt_socket_vhost(l->admin_vhost, fd);
    if (wsi == NULL) /* lws closed fd */
        log_warn("cannot take a metrics connection");
    else
        lws_set_opaque_user_data(wsi, (void *)LISTENER_ADMIN_MARK);
}

/* ------------------------------------------------------------------------
 * --proxy-protocol: the client's address from the balancer's header
 * ---------------------------------------------------------------------- */

/* Reads what has arrived of fd's header into h, never a byte past it: the
 * bytes are peeked at, and only those that belong to the header are taken
 * (all of them while it is incomplete: it ends with its last byte). Returns
 * the header's length (> 0) with *client set once it is whole, 0 while it
 * is incomplete, or -1 with *why set (NULL: the connection closed or failed
 * before its header was whole, as a balancer's plain TCP check does). */
static long listener_header_read(int fd, struct listener_header *h, struct sockaddr_storage *client,
                                 const char **why)
{
    *why = NULL;
    ssize_t got = recv(fd, h->buf + h->have, sizeof(h->buf) - h->have, MSG_PEEK);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (got <= 0)
        return -1;
    long len = proxyproto_parse(h->buf, h->have + (size_t)got, client, why);
    if (len < 0)
        return -1;
    size_t take = len > 0 ? (size_t)len - h->have : (size_t)got;
    if (recv(fd, h->buf + h->have, take, 0) != (ssize_t)take) {
        *why = "PROXY header could not be read";
        return -1;
    }
    h->have += take;
    return len;
}

/* Ends a connection whose header could not be read. */
static void listener_proxy_refuse(int fd, const char *why)
{
    if (why) {
        metrics->proxy_refused++;
        log_debug("connection closed", KV_S("reason", why));
    }
    close(fd);
}

/* Hands fd, its header taken, on under the client's address (the socket's
 * own if the header names none). */
static void listener_proxy_adopt(struct listener *l, int fd, const struct sockaddr_storage *client,
                                 const struct sockaddr_storage *peer)
{
    const struct sockaddr_storage *who = client->ss_family == AF_UNSPEC ? peer : client;
    listener_adopt(l, fd, (const struct sockaddr *)who);
}

static void listener_wait_freed(uv_handle_t *h)
{
    free(h->data);
}

/* Stops watching w's fd, which stays open for the caller. */
static void listener_wait_end(struct listener_wait *w)
{
    struct listener *l = w->l;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    l->nwaits--;
    /* uv_close stops the poll at once (lws may watch fd next); frees later. */
    uv_close((uv_handle_t *)&w->poll, listener_wait_freed);
    if (l->nwaits == 0)
        uv_timer_stop(&l->sweep);
}

static void listener_wait_on_readable(uv_poll_t *h, int status, int events)
{
    struct listener_wait *w = h->data;
    struct sockaddr_storage client;
    const char *why = NULL;
    long len = status < 0 ? -1 : listener_header_read(w->fd, &w->h, &client, &why);
    (void)events;
    if (len == 0)
        return; /* still incomplete: what came is taken, wait for more */
    int fd = w->fd;
    struct sockaddr_storage peer = w->peer;
    struct listener *l = w->l;
    listener_wait_end(w);
    if (len < 0)
        listener_proxy_refuse(fd, why);
    else
        listener_proxy_adopt(l, fd, &client, &peer);
}

static void listener_on_sweep(uv_timer_t *t)
{
    struct listener *l = t->data;
    uint64_t now = uv_now(t->loop);
    struct listener_wait *w = l->waits, *next;
    for (; w; w = next) {
        next = w->next;
        if (now >= w->deadline) {
            int fd = w->fd;
            listener_wait_end(w);
            listener_proxy_refuse(fd, "no whole PROXY header within 5 s");
        }
    }
}

/* Watches fd until its header is whole (h: what came of it so far); closes
 * it if it cannot. */
static void listener_wait_begin(struct listener *l, int fd, const struct sockaddr_storage *peer,
                                const struct listener_header *h)
{
    uv_loop_t *loop = l->readers.poll.loop;
    struct listener_wait *w = NULL;
    if (l->nwaits >= LISTENER_PROXY_WAITING) {
        listener_proxy_refuse(fd, "too many connections waiting for their PROXY header");
        return;
    }
    if ((w = malloc(sizeof(*w))) == NULL || uv_poll_init(loop, &w->poll, fd) != 0) {
        free(w);
        listener_proxy_refuse(fd, "cannot watch the connection for its PROXY header");
        return;
    }
    w->poll.data = w;
    w->l = l;
    w->fd = fd;
    w->peer = *peer;
    w->h.have = h->have;
    memcpy(w->h.buf, h->buf, h->have);
    w->deadline = uv_now(loop) + LISTENER_PROXY_WAIT_MS;
    w->prev = NULL;
    w->next = l->waits;
    if (l->waits)
        l->waits->prev = w;
    l->waits = w;
    if (l->nwaits++ == 0)
        uv_timer_start(&l->sweep, listener_on_sweep, LISTENER_PROXY_SWEEP_MS,
                       LISTENER_PROXY_SWEEP_MS);
    uv_poll_start(&w->poll, UV_READABLE, listener_wait_on_readable);
}

/* A reader's connection under --proxy-protocol: its header is usually
 * whole at accept (the listener defers accepts until data arrives). */
static void listener_proxy_accept(struct listener *l, int fd, const struct sockaddr_storage *peer)
{
    struct listener_header h;
    h.have = 0;
    struct sockaddr_storage client;
    const char *why;
    long len = listener_header_read(fd, &h, &client, &why);
    if (len > 0)
        listener_proxy_adopt(l, fd, &client, peer);
    else if (len == 0)
        listener_wait_begin(l, fd, peer, &h);
    else
        listener_proxy_refuse(fd, why);
}

/* Closes every connection still waiting for its header (draining, stop). */
static void listener_wait_cancel_all(struct listener *l)
{
    while (l->waits) {
        int fd = l->waits->fd;
        listener_wait_end(l->waits);
        close(fd);
    }
}

static void listener_on_readable(uv_poll_t *h, int status, int events);

static void listener_on_retry(uv_timer_t *t)
{
    struct listener_port *p = t->data;
    if (p->polling && !p->paused)
        uv_poll_start(&p->poll, UV_READABLE, listener_on_readable);
}

/* The pending connection stays in the backlog and the socket readable:
 * polling on would spin a core (and log each turn) until a descriptor is
 * free. Stop for a moment instead; connections closing meanwhile make
 * room, and the backlog waits. */
static void listener_out_of_files(struct listener_port *p)
{
    log_warn("accept: out of file descriptors, pausing", KV_S("error", strerror(errno)),
             KV_I("pause_ms", LISTENER_EMFILE_MS));
    uv_poll_stop(&p->poll);
    uv_timer_start(&p->retry, listener_on_retry, LISTENER_EMFILE_MS, 0);
}

static void listener_on_readable(uv_poll_t *h, int status, int events)
{
    struct listener_port *p = h->data;
    struct listener *l = p->owner;
    (void)events;
    if (status < 0)
        return;
    for (int i = 0; i < LISTENER_ACCEPT_BURST; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(p->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (p->admin)
                listener_adopt_admin(l, fd);
            else if (l->cfg->proxy_protocol)
                listener_proxy_accept(l, fd, &peer);
            else
                listener_adopt(l, fd, (struct sockaddr *)&peer);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE)
            listener_out_of_files(p);
        return; /* EAGAIN, or another worker took it, or an error: next time */
    }
}

/* Starts accepting on fd; -1 when it cannot be watched (fd not taken). */
static int listener_poll(struct listener *l, struct listener_port *p, uv_loop_t *loop, int fd,
                         int admin)
{
    if (uv_poll_init(loop, &p->poll, fd) != 0)
        return -1;
    p->owner = l;
    p->fd = fd;
    p->admin = admin;
    p->poll.data = p;
    uv_timer_init(loop, &p->retry);
    p->retry.data = p;
    uv_poll_start(&p->poll, UV_READABLE, listener_on_readable);
    p->polling = 1;
    return 0;
}

int listener_start(struct listener *l, uv_loop_t *loop, const struct config *cfg,
                   struct lws_vhost *vhost, struct lws_vhost *admin_vhost, int fd, int admin_fd)
{
    size_t addresses = (size_t)cfg->max_connections + 1024;
    memset(l, 0, sizeof(*l));
    l->cfg = cfg;
    l->vhost = vhost;
    l->admin_vhost = admin_vhost;
    l->readers.fd = l->admin.fd = -1;
    if (ipcount_init(&l->ips, addresses, (uint32_t)cfg->max_per_ip) ||
        iprate_init(&l->rate, LISTENER_RATE_SLOTS, (uint32_t)cfg->max_rate_per_ip)) {
        ipcount_free(&l->ips);
        return -1;
    }
    if (cfg->proxy_protocol) {
        /* Accept once the first bytes (the PROXY header) are in. */
        int secs = LISTENER_PROXY_WAIT_MS / 1000;
        setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
    }
    if (listener_poll(l, &l->readers, loop, fd, 0) != 0) {
        ipcount_free(&l->ips);
        iprate_free(&l->rate);
        return -1;
    }
    uv_timer_init(loop, &l->sweep); /* closed with the readers' port */
    l->sweep.data = l;
    if (admin_fd >= 0 && listener_poll(l, &l->admin, loop, admin_fd, 1) != 0) {
        close(admin_fd);
        return -1; /* the readers' port is open: listener_close closes it */
    }
    return 0;
}

void listener_pause(struct listener *l)
{
    /* The metrics port keeps answering while readers are drained. */
    l->readers.paused = 1;
    listener_wait_cancel_all(l);
    if (l->readers.polling) {
        uv_poll_stop(&l->readers.poll);
        uv_timer_stop(&l->readers.retry);
    }
}

static void listener_on_closed(uv_handle_t *h)
{
    struct listener_port *p = h->data;
    close(p->fd);
    p->fd = -1;
    if (!p->admin) {
        ipcount_free(&p->owner->ips);
        iprate_free(&p->owner->rate);
    }
}

static void listener_stop(struct listener_port *p)
{
    if (!p->polling)
        return;
    if (!p->admin) {
        listener_wait_cancel_all(p->owner);
        uv_close((uv_handle_t *)&p->owner->sweep, NULL);
    }
    p->polling = 0;
    uv_close((uv_handle_t *)&p->retry, NULL);
    uv_close((uv_handle_t *)&p->poll, listener_on_closed);
}

void listener_close(struct listener *l)
{
    listener_stop(&l->readers);
    listener_stop(&l->admin);
}

int listener_is_admin(struct lws *wsi)
{
    return (intptr_t)lws_get_opaque_user_data(wsi) == LISTENER_ADMIN_MARK;
}

void listener_release(struct listener *l, struct lws *wsi)
{
    intptr_t slot = (intptr_t)lws_get_opaque_user_data(wsi);
    if (slot > 0 && l->ips.slots) {
        ipcount_release(&l->ips, (long)(slot - 1));
        lws_set_opaque_user_data(wsi, NULL);
    }
}

void listener_cork(int fd, int on)
{
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

void listener_ack_now(int fd)
{
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &(int){1}, sizeof(int));
}
