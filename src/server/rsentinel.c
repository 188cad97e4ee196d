/*
 * rsentinel — see rsentinel.h.
 */
#include "rsentinel.h"

#include "uvredis.h"

#include <async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rsentinel {
    struct redis_url *url; /* the caller's: host and port are set on success */
    rsentinel_done_fn *done;
    void *user;
    uv_loop_t *loop;
    redisAsyncContext *ac; /* the Sentinel being asked; NULL between asks */
    uv_timer_t timer;      /* bounds each ask */
    int current;           /* index of the Sentinel being asked */
    int tried;
    int unknown; /* a Sentinel answered that it knows no such master */
    char detail[1024];
    size_t used;
};

static void rsentinel_try(struct rsentinel *s);

static void rsentinel_freed(uv_handle_t *h)
{
    free(h->data);
}

/* Frees the context we asked on (hiredis defers it when inside one of its
 * callbacks); its pending callbacks then find no rsentinel. */
static void rsentinel_drop(struct rsentinel *s)
{
    redisAsyncContext *ac = s->ac;
    if (ac == NULL)
        return;
    s->ac = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
}

/* Forgets a context hiredis is freeing itself (a failed connect, a
 * disconnect). */
static void rsentinel_forget(struct rsentinel *s, const redisAsyncContext *ac)
{
    ((redisAsyncContext *)ac)->data = NULL;
    if (s->ac == ac)
        s->ac = NULL;
}

static void rsentinel_finish(struct rsentinel *s, int status, const char *detail)
{
    rsentinel_drop(s);
    uv_timer_stop(&s->timer);
    s->done(s->user, status, detail, s->current);
    uv_close((uv_handle_t *)&s->timer, rsentinel_freed);
}

static const char *rsentinel_name(const struct rsentinel *s, char *out, size_t len)
{
    const struct redisurl_addr *a = &s->url->sentinels[s->current];
    redisurl_format_addr(out, len, a->host, a->port);
    return out;
}

/* The current Sentinel failed (why): notes it and asks the next one. */
static void rsentinel_failed(struct rsentinel *s, const char *why)
{
    char name[300];
    if (s->used < sizeof(s->detail))
        s->used +=
            (size_t)snprintf(s->detail + s->used, sizeof(s->detail) - s->used, "%s%s %s",
                             s->used ? "; " : "", rsentinel_name(s, name, sizeof(name)), why);
    rsentinel_drop(s);
    uv_timer_stop(&s->timer);
    s->tried++;
    s->current = (s->current + 1) % s->url->nsentinels;
    rsentinel_try(s);
}

static void rsentinel_on_connect(const redisAsyncContext *ac, int status)
{
    struct rsentinel *s = ac->data;
    if (s == NULL || status == REDIS_OK)
        return;
    rsentinel_forget(s, ac);
    rsentinel_failed(s, ac->errstr);
}

static void rsentinel_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rsentinel *s = ac->data;
    (void)status;
    if (s == NULL)
        return;
    rsentinel_forget(s, ac);
    rsentinel_failed(s, ac->errstr[0] ? ac->errstr : "closed the connection");
}

static void rsentinel_on_auth(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct rsentinel *s = ac->data;
    const redisReply *reply = reply_;
    char why[300];
    (void)priv;
    if (s == NULL || reply == NULL || reply->type != REDIS_REPLY_ERROR)
        return; /* gone (the disconnect callback says why), or accepted */
    snprintf(why, sizeof(why), "AUTH refused: %s", reply->str);
    rsentinel_failed(s, why);
}

static void rsentinel_on_reply(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct rsentinel *s = ac->data;
    char why[300], name[300];
    (void)priv;
    if (s == NULL || reply_ == NULL)
        return;
    int rc = redisurl_sentinel_reply(s->url, reply_, why, sizeof(why));
    if (rc == 0) {
        rsentinel_finish(s, 0, rsentinel_name(s, name, sizeof(name)));
        return;
    }
    s->unknown |= rc == 1;
    rsentinel_failed(s, why);
}

static void rsentinel_on_timeout(uv_timer_t *t)
{
    rsentinel_failed(t->data, "no answer in time");
}

static void rsentinel_on_start(uv_timer_t *t)
{
    rsentinel_try(t->data);
}

static void rsentinel_try(struct rsentinel *s)
{
    if (s->tried == s->url->nsentinels) {
        rsentinel_finish(s, s->unknown ? 1 : -1, s->detail);
        return;
    }
    const struct redisurl_addr *a = &s->url->sentinels[s->current];
    redisAsyncContext *ac = redisAsyncConnect(a->host, a->port);
    if (ac == NULL || ac->err) {
        char why[300];
        snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        rsentinel_failed(s, why);
        return;
    }
    ac->data = s;
    if (uvredis_attach(ac, s->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        rsentinel_failed(s, "cannot watch the connection");
        return;
    }
    s->ac = ac;
    redisAsyncSetConnectCallback(ac, rsentinel_on_connect);
    redisAsyncSetDisconnectCallback(ac, rsentinel_on_disconnect);
    if (s->url->sentinel_password[0])
        redisAsyncCommand(ac, rsentinel_on_auth, NULL, "AUTH %s", s->url->sentinel_password);
    redisAsyncCommand(ac, rsentinel_on_reply, NULL, "SENTINEL get-master-addr-by-name %s",
                      s->url->master);
    uv_timer_start(&s->timer, rsentinel_on_timeout, REDISURL_SENTINEL_MS, 0);
}

struct rsentinel *rsentinel_ask(uv_loop_t *loop, struct redis_url *url, int first,
                                rsentinel_done_fn *done, void *user)
{
    struct rsentinel *s = calloc(1, sizeof(*s));
    if (s == NULL || url->nsentinels == 0) {
        free(s);
        return NULL;
    }
    s->url = url;
    s->done = done;
    s->user = user;
    s->loop = loop;
    s->current = (first < 0 ? 0 : first) % url->nsentinels;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    /* From the loop, so that the callback never runs before this returns. */
    uv_timer_start(&s->timer, rsentinel_on_start, 0, 0);
    return s;
}

void rsentinel_cancel(struct rsentinel *s)
{
    rsentinel_drop(s);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, rsentinel_freed);
}
