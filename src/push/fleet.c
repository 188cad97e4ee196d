/*
 * fleet — see fleet.h.
 */
#include "fleet.h"

#include "deliver.h"
#include "feed.h"
#include "log.h"
#include "notif.h"
#include "pmetrics.h"
#include "rkeys.h"

#include <stdlib.h>
#include <string.h>

/* KEYS: stream, jobs, item key, story key, retracted key (both of the
 * item's story). ARGV: group, consumer, alert id, item, ttl, shards, "1"
 * for a retraction. A retraction marks its story retracted (every
 * gateway's sends of it stop) and is split into jobs only if a version of
 * the story was: where it was sent, it is withdrawn. An alert or update
 * marks its story sent, unless the story is retracted (then nothing).
 * Returns the jobs made, 0, or -1 when the entry is no longer this
 * consumer's. */
static const char fleet_plan_lua[] = JOB_LUA_OWNED(
    "-1") "local sent = redis.call('EXISTS', KEYS[4]) == 1 "
          "if ARGV[7] == '1' then redis.call('SET', KEYS[5], ARGV[3], 'EX', ARGV[5]) "
          "elseif redis.call('EXISTS', KEYS[5]) == 0 then "
          "redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[5]) sent = true "
          "else sent = false end "
          "if not sent then redis.call('XACK', KEYS[1], ARGV[1], ARGV[3]) return 0 end "
          "redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5]) "
          "for s = 0, tonumber(ARGV[6]) - 1 do "
          "redis.call('XADD', KEYS[2], '*', 'alert', ARGV[3], 'shard', s) end "
          "redis.call('XACK', KEYS[1], ARGV[1], ARGV[3]) "
          "return tonumber(ARGV[6])";

/* KEYS: jobs, done set, sending set. ARGV: group, consumer, entry. */
static const char fleet_finish_lua[] =
    JOB_LUA_OWNED("0") "redis.call('XACK', KEYS[1], ARGV[1], ARGV[3]) "
                       "redis.call('XDEL', KEYS[1], ARGV[3]) "
                       "redis.call('DEL', KEYS[2], KEYS[3]) return 1";

/* KEYS: jobs. ARGV: group, consumer, entries...: renews those still this
 * consumer's, returns the others. */
static const char fleet_renew_lua[] =
    "local lost = {} "
    "for i = 3, #ARGV do "
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1) "
    "if #p == 1 and p[1][2] == ARGV[2] then "
    "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID') "
    "else lost[#lost + 1] = ARGV[i] end end return lost";

#define FLEET_ITEM_TTL 86400

struct fleet {
    struct gw *gw;
    struct job *jobs; /* active, this gateway's */
    int njobs;
    int groups;   /* groups made (or found) on this connection */
    int creating; /* XGROUP CREATE sent on this connection */
    int reading;  /* a blocking read outstanding */
    int stopping;
    uv_timer_t claim;
    void (*on_stopped)(struct gw *gw);
};

static void fleet_read(struct fleet *f);

/* ------------------------------------------------------------------------
 * Jobs
 * ---------------------------------------------------------------------- */

static void fleet_unlink(struct fleet *f, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        f->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    f->njobs--;
}

static void fleet_on_finished(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    (void)ac;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        pmetrics.jobs_done++;
    else if (reply && reply->type == REDIS_REPLY_INTEGER)
        pmetrics.jobs_lost++;
}

static void fleet_on_released(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    (void)r;
    (void)priv;
}

