/*
 * alertd — the fan-out server's entry point.
 *
 * The process: loads the configuration, opens the listening sockets,
 * becomes --user, loads the keys, then runs one worker in this process
 * (worker.h), or (with --workers N > 1) supervises N worker processes that
 * share the port through SO_REUSEPORT: each worker is a whole node with
 * its own event loop, Redis link, history and clients, and a worker that
 * dies is started again. Signals: TERM/INT drain gracefully, a second one
 * stops at once; HUP reloads the TLS certificate and its OCSP staple, the session ticket keys
 * and the token key (as does a change of those files on disk, certwatch.h).
 * Under systemd (Type=notify) this process, the one systemd watches, says
 * when the node serves, drains, reloads and lives (service.h).
 * Workers drain and stop when their supervisor dies (a SIGKILL of it).
 * Exit status: 0 stopped, 1 cannot start (port, memory), 2 bad
 * configuration (a certificate, key or OCSP file that does not load included),
 * 78 Redis refused the configured access before the node was ever ready.
 */
#include "config.h"
#include "frames.h"
#include "grant.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "redisurl.h"
#include "service.h"
#include "tickets.h"
#include "tls.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses besides a worker's (worker.h): settings that are wrong. */
#define MAIN_EXIT_CONFIG 2

/* What the process makes before any worker exists, and every worker
 * inherits: the listening sockets (one per worker for readers, and one per
 * worker for --metrics-listen; admin[i] = -1 without) and the keys. */
struct main_process {
    const struct config *cfg;
    struct redis_url redis;
    int readers[CONFIG_MAX_WORKERS];
    int admin[CONFIG_MAX_WORKERS];
    struct grant grant;
    struct tickets tickets;
    struct service service; /* the service manager's notifications, sent from this process */
};

/* Runs worker `index` on its sockets until it stops. */
static int main_run_worker(struct main_process *p, int index)
{
    struct worker_args a = {p->cfg, &p->redis,         &p->grant,       &p->tickets,
                            index,  p->readers[index], p->admin[index], &p->service};
    return worker_run(&a);
}

/* ------------------------------------------------------------------------
 * Supervisor of several workers
 * ---------------------------------------------------------------------- */

#define MAIN_RESTART_DELAY_MS 1000

/* The signals the supervisor handles; blocked in it and taken with
 * sigtimedwait, so none can slip in between a check and a wait. */
static void main_supervisor_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
}

/* In a worker: a worker whose supervisor is gone (SIGKILL, the OOM
 * killer) would go on serving with nobody to start it again or pass on
 * signals, and hold the port so that alertd cannot start there again. The
 * kernel sends it SIGTERM when the supervisor dies, and it drains as on a
 * stop; one whose supervisor died before this ran drains at once. */
static void main_follow_supervisor(pid_t supervisor)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        log_warn("workers will outlive a killed supervisor", KV_S("error", strerror(errno)));
    if (getppid() != supervisor)
        raise(SIGTERM);
}

static pid_t main_spawn(struct main_process *p, int worker)
{
    pid_t supervisor = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t set;
        char name[32];
        for (int i = 0; i < p->cfg->workers; i++) { /* each worker keeps its own */
            if (i == worker)
                continue;
            close(p->readers[i]);
            if (p->admin[i] >= 0)
                close(p->admin[i]);
        }
        main_supervisor_signals(&set);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        snprintf(name, sizeof(name), "worker-%d", worker);
        log_set_proc(name);
        service_close(&p->service); /* only the supervisor speaks to systemd */
        main_follow_supervisor(supervisor);
        metrics_use_slot(worker);
        /* Forked from the supervisor, which read the key files once at
         * start: a worker started again after a SIGHUP or a changed file
         * would use the keys from before. If a file is bad now, it keeps
         * what it inherited. Random ticket keys (no --tls-ticket-key) are
         * the supervisor's, shared by every worker. */
        tls_reload_keys(p->cfg, &p->tickets, &p->grant, 0);
        _exit(main_run_worker(p, worker));
    }
    if (pid < 0)
        log_error("cannot start a worker", KV_I("worker", worker), KV_S("error", strerror(errno)));
    return pid;
}

static uint64_t main_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct main_worker {
    pid_t pid;           /* 0: not running */
    uint64_t restart_at; /* when to start it again; 0: not due */
};

/* Reaps exited workers; schedules a restart unless the node is stopping
 * or the worker stopped because Redis refused it (then *refused is set). */
