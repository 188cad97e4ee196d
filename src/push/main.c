/*
 * main — alertd-push, the process: settings, the keys, the loop and what
 * runs on it (api, fleet with deliver, h2, the two Redis connections),
 * signals, and the exit status (pconf.h).
 *
 * SIGHUP: the key files (VAPID, APNs, FCM) are read again; one that no
 * longer loads is logged and the key in use kept. Key material is never
 * logged, whatever the level.
 *
 * SIGTERM or SIGINT: the listener closes, no new work is taken, the jobs
 * in hand are left for another gateway to take at once (the sends they
 * had marked and never written unmarked, their requests in flight
 * answered first), then the process exits 0. A second signal exits at
 * once.
 */
#include "api.h"
#include "ece.h"
#include "fleet.h"
#include "gw.h"
#include "h2.h"
#include "log.h"
#include "notif.h"
#include "pconf.h"
#include "rkeys.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void main_on_redis_up(struct rconn *c, void *user)
{
    (void)c;
    fleet_redis_up(((struct gw *)user)->fleet);
}

static void main_on_redis_down(struct rconn *c, void *user)
{
    (void)c;
    fleet_redis_down(((struct gw *)user)->fleet);
}

/* Everything that keeps the loop running closes. */
static void main_close_all(struct gw *gw)
{
    rconn_stop(&gw->cmd);
    rconn_stop(&gw->blk);
    uv_close((uv_handle_t *)&gw->sigterm, NULL);
    uv_close((uv_handle_t *)&gw->sigint, NULL);
    uv_close((uv_handle_t *)&gw->sighup, NULL);
}

static void main_on_teardown(uv_idle_t *idle)
{
    struct gw *gw = idle->data;
    uv_close((uv_handle_t *)idle, NULL);
    h2_free(gw->h2);
    gw->h2 = NULL;
    main_close_all(gw);
}

/* No job left in hand: what remains on the loop closes, on the loop's next
 * turn. This runs inside the callback of the drain's last answer, deep in
 * h2's reading of libcurl's results: h2_free there would free the multi
 * handle h2 goes on reading. The fleet stays until the loop ends: the
 * connections' last callbacks (a blocking read's answer, the
 * disconnection) still reach it. */
static void main_on_stopped(struct gw *gw)
{
    log_info("stopped: unfinished jobs are left for the other gateways");
    uv_idle_init(gw->loop, &gw->teardown);
    gw->teardown.data = gw;
    uv_idle_start(&gw->teardown, main_on_teardown);
}

static void main_on_signal(uv_signal_t *h, int signum)
{
    struct gw *gw = h->data;
    if (gw->stopping) {
        log_warn("second signal: exiting now", KV_I("signal", signum));
        exit(PUSH_EXIT_OK);
    }
    log_info("signal received: stopping", KV_I("signal", signum));
    gw->stopping = 1;
    api_stop(gw->api);
    fleet_stop(gw->fleet, main_on_stopped);
}

/* One key file read again: logged by name, never by content. */
static void main_reloaded(const char *which, const char *path, int rc, const char *err)
{
    if (rc == 0)
        log_info("key reloaded", KV_S("key", which), KV_S("file", path));
    else
        log_error("key not reloaded: the one in use is kept", KV_S("key", which),
                  KV_S("error", err));
}

static void main_on_hup(uv_signal_t *h, int signum)
{
    struct gw *gw = h->data;
    const struct pconf *cfg = gw->cfg;
    struct vapid v;
    char err[512];
    int rc;
    (void)signum;
    rc = vapid_load(&v, cfg->vapid_key, cfg->vapid_subject, err, sizeof(err));
    if (rc == 0) {
        vapid_free(&gw->vapid);
        gw->vapid = v;
    }
    main_reloaded("vapid", cfg->vapid_key, rc, err);
    if (gw->apns.key) {
        rc = apns_reload(&gw->apns, cfg->apns_key, err, sizeof(err));
        main_reloaded("apns", cfg->apns_key, rc, err);
    }
    if (gw->fcm.oauth.acct.key) {
        rc = fcm_reload(&gw->fcm, cfg->fcm_account, err, sizeof(err));
        main_reloaded("fcm", cfg->fcm_account, rc, err);
    }
}

