/*
 * worker — see worker.h.
 *
 * One loop, three phases:
 *   connecting   start clients at the paced rate, at most --max-pending
 *                handshakes at once; fail those past --connect-timeout;
 *                then IPC_READY. (--resume: IPC_DISCONNECT closes them
 *                all, IPC_RECONNECT does it again with their tickets.)
 *   waiting      keep every connection served (pings) while the parent
 *                publishes; receipts are recorded as they come.
 *   draining     after IPC_DRAIN: until every open client has every alert
 *                or the deadline passes; then IPC_FINAL, and after
 *                IPC_CLOSE, close everything and IPC_BYE.
 */
#include "worker.h"

#include "clk.h"
#include "conn.h"
#include "inbox.h"
#include "ipc.h"
#include "stats.h"
#include "tlsc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define WORKER_EVENTS       512
#define WORKER_CHECK_NS     (100 * CLK_NS_PER_MS) /* timeout scans */
#define WORKER_IDLE_WAIT_MS 100

enum worker_phase { W_CONNECTING, W_WAITING, W_DISCONNECTED, W_DRAINING, W_FINAL_SENT, W_QUIT };

struct worker {
    const struct worker_args *a;
    const struct bench_opts *o;
    struct conn *conns;
    struct conn_env env;
    struct stats_connect cs;
    struct stats_deliver ds;
    int epfd;
    enum worker_phase phase;
    uint32_t opened;       /* clients started in this connection phase */
    uint32_t oldest;       /* below it, no client is still connecting */
    int64_t phase_ns;      /* CLOCK_MONOTONIC when the connection phase began */
    int64_t phase_cpu;     /* CPU µs then */
    int64_t next_check;    /* next timeout scan */
    int64_t deadline;      /* drain deadline */
    int64_t *pub_delay_us; /* from IPC_DRAIN, K entries */
    int failed;            /* the parent went away, or a report could not be sent */
};

/* ------------------------------------------------------------------------
 * Connecting
 * ---------------------------------------------------------------------- */

static void worker_connect_begin(struct worker *w)
{
    memset(&w->cs, 0, sizeof(w->cs));
    w->env.cs = &w->cs;
    w->opened = w->oldest = 0;
    w->phase_ns = clk_mono_ns();
    w->phase_cpu = clk_cpu_us();
    w->next_check = w->phase_ns + WORKER_CHECK_NS;
    w->phase = W_CONNECTING;
}

/* Starts the clients due by `now`; fails the overdue. Returns the ms to
 * wait for before the next one is due (-1: none is). */
static int worker_pace(struct worker *w, int64_t now)
{
    const struct worker_args *a = w->a;
    double due_f = (double)(now - w->phase_ns) * a->rate / (double)CLK_NS_PER_S + 1;
    uint32_t due = due_f >= a->count ? a->count : (uint32_t)due_f;
    while (w->opened < due && w->env.pending < w->o->max_pending) {
        conn_start(&w->env, &w->conns[w->opened], a->first + w->opened);
        w->opened++;
    }
    if (now >= w->next_check) {
        for (uint32_t i = w->oldest; i < w->opened; i++)
            conn_check_timeout(&w->env, &w->conns[i], now);
        while (w->oldest < w->opened &&
               (w->conns[w->oldest].state == CONN_IDLE || w->conns[w->oldest].state == CONN_OPEN))
            w->oldest++;
        w->next_check = now + WORKER_CHECK_NS;
    }
    if (w->opened == a->count || w->env.pending >= w->o->max_pending)
        return WORKER_IDLE_WAIT_MS;
    double next = (double)w->opened * (double)CLK_NS_PER_S / a->rate;
    int64_t wait_ns = w->phase_ns + (int64_t)next - now;
    return wait_ns <= 0 ? 0 : (int)(wait_ns / CLK_NS_PER_MS) + 1;
}

