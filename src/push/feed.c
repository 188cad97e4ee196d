/*
 * feed — see feed.h.
 */
#include "feed.h"

#include "log.h"
#include "pmetrics.h"
#include "rkeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: jobs, sending set. ARGV: group, consumer, entry, set ttl, ids...
 * 1 (ids added, the entry renewed) while the entry is this consumer's,
 * else 0 (nothing written). */
static const char feed_mark_lua[] =
    JOB_LUA_OWNED("0") "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID') "
                       "if #ARGV > 4 then redis.call('SADD', KEYS[2], unpack(ARGV, 5)) "
                       "redis.call('EXPIRE', KEYS[2], ARGV[4]) end return 1";

#define FEED_ARGS 9 /* EVAL, script, 2, two keys, four ARGV before the ids */

/* KEYS: jobs, sending set. ARGV: group, consumer, entry, ids...: the ids
 * taken out of the set while the entry is this consumer's (how many were
 * in it), else 0 (nothing written). */
static const char feed_unmark_lua[] =
    JOB_LUA_OWNED("0") "return redis.call('SREM', KEYS[2], unpack(ARGV, 4))";

#define FEED_UNMARK_ARGS 8 /* EVAL, script, 2, two keys, three ARGV before the ids */

/* A job's unmark scripts: the command, JOB_IDS_MAX ids at most each. */
struct feed_unmark {
    struct rconn *cmd;
    char key[GW_KEY_MAX];
    const char *head[FEED_UNMARK_ARGS];
    const char *ids[JOB_IDS_MAX];
    int n;
};

struct feed {
    struct gw *gw;
    struct sender *sender;
    feed_marked_fn marked;
    void *user;
    int inhand[REG_NPROVIDERS];
    struct job *head, *tail; /* jobs with something to mark */
    int nlisted;
};

int feed_window(int concurrency)
{
    return concurrency + (concurrency / 2 > 0 ? concurrency / 2 : 1);
}

static int feed_ahead(const struct feed *fd)
{
    return feed_window(fd->gw->cfg->concurrency) - fd->gw->cfg->concurrency;
}

static int64_t feed_lease_until(const struct gw *gw, int64_t sent_ms)
{
    return sent_ms + (int64_t)gw->cfg->claim_after * 1000 * 3 / 4;
}

void feed_renewed(struct job *j, int64_t sent_ms)
{
    struct feed_job *f = &j->feed;
    int64_t lease;
    if (f->fd == NULL)
        return; /* not started: no request to let start yet */
    lease = feed_lease_until(f->fd->gw, sent_ms);
    if (lease > f->lease_ms)
        f->lease_ms = lease;
}

/* ------------------------------------------------------------------------
 * The list of jobs with something to mark
 * ---------------------------------------------------------------------- */

static void feed_unlist(struct feed *fd, struct job *j)
{
    struct feed_job *f = &j->feed;
    if (!f->listed)
        return;
    if (f->prev)
        f->prev->feed.next_job = f->next_job;
    else
        fd->head = f->next_job;
    if (f->next_job)
        f->next_job->feed.prev = f->prev;
    else
        fd->tail = f->prev;
    f->prev = f->next_job = NULL;
    f->listed = 0;
    fd->nlisted--;
}

static void feed_list(struct feed *fd, struct job *j)
{
    struct feed_job *f = &j->feed;
    if (f->listed)
        return;
    f->prev = fd->tail;
    f->next_job = NULL;
    if (fd->tail)
        fd->tail->feed.next_job = j;
    else
        fd->head = j;
    fd->tail = j;
    f->listed = 1;
    fd->nlisted++;
}

static int feed_has_more(const struct job *j)
{
    int left = 0;
    for (int p = 0; p < REG_NPROVIDERS; p++)
        left += j->feed.left[p];
    return left > 0 || j->feed.held != NULL;
}

static void feed_set_key(const struct feed *fd, const struct job *j, char *key, size_t len)
{
    char tail[ITEM_ID_STRLEN + 16];
    snprintf(tail, sizeof(tail), "%s:%d", j->alert, j->shard);
    rkeys_name(key, len, fd->gw->cfg->prefix, RKEYS_PUSH_MARK, tail);
}