static int main_reap(struct main_worker *w, int nworkers, int stopping, int *refused)
{
    int status, alive = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < nworkers; i++) {
            if (w[i].pid != pid)
                continue;
            w[i].pid = 0;
            if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_REFUSED) {
                *refused = 1;
            } else if (!stopping) {
                log_error(
                    "worker died: starting it again", KV_I("worker", i), KV_I("pid", pid),
                    KV_I("status", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status)));
                w[i].restart_at = main_now_ms() + MAIN_RESTART_DELAY_MS;
            }
        }
    }
    for (int i = 0; i < nworkers; i++)
        alive += w[i].pid > 0 || w[i].restart_at;
    return alive;
}

/* The workers' processes, for service.h: 0 while one waits to restart. */
static void main_pids(const struct main_worker *w, int nworkers, pid_t *pids)
{
    for (int i = 0; i < nworkers; i++)
        pids[i] = w[i].pid > 0 ? w[i].pid : 0;
}

static void main_signal_workers(const struct main_worker *w, int nworkers, int signum)
{
    for (int i = 0; i < nworkers; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, signum);
}

static int main_supervise(struct main_process *p)
{
    struct main_worker w[CONFIG_MAX_WORKERS];
    pid_t pids[CONFIG_MAX_WORKERS];
    int nworkers = p->cfg->workers, stopping = 0, refused = 0;
    sigset_t set;

    main_supervisor_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    log_set_proc("master");
    memset(w, 0, sizeof(w));
    for (int i = 0; i < nworkers; i++)
        w[i].pid = main_spawn(p, i);
    log_info("workers started", KV_I("workers", nworkers), KV_I("pid", getpid()));

    while (main_reap(w, nworkers, stopping, &refused) > 0) {
        uint64_t now = main_now_ms(), wait_ms = 60000;
        if (refused && !stopping) {
            /* The others would hit the same refusal: stop them all. */
            main_signal_workers(w, nworkers, SIGTERM);
            for (int i = 0; i < nworkers; i++)
                w[i].restart_at = 0;
            stopping = 1;
            main_pids(w, nworkers, pids);
            service_stopping(&p->service, pids);
        }
        for (int i = 0; i < nworkers; i++) {
            if (!w[i].restart_at || stopping)
                continue;
            if (w[i].restart_at <= now) {
                w[i].restart_at = 0;
                w[i].pid = main_spawn(p, i);
            } else if (w[i].restart_at - now < wait_ms) {
                wait_ms = w[i].restart_at - now;
            }
        }
        main_pids(w, nworkers, pids);
        uint64_t service_ms = service_tick(&p->service, pids);
        if (service_ms < wait_ms)
            wait_ms = service_ms;
        struct timespec ts = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGHUP) {
            service_reloading(&p->service, pids);
            main_signal_workers(w, nworkers, SIGHUP);
        } else if (sig == SIGTERM || sig == SIGINT) {
            service_stopping(&p->service, pids);
            /* Each worker drains its own clients; a second signal passes
             * on too and stops them at once. */
            main_signal_workers(w, nworkers, sig);
            if (!stopping)
                for (int i = 0; i < nworkers; i++)
                    w[i].restart_at = 0;
            stopping = 1;
        }
    }
    log_info("stopped", KV_I("pid", getpid()));
    return refused ? WORKER_EXIT_REFUSED : 0;
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

/* The listening sockets exist before any worker: a busy port is one clear
 * error here, and a restarted worker takes over its sockets. */
static int main_open_sockets(struct main_process *p, char *err, size_t errlen)
{
    const struct config *cfg = p->cfg;
    for (int i = 0; i < cfg->workers; i++)
        p->admin[i] = -1;
    if (listener_open_all(cfg->listen.host, cfg->listen.port, cfg->workers, p->readers, err,
                          errlen))
        return -1;
    if (cfg->metrics_listen.host &&
        listener_open_all(cfg->metrics_listen.host, cfg->metrics_listen.port, cfg->workers,
                          p->admin, err, errlen)) {
        for (int i = 0; i < cfg->workers; i++) {
            close(p->readers[i]);
            p->admin[i] = -1;
        }
        return -1;
    }
    return 0;
}

static void main_close_sockets(struct main_process *p)
{
    for (int i = 0; i < p->cfg->workers; i++) {
        close(p->readers[i]);
        if (p->admin[i] >= 0)
            close(p->admin[i]);
    }
}

/* After the sockets are open and before the workers exist: --user, then
 * the session ticket keys and the token key, which every worker inherits,
 * and the certificate and key (checked: a worker could not start without). Read
 * as that user, as they are again on every reload. 0, or the exit status. */