static void worker_connect_end(struct worker *w)
{
    w->cs.cpu_us = clk_cpu_us() - w->phase_cpu;
    if (ipc_send(w->a->rep_fd, IPC_READY, &w->cs, sizeof(w->cs), NULL, 0) != 0)
        w->failed = 1, w->phase = W_QUIT;
    else
        w->phase = W_WAITING;
    w->phase_cpu = clk_cpu_us(); /* the delivery phase starts now */
}

/* ------------------------------------------------------------------------
 * The delivery report
 * ---------------------------------------------------------------------- */

static int worker_final(struct worker *w)
{
    uint32_t k = w->o->alerts;
    size_t blen = 2 * sizeof(struct hist) + 2 * (size_t)k * sizeof(uint64_t);
    unsigned char *blob = calloc(1, blen);
    if (blob == NULL)
        return -1;
    struct hist *e2e = (struct hist *)blob, *relay = e2e + 1;
    uint64_t *reach = (uint64_t *)(relay + 1), *receivers = reach + k;
    hist_init(e2e);
    hist_init(relay);
    for (uint32_t i = 0; i < w->a->count; i++) {
        const struct conn *c = &w->conns[i];
        if (c->rx == NULL)
            continue;
        w->ds.clients++;
        w->ds.missing += k - c->got;
        if (c->got == k)
            w->ds.complete++;
        for (uint32_t s = 0; s < k; s++) {
            if (c->rx[s] == 0)
                continue;
            uint64_t us = c->rx[s] - 1;
            hist_add(e2e, us);
            if (w->pub_delay_us && w->pub_delay_us[s] >= 0)
                hist_add(relay,
                         us > (uint64_t)w->pub_delay_us[s] ? us - (uint64_t)w->pub_delay_us[s] : 0);
            if (us > reach[s])
                reach[s] = us;
            receivers[s]++;
        }
    }
    w->ds.cpu_us = clk_cpu_us() - w->phase_cpu;
    for (uint32_t i = 0; i < w->a->count; i++) /* after the CPU reading: not a delivery's cost */
        conn_add_wire(&w->conns[i], &w->ds.wire_bytes, &w->ds.wire_conns);
    int rc = ipc_send(w->a->rep_fd, IPC_FINAL, &w->ds, sizeof(w->ds), blob, blen);
    free(blob);
    return rc;
}

/* ------------------------------------------------------------------------
 * Commands
 * ---------------------------------------------------------------------- */

static void worker_close_all(struct worker *w, int keep_tickets)
{
    for (uint32_t i = 0; i < w->a->count; i++)
        conn_close(&w->env, &w->conns[i], keep_tickets);
}

static void worker_command(struct worker *w)
{
    struct ipc_hdr h;
    void *p;
    if (ipc_recv(w->a->cmd_fd, &h, &p) != 0) {
        w->phase = W_QUIT; /* the parent is gone: stop */
        w->failed = 1;
        return;
    }
    switch (h.type) {
    case IPC_DISCONNECT:
        if (w->phase == W_WAITING) {
            worker_close_all(w, 1);
            w->phase = W_DISCONNECTED;
            if (ipc_send(w->a->rep_fd, IPC_CLOSED, NULL, 0, NULL, 0) != 0)
                w->failed = 1, w->phase = W_QUIT;
        }
        break;
    case IPC_RECONNECT:
        if (w->phase == W_DISCONNECTED)
            worker_connect_begin(w);
        break;
    case IPC_WIRE:
        for (uint32_t i = 0; i < w->a->count; i++)
            conn_mark_wire(&w->conns[i]);
        if (ipc_send(w->a->rep_fd, IPC_WIRED, NULL, 0, NULL, 0) != 0)
            w->failed = 1, w->phase = W_QUIT;
        break;
    case IPC_START:
        w->phase_cpu = clk_cpu_us();
        break;
    case IPC_DRAIN:
        if (h.len == sizeof(int64_t) * (1 + (size_t)w->o->alerts) && w->phase == W_WAITING) {
            memcpy(&w->deadline, p, sizeof(int64_t));
            w->pub_delay_us = malloc(sizeof(int64_t) * w->o->alerts);
            if (w->pub_delay_us)
                memcpy(w->pub_delay_us, (int64_t *)p + 1, sizeof(int64_t) * w->o->alerts);
            w->phase = W_DRAINING;
        }
        break;
    case IPC_CLOSE:
    default:
        w->phase = W_QUIT;
        break;
    }
    free(p);
}

