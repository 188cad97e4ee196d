/*
 * rsub — see rsub.h.
 */
#include "rsubpriv.h"

#include "backoff.h"
#include "log.h"
#include "metrics.h"
#include "rkeys.h"
#include "rsentinel.h"
#include "uvredis.h"

#include <async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RSUB_PROBE_MS    1000 /* heartbeat publish interval */
#define RSUB_CONNECT_MS  3000 /* a connection not up by then is given up */
#define RSUB_SILENCE_MS  5000 /* no heartbeat or reply for this long: reconnect */
#define RSUB_BACKOFF_MIN 100
#define RSUB_BACKOFF_MAX 2000

static void rsub_connect(struct rsub *r);

/* ------------------------------------------------------------------------
 * Failure and retry
 * ---------------------------------------------------------------------- */

void rsub_set_ready(struct rsub *r, int ready)
{
    metrics->ready = ready;
    metrics->redis_connected = r->phase >= RSUB_CATCHUP && r->phase != RSUB_STOPPED;
}

/* Forgets a connection at once; hiredis frees it (deferred if we are inside
 * one of its callbacks) and runs its pending callbacks with NULL replies. */
static void rsub_drop(redisAsyncContext **slot)
{
    redisAsyncContext *ac = *slot;
    if (ac == NULL)
        return;
    *slot = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
}

static void rsub_forget_sentinel(struct rsub *r)
{
    if (r->sentinel) {
        rsentinel_cancel(r->sentinel);
        r->sentinel = NULL;
    }
}

static void rsub_on_retry(uv_timer_t *t)
{
    struct rsub *r = t->data;
    if (r->phase == RSUB_WAITING)
        rsub_connect(r);
}

/* Redis answered a command with an error. These pass by themselves (a
 * restart loading its data, a failover); any other error is Redis refusing
 * what this node asks for (a wrong password, an ACL without SUBSCRIBE or
 * XRANGE on the keys, a database number out of range): a configuration
 * problem that retrying will not fix. */
int rsub_is_refusal(const char *error)
{
    static const char *const transient[] = {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN",
                                            "CLUSTERDOWN"};
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (strncmp(error, transient[i], strlen(transient[i])) == 0)
            return 0;
    return 1;
}

static int rsub_looks_like_redis_error(const char *text)
{
    size_t n = 0;
    while (text[n] >= 'A' && text[n] <= 'Z')
        n++;
    return n >= 3 && (text[n] == ' ' || text[n] == '\0');
}

static void rsub_on_refused_at_start(uv_timer_t *t)
{
    struct rsub *r = t->data;
    if (r->phase == RSUB_WAITING && r->refused)
        r->refused(r->refused_user, r->where, r->refusal);
}

/* Tears both connections down and retries after a backoff. `refused`: Redis
 * itself answered with an error (rsub_is_refusal): before the node was ever
 * ready, that ends the retries and is handed to the refused callback (from
 * the loop, not from inside hiredis); afterwards it is retried like an
 * outage, but logged as an error and shown on /readyz. */
void rsub_fail_as(struct rsub *r, const char *why, const char *detail, int refused)
{
    if (r->phase == RSUB_STOPPED || r->phase == RSUB_WAITING)
        return;
    int was_ready = r->phase == RSUB_LIVE;
    rsub_forget_sentinel(r);
    rsub_drop(&r->sub);
    rsub_drop(&r->cmd);
    r->phase = RSUB_WAITING;
    rsub_set_ready(r, 0);
    char refusal[sizeof(r->refusal)] = "";
    if (refused)
        snprintf(refusal, sizeof(refusal), "%s: %s", why, detail);
    int new_refusal = refused && strcmp(refusal, r->refusal) != 0;
    memcpy(r->refusal, refusal, sizeof(refusal));
    if (refused && !r->live_once && r->refused) {
        uv_timer_start(&r->retry_timer, rsub_on_refused_at_start, 0, 0);
        return;
    }
    /* One line per outage and per new refusal; the retries behind it are
     * debug lines. */
    enum log_level level = new_refusal                ? LOG_ERROR
                           : r->backoff.attempts == 0 ? LOG_WARN
                                                      : LOG_DEBUG;
    uint64_t delay = backoff_next_ms(&r->backoff);
    log_emit(level, refused ? "redis refused this node" : "redis unavailable",
             (const struct log_kv[]){KV_S("redis", r->where), KV_S("reason", why),
                                     KV_S("detail", detail), KV_I("retry_ms", delay),
                                     KV_I("attempt", r->backoff.attempts),
                                     KV_I("was_ready", was_ready)},
             6);
    uv_timer_start(&r->retry_timer, rsub_on_retry, delay, 0);
}