/* deliver's end of a job: finished, or left for another gateway. */
static void fleet_job_end(struct job *j, enum deliver_end how, void *user)
{
    struct fleet *f = user;
    struct gw *gw = f->gw;
    char done[GW_KEY_MAX], sending[GW_KEY_MAX], tail[ITEM_ID_STRLEN + 16];
    fleet_unlink(f, j);
    if (how == DELIVER_DONE) {
        snprintf(tail, sizeof(tail), "%s:%d", j->alert, j->shard);
        rkeys_name(done, sizeof(done), gw->cfg->prefix, RKEYS_PUSH_SENT, tail);
        rkeys_name(sending, sizeof(sending), gw->cfg->prefix, RKEYS_PUSH_MARK, tail);
        rconn_cmd(&gw->cmd, fleet_on_finished, NULL, "EVAL %s 3 %s %s %s %s %s %s",
                  fleet_finish_lua, gw->jobs_key, done, sending, JOB_GROUP, gw->cfg->name,
                  j->entry);
    } else if (f->stopping) {
        /* Idle as long as a silent gateway's: another takes it at once. */
        rconn_cmd(&gw->cmd, fleet_on_released, NULL, "XCLAIM %s %s %s 0 %s IDLE %lld JUSTID",
                  gw->jobs_key, JOB_GROUP, gw->cfg->name, j->entry,
                  (long long)gw->cfg->claim_after * 1000);
    }
    free(j);
    if (f->stopping && f->njobs == 0 && f->on_stopped) {
        void (*done_fn)(struct gw *) = f->on_stopped;
        f->on_stopped = NULL;
        done_fn(gw);
        return;
    }
    fleet_read(f);
}

static struct job *fleet_find(struct fleet *f, const char *entry)
{
    for (struct job *j = f->jobs; j; j = j->next)
        if (strcmp(j->entry, entry) == 0)
            return j;
    return NULL;
}

/* A jobs entry: [id, [field, value, ...]]. */
static void fleet_take_job(struct fleet *f, const redisReply *e, int claimed)
{
    const char *alert = NULL;
    long shard = -1;
    struct item_id parsed;
    struct job *j;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *fields = e->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "alert") == 0)
            alert = v->str;
        else if (strcmp(k->str, "shard") == 0)
            shard = strtol(v->str, NULL, 10);
    }
    if (fleet_find(f, e->element[0]->str))
        return; /* ours already, renewed late */
    if (alert == NULL || item_id_parse(alert, &parsed) || shard < 0 || shard >= PUSH_SHARDS ||
        strlen(e->element[0]->str) >= ITEM_ID_STRLEN || (j = calloc(1, sizeof(*j))) == NULL) {
        log_warn("job entry not understood: left pending", KV_S("entry", e->element[0]->str));
        return;
    }
    snprintf(j->entry, sizeof(j->entry), "%s", e->element[0]->str);
    item_id_format(parsed, j->alert);
    j->shard = (int)shard;
    j->next = f->jobs;
    if (f->jobs)
        f->jobs->prev = j;
    f->jobs = j;
    f->njobs++;
    if (claimed)
        pmetrics.jobs_claimed++;
    deliver_job(f->gw->deliver, j);
}

/* ------------------------------------------------------------------------
 * Alerts: planning
 * ---------------------------------------------------------------------- */

static void fleet_on_planned(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    (void)ac;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
        pmetrics.alerts_planned++;
    else if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0)
        pmetrics.alerts_skipped++; /* an update of a retracted story */
    else if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error("the plan script failed", KV_S("detail", reply->str));
}

static void fleet_on_retraction_planned(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    (void)ac;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0)
        pmetrics.retractions++;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
        pmetrics.retractions_planned++;
    else if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error("the plan script failed", KV_S("detail", reply->str));
}

