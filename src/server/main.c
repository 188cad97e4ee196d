/*
 * alertd — the fan-out server's entry point.
 *
 * Loads the configuration, then runs one worker in this process, or (with
 * --workers N > 1) supervises N worker processes that share the listening
 * port through SO_REUSEPORT: each worker is a whole node with its own event
 * loop, Redis link, history and clients, and a worker that dies is started
 * again. Signals: TERM/INT drain gracefully, a second one stops at once;
 * HUP reloads the TLS certificate and session ticket keys (as does a change
 * of those files on disk, certwatch.h). Exit status: 0 stopped, 1 cannot
 * start (port, memory), 2 bad configuration, 78 Redis refused the
 * configured access before the node was ever ready.
 */
#include "certwatch.h"
#include "config.h"
#include "grant.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "node.h"
#include "privdrop.h"
#include "redisurl.h"
#include "rsub.h"
#include "server.h"
#include "tickets.h"
#include "web.h"
#include "ws.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit status when Redis refuses the configured access (sysexits'
 * EX_CONFIG): a supervisor must not restart a worker into the same wall. */
#define MAIN_EXIT_REFUSED 78

/* ------------------------------------------------------------------------
 * One worker
 * ---------------------------------------------------------------------- */

static uv_signal_t main_sigterm, main_sigint, main_sighup;

/* Stops everything on the loop; runs once, whether the drain finished or
 * a second signal cut it short. */
static void main_node_done(struct node *n)
{
    if (n->stopping)
        return;
    n->stopping = 1;
    server_stop(n);
    if (n->rsub) {
        rsub_stop(n->rsub);
        n->rsub = NULL;
    }
    certwatch_stop();
    uv_close((uv_handle_t *)&main_sigterm, NULL);
    uv_close((uv_handle_t *)&main_sigint, NULL);
    uv_close((uv_handle_t *)&main_sighup, NULL);
}

static void main_on_signal(uv_signal_t *h, int signum)
{
    struct node *n = h->data;
    if (n->draining) {
        log_warn("second signal: stopping now", KV_I("signal", signum));
        main_node_done(n);
        return;
    }
    log_info("signal received: draining", KV_I("signal", signum));
    server_drain(n, (unsigned)n->cfg->drain_seconds * 1000, main_node_done);
}

/* Redis refused this node before it was ever ready (rsub.h): a wrong
 * password or ACL does not fix itself, so stop now and say why, rather
 * than retry forever looking like an outage. */
static void main_on_redis_refused(void *user, const char *where, const char *why)
{
    struct node *n = user;
    log_error("stopping: Redis refuses the access configured by --redis; fix the credentials, "
              "the ACL, the database number or the Sentinel master name",
              KV_S("redis", where), KV_S("detail", why), KV_I("exit_status", MAIN_EXIT_REFUSED));
    n->exit_code = MAIN_EXIT_REFUSED;
    main_node_done(n);
}

static void main_on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    server_reload(h->data);
}

static void main_on_key_files_changed(void *user)
{
    server_reload(user);
}

static void main_log_listening(const struct config *cfg)
{
    char msg[300];
    int v6 = strchr(cfg->listen.host, ':') != NULL;
    snprintf(msg, sizeof(msg), "listening on %s://%s%s%s:%d", cfg->plain ? "http" : "https",
             v6 ? "[" : "", cfg->listen.host, v6 ? "]" : "", cfg->listen.port);
    log_info(msg, KV_S("tls", cfg->plain ? "off" : "on"), KV_I("pid", getpid()),
             KV_I("heartbeat", cfg->heartbeat), KV_I("history", cfg->history));
    if (cfg->metrics_listen.host) {
        v6 = strchr(cfg->metrics_listen.host, ':') != NULL;
        snprintf(msg, sizeof(msg), "metrics on http://%s%s%s:%d/metrics", v6 ? "[" : "",
                 cfg->metrics_listen.host, v6 ? "]" : "", cfg->metrics_listen.port);
        log_info(msg, KV_I("pid", getpid()));
    }
}

/* The listening sockets, opened before any worker: one per worker for
 * readers, and one per worker for --metrics-listen (admin[i] = -1 without). */
struct main_sockets {
    int readers[CONFIG_MAX_WORKERS];
    int admin[CONFIG_MAX_WORKERS];
};

