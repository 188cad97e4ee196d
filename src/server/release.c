/*
 * release — see release.h.
 */
#include "release.h"

#include "embargo.h"
#include "log.h"
#include "metrics.h"
#include "rkeys.h"
#include "scriptsha.h"

#include <async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELEASE_WAIT_MS 100 /* the link is not live: look again this soon */

/* ------------------------------------------------------------------------
 * The script
 *
 * KEYS[1] P:stream, KEYS[2] P:embargo (hash: handle -> record), KEYS[3]
 * P:embargo:due (sorted set: handle by release ms); ARGV[1] the channel
 * P:live (not a key: the ACL then needs no key permission for it),
 * ARGV[2] "P:embargo:released:", ARGV[3] that key's TTL (seconds), ARGV[4]
 * the most alerts to release in one run.
 *
 * Redis' clock decides what is due (TIME), so nodes with clocks apart
 * agree. Each due alert: XADD MAXLEN ~ <its publisher's maxlen>, PUBLISH
 * of the item with its id first (as the publish script does), SET of
 * P:embargo:released:<handle> to the id, then HDEL and ZREM: all in one
 * script, so two nodes running it at once release each alert once. A
 * record that holds no item (written by something else) is removed and
 * reported with an empty id. Like the publish script, it checks the ACL
 * before its first write (Redis 7), so a refusal leaves nothing half done.
 *
 * Returns {wait, {handle, id, ...}}: wait is the ms until the next
 * pending alert is due (0: more are due now), -1 when none is pending.
 * ---------------------------------------------------------------------- */
static const char release_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, ARGV[4])\n"
    "local out = {}\n"
    "if #due > 0 and redis.acl_check_cmd and not (\n"
    "    redis.acl_check_cmd('XADD', KEYS[1], '*', 'item', 'x')\n"
    "    and redis.acl_check_cmd('PUBLISH', ARGV[1], 'x')\n"
    "    and redis.acl_check_cmd('SET', ARGV[2] .. due[1], 'x')\n"
    "    and redis.acl_check_cmd('HDEL', KEYS[2], due[1])\n"
    "    and redis.acl_check_cmd('ZREM', KEYS[3], due[1])) then\n"
    "  return redis.error_reply('NOPERM this user may not release embargoed alerts')\n"
    "end\n"
    "for _, h in ipairs(due) do\n"
    "  local rec = redis.call('HGET', KEYS[2], h)\n"
    "  local maxlen, item\n"
    "  if rec then maxlen, item = string.match(rec, '^(%d+) ({.*)$') end\n"
    "  local id = ''\n"
    "  if item then\n"
    "    id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'item', item)\n"
    "    redis.call('PUBLISH', ARGV[1], '{\"id\":\"' .. id .. '\",' .. string.sub(item, 2))\n"
    "    redis.call('SET', ARGV[2] .. h, id, 'EX', ARGV[3])\n"
    "  end\n"
    "  redis.call('HDEL', KEYS[2], h)\n"
    "  redis.call('ZREM', KEYS[3], h)\n"
    "  out[#out + 1] = h\n"
    "  out[#out + 1] = id\n"
    "end\n"
    "local wait = -1\n"
    "local nxt = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
    "if #nxt == 2 then wait = math.max(0, tonumber(nxt[2]) - now) end\n"
    "return {wait, out}\n";

/* ------------------------------------------------------------------------
 * Running it
 * ---------------------------------------------------------------------- */

enum { RELEASE_STREAM, RELEASE_LIVE, RELEASE_HASH, RELEASE_DUE, RELEASE_DONE, RELEASE_NKEYS };

struct release {
    uv_loop_t *loop;
    struct rsub *rsub;
    uv_timer_t timer;
    char *keys[RELEASE_NKEYS]; /* the three KEYS, the channel and ARGV[2] */
    char sha[SCRIPTSHA_STRLEN];
    int awaiting; /* a reply is due: the timer is not armed meanwhile */
    int stopping;
    int closed;
    char last_error[160]; /* the error last logged; "" once a run succeeded */
};

static void release_free(struct release *r)
{
    for (int i = 0; i < RELEASE_NKEYS; i++)
        free(r->keys[i]);
    free(r);
}

static void release_tick(uv_timer_t *t);

static void release_arm(struct release *r, uint64_t ms)
{
    if (!r->stopping)
        uv_timer_start(&r->timer, release_tick, ms, 0);
}

static void release_on_reply(redisAsyncContext *ac, void *reply_, void *priv);

