/*
 * deliver — see deliver.h.
 */
#include "deliver.h"

#include "feed.h"
#include "log.h"
#include "pmetrics.h"
#include "record.h"
#include "retract.h"
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
    int refs; /* jobs */
    struct retract_watch *watch;
    struct job *waiters;
    struct dalert *next;
};

struct deliver {
    struct gw *gw;
    deliver_end_fn on_end;
    void *user;
    struct sender *sender;
    struct feed *feed;
    struct dalert *alerts;
    struct record *record;
    struct retract *retract;
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

static int deliver_ids_has(const struct job_ids *set, const char *id)
{
    return set->n && bsearch(&id, set->ids, set->n, sizeof(char *), deliver_cmp_str) != NULL;
}

static void deliver_ids_free(struct job_ids *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->ids[i]);
    free(set->ids);
    set->ids = NULL;
    set->n = 0;
}

static void deliver_free_sets(struct job *j)
{
    deliver_ids_free(&j->done);
    deliver_ids_free(&j->sending);
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
            retract_watch_free(d->retract, x->watch);
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
    feed_end(d->feed, j);
    record_end(d->record, j);
    free(j->sends);
    j->sends = NULL;
    deliver_free_sets(j);
    if (j->watched)
        retract_release(j->dalert->watch);
    j->watched = 0;
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

/* A registration has its final answer. */
static void deliver_final(struct deliver *d, struct dsend *s)
{
    struct job *j = s->owner;
    j->unfinished--;
    record_add(d->record, j, s->reg.id);
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

/* A request sent again whose first may have reached the provider. */
static void deliver_uncertain(struct dsend *s)
{
    struct job *j = s->owner;
    s->uncertain = 0;
    pmetrics.uncertain++;
    log_warn("sent again: an earlier request may have reached the provider (same collapse id)",
             KV_S("provider", reg_provider_name(s->reg.provider)), KV_S("alert", j->alert),
             KV_I("shard", j->shard), KV_S("registration", s->reg.id));
}

/* The sender hands a send back. */
static void deliver_on_result(struct dsend *s, enum sender_result r, void *user)
{
    struct deliver *d = user;
    struct job *j = s->owner;
    j->flying--;
    if (s->uncertain && s->written && r != SENDER_HELD)
        deliver_uncertain(s); /* a send never written was not sent again */
    feed_result(d->feed, s, r);
    if (r == SENDER_HELD) {
        if (j->aborted)
            deliver_check(d, j);
        return; /* back to feed, for the job's next mark */
    }
    if (r == SENDER_GONE)
        deliver_gone(d, s);
    if (r == SENDER_CANCELLED)
        j->unfinished--; /* final, not done: the job ends without it */
    else if (r != SENDER_DROPPED)
        deliver_final(d, s);
    deliver_check(d, j); /* may free j and s */
}

/* ------------------------------------------------------------------------
 * Retractions: the story's mark read by retract (as each job starts, with
 * deliver's reads, then while the alert is being sent); once seen, what is
 * not in flight is not sent
 * ---------------------------------------------------------------------- */

struct deliver_cancel {
    struct deliver *d;
    int n;
};

/* n of j's sends were never marked: final, not done. */
static void deliver_on_cancelled(struct job *j, int n, void *user)
{
    struct deliver_cancel *c = user;
    c->n += n;
    j->unfinished -= n;
    deliver_check(c->d, j); /* may free j */
}

/* The alert's story was retracted: what of it is not in flight is not sent.
 * feed first: the sender's cancels free room that feed would otherwise
 * fill with marks of the same story. */
static void deliver_retracted(struct deliver *d, struct dalert *a)
{
    struct deliver_cancel c = {d, 0};
    if (a->pa.retracted)
        return;
    a->pa.retracted = 1;
    a->refs++; /* its last job may end in feed_cancel or sender_cancel */
    feed_cancel(d->feed, &a->pa, deliver_on_cancelled, &c);
    c.n += sender_cancel(d->sender, &a->pa);
    log_info("story retracted: its sends stop", KV_S("alert", a->id), KV_S("story", a->pa.n.story),
             KV_I("cancelled", c.n));
    deliver_release_alert(d, a);
}

static void deliver_on_seen(void *owner, void *user)
{
    deliver_retracted(user, owner);
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

/* SMEMBERS into a sorted set of ids: 0, or -1 (the job is then aborted;
 * the shard's answer ends it). */
static int deliver_ids_read(struct job_ids *set, const redisReply *reply)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        return -1;
    if (reply->elements && (set->ids = calloc(reply->elements, sizeof(char *))) == NULL)
        return -1;
    for (size_t i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING)
            continue;
        if ((set->ids[set->n] = strdup(reply->element[i]->str)) == NULL)
            return -1;
        set->n++;
    }
    if (set->n > 1) /* none: set->ids is NULL, which qsort may not be given */
        qsort(set->ids, set->n, sizeof(char *), deliver_cmp_str);
    return 0;
}

/* The shard's answer, sent last, ends a job's reads; when it was never
 * sent (deliver_read: a command refused), the last answer does. */
static void deliver_read_ended(struct job *j)
{
    if (j->loading == 0 && j->aborted)
        deliver_check(j->deliver, j); /* may free j */
}

static void deliver_on_done_set(redisAsyncContext *ac, void *r, void *priv)
{
    struct job *j = priv;
    (void)ac;
    j->loading--;
    if (deliver_ids_read(&j->done, r))
        j->aborted = 1;
    deliver_read_ended(j);
}

static void deliver_on_sending_set(redisAsyncContext *ac, void *r, void *priv)
{
    struct job *j = priv;
    (void)ac;
    j->loading--;
    if (deliver_ids_read(&j->sending, r))
        j->aborted = 1;
    deliver_read_ended(j);
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
    if (deliver_ids_has(&j->done, s->reg.id)) {
        pmetrics.skipped_done++;
        return 0;
    }
    s->uncertain = deliver_ids_has(&j->sending, s->reg.id);
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
        s->lease = &j->feed.lease_ms;
        s->pa = &j->dalert->pa;
        j->nsends++;
    }
    deliver_free_sets(j);
    if (!j->aborted && j->dalert->pa.retracted) {
        for (int i = 0; i < j->nsends; i++)
            pmetrics.by[j->sends[i].reg.provider].cancelled++;
        j->nsends = 0; /* the job ends done, nothing sent */
    }
    if (!j->aborted) {
        j->unfinished = j->nsends;
        j->started = 1;
        feed_start(d->feed, j); /* only sends Redis commands */
    }
    deliver_check(d, j);
}

