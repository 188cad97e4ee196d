/*
 * deliver — see deliver.h.
 */
#include "deliver.h"

#include "h2.h"
#include "log.h"
#include "notif.h"
#include "pmetrics.h"
#include "rkeys.h"
#include "webpush.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Removes a registration only if it is still what was read: a refresh in
 * between keeps it. */
static const char deliver_remove_if_lua[] =
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
    "return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

/* FAILED: Redis did not answer; never reused. */
enum dalert_state { DALERT_LOADING, DALERT_SEND, DALERT_NOTHING, DALERT_FAILED };

struct dalert {
    struct deliver *d;
    char id[ITEM_ID_STRLEN];
    enum dalert_state state;
    struct notif n;
    int refs;
    struct job *waiters;
    struct dalert *next;
};

struct dsend {
    struct job *job;
    struct deliver *d;
    struct reg reg;
    int attempts;
    uint64_t due_ms;
    struct dsend *next; /* in the ready queue or the waiting list */
    struct h2_req req;
    struct webpush_msg *msg; /* while in flight */
};

struct deliver {
    struct gw *gw;
    deliver_end_fn on_end;
    void *user;
    struct dsend *ready, *ready_tail;
    struct dsend *waiting; /* retries, unordered */
    uv_timer_t timer;
    struct dalert *alerts;
    uint64_t rng;
};

/* ------------------------------------------------------------------------
 * Small parts
 * ---------------------------------------------------------------------- */

static uint64_t deliver_random(struct deliver *d)
{
    d->rng ^= d->rng << 13;
    d->rng ^= d->rng >> 7;
    d->rng ^= d->rng << 17;
    return d->rng;
}

static void deliver_key(char *out, size_t len, const struct gw *gw, const char *suffix,
                        const char *alert, int shard)
{
    char tail[ITEM_ID_STRLEN + 16];
    if (alert && shard >= 0)
        snprintf(tail, sizeof(tail), "%s:%d", alert, shard);
    else if (alert)
        snprintf(tail, sizeof(tail), "%s", alert);
    else
        snprintf(tail, sizeof(tail), "%d", shard);
    rkeys_name(out, len, gw->cfg->prefix, suffix, tail);
}

static int deliver_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int deliver_is_done(const struct job *j, const char *id)
{
    return j->ndone && bsearch(&id, j->done, j->ndone, sizeof(char *), deliver_cmp_str) != NULL;
}

static void deliver_free_done(struct job *j)
{
    for (size_t i = 0; i < j->ndone; i++)
        free(j->done[i]);
    free(j->done);
    j->done = NULL;
    j->ndone = 0;
}

/* ------------------------------------------------------------------------
 * A job's end
 * ---------------------------------------------------------------------- */

static void deliver_release_alert(struct deliver *d, struct dalert *a)
{
    int kept = 0;
    struct dalert **pp;
    if (a == NULL || --a->refs > 0)
        return;
    /* Keep a few idle alerts: the next jobs of the same alert need them. */
    for (pp = &d->alerts; *pp;) {
        struct dalert *x = *pp;
        if (x->refs == 0 && x->state != DALERT_LOADING &&
            (x->state == DALERT_FAILED || ++kept > DELIVER_CACHED_ALERTS)) {
            *pp = x->next;
            notif_free(&x->n);
            free(x);
            continue;
        }
        pp = &x->next;
    }
}

static void deliver_check(struct deliver *d, struct job *j)
{
    if (j->loading || j->flying || (!j->aborted && j->unfinished))
        return;
    free(j->sends);
    j->sends = NULL;
    deliver_free_done(j);
    deliver_release_alert(d, j->dalert);
    j->dalert = NULL;
    pmetrics.jobs_active--;
    d->on_end(j, j->aborted ? DELIVER_ABORTED : DELIVER_DONE, d->user);
}

static void deliver_on_reply_ignored(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    (void)r;
    (void)priv;
}