void rsub_fail(struct rsub *r, const char *why, const char *detail)
{
    rsub_fail_as(r, why, detail, 0);
}

/* ------------------------------------------------------------------------
 * Live messages (the stream's entries: rsubhist.c)
 * ---------------------------------------------------------------------- */

static void rsub_live_message(struct rsub *r, const redisReply *payload)
{
    struct item_id id;
    json_t *probe;
    if (r->phase == RSUB_CATCHUP) {
        r->live_during_catchup = 1; /* it is in the stream: the next page brings it */
        return;
    }
    if (r->phase != RSUB_LIVE || payload->type != REDIS_REPLY_STRING)
        return;
    /* The live message carries its id inside; take it before validation. */
    probe = json_loadb(payload->str, payload->len, JSON_REJECT_DUPLICATES, NULL);
    const char *ids = json_string_value(json_object_get(probe, "id"));
    if (ids == NULL || item_id_parse(ids, &id)) {
        metrics->alerts_invalid++;
        log_warn("dropped live message without a valid id", KV_I("bytes", payload->len));
    } else {
        rsub_deliver(r, id, payload->str, payload->len);
    }
    json_decref(probe);
}

int rsub_reply_ok(struct rsub *r, const redisReply *reply, const char *what)
{
    if (reply == NULL)
        return 0; /* the connection is going away; its disconnect is handled */
    if (reply->type == REDIS_REPLY_ERROR) {
        rsub_fail_as(r, what, reply->str, rsub_is_refusal(reply->str));
        return 0;
    }
    r->last_reply_ms = uv_now(r->loop);
    return 1;
}

/* ------------------------------------------------------------------------
 * Connections
 * ---------------------------------------------------------------------- */

static void rsub_on_sub_reply(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct rsub *r = ac->data;
    redisReply *reply = reply_;
    (void)priv;
    if (r == NULL || reply == NULL)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        rsub_fail_as(r, "SUBSCRIBE failed", reply->str, rsub_is_refusal(reply->str));
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str, *chan = reply->element[1]->str;
    if (strcmp(kind, "subscribe") == 0) {
        r->last_hb_ms = uv_now(r->loop);
        if (++r->subscribed == 2 && r->phase == RSUB_CONNECTING) {
            if (r->connected_once++)
                metrics->redis_reconnects++;
            log_info("redis subscribed", KV_S("redis", r->where), KV_S("channel", r->live_chan));
            rsub_catchup(r);
        }
    } else if (strcmp(kind, "message") == 0) {
        if (strcmp(chan, r->hb_chan) == 0)
            r->last_hb_ms = uv_now(r->loop);
        else if (strcmp(chan, r->live_chan) == 0)
            rsub_live_message(r, reply->element[2]);
    }
}

static void rsub_on_setup_reply(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct rsub *r = ac->data;
    if (r != NULL)
        rsub_reply_ok(r, reply_, priv);
}

static void rsub_on_connect(const redisAsyncContext *ac, int status)
{
    struct rsub *r = ac->data;
    if (r == NULL || status == REDIS_OK)
        return;
    /* hiredis frees a context whose connect failed right after this. */
    if (ac == r->sub)
        r->sub = NULL;
    if (ac == r->cmd)
        r->cmd = NULL;
    rsub_fail(r, "connect failed", ac->errstr);
}