static void deliver_on_job_mark(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct job *j = priv;
    (void)ac;
    j->loading--;
    if (retract_answer(j->dalert->watch, reply))
        deliver_retracted(j->deliver, j->dalert);
    deliver_read_ended(j);
}

/* The story's retraction mark (an alert's), the done and sending sets,
 * then the shard, in one round trip. */
static void deliver_read(struct deliver *d, struct job *j)
{
    struct dalert *a = j->dalert;
    char done[GW_KEY_MAX], sending[GW_KEY_MAX], shard[GW_KEY_MAX];
    int watched = !a->pa.n.retraction, rc = 0;
    if (watched && a->watch == NULL &&
        (a->watch = retract_watch_new(d->retract, a->id, a->pa.n.story, a)) == NULL)
        rc = -1;
    deliver_key(done, sizeof(done), d->gw, RKEYS_PUSH_SENT, j->alert, j->shard);
    deliver_key(sending, sizeof(sending), d->gw, RKEYS_PUSH_MARK, j->alert, j->shard);
    deliver_key(shard, sizeof(shard), d->gw, RKEYS_PUSH_REG, NULL, j->shard);
    if (rc == 0 && watched)
        rc = rconn_cmd(&d->gw->cmd, deliver_on_job_mark, j, "EXISTS %s", a->watch->key);
    j->loading += watched && rc == 0;
    if (rc == 0 && (rc = rconn_cmd(&d->gw->cmd, deliver_on_done_set, j, "SMEMBERS %s", done)) == 0)
        j->loading++;
    if (rc == 0 &&
        (rc = rconn_cmd(&d->gw->cmd, deliver_on_sending_set, j, "SMEMBERS %s", sending)) == 0)
        j->loading++;
    if (rc == 0 && (rc = rconn_cmd(&d->gw->cmd, deliver_on_shard, j, "HGETALL %s", shard)) == 0)
        j->loading++;
    if (rc) {
        j->aborted = 1; /* the commands sent get NULL: the last of them ends the job */
        if (j->loading == 0)
            deliver_check(d, j);
        return;
    }
    if (watched) {
        j->watched = 1;
        retract_hold(d->retract, a->watch);
    }
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
    struct dsend *dropped = NULL;
    if (j->aborted)
        return;
    j->aborted = 1;
    j->flying -= sender_drop(d->sender, j, &dropped);
    feed_abort(d->feed, j, dropped); /* before fleet hands the job back */
    deliver_check(d, j);
}

/* feed's answer to a mark of j. */
static void deliver_on_marked(struct job *j, int ok, void *user)
{
    struct deliver *d = user;
    j->loading--;
    if (ok <= 0 && !j->aborted) {
        if (ok == 0) {
            log_warn("job taken over by another gateway: stopped here", KV_S("entry", j->entry),
                     KV_S("alert", j->alert), KV_I("shard", j->shard));
            pmetrics.jobs_lost++;
        }
        /* No answer (feed logged an error's): not known to be ours any more. */
        deliver_abort(d, j);
        return;
    }
    deliver_check(d, j); /* aborted already: it may end now */
}

struct deliver *deliver_new(struct gw *gw, deliver_end_fn on_end, void *user)
{
    struct deliver *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->gw = gw;
    d->on_end = on_end;
    d->user = user;
    d->record = record_new(gw);
    d->retract = d->record ? retract_new(gw, deliver_on_seen, d) : NULL;
    d->sender = d->retract ? sender_new(gw, deliver_on_result, d) : NULL;
    d->feed = d->sender ? feed_new(gw, d->sender, deliver_on_marked, d) : NULL;
    if (d->feed == NULL) {
        deliver_free(d);
        return NULL;
    }
    return d;
}

/* Every job has ended (fleet aborted them and h2 answered what flew). */
void deliver_free(struct deliver *d)
{
    while (d->alerts) {
        struct dalert *a = d->alerts;
        d->alerts = a->next;
        retract_watch_free(d->retract, a->watch);
        push_alert_free(&a->pa);
        free(a);
    }
    feed_free(d->feed);
    if (d->sender)
        sender_free(d->sender);
    if (d->retract)
        retract_free(d->retract);
    if (d->record)
        record_free(d->record);
    free(d);
}