/* A registration has its final answer: recorded in the job's done set. */
static void deliver_final(struct deliver *d, struct dsend *s)
{
    struct job *j = s->job;
    char key[GW_KEY_MAX];
    j->unfinished--;
    deliver_key(key, sizeof(key), d->gw, RKEYS_PUSH_SENT, j->alert, j->shard);
    rconn_cmd(&d->gw->cmd, deliver_on_reply_ignored, NULL, "SADD %s %s", key, s->reg.id);
    if (!j->marked) {
        j->marked = 1;
        rconn_cmd(&d->gw->cmd, deliver_on_reply_ignored, NULL, "EXPIRE %s %d", key,
                  DELIVER_DONE_TTL);
    }
}

/* ------------------------------------------------------------------------
 * Sending
 * ---------------------------------------------------------------------- */

static void deliver_pump(struct deliver *d);

static void deliver_enqueue(struct deliver *d, struct dsend *s)
{
    s->next = NULL;
    if (d->ready_tail)
        d->ready_tail->next = s;
    else
        d->ready = s;
    d->ready_tail = s;
}

static uint64_t deliver_now_ms(void)
{
    return (uint64_t)item_time_now_ms();
}

static void deliver_on_timer(uv_timer_t *t)
{
    struct deliver *d = t->data;
    uint64_t now = deliver_now_ms(), next = 0;
    struct dsend **pp = &d->waiting;
    while (*pp) {
        struct dsend *s = *pp;
        if (s->due_ms <= now) {
            *pp = s->next;
            deliver_enqueue(d, s);
            continue;
        }
        if (next == 0 || s->due_ms < next)
            next = s->due_ms;
        pp = &s->next;
    }
    if (next)
        uv_timer_start(&d->timer, deliver_on_timer, next - now, 0);
    deliver_pump(d);
}

/* Tries again later, or gives up: 1 when scheduled. */
static int deliver_retry(struct deliver *d, struct dsend *s, const char *retry_after)
{
    uint64_t now = deliver_now_ms(), cap, delay, floor_ms = 0;
    if (retry_after && *retry_after) {
        char *end;
        unsigned long secs = strtoul(retry_after, &end, 10);
        if (*end == '\0')
            floor_ms = (uint64_t)secs * 1000;
        else {
            time_t at = curl_getdate(retry_after, NULL);
            if (at > 0 && (uint64_t)at * 1000 > now)
                floor_ms = (uint64_t)at * 1000 - now;
        }
    }
    cap = (uint64_t)DELIVER_BACKOFF_MS << (s->attempts < 16 ? s->attempts : 16);
    if (cap > DELIVER_BACKOFF_MAXMS)
        cap = DELIVER_BACKOFF_MAXMS;
    delay = deliver_random(d) % (cap + 1);
    if (delay < floor_ms)
        delay = floor_ms;
    if (s->attempts >= DELIVER_MAX_ATTEMPTS ||
        (int64_t)(now + delay) >= s->job->dalert->n.expires_ms)
        return 0;
    s->due_ms = now + delay;
    s->next = d->waiting;
    d->waiting = s;
    if (!uv_is_active((uv_handle_t *)&d->timer) || uv_timer_get_due_in(&d->timer) > delay)
        uv_timer_start(&d->timer, deliver_on_timer, delay, 0);
    return 1;
}

static void deliver_gone(struct deliver *d, struct dsend *s)
{
    char key[GW_KEY_MAX];
    deliver_key(key, sizeof(key), d->gw, RKEYS_PUSH_REG, NULL, s->reg.shard);
    rconn_cmd(&d->gw->cmd, deliver_on_reply_ignored, NULL, "HDEL %s %s", key, s->reg.id);
}