static void rsub_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rsub *r = ac->data;
    (void)status;
    if (r == NULL)
        return; /* one we dropped ourselves */
    int sub = ac == r->sub;
    if (ac == r->sub)
        r->sub = NULL;
    if (ac == r->cmd)
        r->cmd = NULL;
    /* hiredis 0.14 has no callback for an error answering SUBSCRIBE (an
     * ACL without it): it disconnects with REDIS_ERR_OTHER and Redis' error
     * text, which starts with its code in capitals (NOPERM, ERR...). */
    if (ac->err == REDIS_ERR_OTHER && rsub_looks_like_redis_error(ac->errstr)) {
        rsub_fail_as(r, sub ? "SUBSCRIBE failed" : "command failed", ac->errstr,
                     rsub_is_refusal(ac->errstr));
        return;
    }
    rsub_fail(r, "connection lost", ac->errstr[0] ? ac->errstr : "closed by peer");
}

static redisAsyncContext *rsub_open(struct rsub *r)
{
    redisAsyncContext *ac = r->url.path[0] ? redisAsyncConnectUnix(r->url.path)
                                           : redisAsyncConnect(r->url.host, r->url.port);
    if (ac == NULL)
        return NULL;
    if (ac->err) {
        log_warn("redis connect failed", KV_S("redis", r->where), KV_S("detail", ac->errstr));
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = r;
    if (uvredis_attach(ac, r->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    redisEnableKeepAlive(&ac->c);
    redisAsyncSetConnectCallback(ac, rsub_on_connect);
    redisAsyncSetDisconnectCallback(ac, rsub_on_disconnect);
    if (r->url.password[0] && r->url.user[0])
        redisAsyncCommand(ac, rsub_on_setup_reply, "AUTH failed", "AUTH %s %s", r->url.user,
                          r->url.password);
    else if (r->url.password[0])
        redisAsyncCommand(ac, rsub_on_setup_reply, "AUTH failed", "AUTH %s", r->url.password);
    if (r->url.db)
        redisAsyncCommand(ac, rsub_on_setup_reply, "SELECT failed", "SELECT %d", r->url.db);
    return ac;
}

/* Opens both connections to the address in r->url and subscribes. */
static void rsub_open_both(struct rsub *r)
{
    r->sub = rsub_open(r);
    r->cmd = r->sub ? rsub_open(r) : NULL;
    if (r->sub == NULL || r->cmd == NULL) {
        rsub_fail(r, "connect failed", "cannot open a connection");
        return;
    }
    redisAsyncCommand(r->sub, rsub_on_sub_reply, NULL, "SUBSCRIBE %s %s", r->live_chan, r->hb_chan);
}

/* A Sentinel said where the master is (status 0), that it knows no such
 * master (1: a configuration error, like a refusal), or none answered. */
static void rsub_on_master(void *user, int status, const char *detail, int next)
{
    struct rsub *r = user;
    char master[sizeof(r->master)];
    r->sentinel = NULL;
    r->sentinel_next = next;
    if (status != 0) {
        rsub_fail_as(r, status > 0 ? "Sentinel knows no such master" : "no Sentinel answered",
                     detail, status > 0);
        return;
    }
    redisurl_format_addr(master, sizeof(master), r->url.host, r->url.port);
    if (strcmp(master, r->master) != 0) {
        log_info("redis master from sentinel", KV_S("redis", r->where), KV_S("master", master),
                 KV_S("sentinel", detail));
        memcpy(r->master, master, sizeof(master));
    }
    r->last_reply_ms = uv_now(r->loop);
    rsub_open_both(r);
}

static void rsub_connect(struct rsub *r)
{
    r->phase = RSUB_CONNECTING;
    r->subscribed = 0;
    r->continuity_checked = 0;
    r->last_hb_ms = r->last_reply_ms = uv_now(r->loop);
    if (r->url.master[0] == '\0') {
        rsub_open_both(r);
        return;
    }
    /* Where the master is now: it moves with every failover. */
    r->sentinel = rsentinel_ask(r->loop, &r->url, r->sentinel_next, rsub_on_master, r);
    if (r->sentinel == NULL)
        rsub_fail(r, "connect failed", "cannot ask the Sentinels");
}

/* ------------------------------------------------------------------------
 * Liveness probe
 * ---------------------------------------------------------------------- */

static void rsub_on_probe_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct rsub *r = ac->data;
    (void)priv;
    if (r != NULL)
        rsub_reply_ok(r, reply, "heartbeat publish failed");
}

static void rsub_on_probe(uv_timer_t *t)
{
    struct rsub *r = t->data;
    uint64_t now = uv_now(r->loop);
    if (r->phase < RSUB_CONNECTING || r->phase == RSUB_STOPPED || r->sentinel)
        return; /* an ask of the Sentinels bounds itself */
    uint64_t limit = r->phase == RSUB_CONNECTING ? RSUB_CONNECT_MS : RSUB_SILENCE_MS;
    if (now - r->last_reply_ms > limit) {
        rsub_fail(r, "redis silent", "no reply on the command connection");
        return;
    }
    if (r->phase >= RSUB_CATCHUP && now - r->last_hb_ms > RSUB_SILENCE_MS) {
        rsub_fail(r, "redis silent", "heartbeat not heard on the subscription");
        return;
    }
    if (r->phase >= RSUB_CATCHUP)
        redisAsyncCommand(r->cmd, rsub_on_probe_reply, NULL, "PUBLISH %s %llu", r->hb_chan,
                          (unsigned long long)now);
}

/* ------------------------------------------------------------------------
 * Life cycle
 * ---------------------------------------------------------------------- */

/* prefix + suffix + tail, malloc'd. */
static char *rsub_key(const char *prefix, const char *suffix, const char *tail)
{
    size_t n = strlen(prefix) + strlen(suffix) + (tail ? strlen(tail) : 0) + 1;
    char *s = malloc(n);
    if (s)
        rkeys_name(s, n, prefix, suffix, tail);
    return s;
}

static void rsub_free(struct rsub *r)
{
    free(r->stream_key);
    free(r->live_chan);
    free(r->hb_chan);
    free(r);
}

struct rsub *rsub_start(uv_loop_t *loop, struct hub *hub, const struct rsub_options *o)
{
    struct rsub *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->loop = loop;
    r->url = *o->url;
    redisurl_describe(o->url, r->where, sizeof(r->where));
    r->hub = hub;
    r->history = o->history;
    r->refused = o->refused;
    r->refused_user = o->user;
    backoff_init(&r->backoff, RSUB_BACKOFF_MIN, RSUB_BACKOFF_MAX, o->seed);
    r->stream_key = rsub_key(o->prefix, RKEYS_STREAM, NULL);
    r->live_chan = rsub_key(o->prefix, RKEYS_LIVE, NULL);
    r->hb_chan = rsub_key(o->prefix, RKEYS_HB, o->tag);
    if (!r->stream_key || !r->live_chan || !r->hb_chan) {
        rsub_free(r);
        return NULL;
    }
    uv_timer_init(loop, &r->retry_timer);
    uv_timer_init(loop, &r->probe_timer);
    r->retry_timer.data = r->probe_timer.data = r;
    r->handles_open = 2;
    uv_timer_start(&r->probe_timer, rsub_on_probe, RSUB_PROBE_MS, RSUB_PROBE_MS);
    rsub_connect(r);
    return r;
}

int rsub_ready(const struct rsub *r)
{
    return r->phase == RSUB_LIVE;
}

int rsub_command(struct rsub *r, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                 const size_t *argvlen)
{
    if (r->phase != RSUB_LIVE || r->cmd == NULL)
        return -1;
    return redisAsyncCommandArgv(r->cmd, fn, priv, argc, argv, argvlen) == REDIS_OK ? 0 : -1;
}

const char *rsub_refusal(const struct rsub *r)
{
    return r->phase != RSUB_LIVE && r->refusal[0] ? r->refusal : NULL;
}

static void rsub_on_closed(uv_handle_t *h)
{
    struct rsub *r = h->data;
    if (--r->handles_open == 0)
        rsub_free(r);
}

void rsub_stop(struct rsub *r)
{
    r->phase = RSUB_STOPPED;
    rsub_forget_sentinel(r);
    rsub_drop(&r->sub);
    rsub_drop(&r->cmd);
    rsub_set_ready(r, 0);
    uv_close((uv_handle_t *)&r->retry_timer, rsub_on_closed);
    uv_close((uv_handle_t *)&r->probe_timer, rsub_on_closed);
}