/* ------------------------------------------------------------------------
 * Unmarks: a job given up while this gateway holds it
 * ---------------------------------------------------------------------- */

static void feed_on_unmarked(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    (void)ac;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR) /* the marks stay: counted by a taker */
        log_warn("the unmark script failed", KV_S("detail", reply->str));
}

static struct feed_unmark *feed_unmark_begin(struct feed *fd, const struct job *j)
{
    struct gw *gw = fd->gw;
    struct feed_unmark *u = malloc(sizeof(*u));
    if (u == NULL)
        return NULL; /* the marks stay: a gateway taking the job counts them */
    u->cmd = &gw->cmd;
    u->n = 0;
    feed_set_key(fd, j, u->key, sizeof(u->key));
    const char *head[FEED_UNMARK_ARGS] = {"EVAL", feed_unmark_lua, "2",           gw->jobs_key,
                                          u->key, JOB_GROUP,       gw->cfg->name, j->entry};
    memcpy(u->head, head, sizeof(head));
    return u;
}

static void feed_unmark_flush(struct feed_unmark *u)
{
    /* Not sent (Redis going down): the marks stay, a taker counts them. */
    rconn_eval_ids(u->cmd, feed_on_unmarked, NULL, u->head, FEED_UNMARK_ARGS, u->ids, u->n,
                   JOB_IDS_MAX);
    u->n = 0;
}

/* s is taken out of the set if no request of it was ever written: not by
 * this gateway, nor (a send marked before, "uncertain") by an earlier one. */
static void feed_unmark_add(struct feed_unmark *u, const struct dsend *s)
{
    if (u == NULL || s->written || s->uncertain)
        return;
    u->ids[u->n++] = s->reg.id;
    if (u->n == JOB_IDS_MAX)
        feed_unmark_flush(u);
}

static void feed_unmark_end(struct feed_unmark *u)
{
    if (u == NULL)
        return;
    feed_unmark_flush(u);
    free(u);
}

static void feed_fill(struct feed *fd);

void feed_abort(struct feed *fd, struct job *j, struct dsend *dropped)
{
    struct feed_unmark *u;
    if (j->feed.fd == NULL)
        return; /* never started: nothing marked */
    u = feed_unmark_begin(fd, j);
    for (int pass = 0; pass < 2; pass++) {
        for (struct dsend *s = pass ? j->feed.held : dropped; s; s = s->next) {
            int p = (int)s->reg.provider;
            feed_unmark_add(u, s);
            j->feed.inhand[p]--; /* their room goes to the other jobs now, */
            fd->inhand[p]--;     /* not when this one ends (in flight: up to 30 s) */
        }
    }
    j->feed.held = NULL;
    feed_unmark_end(u);
    feed_fill(fd);
}

/* ------------------------------------------------------------------------
 * Marks
 * ---------------------------------------------------------------------- */

/* A batch marked after its job was given up: none of it was written. */
static void feed_unmark_batch(struct feed *fd, struct job *j, struct dsend **batch, int n)
{
    struct feed_unmark *u = feed_unmark_begin(fd, j);
    for (int i = 0; i < n; i++)
        feed_unmark_add(u, batch[i]);
    feed_unmark_end(u);
}

static void feed_on_marked(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct job *j = priv;
    struct feed *fd = j->feed.fd;
    struct dsend **batch = j->feed.batch;
    int n = j->feed.nbatch,
        ok = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer == 1 : -1;
    (void)ac;
    if (reply && reply->type == REDIS_REPLY_ERROR) /* OOM, NOPERM, a script error: the job ends */
        log_warn("the mark script failed", KV_S("alert", j->alert), KV_I("shard", j->shard),
                 KV_S("detail", reply->str));
    j->feed.batch = NULL;
    j->feed.nbatch = 0;
    if (ok == 1 && !j->aborted) {
        int64_t lease = feed_lease_until(fd->gw, j->feed.mark_sent_ms);
        if (lease > j->feed.lease_ms)
            j->feed.lease_ms = lease;
        j->flying += n;
        for (int i = 0; i < n; i++)
            sender_add(fd->sender, batch[i]);
    } else if (ok == 1) {
        feed_unmark_batch(fd, j, batch, n);
    }
    free(batch);
    fd->marked(j, ok, fd->user); /* may end j */
    feed_fill(fd);
}