/* ------------------------------------------------------------------------
 * The loop
 * ---------------------------------------------------------------------- */

static void worker_loop(struct worker *w)
{
    struct epoll_event ev[WORKER_EVENTS];
    while (w->phase != W_QUIT) {
        int64_t now = clk_mono_ns();
        int wait_ms = WORKER_IDLE_WAIT_MS;
        if (w->phase == W_CONNECTING) {
            wait_ms = worker_pace(w, now);
            if (w->opened == w->a->count && w->env.pending == 0) {
                worker_connect_end(w);
                continue;
            }
        } else if (w->phase == W_DRAINING) {
            if (w->env.complete >= w->env.open || now >= w->deadline) {
                if (worker_final(w) != 0)
                    w->failed = 1, w->phase = W_QUIT;
                else
                    w->phase = W_FINAL_SENT;
                continue;
            }
            int64_t left = (w->deadline - now) / CLK_NS_PER_MS + 1;
            wait_ms = left < wait_ms ? (int)left : wait_ms;
        }
        int n = epoll_wait(w->epfd, ev, WORKER_EVENTS, wait_ms);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL)
                worker_command(w);
            else
                inbox_io(&w->env, ev[i].data.ptr, ev[i].events);
        }
    }
}

int worker_main(const struct worker_args *a)
{
    char err[256];
    struct worker w;
    int rc = 1;
    memset(&w, 0, sizeof(w));
    w.a = a, w.o = a->o;
    w.epfd = epoll_create1(EPOLL_CLOEXEC);
    SSL_CTX *ctx = tlsc_client_ctx(a->o, a->o->resume ? conn_on_ticket : NULL, err, sizeof(err));
    w.conns = calloc(a->count ? a->count : 1, sizeof(*w.conns));
    if (w.epfd < 0 || ctx == NULL || w.conns == NULL ||
        conn_env_init(&w.env, a->o, ctx, w.epfd) != 0) {
        fprintf(stderr, "alert-bench: worker %d: %s\n", a->index,
                ctx ? "out of memory or descriptors" : err);
        goto out;
    }
    for (uint32_t i = 0; i < a->count; i++)
        w.conns[i].fd = -1;
    if (a->o->record && a->first == 0 && a->count > 0 &&
        (w.env.record = fopen(a->o->record, "w")) == NULL) {
        fprintf(stderr, "alert-bench: --record %s: %s\n", a->o->record, strerror(errno));
        goto out;
    }
    w.env.ds = &w.ds;
    w.env.run_id = a->run_id;
    struct epoll_event ee = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(w.epfd, EPOLL_CTL_ADD, a->cmd_fd, &ee) != 0)
        goto out;
    worker_connect_begin(&w);
    worker_loop(&w);
    worker_close_all(&w, 0);
    int64_t cpu = clk_cpu_us();
    if (!w.failed && ipc_send(a->rep_fd, IPC_BYE, &cpu, sizeof(cpu), NULL, 0) == 0)
        rc = 0;
out:
    if (w.conns)
        for (uint32_t i = 0; i < a->count; i++)
            conn_forget(&w.conns[i]);
    free(w.conns);
    free(w.pub_delay_us);
    if (w.env.record && fclose(w.env.record) != 0)
        rc = 1;
    conn_env_free(&w.env);
    SSL_CTX_free(ctx);
    if (w.epfd >= 0)
        close(w.epfd);
    return rc;
}