/* EVALSHA, or EVAL with the text when Redis has not cached it. */
static int release_send(struct release *r, int eval)
{
    char ttl[16], batch[16];
    snprintf(ttl, sizeof(ttl), "%d", EMBARGO_RELEASED_TTL);
    snprintf(batch, sizeof(batch), "%d", RELEASE_BATCH);
    const char *argv[] = {eval ? "EVAL" : "EVALSHA",
                          eval ? release_script : r->sha,
                          "3",
                          r->keys[RELEASE_STREAM],
                          r->keys[RELEASE_HASH],
                          r->keys[RELEASE_DUE],
                          r->keys[RELEASE_LIVE],
                          r->keys[RELEASE_DONE],
                          ttl,
                          batch};
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    if (rsub_command(r->rsub, release_on_reply, r, argc, argv, NULL) != 0)
        return -1;
    r->awaiting = 1;
    return 0;
}

/* An error answer: logged once until it changes or a run succeeds (a
 * node whose ACL does not allow releases says so once, not every second). */
static void release_error(struct release *r, const char *error)
{
    if (strncmp(r->last_error, error, sizeof(r->last_error) - 1) == 0)
        return;
    snprintf(r->last_error, sizeof(r->last_error), "%s", error);
    log_error("embargo release failed: retried every second", KV_S("detail", error));
}

/* {handle, id, ...}: what this run released. */
static void release_report(const redisReply *list)
{
    for (size_t i = 0; i + 1 < list->elements; i += 2) {
        const redisReply *h = list->element[i], *id = list->element[i + 1];
        if (h->type != REDIS_REPLY_STRING || id->type != REDIS_REPLY_STRING)
            continue;
        if (id->len == 0) {
            log_error("embargoed record holds no item: removed", KV_S("handle", h->str));
            continue;
        }
        metrics->embargoes_released++;
        log_info("embargoed alert released", KV_S("handle", h->str), KV_S("id", id->str));
    }
}

static void release_on_reply(redisAsyncContext *ac, void *reply_, void *priv)
{
    struct release *r = priv;
    const redisReply *reply = reply_;
    r->awaiting = 0;
    if (r->stopping) {
        if (r->closed)
            release_free(r);
        return;
    }
    if (reply == NULL) { /* the link went down: rsub reconnects */
        release_arm(r, RELEASE_WAIT_MS);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        if (strncmp(reply->str, "NOSCRIPT", 8) == 0 && release_send(r, 1) == 0)
            return;
        release_error(r, reply->str);
        release_arm(r, RELEASE_EVERY_MS);
        return;
    }
    long long wait = -1;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_ARRAY) {
        wait = reply->element[0]->integer;
        release_report(reply->element[1]);
        r->last_error[0] = '\0';
    } else {
        release_error(r, "unexpected reply to the release script");
    }
    release_arm(r, wait >= 0 && wait < RELEASE_EVERY_MS ? (uint64_t)wait : RELEASE_EVERY_MS);
}

static void release_tick(uv_timer_t *t)
{
    struct release *r = t->data;
    if (release_send(r, r->sha[0] == '\0') != 0) /* not live: rsub is catching up or away */
        release_arm(r, RELEASE_WAIT_MS);
}

/* ------------------------------------------------------------------------
 * Life cycle
 * ---------------------------------------------------------------------- */

static char *release_key(const char *prefix, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (s)
        rkeys_name(s, n, prefix, suffix, NULL);
    return s;
}

struct release *release_start(uv_loop_t *loop, struct rsub *rsub, const char *prefix)
{
    static const char *const suffix[RELEASE_NKEYS] = {RKEYS_STREAM, RKEYS_LIVE, RKEYS_EMBARGO,
                                                      RKEYS_EMBARGO_DUE, RKEYS_EMBARGO_RELEASED};
    struct release *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    for (int i = 0; i < RELEASE_NKEYS; i++)
        if ((r->keys[i] = release_key(prefix, suffix[i])) == NULL) {
            release_free(r);
            return NULL;
        }
    r->loop = loop;
    r->rsub = rsub;
    scriptsha_hex(release_script, sizeof(release_script) - 1, r->sha);
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    release_arm(r, 0); /* at once: what fell due while no node ran */
    return r;
}

static void release_on_closed(uv_handle_t *h)
{
    struct release *r = h->data;
    r->closed = 1;
    if (!r->awaiting)
        release_free(r);
}

void release_stop(struct release *r)
{
    r->stopping = 1;
    uv_close((uv_handle_t *)&r->timer, release_on_closed);
}
