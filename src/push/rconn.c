/*
 * rconn — see rconn.h.
 */
#include "rconn.h"

#include "log.h"
#include "uvredis.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void rconn_connect(struct rconn *c);

static void rconn_on_retry(uv_timer_t *t)
{
    rconn_connect(t->data);
}

static void rconn_lost(struct rconn *c, const char *why)
{
    int was_ready = c->ready;
    c->ac = NULL;
    c->ready = 0;
    if (was_ready && c->on_down)
        c->on_down(c, c->user);
    if (c->stopping)
        return;
    log_warn("Redis connection down: retrying", KV_S("conn", c->name), KV_S("detail", why),
             KV_I("retry_ms", RCONN_RETRY_MS));
    uv_timer_start(&c->retry, rconn_on_retry, RCONN_RETRY_MS, 0);
}

static void rconn_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rconn *c = ac->data;
    rconn_lost(c, status == REDIS_OK ? "closed" : ac->errstr);
}

static void rconn_on_connect(const redisAsyncContext *ac, int status)
{
    struct rconn *c = ac->data;
    if (status != REDIS_OK)
        rconn_lost(c, ac->errstr); /* hiredis frees ac */
}

/* The answer to AUTH or SELECT: anything but OK ends the connection. */
static void rconn_on_setup(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct rconn *c = ac->data;
    (void)priv;
    if (reply == NULL || reply->type != REDIS_REPLY_ERROR)
        return;
    log_error("Redis refused the connection's setup: check --redis's credentials and database",
              KV_S("conn", c->name), KV_S("detail", reply->str));
    redisAsyncDisconnect(ac);
}

/* PING's answer comes after AUTH's and SELECT's: the connection is usable. */
static void rconn_on_ping(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct rconn *c = ac->data;
    (void)priv;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR || c->ac != ac)
        return;
    c->ready = 1;
    log_info("Redis connected", KV_S("conn", c->name));
    if (c->on_up)
        c->on_up(c, c->user);
}

static void rconn_connect(struct rconn *c)
{
    const struct redis_url *u = c->url;
    redisAsyncContext *ac =
        u->path[0] ? redisAsyncConnectUnix(u->path) : redisAsyncConnect(u->host, u->port);
    if (ac == NULL || ac->err) {
        const char *why = ac ? ac->errstr : "out of memory";
        log_warn("cannot connect to Redis: retrying", KV_S("conn", c->name), KV_S("detail", why));
        if (ac)
            redisAsyncFree(ac);
        uv_timer_start(&c->retry, rconn_on_retry, RCONN_RETRY_MS, 0);
        return;
    }
    if (uvredis_attach(ac, c->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        uv_timer_start(&c->retry, rconn_on_retry, RCONN_RETRY_MS, 0);
        return;
    }
    ac->data = c;
    c->ac = ac;
    redisAsyncSetConnectCallback(ac, rconn_on_connect);
    redisAsyncSetDisconnectCallback(ac, rconn_on_disconnect);
    if (u->password[0] && u->user[0])
        redisAsyncCommand(ac, rconn_on_setup, NULL, "AUTH %s %s", u->user, u->password);
    else if (u->password[0])
        redisAsyncCommand(ac, rconn_on_setup, NULL, "AUTH %s", u->password);
    if (u->db)
        redisAsyncCommand(ac, rconn_on_setup, NULL, "SELECT %d", u->db);
    redisAsyncCommand(ac, rconn_on_ping, NULL, "PING");
}

int rconn_start(struct rconn *c, uv_loop_t *loop, const struct redis_url *url, const char *name,
                rconn_fn on_up, rconn_fn on_down, void *user)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->url = url;
    c->name = name;
    c->on_up = on_up;
    c->on_down = on_down;
    c->user = user;
    if (uv_timer_init(loop, &c->retry))
        return -1;
    c->retry.data = c;
    rconn_connect(c);
    return 0;
}

int rconn_cmd(struct rconn *c, redisCallbackFn *fn, void *priv, const char *fmt, ...)
{
    va_list ap;
    int rc;
    if (!c->ready || c->ac == NULL)
        return -1;
    va_start(ap, fmt);
    rc = redisvAsyncCommand(c->ac, fn, priv, fmt, ap);
    va_end(ap);
    return rc == REDIS_OK ? 0 : -1;
}

int rconn_argv(struct rconn *c, redisCallbackFn *fn, void *priv, int argc, const char **argv,
               const size_t *lens)
{
    if (!c->ready || c->ac == NULL)
        return -1;
    return redisAsyncCommandArgv(c->ac, fn, priv, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

int rconn_eval_ids(struct rconn *c, redisCallbackFn *fn, void *priv, const char *const *head,
                   int nhead, const char *const *ids, int nids, int max)
{
    int most = nhead + (nids < max ? nids : max), sent = 0;
    const char **argv = calloc((size_t)most, sizeof(*argv));
    size_t *lens = calloc((size_t)most, sizeof(*lens));
    for (int at = 0; argv && lens && at < nids; at += max, sent++) {
        int n = nids - at < max ? nids - at : max;
        for (int i = 0; i < nhead + n; i++) {
            argv[i] = i < nhead ? head[i] : ids[at + i - nhead];
            lens[i] = strlen(argv[i]);
        }
        if (rconn_argv(c, fn, priv, nhead + n, argv, lens))
            break;
    }
    free(argv);
    free(lens);
    return sent;
}

void rconn_stop(struct rconn *c)
{
    c->stopping = 1;
    if (c->ac)
        redisAsyncDisconnect(c->ac); /* pending callbacks get NULL, then on_disconnect */
    uv_close((uv_handle_t *)&c->retry, NULL);
}