/* What an answer (or its absence) means for the registration. */
static void deliver_settle(struct deliver *d, struct dsend *s, long status, const char *retry_after,
                           CURLcode code, const char *error)
{
    struct job *j = s->job;
    webpush_free(s->msg);
    free(s->msg);
    s->msg = NULL;
    j->flying--;
    pmetrics.in_flight--;
    switch (j->aborted && status == 0 ? WEBPUSH_RETRY : webpush_outcome(status)) {
    case WEBPUSH_DONE:
        pmetrics.sent++;
        deliver_final(d, s);
        break;
    case WEBPUSH_GONE:
        pmetrics.removed++;
        deliver_gone(d, s);
        deliver_final(d, s);
        break;
    case WEBPUSH_REFUSED:
        pmetrics.refused++;
        log_warn("push service refused a notification", KV_S("alert", j->alert),
                 KV_S("registration", s->reg.id), KV_I("status", status));
        deliver_final(d, s);
        break;
    case WEBPUSH_RETRY:
        if (j->aborted)
            break;
        if (deliver_retry(d, s, retry_after)) {
            pmetrics.retried++;
            log_debug("retrying", KV_S("registration", s->reg.id), KV_I("status", status),
                      KV_S("error", status ? "" : error), KV_I("code", code));
            break;
        }
        pmetrics.failed++;
        log_warn("notification given up", KV_S("alert", j->alert), KV_S("registration", s->reg.id),
                 KV_I("status", status), KV_S("error", status ? "" : error),
                 KV_I("attempts", s->attempts));
        deliver_final(d, s);
        break;
    }
}

static void deliver_on_answer(struct h2_req *req, long status, const char *retry_after,
                              CURLcode code, const char *error)
{
    struct dsend *s = req->user;
    struct deliver *d = s->d;
    struct job *j = s->job;
    deliver_settle(d, s, status, retry_after, code, error);
    deliver_check(d, j); /* may free j and s */
    deliver_pump(d);
}

static void deliver_send(struct deliver *d, struct dsend *s)
{
    struct job *j = s->job;
    s->msg = malloc(sizeof(*s->msg));
    s->attempts++;
    if (s->msg == NULL ||
        webpush_build(s->msg, &d->gw->vapid, &j->dalert->n, &s->reg, item_time_now_ms())) {
        free(s->msg);
        s->msg = NULL;
        pmetrics.failed++;
        log_error("cannot build a Web Push request", KV_S("registration", s->reg.id));
        deliver_final(d, s);
        deliver_check(d, j);
        return;
    }
    memset(&s->req, 0, sizeof(s->req));
    s->req.url = s->reg.endpoint;
    s->req.headers = s->msg->headers;
    s->req.body = s->msg->body;
    s->req.len = s->msg->len;
    s->req.done = deliver_on_answer;
    s->req.user = s;
    j->flying++;
    pmetrics.in_flight++;
    if (h2_post(d->gw->h2, &s->req)) {
        deliver_settle(d, s, 0, "", CURLE_OUT_OF_MEMORY, "cannot start the request");
        deliver_check(d, j);
    }
}

static void deliver_pump(struct deliver *d)
{
    while (d->ready && pmetrics.in_flight < d->gw->cfg->concurrency) {
        struct dsend *s = d->ready;
        d->ready = s->next;
        if (d->ready == NULL)
            d->ready_tail = NULL;
        deliver_send(d, s);
    }
}

/* ------------------------------------------------------------------------
 * Reading a job's shard
 * ---------------------------------------------------------------------- */

static void deliver_on_removed(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    (void)ac;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        pmetrics.expired_regs++;
}

static void deliver_on_done_set(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct job *j = priv;
    (void)ac;
    j->loading--;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        j->aborted = 1;
        return; /* the shard's answer ends the job */
    }
    if (reply->elements && (j->done = calloc(reply->elements, sizeof(char *))) == NULL) {
        j->aborted = 1;
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type == REDIS_REPLY_STRING &&
            (j->done[j->ndone] = strdup(reply->element[i]->str)) != NULL)
            j->ndone++;
    }
    qsort(j->done, j->ndone, sizeof(char *), deliver_cmp_str);
}