/* The API's certificate and key load and match (lws would only say it
 * cannot create the listener). */
static int main_check_tls(const struct pconf *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int ok = ctx && SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;
    SSL_CTX_free(ctx);
    ERR_clear_error();
    if (!ok)
        snprintf(err, errlen,
                 "--tls-cert %s and --tls-key %s: not a readable PEM certificate chain and its "
                 "key",
                 cfg->tls_cert, cfg->tls_key);
    return ok ? 0 : -1;
}

/* Settings checked beyond their syntax, before anything starts. */
static int main_check(struct gw *gw, const struct pconf *cfg, char *err, size_t errlen)
{
    enum log_level level;
    enum log_format format;
    if (log_level_parse(cfg->log_level, &level)) {
        snprintf(err, errlen, "--log-level: expected debug, info, warn or error, got \"%s\"",
                 cfg->log_level);
        return -1;
    }
    if (log_format_parse(cfg->log_format, &format)) {
        snprintf(err, errlen, "--log-format: expected logfmt or json, got \"%s\"", cfg->log_format);
        return -1;
    }
    log_setup(level, format);
    if (redisurl_parse(cfg->redis_url, &gw->url, err, errlen))
        return -1;
    if (gw->url.master[0]) {
        snprintf(err, errlen,
                 "--redis: redis+sentinel:// is not served by alertd-push yet; "
                 "name the master directly");
        return -1;
    }
    if (!cfg->plain && main_check_tls(cfg, err, errlen))
        return -1;
    if (notif_urgencies_parse(cfg->urgencies, &gw->urgencies, err, errlen) ||
        reg_hosts_parse(&gw->hosts, cfg->webpush_hosts, err, errlen) ||
        vapid_load(&gw->vapid, cfg->vapid_key, cfg->vapid_subject, err, errlen) ||
        apns_load(&gw->apns, cfg->apns_key, cfg->apns_key_id, cfg->apns_team_id,
                  cfg->apns_bundle_id, cfg->apns_host, err, errlen) ||
        fcm_load(&gw->fcm, cfg->fcm_account, cfg->fcm_host, err, errlen))
        return -1;
    gw->providers = REG_BIT(REG_WEBPUSH) | (gw->apns.key ? REG_BIT(REG_APNS) : 0) |
                    (gw->fcm.oauth.acct.key ? REG_BIT(REG_FCM) : 0);
    if (rkeys_name(gw->stream_key, sizeof(gw->stream_key), cfg->prefix, RKEYS_STREAM, NULL) ||
        rkeys_name(gw->jobs_key, sizeof(gw->jobs_key), cfg->prefix, RKEYS_PUSH_JOBS, NULL)) {
        snprintf(err, errlen, "--prefix: too long");
        return -1;
    }
    return 0;
}

/* The most requests the gateway may have in flight at once: --concurrency
 * for each provider on (sender's bound) and oauth's one token fetch. Any
 * of them may share a host (FCM and Chrome's Web Push both post to
 * fcm.googleapis.com), so h2 gives each host room for them all: a request
 * queued inside libcurl would have its wait counted by CURLOPT_TIMEOUT_MS
 * and could be written after its job's lease ran out (feed.h). */
static int main_in_flight_max(const struct gw *gw)
{
    int n = 0;
    for (int p = 0; p < REG_NPROVIDERS; p++)
        if (gw->providers & REG_BIT(p))
            n += gw->cfg->concurrency;
    return n + ((gw->providers & REG_BIT(REG_FCM)) ? 1 : 0);
}