/* A stream entry: [id, [field, value, ...]]: planned, or acknowledged. */
static void fleet_plan(struct fleet *f, const redisReply *e)
{
    struct gw *gw = f->gw;
    const redisReply *fields, *item = NULL;
    struct notif n;
    struct item_error err;
    const char *why = "", *id;
    char key[GW_KEY_MAX], story[GW_KEY_MAX], retracted[GW_KEY_MAX], shards[16], ttl[16];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return;
    id = e->element[0]->str;
    fields = e->element[1];
    for (size_t i = 0; fields->type == REDIS_REPLY_ARRAY && i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, "item") == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            item = fields->element[i + 1];
    int rc = item ? notif_build(&n, id, item->str, item->len, gw->urgencies, gw->cfg->ttl,
                                item_time_now_ms(), &why, &err)
                  : -1;
    if (rc == 1) {
        int retraction = n.retraction;
        rkeys_name(key, sizeof(key), gw->cfg->prefix, RKEYS_PUSH_ITEM, id);
        rkeys_name(story, sizeof(story), gw->cfg->prefix, RKEYS_PUSH_STORY, n.story);
        rkeys_name(retracted, sizeof(retracted), gw->cfg->prefix, RKEYS_PUSH_RETRACTED, n.story);
        snprintf(shards, sizeof(shards), "%d", PUSH_SHARDS);
        snprintf(ttl, sizeof(ttl), "%d", FLEET_ITEM_TTL);
        const char *argv[] = {
            "EVAL", fleet_plan_lua, "5",       gw->stream_key, gw->jobs_key,
            key,    story,          retracted, JOB_GROUP,      gw->cfg->name,
            id,     item->str,      ttl,       shards,         retraction ? "1" : "0"};
        size_t lens[15];
        for (int i = 0; i < 15; i++)
            lens[i] = strlen(argv[i]);
        lens[11] = item->len;
        rconn_argv(&gw->cmd, retraction ? fleet_on_retraction_planned : fleet_on_planned, NULL, 15,
                   argv, lens);
        if (retraction)
            log_info("retraction read: the story's sends stop, its notifications are withdrawn",
                     KV_S("alert", id), KV_S("story", n.story));
        else
            log_info("alert planned", KV_S("alert", id), KV_I("jobs", PUSH_SHARDS));
        notif_free(&n);
        return;
    }
    if (rc == 0) {
        pmetrics.alerts_skipped++;
        log_info("alert not sent", KV_S("alert", id), KV_S("reason", why));
    } else {
        pmetrics.alerts_invalid++;
        log_warn("stream entry is not a valid item: not sent", KV_S("alert", id),
                 KV_S("field", item ? err.field : "item"),
                 KV_S("error", item ? err.message : "no item field"));
    }
    rconn_cmd(&gw->cmd, fleet_on_released, NULL, "XACK %s %s %s", gw->stream_key, JOB_GROUP, id);
}

/* ------------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------- */

static int fleet_room(const struct fleet *f)
{
    return f->gw->cfg->max_jobs - f->njobs;
}

/* XREADGROUP's answer: [[stream, [entries]], ...] or nil. */
static void fleet_on_read(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct fleet *f = priv;
    (void)ac;
    f->reading = 0;
    if (reply == NULL || f->stopping)
        return; /* down: fleet_redis_up reads again; stopping: entries read
                 * are claimed by another gateway after claim-after */
    if (reply->type == REDIS_REPLY_ERROR) {
        log_error("XREADGROUP failed", KV_S("detail", reply->str));
        if (strncmp(reply->str, "NOGROUP", 7) == 0) {
            f->groups = f->creating = 0; /* deleted by hand: made again */
            fleet_redis_up(f);
        }
        return; /* else the claim timer reads again */
    }
    for (size_t s = 0; reply->type == REDIS_REPLY_ARRAY && s < reply->elements; s++) {
        const redisReply *pair = reply->element[s];
        if (pair->type != REDIS_REPLY_ARRAY || pair->elements != 2 ||
            pair->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        int is_jobs = strcmp(pair->element[0]->str, f->gw->jobs_key) == 0;
        for (size_t i = 0; i < pair->element[1]->elements; i++) {
            if (is_jobs)
                fleet_take_job(f, pair->element[1]->element[i], 0);
            else
                fleet_plan(f, pair->element[1]->element[i]);
        }
    }
    fleet_read(f);
}

static void fleet_read(struct fleet *f)
{
    struct gw *gw = f->gw;
    int room = fleet_room(f), rc;
    if (!fleet_ready(f) || f->reading || f->stopping || room <= 0)
        return;
    rc = rconn_cmd(&gw->blk, fleet_on_read, f,
                   "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s %s > >", JOB_GROUP,
                   gw->cfg->name, room, FLEET_BLOCK_MS, gw->stream_key, gw->jobs_key);
    f->reading = rc == 0;
}

/* ------------------------------------------------------------------------
 * Renewing and claiming
 * ---------------------------------------------------------------------- */

/* The renewal's answer: the jobs lost are aborted; the others' lease runs
 * from when the renewal was sent. */
static int fleet_in_reply(const redisReply *reply, const char *entry)
{
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(reply->element[i]->str, entry) == 0)
            return 1;
    return 0;
}