/* The next batch of one provider's sends of j: how many were taken. */
static int feed_take(struct feed *fd, struct job *j, int p, int want, struct dsend **out)
{
    struct feed_job *f = &j->feed;
    int n = 0;
    while (n < want && f->next[p] < (size_t)j->nsends) {
        struct dsend *s = &j->sends[f->next[p]++];
        if ((int)s->reg.provider == p)
            out[n++] = s;
    }
    f->left[p] -= n;
    f->inhand[p] += n;
    fd->inhand[p] += n;
    return n;
}

/* How many of provider p's sends j may mark now. */
static int feed_room(const struct feed *fd, const struct job *j, int p, int room)
{
    int left = j->feed.left[p], ahead = feed_ahead(fd);
    if (left == 0 || room < (left < ahead ? left : ahead))
        return 0;
    return left < room ? left : room;
}

static void feed_send_mark(struct feed *fd, struct job *j)
{
    struct gw *gw = fd->gw;
    struct feed_job *f = &j->feed;
    char key[GW_KEY_MAX], ttl[16];
    const char **ids = calloc((size_t)f->nbatch, sizeof(*ids));
    int sent = 0;
    feed_set_key(fd, j, key, sizeof(key));
    snprintf(ttl, sizeof(ttl), "%d", JOB_SET_TTL);
    if (ids) {
        const char *head[FEED_ARGS] = {"EVAL",    feed_mark_lua, "2",      gw->jobs_key, key,
                                       JOB_GROUP, gw->cfg->name, j->entry, ttl};
        for (int i = 0; i < f->nbatch; i++)
            ids[i] = f->batch[i]->reg.id;
        f->mark_sent_ms = sender_clock_ms();
        /* One command: a batch is JOB_IDS_MAX ids at most (feed_mark). */
        sent = rconn_eval_ids(&gw->cmd, feed_on_marked, j, head, FEED_ARGS, ids, f->nbatch,
                              JOB_IDS_MAX);
        j->loading += sent;
    }
    free(ids);
    if (sent)
        return;
    /* Not sent (Redis going down: fleet aborts every job); kept for a
     * next mark all the same. */
    for (int i = 0; i < f->nbatch; i++) {
        f->batch[i]->next = f->held;
        f->held = f->batch[i];
    }
    free(f->batch);
    f->batch = NULL;
    f->nbatch = 0;
}

/* One mark for j if it has something it may mark; room: per provider. */
static void feed_mark(struct feed *fd, struct job *j, int room[REG_NPROVIDERS])
{
    struct feed_job *f = &j->feed;
    int want[REG_NPROVIDERS], total = 0, nheld;
    for (struct dsend *s = f->held; s && total < JOB_IDS_MAX; s = s->next)
        total++; /* one script per mark: the rest stay held for the next */
    nheld = total;
    for (int p = 0; p < REG_NPROVIDERS; p++) {
        want[p] = feed_room(fd, j, p, room[p]);
        if (want[p] > JOB_IDS_MAX - total)
            want[p] = JOB_IDS_MAX - total > 0 ? JOB_IDS_MAX - total : 0;
        total += want[p];
    }
    if (total == 0 || (f->batch = calloc((size_t)total, sizeof(*f->batch))) == NULL)
        return;
    /* The held ones first: they kept their place in the window. */
    for (; f->held && f->nbatch < nheld; f->held = f->held->next)
        f->batch[f->nbatch++] = f->held;
    for (int p = 0; p < REG_NPROVIDERS; p++) {
        int n = feed_take(fd, j, p, want[p], f->batch + f->nbatch);
        f->nbatch += n;
        room[p] -= n;
    }
    feed_send_mark(fd, j);
}