/* Runs one worker on its listening sockets until it is stopped. */
static int main_run_node(const struct config *cfg, const struct redis_url *url, int worker,
                         const struct main_sockets *socks)
{
    int fd = socks->readers[worker], admin_fd = socks->admin[worker];
    struct node n;
    uv_loop_t loop;
    char tag[128];
    int rc = 1;

    memset(&n, 0, sizeof(n));
    n.cfg = cfg;
    n.loop = &loop;
    n.worker = worker;
    if (uv_loop_init(&loop) != 0)
        return 1;
    if (hub_init(&n.hub, (size_t)cfg->history, (size_t)cfg->max_queue) || ws_init(&n) ||
        web_init()) {
        log_error("out of memory", KV_I("history", cfg->history));
        goto out;
    }
    n.hub.wake = server_wake;
    n.hub.lagging = server_lagging;
    n.hub.user = &n;

    snprintf(tag, sizeof(tag), "%s:%d:%ld", cfg->node, (int)getpid(), (long)time(NULL));
    if (server_start(&n) || listener_start(&n, fd, admin_fd)) {
        close(fd);
        if (admin_fd >= 0)
            close(admin_fd);
        server_stop(&n);
        uv_run(&loop, UV_RUN_DEFAULT);
        server_finish(&n);
        goto out;
    }
    n.rsub = rsub_start(&loop, url, cfg->prefix, tag, &n.hub, (size_t)cfg->history,
                        main_on_redis_refused, &n);
    if (n.rsub == NULL) {
        log_error("out of memory", KV_S("stage", "redis"));
        server_stop(&n);
        uv_run(&loop, UV_RUN_DEFAULT);
        server_finish(&n);
        goto out;
    }
    uv_signal_init(&loop, &main_sigterm);
    uv_signal_init(&loop, &main_sigint);
    uv_signal_init(&loop, &main_sighup);
    main_sigterm.data = main_sigint.data = main_sighup.data = &n;
    uv_signal_start(&main_sigterm, main_on_signal, SIGTERM);
    uv_signal_start(&main_sigint, main_on_signal, SIGINT);
    uv_signal_start(&main_sighup, main_on_sighup, SIGHUP);
    if (!cfg->plain || cfg->jwt_secret) {
        const char *key_files[CERTWATCH_FILES] = {
            cfg->plain ? NULL : cfg->tls_cert, cfg->plain ? NULL : cfg->tls_key,
            cfg->plain ? NULL : cfg->tls_ticket_key, cfg->jwt_secret};
        certwatch_start(&loop, key_files, main_on_key_files_changed, &n);
    }
    main_log_listening(cfg);

    uv_run(&loop, UV_RUN_DEFAULT);
    server_finish(&n);
    log_info("stopped", KV_I("pid", getpid()));
    rc = n.exit_code;
out:
    hub_free(&n.hub);
    ws_cleanup();
    web_free();
    if (uv_loop_close(&loop) != 0)
        log_warn("event loop closed with handles open", KV_I("pid", getpid()));
    return rc;
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

static pid_t main_spawn(const struct config *cfg, const struct redis_url *url, int worker,
                        const struct main_sockets *socks)
{
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t set;
        char name[32];
        for (int i = 0; i < cfg->workers; i++) { /* each worker keeps its own */
            if (i == worker)
                continue;
            close(socks->readers[i]);
            if (socks->admin[i] >= 0)
                close(socks->admin[i]);
        }
        main_supervisor_signals(&set);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        snprintf(name, sizeof(name), "worker-%d", worker);
        log_set_proc(name);
        metrics_use_slot(worker);
        /* Forked from the supervisor, which read the key files once at
         * start: a worker started again after a SIGHUP or a changed file
         * would use the keys from before. If a file is bad now, it keeps
         * what it inherited. Random ticket keys (no --tls-ticket-key) are
         * the supervisor's, shared by every worker. */
        server_reload_keys(cfg, 0);
        _exit(main_run_node(cfg, url, worker, socks));
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
            if (WIFEXITED(status) && WEXITSTATUS(status) == MAIN_EXIT_REFUSED) {
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

static void main_signal_workers(const struct main_worker *w, int nworkers, int signum)
{
    for (int i = 0; i < nworkers; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, signum);
}

static int main_supervise(const struct config *cfg, const struct redis_url *url,
                          const struct main_sockets *socks)
{
    struct main_worker w[CONFIG_MAX_WORKERS];
    int nworkers = cfg->workers, stopping = 0, refused = 0;
    sigset_t set;

    main_supervisor_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    log_set_proc("master");
    memset(w, 0, sizeof(w));
    for (int i = 0; i < nworkers; i++)
        w[i].pid = main_spawn(cfg, url, i, socks);
    log_info("workers started", KV_I("workers", nworkers), KV_I("pid", getpid()));

    while (main_reap(w, nworkers, stopping, &refused) > 0) {
        uint64_t now = main_now_ms(), wait_ms = 60000;
        if (refused && !stopping) {
            /* The others would hit the same refusal: stop them all. */
            main_signal_workers(w, nworkers, SIGTERM);
            for (int i = 0; i < nworkers; i++)
                w[i].restart_at = 0;
            stopping = 1;
        }
        for (int i = 0; i < nworkers; i++) {
            if (!w[i].restart_at || stopping)
                continue;
            if (w[i].restart_at <= now) {
                w[i].restart_at = 0;
                w[i].pid = main_spawn(cfg, url, i, socks);
            } else if (w[i].restart_at - now < wait_ms) {
                wait_ms = w[i].restart_at - now;
            }
        }
        struct timespec ts = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGHUP) {
            main_signal_workers(w, nworkers, SIGHUP);
        } else if (sig == SIGTERM || sig == SIGINT) {
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
    return refused ? MAIN_EXIT_REFUSED : 0;
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

/* The listening sockets exist before any worker: a busy port is one clear
 * error here, and a restarted worker takes over its sockets. */
static int main_open_sockets(const struct config *cfg, struct main_sockets *socks, char *err,
                             size_t errlen)
{
    for (int i = 0; i < cfg->workers; i++)
        socks->admin[i] = -1;
    if (listener_open_all(cfg->listen.host, cfg->listen.port, cfg->workers, socks->readers, err,
                          errlen))
        return -1;
    if (cfg->metrics_listen.host &&
        listener_open_all(cfg->metrics_listen.host, cfg->metrics_listen.port, cfg->workers,
                          socks->admin, err, errlen)) {
        for (int i = 0; i < cfg->workers; i++) {
            close(socks->readers[i]);
            socks->admin[i] = -1;
        }
        return -1;
    }
    return 0;
}

static void main_close_sockets(const struct config *cfg, struct main_sockets *socks)
{
    for (int i = 0; i < cfg->workers; i++) {
        close(socks->readers[i]);
        if (socks->admin[i] >= 0)
            close(socks->admin[i]);
    }
}

/* After the sockets are open and before the workers exist: --user, then
 * the session ticket keys and the token key, which every worker inherits.
 * Read as that user, as the TLS files are again on every reload. 0, or
 * the exit status. */
static int main_switch_user_and_load_keys(const struct config *cfg,
                                          const struct privdrop_user *user)
{
    char err[512];
    if (user && privdrop_apply(user, err, sizeof(err)))
        goto fail;
    if (user && !cfg->plain &&
        (privdrop_check_readable("tls-cert", cfg->tls_cert, err, sizeof(err)) ||
         privdrop_check_readable("tls-key", cfg->tls_key, err, sizeof(err)) ||
         (cfg->tls_ticket_key &&
          privdrop_check_readable("tls-ticket-key", cfg->tls_ticket_key, err, sizeof(err)))))
        goto fail;
    if (!cfg->plain && tickets_load(cfg->tls_ticket_key, err, sizeof(err)))
        goto fail;
    if (grant_setup(cfg->restricted_topics, cfg->jwt_secret, err, sizeof(err)))
        goto fail;
    if (user)
        log_info("running as", KV_S("user", user->name), KV_I("uid", user->uid));
    return 0;
fail:
    fprintf(stderr, "alertd: %s\n", err);
    return 2;
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

int main(int argc, char **argv)
{
    struct config cfg;
    struct redis_url url;
    char err[512];
    enum log_level level;
    enum log_format format;
    int rc;

    switch (config_load(&cfg, argc, argv, err, sizeof(err))) {
    case CONFIG_EXIT_OK:
        config_free(&cfg);
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "alertd: %s\n", err);
        config_free(&cfg);
        return 2;
    case CONFIG_OK:
        break;
    }
    if (log_level_parse(cfg.log_level, &level) || log_format_parse(cfg.log_format, &format)) {
        fprintf(stderr, "alertd: --log-level must be debug|info|warn|error and --log-format "
                        "logfmt|json\n");
        config_free(&cfg);
        return 2;
    }
    log_setup(level, format);
    if (redisurl_parse(cfg.redis_url, &url, err, sizeof(err))) {
        fprintf(stderr, "alertd: --redis: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    struct privdrop_user user;
    if (cfg.user && privdrop_lookup(cfg.user, &user, err, sizeof(err))) {
        fprintf(stderr, "alertd: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    main_raise_fd_limit();
    srandom((unsigned)(time(NULL) ^ getpid()));
    if (metrics_init(cfg.workers)) {
        fprintf(stderr, "alertd: cannot map the metrics area\n");
        config_free(&cfg);
        return 1;
    }
    struct main_sockets socks;
    if (main_open_sockets(&cfg, &socks, err, sizeof(err))) {
        fprintf(stderr, "alertd: %s\n", err);
        metrics_release();
        config_free(&cfg);
        return 1;
    }
    if ((rc = main_switch_user_and_load_keys(&cfg, cfg.user ? &user : NULL)) != 0) {
        main_close_sockets(&cfg, &socks);
        metrics_release();
        tickets_clear();
        config_free(&cfg);
        return rc;
    }
    rc =
        cfg.workers > 1 ? main_supervise(&cfg, &url, &socks) : main_run_node(&cfg, &url, 0, &socks);
    if (cfg.workers > 1)
        main_close_sockets(&cfg, &socks);
    metrics_release();
    tickets_clear();
    grant_clear();
    config_free(&cfg);
    return rc;
}