static int main_switch_user_and_load_keys(struct main_process *p, const struct privdrop_user *user)
{
    const struct config *cfg = p->cfg;
    char err[600], why[128];
    if (user && privdrop_apply(user, err, sizeof(err)))
        goto fail;
    if (user && !cfg->plain &&
        (privdrop_check_readable("tls-cert", cfg->tls_cert, err, sizeof(err)) ||
         privdrop_check_readable("tls-key", cfg->tls_key, err, sizeof(err)) ||
         (cfg->tls_ticket_key &&
          privdrop_check_readable("tls-ticket-key", cfg->tls_ticket_key, err, sizeof(err))) ||
         (cfg->tls_ocsp && privdrop_check_readable("tls-ocsp", cfg->tls_ocsp, err, sizeof(err)))))
        goto fail;
    if (!cfg->plain && tickets_load(&p->tickets, cfg->tls_ticket_key, err, sizeof(err)))
        goto fail;
    if (grant_setup(&p->grant, cfg->restricted_topics, cfg->jwt_secret, err, sizeof(err)))
        goto fail;
    if (!cfg->plain && tls_check_files(cfg, why, sizeof(why))) {
        snprintf(err, sizeof(err), "--tls-cert %.200s / --tls-key %.200s do not load: %.100s",
                 cfg->tls_cert, cfg->tls_key, why);
        goto fail;
    }
    if (!cfg->plain && cfg->tls_ocsp && tls_check_staple(cfg, err, sizeof(err)))
        goto fail;
    if (user)
        log_info("running as", KV_S("user", user->name), KV_I("uid", user->uid));
    return 0;
fail:
    fprintf(stderr, "alertd: %s\n", err);
    return MAIN_EXIT_CONFIG;
}

/* Sockets are files: use all the descriptors the hard limit allows. */
static void main_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Runs the node to its end, with its sockets open and keys loaded. */
static int main_serve(struct main_process *p, const struct privdrop_user *user)
{
    char err[512];
    int rc;
    if (main_open_sockets(p, err, sizeof(err))) {
        fprintf(stderr, "alertd: %s\n", err);
        return WORKER_EXIT_FAILED;
    }
    if ((rc = main_switch_user_and_load_keys(p, user)) != 0) {
        main_close_sockets(p);
        return rc;
    }
    if (p->cfg->workers == 1)
        return main_run_worker(p, 0); /* the worker owns the sockets */
    rc = main_supervise(p);
    main_close_sockets(p);
    return rc;
}

int main(int argc, char **argv)
{
    static struct main_process p; /* the keys are large: not on the stack */
    struct config cfg;
    struct privdrop_user user;
    char err[512];
    enum log_level level;
    enum log_format format;
    int rc = MAIN_EXIT_CONFIG;

    switch (config_load(&cfg, argc, argv, err, sizeof(err))) {
    case CONFIG_EXIT_OK:
        config_free(&cfg);
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "alertd: %s\n", err);
        goto out;
    case CONFIG_OK:
        break;
    }
    p.cfg = &cfg;
    if (log_level_parse(cfg.log_level, &level) || log_format_parse(cfg.log_format, &format)) {
        fprintf(stderr, "alertd: --log-level must be debug|info|warn|error and --log-format "
                        "logfmt|json\n");
        goto out;
    }
    log_setup(level, format);
    char *node_json = frames_quote_node(cfg.node);
    int node_ok = node_json != NULL;
    free(node_json);
    if (!node_ok) {
        fprintf(stderr, "alertd: --node: at most %d bytes once written as a JSON string\n",
                FRAMES_NODE_MAX);
        goto out;
    }
    if (redisurl_parse(cfg.redis_url, &p.redis, err, sizeof(err))) {
        fprintf(stderr, "alertd: --redis: %s\n", err);
        goto out;
    }
    if (cfg.user && privdrop_lookup(cfg.user, &user, err, sizeof(err))) {
        fprintf(stderr, "alertd: %s\n", err);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    main_raise_fd_limit();
    if (metrics_init(cfg.workers)) {
        fprintf(stderr, "alertd: cannot map the metrics area\n");
        rc = WORKER_EXIT_FAILED;
        goto out;
    }
    if (service_open(&p.service, cfg.workers, err, sizeof(err))) {
        fprintf(stderr, "alertd: %s\n", err);
        rc = MAIN_EXIT_CONFIG;
    } else {
        rc = main_serve(&p, cfg.user ? &user : NULL);
        service_close(&p.service);
    }
    metrics_release();
out:
    tickets_clear(&p.tickets);
    grant_clear(&p.grant);
    config_free(&cfg);
    return rc;
}
