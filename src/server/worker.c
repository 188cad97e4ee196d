/*
 * worker — see worker.h.
 */
#include "worker.h"

#include "frames.h"
#include "log.h"
#include "metrics.h"
#include "node.h"
#include "receipts.h"
#include "server.h"
#include "sweep.h"
#include "ws.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Closes a signal handle if it was ever initialised (the node starts
 * zeroed: UV_UNKNOWN_HANDLE). */
static void worker_close(uv_signal_t *h)
{
    if (uv_handle_get_type((uv_handle_t *)h) == UV_SIGNAL && !uv_is_closing((uv_handle_t *)h))
        uv_close((uv_handle_t *)h, NULL);
}

/* Stops everything on the loop; runs once, whether the drain finished or
 * a second signal cut it short. */
static void worker_done(struct node *n)
{
    if (n->stopping)
        return;
    n->stopping = 1;
    sweep_stop(n);
    listener_close(&n->listener);
    ws_stop(n);
    receipts_stop(n);
    server_stop(n);
    if (n->release) { /* before rsub: it sends on rsub's connection */
        release_stop(n->release);
        n->release = NULL;
    }
    if (n->rsub) {
        rsub_stop(n->rsub);
        n->rsub = NULL;
    }
    certwatch_stop(&n->certwatch);
    if (n->service)
        uv_close((uv_handle_t *)&n->service_timer, NULL);
    worker_close(&n->sigterm);
    worker_close(&n->sigint);
    worker_close(&n->sighup);
}

static void worker_on_signal(uv_signal_t *h, int signum)
{
    struct node *n = h->data;
    if (n->draining) {
        log_warn("second signal: stopping now", KV_I("signal", signum));
        worker_done(n);
        return;
    }
    log_info("signal received: draining", KV_I("signal", signum));
    if (n->service)
        service_stopping(n->service, &(pid_t){getpid()});
    sweep_drain(n, (unsigned)n->cfg->drain_seconds * 1000, worker_done);
}

static void worker_on_sighup(uv_signal_t *h, int signum)
{
    struct node *n = h->data;
    pid_t self = getpid();
    (void)signum;
    if (n->service)
        service_reloading(n->service, &self);
    server_reload(n);
    metrics->reloads++;
    if (n->service)
        service_tick(n->service, &self);
}

static void worker_on_key_files_changed(void *user)
{
    server_reload(user);
}

/* Redis refused this node before it was ever ready (rsub.h): a wrong
 * password or ACL does not fix itself, so stop now and say why, rather
 * than retry forever looking like an outage. */
static void worker_on_redis_refused(void *user, const char *where, const char *why)
{
    struct node *n = user;
    log_error("stopping: Redis refuses the access configured by --redis; fix the credentials, "
              "the ACL, the database number or the Sentinel master name",
              KV_S("redis", where), KV_S("detail", why), KV_I("exit_status", WORKER_EXIT_REFUSED));
    n->exit_code = WORKER_EXIT_REFUSED;
    worker_done(n);
}

static void worker_log_listening(const struct config *cfg)
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
    } else if (!cfg->public_metrics) {
        log_info("/metrics is not served: set --metrics-listen HOST:PORT (or --public-metrics)");
    }
}

/* The jitter of this worker's Redis retries: its own sequence, apart from
 * its siblings' (forked from one process) and other nodes'. */
static uint64_t worker_seed(int index)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)getpid() << 32) ^ ((uint64_t)index << 48) ^ (uint64_t)ts.tv_nsec ^
           ((uint64_t)ts.tv_sec << 20);
}

static int worker_signals(struct node *n)
{
    if (uv_signal_init(n->loop, &n->sigterm) || uv_signal_init(n->loop, &n->sigint) ||
        uv_signal_init(n->loop, &n->sighup))
        return -1;
    n->sigterm.data = n->sigint.data = n->sighup.data = n;
    uv_signal_start(&n->sigterm, worker_on_signal, SIGTERM);
    uv_signal_start(&n->sigint, worker_on_signal, SIGINT);
    uv_signal_start(&n->sighup, worker_on_sighup, SIGHUP);
    return 0;
}

static void worker_watch_key_files(struct node *n)
{
    const struct config *cfg = n->cfg;
    if (cfg->plain && cfg->jwt_secret == NULL)
        return;
    const char *files[CERTWATCH_FILES] = {cfg->plain ? NULL : cfg->tls_cert,
                                          cfg->plain ? NULL : cfg->tls_key,
                                          cfg->plain ? NULL : cfg->tls_ticket_key,
                                          cfg->plain ? NULL : cfg->tls_ocsp, cfg->jwt_secret};
    certwatch_start(&n->certwatch, n->loop, files, worker_on_key_files_changed, n);
}