/* One renewal: when it was sent and the entries it checked (only those
 * get its lease: a job taken after it was sent was not checked). */
struct fleet_renewal {
    struct fleet *f;
    int64_t sent_ms;
    int n;
    char entries[][ITEM_ID_STRLEN];
};

static void fleet_on_renewed(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct fleet_renewal *rn = priv;
    struct fleet *f = rn->f;
    (void)ac;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error("the renew script failed", KV_S("detail", reply->str));
    for (int i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < rn->n; i++) {
        struct job *j = fleet_find(f, rn->entries[i]);
        if (j == NULL || j->aborted)
            continue;
        if (!fleet_in_reply(reply, j->entry)) {
            feed_renewed(j, rn->sent_ms);
            continue;
        }
        log_warn("job taken over by another gateway: stopped here", KV_S("entry", j->entry),
                 KV_S("alert", j->alert), KV_I("shard", j->shard));
        pmetrics.jobs_lost++;
        deliver_abort(f->gw->deliver, j); /* may end j */
    }
    free(rn);
}

static void fleet_renew(struct fleet *f)
{
    struct gw *gw = f->gw;
    int argc = 6 + f->njobs, i = 6;
    const char **argv;
    size_t *lens;
    struct fleet_renewal *rn;
    if (f->njobs == 0)
        return;
    argv = calloc((size_t)argc, sizeof(char *));
    lens = calloc((size_t)argc, sizeof(size_t));
    rn = malloc(sizeof(*rn) + (size_t)f->njobs * sizeof(rn->entries[0]));
    if (argv && lens && rn) {
        argv[0] = "EVAL";
        argv[1] = fleet_renew_lua;
        argv[2] = "1";
        argv[3] = gw->jobs_key;
        argv[4] = JOB_GROUP;
        argv[5] = gw->cfg->name;
        rn->f = f;
        rn->sent_ms = sender_clock_ms();
        rn->n = 0;
        for (struct job *j = f->jobs; j; j = j->next) {
            memcpy(rn->entries[rn->n], j->entry, sizeof(j->entry));
            argv[i++] = rn->entries[rn->n++];
        }
        for (i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        if (rconn_argv(&gw->cmd, fleet_on_renewed, rn, argc, argv, lens) == 0)
            rn = NULL;
    }
    free(rn);
    free(argv);
    free(lens);
}

/* XAUTOCLAIM's answer: [cursor, [entries], [deleted ids]]. */
static void fleet_on_claimed(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct fleet *f = priv;
    (void)ac;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < reply->element[1]->elements && !f->stopping; i++)
        fleet_take_job(f, reply->element[1]->element[i], 1);
}

static void fleet_on_claimed_alerts(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct fleet *f = priv;
    (void)ac;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < reply->element[1]->elements && !f->stopping; i++) {
        log_info("planning an alert a silent gateway left");
        fleet_plan(f, reply->element[1]->element[i]);
    }
}

