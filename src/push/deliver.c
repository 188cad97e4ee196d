/*
 * deliver — see deliver.h.
 */
#include "deliver.h"

#include "log.h"
#include "pmetrics.h"
#include "rkeys.h"
#include "sender.h"

#include <stdlib.h>
#include <string.h>

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
    struct push_alert pa;
    int refs;
    struct job *waiters;
    struct dalert *next;
};

struct deliver {
    struct gw *gw;
    deliver_end_fn on_end;
    void *user;
    struct sender *sender;
    struct dalert *alerts;
    uv_timer_t watch; /* the retraction marks of the alerts being sent */
};

/* ------------------------------------------------------------------------
 * Small parts
 * ---------------------------------------------------------------------- */

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
            push_alert_free(&x->pa);
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
    struct job *j = s->owner;
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
 * Answers
 * ---------------------------------------------------------------------- */

static void deliver_gone(struct deliver *d, struct dsend *s)
{
    char key[GW_KEY_MAX];
    deliver_key(key, sizeof(key), d->gw, RKEYS_PUSH_REG, NULL, s->reg.shard);
    rconn_cmd(&d->gw->cmd, deliver_on_reply_ignored, NULL, "HDEL %s %s", key, s->reg.id);
}

/* The sender hands a send back. */
static void deliver_on_result(struct dsend *s, enum sender_result r, void *user)
{
    struct deliver *d = user;
    struct job *j = s->owner;
    j->flying--;
    if (r == SENDER_GONE)
        deliver_gone(d, s);
    if (r == SENDER_CANCELLED)
        j->unfinished--; /* final, not done: the job ends without it */
    else if (r != SENDER_DROPPED)
        deliver_final(d, s);
    deliver_check(d, j); /* may free j and s */
}

/* ------------------------------------------------------------------------
 * Retractions: a story's mark, P:push:retracted:<story>, set by the
 * gateway that read its retraction, is checked as each job starts and
 * every DELIVER_WATCH_MS for the alerts being sent
 * ---------------------------------------------------------------------- */

/* The alert's story was retracted: what of it is not in flight is not sent. */
static void deliver_retracted(struct deliver *d, struct dalert *a)
{
    if (a->pa.retracted)
        return;
    a->pa.retracted = 1;
    a->refs++; /* its last job may end in sender_cancel */
    int n = sender_cancel(d->sender, &a->pa);
    log_info("story retracted: its sends stop", KV_S("alert", a->id), KV_S("story", a->pa.n.story),
             KV_I("cancelled", n));
    deliver_release_alert(d, a);
}

static void deliver_on_mark(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct dalert *a = priv;
    (void)ac;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        deliver_retracted(a->d, a);
    deliver_release_alert(a->d, a);
}

/* Each alert with jobs here, not yet seen retracted, has its mark read. */
static void deliver_on_watch(uv_timer_t *t)
{
    struct deliver *d = t->data;
    char key[GW_KEY_MAX];
    int watched = 0;
    for (struct dalert *a = d->alerts; a; a = a->next) {
        if (a->refs == 0 || a->state != DALERT_SEND || a->pa.n.retraction || a->pa.retracted)
            continue;
        watched++;
        deliver_key(key, sizeof(key), d->gw, RKEYS_PUSH_RETRACTED, a->pa.n.story, -1);
        if (rconn_cmd(&d->gw->cmd, deliver_on_mark, a, "EXISTS %s", key) == 0)
            a->refs++;
    }
    if (watched == 0)
        uv_timer_stop(t);
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
    if (j->ndone > 1) /* none: j->done is NULL, which qsort may not be given */
        qsort(j->done, j->ndone, sizeof(char *), deliver_cmp_str);
}