/* Marks for the jobs that may, in turn (a job marked goes to the back). */
static void feed_fill(struct feed *fd)
{
    int room[REG_NPROVIDERS], n = fd->nlisted, window = feed_window(fd->gw->cfg->concurrency);
    struct job *j = fd->head, *next;
    for (int p = 0; p < REG_NPROVIDERS; p++)
        room[p] = window - fd->inhand[p];
    for (int i = 0; i < n && j; i++, j = next) {
        next = j->feed.next_job;
        if (j->feed.batch || j->aborted)
            continue;
        feed_mark(fd, j, room);
        feed_unlist(fd, j);
        if (feed_has_more(j))
            feed_list(fd, j);
    }
}

/* ------------------------------------------------------------------------
 * deliver's side
 * ---------------------------------------------------------------------- */

void feed_start(struct feed *fd, struct job *j)
{
    struct feed_job *f = &j->feed;
    f->fd = fd;
    for (int i = 0; i < j->nsends; i++)
        f->left[j->sends[i].reg.provider]++;
    if (feed_has_more(j))
        feed_list(fd, j);
    feed_fill(fd);
}

void feed_result(struct feed *fd, struct dsend *s, enum sender_result r)
{
    struct job *j = s->owner;
    int p = (int)s->reg.provider;
    if (r == SENDER_DROPPED)
        return; /* not final: the job is aborted */
    if (r == SENDER_HELD) {
        s->next = j->feed.held;
        j->feed.held = s;
        feed_list(fd, j);
        feed_fill(fd);
        return;
    }
    j->feed.inhand[p]--;
    if (--fd->inhand[p] <= feed_window(fd->gw->cfg->concurrency) - feed_ahead(fd))
        feed_fill(fd);
}

/* j's sends not marked yet, and those held, counted cancelled: how many. */
static int feed_strip(struct feed *fd, struct job *j)
{
    struct feed_job *f = &j->feed;
    int n = 0;
    for (int p = 0; p < REG_NPROVIDERS; p++) {
        for (; f->next[p] < (size_t)j->nsends; f->next[p]++) {
            if ((int)j->sends[f->next[p]].reg.provider == p) {
                pmetrics.by[p].cancelled++;
                n++;
            }
        }
        f->left[p] = 0;
    }
    for (struct dsend *s = f->held; s; s = s->next) {
        int p = (int)s->reg.provider;
        pmetrics.by[p].cancelled++;
        f->inhand[p]--; /* a held send kept its place in the window */
        fd->inhand[p]--;
        n++;
    }
    f->held = NULL;
    feed_unlist(fd, j);
    return n;
}

void feed_cancel(struct feed *fd, const struct push_alert *pa, feed_cancelled_fn cancelled,
                 void *user)
{
    struct job **hit = calloc((size_t)fd->nlisted + 1, sizeof(*hit));
    int *n = calloc((size_t)fd->nlisted + 1, sizeof(*n)), nhit = 0;
    if (hit == NULL || n == NULL) {
        free(hit);
        free(n);
        return; /* the sender still cancels each send as it comes */
    }
    /* First taken back, then reported: a report may end its job and
     * change the list. */
    for (struct job *j = fd->head, *next; j; j = next) {
        next = j->feed.next_job;
        /* An aborted job's sends are another gateway's to send or cancel. */
        if (!j->aborted && j->nsends > 0 && j->sends[0].pa == pa &&
            (n[nhit] = feed_strip(fd, j)) > 0)
            hit[nhit++] = j;
    }
    for (int i = 0; i < nhit; i++)
        cancelled(hit[i], n[i], user);
    free(hit);
    free(n);
    feed_fill(fd);
}

void feed_end(struct feed *fd, struct job *j)
{
    if (j->feed.fd == NULL)
        return; /* never started */
    for (int p = 0; p < REG_NPROVIDERS; p++)
        fd->inhand[p] -= j->feed.inhand[p];
    feed_unlist(fd, j);
    free(j->feed.batch);
    memset(&j->feed, 0, sizeof(j->feed));
    feed_fill(fd);
}

struct feed *feed_new(struct gw *gw, struct sender *sender, feed_marked_fn marked, void *user)
{
    struct feed *fd = calloc(1, sizeof(*fd));
    if (fd == NULL)
        return NULL;
    fd->gw = gw;
    fd->sender = sender;
    fd->marked = marked;
    fd->user = user;
    return fd;
}

void feed_free(struct feed *fd)
{
    free(fd);
}