/* One entry of the shard: 1 when it is to be sent to (s filled). */
static int deliver_take(struct deliver *d, struct job *j, const redisReply *id,
                        const redisReply *value, struct dsend *s, int64_t now)
{
    const struct notif *n = &j->dalert->n;
    if (id->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
        return 0;
    if (reg_decode(id->str, value->str, value->len, &s->reg)) {
        log_warn("unreadable registration skipped", KV_S("registration", id->str),
                 KV_I("shard", j->shard));
        return 0;
    }
    if (s->reg.expires_ms <= now) {
        char key[GW_KEY_MAX];
        const char *argv[] = {"EVAL", deliver_remove_if_lua, "1", key, id->str, value->str};
        size_t lens[] = {4, sizeof(deliver_remove_if_lua) - 1, 1, 0, id->len, value->len};
        deliver_key(key, sizeof(key), d->gw, RKEYS_PUSH_REG, NULL, j->shard);
        lens[3] = strlen(key);
        rconn_argv(&d->gw->cmd, deliver_on_removed, NULL, 6, argv, lens);
        return 0;
    }
    if (deliver_is_done(j, s->reg.id)) {
        pmetrics.skipped_done++;
        return 0;
    }
    return reg_matches(&s->reg, n->topics, n->lang);
}

static void deliver_on_shard(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct job *j = priv;
    struct deliver *d = j->deliver;
    int64_t now = item_time_now_ms();
    (void)ac;
    j->loading--;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        j->aborted = 1;
    if (!j->aborted && reply->elements &&
        (j->sends = calloc(reply->elements / 2, sizeof(*j->sends))) == NULL)
        j->aborted = 1;
    for (size_t i = 0; !j->aborted && i + 1 < reply->elements; i += 2) {
        struct dsend *s = &j->sends[j->nsends];
        if (!deliver_take(d, j, reply->element[i], reply->element[i + 1], s, now))
            continue;
        s->job = j;
        s->d = d;
        j->nsends++;
    }
    deliver_free_done(j);
    if (!j->aborted) {
        j->unfinished = j->nsends;
        j->started = 1;
        for (int i = 0; i < j->nsends; i++)
            deliver_enqueue(d, &j->sends[i]);
    }
    deliver_check(d, j);
    deliver_pump(d);
}

/* The done set, then the shard, in one round trip. */
static void deliver_read(struct deliver *d, struct job *j)
{
    char done[GW_KEY_MAX], shard[GW_KEY_MAX];
    deliver_key(done, sizeof(done), d->gw, RKEYS_PUSH_SENT, j->alert, j->shard);
    deliver_key(shard, sizeof(shard), d->gw, RKEYS_PUSH_REG, NULL, j->shard);
    if (rconn_cmd(&d->gw->cmd, deliver_on_done_set, j, "SMEMBERS %s", done) ||
        rconn_cmd(&d->gw->cmd, deliver_on_shard, j, "HGETALL %s", shard)) {
        j->aborted = 1; /* a first command sent gets NULL with the second refused */
        if (j->loading == 0)
            deliver_check(d, j);
        return;
    }
    j->loading = 2;
}

/* ------------------------------------------------------------------------
 * The alert of a job
 * ---------------------------------------------------------------------- */

static void deliver_alert_ready(struct deliver *d, struct dalert *a, int failed)
{
    struct job *w = a->waiters;
    a->waiters = NULL;
    while (w) {
        struct job *next = w->wait_next;
        w->wait_next = NULL;
        w->loading--;
        if (failed)
            w->aborted = 1;
        if (failed || a->state == DALERT_NOTHING || w->aborted)
            deliver_check(d, w);
        else
            deliver_read(d, w);
        w = next;
    }
}

static void deliver_on_item(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct dalert *a = priv;
    struct gw *gw = a->d->gw;
    const char *why = "";
    struct item_error err;
    (void)ac;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        a->state = DALERT_FAILED;
    } else if (reply->type != REDIS_REPLY_STRING) {
        a->state = DALERT_NOTHING;
        log_warn("alert to send is no longer in Redis (over a day old?)", KV_S("alert", a->id));
    } else {
        int rc = notif_build(&a->n, a->id, reply->str, reply->len, gw->urgencies, gw->cfg->ttl,
                             item_time_now_ms(), &why, &err);
        a->state = rc == 1 ? DALERT_SEND : DALERT_NOTHING;
        if (rc < 0)
            log_warn("alert to send is not a valid item", KV_S("alert", a->id),
                     KV_S("field", err.field), KV_S("error", err.message));
        else if (rc == 0)
            log_info("alert not sent", KV_S("alert", a->id), KV_S("reason", why));
    }
    deliver_alert_ready(a->d, a, a->state == DALERT_FAILED);
}