static int main_start(struct gw *gw)
{
    char err[256];
    /* Web Push is always on (the VAPID key is required, main_check): its
     * encryption is checked before anything starts, not at the first send. */
    if ((gw->ece = ece_new()) == NULL) {
        log_error("cannot start", KV_S("detail", "OpenSSL lacks P-256, HMAC-SHA-256 or AES-128-GCM "
                                                 "(Web Push encryption), or out of memory"));
        return -1;
    }
    if (ratelim_init(&gw->ratelim, API_RATELIM_SLOTS,
                     (uint32_t)gw->cfg->max_registrations_per_min) ||
        (gw->h2 = h2_new(gw->loop, gw->cfg->provider_ca, gw->cfg->concurrency,
                         main_in_flight_max(gw), err, sizeof(err))) == NULL ||
        (gw->fleet = fleet_new(gw)) == NULL) {
        log_error("cannot start", KV_S("detail", gw->h2 ? "out of memory" : err));
        return -1;
    }
    if ((gw->api = api_start(gw)) == NULL)
        return -1;
    if (rconn_start(&gw->cmd, gw->loop, &gw->url, "commands", main_on_redis_up, main_on_redis_down,
                    gw) ||
        rconn_start(&gw->blk, gw->loop, &gw->url, "reads", main_on_redis_up, main_on_redis_down,
                    gw))
        return -1;
    uv_signal_init(gw->loop, &gw->sigterm);
    uv_signal_init(gw->loop, &gw->sigint);
    uv_signal_init(gw->loop, &gw->sighup);
    gw->sigterm.data = gw->sigint.data = gw->sighup.data = gw;
    uv_signal_start(&gw->sigterm, main_on_signal, SIGTERM);
    uv_signal_start(&gw->sigint, main_on_signal, SIGINT);
    uv_signal_start(&gw->sighup, main_on_hup, SIGHUP);
    return 0;
}

static void main_log_start(const struct gw *gw)
{
    const struct pconf *cfg = gw->cfg;
    char msg[300], redis[300];
    int v6 = strchr(cfg->listen.host, ':') != NULL;
    redisurl_describe(&gw->url, redis, sizeof(redis));
    snprintf(msg, sizeof(msg), "registration API on %s://%s%s%s:%d/v1/push/",
             cfg->plain ? "http" : "https", v6 ? "[" : "", cfg->listen.host, v6 ? "]" : "",
             cfg->listen.port);
    log_info(msg, KV_S("redis", redis), KV_S("name", cfg->name), KV_S("urgencies", cfg->urgencies),
             KV_S("vapid_public_key", gw->vapid.public_b64),
             KV_S("apns", gw->apns.key ? cfg->apns_host : "off"),
             KV_S("fcm", gw->fcm.oauth.acct.key ? gw->fcm.oauth.acct.project : "off"));
    if (cfg->metrics_listen.host) {
        v6 = strchr(cfg->metrics_listen.host, ':') != NULL;
        snprintf(msg, sizeof(msg), "metrics on http://%s%s%s:%d/metrics", v6 ? "[" : "",
                 cfg->metrics_listen.host, v6 ? "]" : "", cfg->metrics_listen.port);
        log_info(msg, KV_S("name", cfg->name));
    }
}

int main(int argc, char **argv)
{
    struct pconf cfg;
    struct gw gw;
    char err[512];
    int status = PUSH_EXIT_OK;
    memset(&gw, 0, sizeof(gw));
    switch (pconf_load(&cfg, argc, argv, err, sizeof(err))) {
    case PCONF_EXIT_OK:
        pconf_free(&cfg);
        return PUSH_EXIT_OK;
    case PCONF_ERROR:
        fprintf(stderr, "alertd-push: %s\n", err);
        pconf_free(&cfg);
        return PUSH_EXIT_CONFIG;
    case PCONF_OK:
        break;
    }
    gw.cfg = &cfg;
    if (main_check(&gw, &cfg, err, sizeof(err))) {
        log_error("bad configuration", KV_S("error", err));
        status = PUSH_EXIT_CONFIG;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("cannot start libcurl");
        status = PUSH_EXIT_START;
        goto out;
    }
    gw.loop = uv_default_loop();
    if (main_start(&gw)) {
        status = PUSH_EXIT_START; /* the process ends: nothing to hand over yet */
        goto out;
    }
    main_log_start(&gw);
    uv_run(gw.loop, UV_RUN_DEFAULT);
    api_finish(gw.api);
    fleet_free(gw.fleet);
    gw.fleet = NULL;
    uv_run(gw.loop, UV_RUN_DEFAULT); /* the handles closing */
    uv_loop_close(gw.loop);
    curl_global_cleanup();
out:
    ratelim_free(&gw.ratelim);
    vapid_free(&gw.vapid);
    ece_free(gw.ece);
    apns_free(&gw.apns);
    fcm_free(&gw.fcm);
    reg_hosts_free(&gw.hosts);
    pconf_free(&cfg);
    return status;
}