/* One entry of the shard: 1 when it is to be sent to (s filled). */
static int deliver_take(struct deliver *d, struct job *j, const redisReply *id,
                        const redisReply *value, struct dsend *s, int64_t now)
{
    const struct notif *n = &j->dalert->pa.n;
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
        s->owner = j;
        s->cancelled = &j->aborted;
        s->pa = &j->dalert->pa;
        j->nsends++;
    }
    deliver_free_done(j);
    if (!j->aborted && j->dalert->pa.retracted) {
        for (int i = 0; i < j->nsends; i++)
            pmetrics.by[j->sends[i].reg.provider].cancelled++;
        j->nsends = 0; /* the job ends done, nothing sent */
    }
    if (!j->aborted) {
        j->unfinished = j->nsends;
        j->started = 1;
        j->flying = j->nsends;
        j->loading++; /* held while handing over: a send may end at once */
        for (int i = 0; i < j->nsends; i++)
            sender_add(d->sender, &j->sends[i]);
        j->loading--;
    }
    deliver_check(d, j);
}

static void deliver_on_job_mark(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct job *j = priv;
    (void)ac;
    j->loading--;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        deliver_retracted(j->deliver, j->dalert);
}

/* The story's retraction mark (an alert's), the done set, then the
 * shard, in one round trip. */
static void deliver_read(struct deliver *d, struct job *j)
{
    char mark[GW_KEY_MAX], done[GW_KEY_MAX], shard[GW_KEY_MAX];
    int watched = !j->dalert->pa.n.retraction;
    deliver_key(mark, sizeof(mark), d->gw, RKEYS_PUSH_RETRACTED, j->dalert->pa.n.story, -1);
    deliver_key(done, sizeof(done), d->gw, RKEYS_PUSH_SENT, j->alert, j->shard);
    deliver_key(shard, sizeof(shard), d->gw, RKEYS_PUSH_REG, NULL, j->shard);
    int rc = watched ? rconn_cmd(&d->gw->cmd, deliver_on_job_mark, j, "EXISTS %s", mark) : 0;
    j->loading += watched && rc == 0;
    if (rc == 0 && (rc = rconn_cmd(&d->gw->cmd, deliver_on_done_set, j, "SMEMBERS %s", done)) == 0)
        j->loading++;
    if (rc == 0 && (rc = rconn_cmd(&d->gw->cmd, deliver_on_shard, j, "HGETALL %s", shard)) == 0)
        j->loading++;
    if (rc) {
        j->aborted = 1; /* the commands sent get NULL: the last of them ends the job */
        if (j->loading == 0)
            deliver_check(d, j);
        return;
    }
    if (watched && !uv_is_active((uv_handle_t *)&d->watch))
        uv_timer_start(&d->watch, deliver_on_watch, DELIVER_WATCH_MS, DELIVER_WATCH_MS);
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
        int rc = notif_build(&a->pa.n, a->id, reply->str, reply->len, gw->urgencies, gw->cfg->ttl,
                             item_time_now_ms(), &why, &err);
        if (rc == 1 && sender_prepare(gw, &a->pa)) {
            rc = -1;
            snprintf(err.field, sizeof(err.field), "%s", "");
            snprintf(err.message, sizeof(err.message), "cannot make the providers' payloads");
        }
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

void deliver_abort(struct deliver *d, struct job *j)
{
    if (j->aborted)
        return;
    j->aborted = 1;
    j->flying -= sender_drop(d->sender, j);
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
    if ((d->sender = sender_new(gw, deliver_on_result, d)) == NULL) {
        free(d);
        return NULL;
    }
    uv_timer_init(gw->loop, &d->watch);
    uv_unref((uv_handle_t *)&d->watch); /* never what keeps the loop running */
    d->watch.data = d;
    return d;
}

static void deliver_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Every job has ended (fleet aborted them and h2 answered what flew). */
void deliver_free(struct deliver *d)
{
    while (d->alerts) {
        struct dalert *a = d->alerts;
        d->alerts = a->next;
        push_alert_free(&a->pa);
        free(a);
    }
    sender_free(d->sender);
    uv_close((uv_handle_t *)&d->watch, deliver_closed);
}
