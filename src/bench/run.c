/*
 * run — see run.h.
 *
 * Every wait has a deadline; a worker that misses one is killed by its pid
 * and counted as failed. Workers are the only processes killed, besides
 * the `alert push` processes pub.c starts.
 */
#include "run.h"

#include "clk.h"
#include "ipc.h"
#include "msg.h"
#include "pub.h"
#include "report.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN_MAX_PROCS    64
#define RUN_SLACK_NS     (30 * CLK_NS_PER_S) /* on top of every computed deadline */
#define RUN_SEEN_WAIT_NS (5 * CLK_NS_PER_S)  /* for our subscriber to see the last alert */

struct run_worker {
    pid_t pid;
    int cmd, rep;   /* parent's ends */
    uint32_t count; /* clients */
    int alive;
    int answered; /* sent the message being waited for */
};

/* Static so that a forked worker's copy stays reachable (leak checkers). */
static struct run {
    const struct bench_opts *o;
    struct run_worker w[RUN_MAX_PROCS];
    int n;
    int resumed_phase; /* READY messages now report the reconnection */
    struct report rep;
    struct pub pub;
} run;

static void run_say(const char *fmt, ...)
{
    va_list ap;
    if (run.o->quiet)
        return;
    va_start(ap, fmt);
    fputs("alert-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void run_mark(enum report_mark m)
{
    if (run.rep.has_server && procstat_read(run.o, &run.rep.server[m]) == 0)
        run.rep.have_mark[m] = 1;
}

/* ------------------------------------------------------------------------
 * Workers
 * ---------------------------------------------------------------------- */

static int run_spawn(int64_t run_id)
{
    const struct bench_opts *o = run.o;
    uint32_t first = 0;
    fflush(NULL);
    for (int i = 0; i < o->procs; i++) {
        struct run_worker *w = &run.w[i];
        int cmd[2], rep[2];
        w->count =
            o->clients / (uint32_t)o->procs + ((uint32_t)i < o->clients % (uint32_t)o->procs);
        if (pipe2(cmd, O_CLOEXEC) != 0)
            return -1;
        if (pipe2(rep, O_CLOEXEC) != 0) {
            close(cmd[0]), close(cmd[1]);
            return -1;
        }
        w->pid = fork();
        if (w->pid < 0) {
            close(cmd[0]), close(cmd[1]), close(rep[0]), close(rep[1]);
            return -1;
        }
        if (w->pid == 0) {
            for (int j = 0; j < i; j++)
                close(run.w[j].cmd), close(run.w[j].rep);
            close(cmd[1]), close(rep[0]);
            pub_close_fds(&run.pub);
            struct worker_args a = {o,      i,      first, w->count, o->rate / o->procs,
                                    cmd[0], rep[1], run_id};
            exit(worker_main(&a));
        }
        close(cmd[0]), close(rep[1]);
        w->cmd = cmd[1], w->rep = rep[0], w->alive = 1;
        run.n++;
        first += w->count;
    }
    return 0;
}

static void run_lost(struct run_worker *w)
{
    if (!w->alive)
        return;
    w->alive = 0;
    run.rep.workers_failed++;
    if (w->pid > 0)
        kill(w->pid, SIGKILL);
}

static void run_send(uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
    for (int i = 0; i < run.n; i++)
        if (run.w[i].alive && ipc_send(run.w[i].cmd, type, a, alen, b, blen) != 0)
            run_lost(&run.w[i]);
}

/* Handles one message from w; `want` is the type being waited for. */
static void run_receive(struct run_worker *w, uint32_t want)
{
    struct ipc_hdr h;
    void *p;
    if (ipc_recv(w->rep, &h, &p) != 0) {
        run_lost(w);
        return;
    }
    if (h.type == want && h.type == IPC_READY && h.len == sizeof(struct stats_connect)) {
        report_add_connect(&run.rep, p, run.resumed_phase);
        w->answered = 1;
    } else if (h.type == want && h.type == IPC_FINAL) {
        if (report_add_final(&run.rep, p, h.len) != 0)
            run_lost(w);
        w->answered = 1;
    } else if (h.type == want && (h.type == IPC_CLOSED || h.type == IPC_WIRED)) {
        w->answered = 1;
    } else if (h.type == want && h.type == IPC_BYE && h.len == sizeof(int64_t)) {
        int64_t cpu;
        memcpy(&cpu, p, sizeof(cpu));
        run.rep.workers_cpu_us += cpu;
        w->answered = 1;
    }
    free(p);
}

/* Polls the workers (and, if `pub`, the Redis subscriber) until every live
 * worker sent a message of type `want` (0: none is wanted) or `deadline`. */
static void run_wait(uint32_t want, int64_t deadline, int pub)
{
    struct pollfd pfd[RUN_MAX_PROCS + 1];
    for (int i = 0; i < run.n; i++)
        run.w[i].answered = 0;
    for (;;) {
        int n = 0, waiting = 0;
        for (int i = 0; i < run.n; i++) {
            if (run.w[i].alive && !run.w[i].answered)
                waiting++;
            /* A worker that answered may exit (after IPC_BYE): stop watching. */
            int watch = run.w[i].alive && !(want && run.w[i].answered);
            pfd[i] = (struct pollfd){watch ? run.w[i].rep : -1, POLLIN, 0};
        }
        n = run.n;
        if (pub)
            pfd[n++] = (struct pollfd){pub_fd(&run.pub), POLLIN, 0};
        int64_t left = deadline - clk_mono_ns();
        if ((want && waiting == 0) || left <= 0)
            break;
        int r = poll(pfd, (nfds_t)n, (int)(left / CLK_NS_PER_MS) + 1);
        if (r < 0 && errno != EINTR)
            break;
        for (int i = 0; r > 0 && i < run.n; i++)
            if (pfd[i].revents)
                run_receive(&run.w[i], want);
        if (pub)
            pub_poll(&run.pub);
    }
    for (int i = 0; want && i < run.n; i++)
        if (run.w[i].alive && !run.w[i].answered)
            run_lost(&run.w[i]); /* missed the deadline */
}

/* Waits (bounded) for every worker to exit; kills the late ones by pid. */
static void run_reap(void)
{
    int64_t deadline = clk_mono_ns() + 10 * CLK_NS_PER_S;
    for (int i = 0; i < run.n; i++) {
        int status = 0;
        pid_t r;
        while ((r = waitpid(run.w[i].pid, &status, WNOHANG)) == 0 && clk_mono_ns() < deadline)
            clk_sleep_until(clk_mono_ns() + 10 * CLK_NS_PER_MS);
        if (r == 0) {
            kill(run.w[i].pid, SIGKILL);
            waitpid(run.w[i].pid, &status, 0);
        }
        if (run.w[i].alive && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            run_lost(&run.w[i]);
        close(run.w[i].cmd), close(run.w[i].rep);
    }
}

/* ------------------------------------------------------------------------
 * Phases
 * ---------------------------------------------------------------------- */

/* How long a connection phase may take: pacing, then at worst every
 * handshake in flight timing out in turn. */
static int64_t run_connect_deadline(void)
{
    const struct bench_opts *o = run.o;
    double per_worker = (double)o->clients / o->procs;
    double s =
        per_worker / (o->rate / o->procs) + (per_worker / o->max_pending + 1) * o->connect_timeout;
    return clk_mono_ns() + (int64_t)(s * CLK_NS_PER_S) + RUN_SLACK_NS;
}

static void run_connect_phases(void)
{
    const struct bench_opts *o = run.o;
    run_say("connecting %u clients to %s (%d procs, %u sources, %g/s)", o->clients, o->url,
            o->procs, o->sources, o->rate);
    run_wait(IPC_READY, run_connect_deadline(), 0);
    run_mark(MARK_CONNECTED);
    run_say("%llu established, %llu failed", (unsigned long long)run.rep.conn.established,
            (unsigned long long)run.rep.conn.failed);
    clk_sleep_until(clk_mono_ns() + (int64_t)(o->settle * CLK_NS_PER_S));
    run_mark(MARK_IDLE);
    if (!o->resume)
        return;
    /* Closing costs the server too: close, let it settle, then measure
     * the reconnection alone. */
    run_send(IPC_DISCONNECT, NULL, 0, NULL, 0);
    run_wait(IPC_CLOSED, clk_mono_ns() + RUN_SLACK_NS, 0);
    clk_sleep_until(clk_mono_ns() + (int64_t)(o->settle * CLK_NS_PER_S));
    run_mark(MARK_RESUME_0);
    run.resumed_phase = 1;
    run_send(IPC_RECONNECT, NULL, 0, NULL, 0);
    run_wait(IPC_READY, run_connect_deadline(), 0);
    run_mark(MARK_RESUME_1);
    run_say("reconnected: %llu established, %llu resumed",
            (unsigned long long)run.rep.resumed.established,
            (unsigned long long)run.rep.resumed.resumed);
    clk_sleep_until(clk_mono_ns() + (int64_t)(o->settle * CLK_NS_PER_S));
}

static void run_publish_phase(void)
{
    const struct bench_opts *o = run.o;
    struct pub *p = &run.pub;
    struct report *r = &run.rep;
    /* Before the first alert, so that no byte of it arrives before a
     * client's first reading of its TCP count (and none goes uncounted). */
    run_send(IPC_WIRE, NULL, 0, NULL, 0);
    run_wait(IPC_WIRED, clk_mono_ns() + RUN_SLACK_NS, 0);
    run_say("publishing %u alerts at %g/s", o->alerts, o->alert_rate);
    run_mark(MARK_PUBLISH_0);
    run_send(IPC_START, NULL, 0, NULL, 0);
    int64_t t0 = clk_mono_ns();
    for (uint32_t seq = 0; seq < o->alerts; seq++) {
        run_wait(0, t0 + (int64_t)((double)seq * CLK_NS_PER_S / o->alert_rate), 1);
        pub_fire(p, seq);
    }
    int64_t t_last = clk_mono_ns();
    pub_settle(p, t_last + RUN_SEEN_WAIT_NS);
    for (uint32_t i = 0; i < o->alerts; i++)
        r->pub_delay_us[i] = p->seen_ns[i] ? (p->seen_ns[i] - p->bench_ns[i]) / CLK_NS_PER_US : -1;
    int64_t deadline = t_last + (int64_t)(o->drain * CLK_NS_PER_S);
    run_say("draining (at most %.1f s)", (double)(deadline - clk_mono_ns()) / 1e9);
    run_send(IPC_DRAIN, &deadline, sizeof(deadline), r->pub_delay_us, sizeof(int64_t) * o->alerts);
    run_wait(IPC_FINAL, deadline + RUN_SLACK_NS, 0);
    r->deliver_ns = clk_mono_ns() - t0;
    run_mark(MARK_PUBLISH_1);
    r->published = p->published, r->pub_seen = p->seen, r->pub_errors = p->errors;
    r->min_receivers = p->min_receivers;
    memcpy(r->pub_error, p->first_error, sizeof(r->pub_error));
}

static void run_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int run_bench(const struct bench_opts *o)
{
    char err[256];
    int rc = 3;
    memset(&run, 0, sizeof(run));
    run.o = o;
    run_raise_nofile();
    if (o->has_cpus && sched_setaffinity(0, sizeof(o->cpus), &o->cpus) != 0)
        fprintf(stderr, "alert-bench: --cpu: %s (going on unpinned)\n", strerror(errno));
    if (report_init(&run.rep, o) != 0) {
        fprintf(stderr, "alert-bench: out of memory\n");
        goto out;
    }
    run.rep.has_server = o->n_server_pids > 0 || o->n_server_pgids > 0;
    run_mark(MARK_START);
    int64_t run_id = msg_run_id();
    if (pub_open(&run.pub, o, run_id, err, sizeof(err)) != 0) {
        fprintf(stderr, "alert-bench: Redis (%s): %s\n", o->redis_url, err);
        goto out;
    }
    if (run_spawn(run_id) != 0) {
        fprintf(stderr, "alert-bench: starting workers: %s\n", strerror(errno));
        run_send(IPC_CLOSE, NULL, 0, NULL, 0);
        run_reap();
        goto out;
    }
    run.rep.workers = run.n;
    run_connect_phases();
    run_publish_phase();
    run_send(IPC_CLOSE, NULL, 0, NULL, 0);
    run_wait(IPC_BYE, clk_mono_ns() + RUN_SLACK_NS, 0);
    run_reap();
    run_mark(MARK_END);
    run.rep.parent_cpu_us = clk_cpu_us();
    report_print(&run.rep, stderr);
    rc = report_ok(&run.rep) ? 0 : 1;
    if (o->json && report_json(&run.rep, o->json) != 0) {
        fprintf(stderr, "alert-bench: writing %s: %s\n", o->json, strerror(errno));
        rc = 1;
    }
out:
    pub_close(&run.pub);
    report_free(&run.rep);
    return rc;
}
