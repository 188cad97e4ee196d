/*
 * record — see record.h.
 */
#include "record.h"

#include "log.h"
#include "rkeys.h"

#include <stdio.h>
#include <stdlib.h>

/* KEYS: jobs, done set. ARGV: group, consumer, entry, set ttl, ids...:
 * recorded only while the job is still this consumer's (a late answer of
 * a job lost to another, which may have finished it, writes nothing). */
static const char record_lua[] =
    JOB_LUA_OWNED("0") "redis.call('SADD', KEYS[2], unpack(ARGV, 5)) "
                       "redis.call('EXPIRE', KEYS[2], ARGV[4]) return 1";

#define RECORD_ARGS 9 /* EVAL, script, 2, two keys, four ARGV before the ids */

struct record {
    struct gw *gw;
    struct job *jobs; /* with answers to record */
    uv_check_t check; /* records them after the loop's I/O */
};

static void record_on_done(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    (void)ac;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR) /* not recorded: a taker sends them again */
        log_warn("the record script failed", KV_S("detail", reply->str));
}

static void record_send(struct record *r, struct job *j)
{
    struct gw *gw = r->gw;
    char key[GW_KEY_MAX], tail[ITEM_ID_STRLEN + 16], ttl[16];
    snprintf(tail, sizeof(tail), "%s:%d", j->alert, j->shard);
    rkeys_name(key, sizeof(key), gw->cfg->prefix, RKEYS_PUSH_SENT, tail);
    snprintf(ttl, sizeof(ttl), "%d", JOB_SET_TTL);
    const char *head[RECORD_ARGS] = {"EVAL",    record_lua,    "2",      gw->jobs_key, key,
                                     JOB_GROUP, gw->cfg->name, j->entry, ttl};
    rconn_eval_ids(&gw->cmd, record_on_done, NULL, head, RECORD_ARGS, j->rec, j->nrec, JOB_IDS_MAX);
    j->nrec = 0;
}

static void record_on_check(uv_check_t *check)
{
    struct record *r = check->data;
    while (r->jobs) {
        struct job *j = r->jobs;
        r->jobs = j->rec_next;
        j->rec_next = NULL;
        record_send(r, j);
    }
    uv_check_stop(check);
}

void record_add(struct record *r, struct job *j, const char *id)
{
    if (j->rec == NULL && (j->rec = calloc((size_t)j->nsends, sizeof(char *))) == NULL)
        return; /* not recorded: a job taken over sends it again */
    if (j->nrec++ == 0) {
        j->rec_next = r->jobs;
        r->jobs = j;
        uv_check_start(&r->check, record_on_check);
    }
    j->rec[j->nrec - 1] = id;
}

void record_end(struct record *r, struct job *j)
{
    struct job **pp = &r->jobs;
    if (j->nrec) {
        while (*pp && *pp != j)
            pp = &(*pp)->rec_next;
        if (*pp)
            *pp = j->rec_next;
        j->rec_next = NULL;
        record_send(r, j);
    }
    free(j->rec);
    j->rec = NULL;
}

struct record *record_new(struct gw *gw)
{
    struct record *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->gw = gw;
    uv_check_init(gw->loop, &r->check);
    r->check.data = r;
    return r;
}

static void record_closed(uv_handle_t *h)
{
    free(h->data);
}

void record_free(struct record *r)
{
    uv_close((uv_handle_t *)&r->check, record_closed);
}