/* What lives on the node before anything runs: the history, the write
 * buffer, the hello's node name, the embedded files, and the handles that
 * worker_done closes (so it may run whatever failed later). -1 when out of
 * memory. */
static int worker_init_node(struct node *n, const struct worker_args *a, uv_loop_t *loop)
{
    memset(n, 0, sizeof(*n));
    n->cfg = a->cfg;
    n->grant = a->grant;
    n->tickets = a->tickets;
    n->loop = loop;
    ws_init(n);
    if (sweep_start(n)) {
        log_error("out of memory", KV_S("stage", "sweep"));
        return -1;
    }
    if (worker_signals(n)) {
        log_error("cannot handle signals");
        return -1;
    }
    /* The node name's length was checked at start (main.c). */
    if (hub_init(&n->hub, (size_t)a->cfg->history, (size_t)a->cfg->max_queue, a->grant) ||
        (n->out = malloc(LWS_PRE + NODE_OUT_BYTES)) == NULL ||
        (n->node_json = frames_quote_node(a->cfg->node)) == NULL || web_init(&n->web)) {
        log_error("out of memory", KV_I("history", a->cfg->history));
        return -1;
    }
    receipts_start(n);
    return 0;
}

static void worker_free_node(struct node *n)
{
    hub_free(&n->hub);
    sweep_free(n);
    web_free(&n->web);
    staple_free(&n->staple);
    free(n->out);
    free(n->node_json);
}

/* --workers 1 under systemd: this process tells it how the node fares. */
static void worker_on_service_timer(uv_timer_t *t)
{
    struct node *n = t->data;
    uint64_t wait = service_tick(n->service, &(pid_t){getpid()});
    uv_timer_start(t, worker_on_service_timer, wait, 0);
}

/* The worker serves: recorded for the supervisor, or told to systemd. */
static void worker_serving(struct node *n, struct service *service)
{
    metrics->serving = 1;
    metrics_beat();
    if (service == NULL || !service_active(service))
        return;
    n->service = service;
    uv_timer_init(n->loop, &n->service_timer);
    n->service_timer.data = n;
    worker_on_service_timer(&n->service_timer); /* READY=1 */
}

/* Everything that serves: lws, the listener (which takes the sockets), the
 * Redis link, the key files' watcher. */
static int worker_start(struct node *n, const struct worker_args *a, const char *tag)
{
    struct rsub_options ro = {a->redis,
                              a->cfg->prefix,
                              tag,
                              (size_t)a->cfg->history,
                              worker_seed(a->index),
                              worker_on_redis_refused,
                              n};
    if (server_start(n) ||
        listener_start(&n->listener, n->loop, n->cfg, n->vhost, n->admin_vhost, a->fd, a->admin_fd))
        return -1;
    if ((n->rsub = rsub_start(n->loop, &n->hub, &ro)) == NULL ||
        (n->release = release_start(n->loop, n->rsub, a->cfg->prefix)) == NULL) {
        log_error("out of memory", KV_S("stage", "redis"));
        return -1;
    }
    worker_watch_key_files(n);
    return 0;
}

int worker_run(const struct worker_args *a)
{
    struct node n;
    uv_loop_t loop;
    char tag[128];
    int rc = WORKER_EXIT_FAILED;

    snprintf(tag, sizeof(tag), "%s:%d:%ld", a->cfg->node, (int)getpid(), (long)time(NULL));
    if (uv_loop_init(&loop) != 0) {
        close(a->fd);
        if (a->admin_fd >= 0)
            close(a->admin_fd);
        return WORKER_EXIT_FAILED;
    }
    if (worker_init_node(&n, a, &loop) == 0 && worker_start(&n, a, tag) == 0) {
        worker_log_listening(a->cfg);
        worker_serving(&n, a->service);
        uv_run(&loop, UV_RUN_DEFAULT);
        rc = n.exit_code;
        log_info("stopped", KV_I("pid", getpid()));
    } else {
        if (!n.listener.readers.polling) { /* the sockets were not handed over */
            close(a->fd);
            if (a->admin_fd >= 0)
                close(a->admin_fd);
        }
        worker_done(&n);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    server_finish(&n);
    worker_free_node(&n);
    if (uv_loop_close(&loop) != 0)
        log_warn("event loop closed with handles open", KV_I("pid", getpid()));
    return rc;
}