static void fleet_on_claim_timer(uv_timer_t *t)
{
    struct fleet *f = t->data;
    struct gw *gw = f->gw;
    long long idle = (long long)gw->cfg->claim_after * 1000;
    if (!fleet_ready(f) || f->stopping)
        return;
    fleet_read(f);
    fleet_renew(f);
    if (fleet_room(f) > 0)
        rconn_cmd(&gw->cmd, fleet_on_claimed, f, "XAUTOCLAIM %s %s %s %lld 0-0 COUNT %d",
                  gw->jobs_key, JOB_GROUP, gw->cfg->name, idle, fleet_room(f));
    rconn_cmd(&gw->cmd, fleet_on_claimed_alerts, f, "XAUTOCLAIM %s %s %s %lld 0-0 COUNT %d",
              gw->stream_key, JOB_GROUP, gw->cfg->name, idle, FLEET_PLAN_MAX);
}

/* ------------------------------------------------------------------------
 * Groups, readiness, start and stop
 * ---------------------------------------------------------------------- */

static void fleet_on_group(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct fleet *f = priv;
    (void)ac;
    if (reply == NULL)
        return;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0) {
        log_error("cannot create the consumer group", KV_S("detail", reply->str));
        return;
    }
    if (++f->groups == 2) {
        log_info("sharing the work", KV_S("group", JOB_GROUP), KV_S("name", f->gw->cfg->name));
        fleet_read(f);
    }
}

void fleet_redis_up(struct fleet *f)
{
    struct gw *gw = f->gw;
    pmetrics.redis_connected = gw->cmd.ready && gw->blk.ready;
    if (!gw->cmd.ready)
        return;
    if (f->groups < 2) {
        if (f->creating)
            return;
        /* New alerts only: the fleet does not send the history it never saw. */
        f->creating = 1;
        rconn_cmd(&gw->cmd, fleet_on_group, f, "XGROUP CREATE %s %s $ MKSTREAM", gw->stream_key,
                  JOB_GROUP);
        rconn_cmd(&gw->cmd, fleet_on_group, f, "XGROUP CREATE %s %s 0 MKSTREAM", gw->jobs_key,
                  JOB_GROUP);
        return;
    }
    fleet_read(f);
}

void fleet_redis_down(struct fleet *f)
{
    struct gw *gw = f->gw;
    pmetrics.redis_connected = 0;
    if (!gw->cmd.ready) {
        f->groups = f->creating = 0;
        /* Sends cannot be recorded: every job stops, left for whoever has
         * Redis (this gateway too, once back) to claim. */
        for (struct job *j = f->jobs, *next; j; j = next) {
            next = j->next;
            deliver_abort(gw->deliver, j);
        }
    }
}

int fleet_ready(const struct fleet *f)
{
    return f->groups == 2 && f->gw->cmd.ready && f->gw->blk.ready;
}

struct fleet *fleet_new(struct gw *gw)
{
    struct fleet *f = calloc(1, sizeof(*f));
    uint64_t every;
    if (f == NULL)
        return NULL;
    f->gw = gw;
    if ((gw->deliver = deliver_new(gw, fleet_job_end, f)) == NULL) {
        free(f);
        return NULL;
    }
    uv_timer_init(gw->loop, &f->claim);
    f->claim.data = f;
    every = (uint64_t)gw->cfg->claim_after * 1000 / 3;
    uv_timer_start(&f->claim, fleet_on_claim_timer, every, every);
    return f;
}

void fleet_stop(struct fleet *f, void (*done)(struct gw *gw))
{
    f->stopping = 1;
    uv_timer_stop(&f->claim);
    if (f->njobs == 0) {
        done(f->gw);
        return;
    }
    f->on_stopped = done;
    for (struct job *j = f->jobs, *next; j; j = next) {
        next = j->next;
        deliver_abort(f->gw->deliver, j);
    }
}

static void fleet_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void fleet_free(struct fleet *f)
{
    deliver_free(f->gw->deliver);
    f->gw->deliver = NULL;
    uv_close((uv_handle_t *)&f->claim, fleet_timer_closed);
}