/* The job's alert, parsed, or loading with the job waiting for it. */
static void deliver_alert(struct deliver *d, struct job *j)
{
    struct dalert *a = d->alerts;
    char key[GW_KEY_MAX];
    while (a && (a->state == DALERT_FAILED || strcmp(a->id, j->alert) != 0))
        a = a->next;
    if (a == NULL) {
        if ((a = calloc(1, sizeof(*a))) == NULL) {
            j->aborted = 1;
            deliver_check(d, j);
            return;
        }
        a->d = d;
        snprintf(a->id, sizeof(a->id), "%s", j->alert);
        a->state = DALERT_LOADING;
        a->next = d->alerts;
        d->alerts = a;
        deliver_key(key, sizeof(key), d->gw, RKEYS_PUSH_ITEM, j->alert, -1);
        if (rconn_cmd(&d->gw->cmd, deliver_on_item, a, "GET %s", key))
            a->state = DALERT_FAILED;
    }
    a->refs++;
    j->dalert = a;
    if (a->state == DALERT_LOADING) {
        j->loading++;
        j->wait_next = a->waiters;
        a->waiters = j;
    } else if (a->state == DALERT_SEND) {
        deliver_read(d, j);
    } else {
        j->aborted = a->state == DALERT_FAILED;
        deliver_check(d, j);
    }
}

/* ------------------------------------------------------------------------
 * Jobs
 * ---------------------------------------------------------------------- */

void deliver_job(struct deliver *d, struct job *j)
{
    j->deliver = d;
    pmetrics.jobs_active++;
    deliver_alert(d, j);
}

/* Drops the job's sends from a list. */
static void deliver_unlist(struct dsend **head, struct dsend **tail, const struct job *j)
{
    struct dsend *last = NULL;
    for (struct dsend **pp = head; *pp;) {
        if ((*pp)->job == j) {
            *pp = (*pp)->next;
            continue;
        }
        last = *pp;
        pp = &(*pp)->next;
    }
    if (tail)
        *tail = last;
}

void deliver_abort(struct deliver *d, struct job *j)
{
    if (j->aborted)
        return;
    j->aborted = 1;
    deliver_unlist(&d->ready, &d->ready_tail, j);
    deliver_unlist(&d->waiting, NULL, j);
    deliver_check(d, j);
}

struct deliver *deliver_new(struct gw *gw, deliver_end_fn on_end, void *user)
{
    struct deliver *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->gw = gw;
    d->on_end = on_end;
    d->user = user;
    d->rng = ((uint64_t)item_time_now_ms() * 2654435761u) ^ ((uint64_t)getpid() << 32) ^ 1;
    if (d->rng == 0)
        d->rng = 1;
    uv_timer_init(gw->loop, &d->timer);
    d->timer.data = d;
    return d;
}

static void deliver_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Every job has ended (fleet aborted them and h2 answered what flew). */
void deliver_free(struct deliver *d)
{
    while (d->alerts) {
        struct dalert *a = d->alerts;
        d->alerts = a->next;
        notif_free(&a->n);
        free(a);
    }
    uv_close((uv_handle_t *)&d->timer, deliver_timer_closed);
}
