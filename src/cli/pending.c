/*
 * pending — see pending.h.
 */
#include "pending.h"

#include "rkeys.h"
#include "script.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_KEYLEN 256

/* The message for a handle neither pending nor released lately. */
static void pending_unknown(const char *handle, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "%s: no such embargoed alert (released more than %d h ago, cancelled, or never "
             "held)",
             handle, EMBARGO_RELEASED_TTL / 3600);
}

/* ------------------------------------------------------------------------
 * The scripts
 *
 * Both check everything before their first write, as the publish script
 * does, so an error reply means nothing was written.
 *
 * Holding: KEYS[1] P:embargo, KEYS[2] P:embargo:due, KEYS[3] P:idem:<key>;
 * ARGV[1] the new handle, ARGV[2] its release time (ms), ARGV[3] the
 * record, ARGV[4] the idempotency key's TTL. Returns {value, duplicate}:
 * {handle, 0} when held, {what the key recorded, 1} when the key is known.
 * A handle already in use (64 random bits: never in practice) is an error.
 * ---------------------------------------------------------------------- */
static const char pending_hold_script[] =
    "local prev = redis.call('GET', KEYS[3])\n"
    "if prev then return {prev, 1} end\n"
    "if redis.acl_check_cmd and not (redis.acl_check_cmd('HSET', KEYS[1], 'h', 'x')\n"
    "    and redis.acl_check_cmd('ZADD', KEYS[2], '0', 'h')\n"
    "    and redis.acl_check_cmd('SET', KEYS[3], 'x')) then\n"
    "  return redis.error_reply('NOPERM this user may not write the embargo keys')\n"
    "end\n"
    "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then\n"
    "  return redis.error_reply('ERR embargo handle in use ' .. ARGV[1])\n"
    "end\n"
    "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])\n"
    "redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[4])\n"
    "return {ARGV[1], 0}\n";

/* ------------------------------------------------------------------------
 * Cancelling or replacing: KEYS[1] P:embargo, KEYS[2] P:embargo:due,
 * KEYS[3] P:embargo:released:<handle>, KEYS[4] P:idem:<key>; ARGV[1] the
 * handle, ARGV[2] "cancel" or "replace", ARGV[3] the new record (replace),
 * ARGV[4] the new release time or "" to keep it, ARGV[5] the key's TTL.
 * Returns {value, state}: {what the key recorded, "duplicate"}; {handle,
 * "cancelled" or "replaced"}; {id, "released"} when the handle was
 * released already (nothing written: the caller retracts or updates the
 * id, under the same key). Neither pending nor released: an error.
 * ---------------------------------------------------------------------- */
static const char pending_change_script[] =
    "local h = ARGV[1]\n"
    "local prev = redis.call('GET', KEYS[4])\n"
    "if prev then return {prev, 'duplicate'} end\n"
    "if redis.call('HEXISTS', KEYS[1], h) == 0 then\n"
    "  local id = redis.call('GET', KEYS[3])\n"
    "  if id then return {id, 'released'} end\n"
    "  return redis.error_reply('ERR unknown embargo ' .. h)\n"
    "end\n"
    "if redis.acl_check_cmd and not (redis.acl_check_cmd('HSET', KEYS[1], h, 'x')\n"
    "    and redis.acl_check_cmd('HDEL', KEYS[1], h)\n"
    "    and redis.acl_check_cmd('ZADD', KEYS[2], '0', h)\n"
    "    and redis.acl_check_cmd('ZREM', KEYS[2], h)\n"
    "    and redis.acl_check_cmd('SET', KEYS[4], 'x')) then\n"
    "  return redis.error_reply('NOPERM this user may not write the embargo keys')\n"
    "end\n"
    "local state = 'replaced'\n"
    "if ARGV[2] == 'cancel' then\n"
    "  redis.call('HDEL', KEYS[1], h)\n"
    "  redis.call('ZREM', KEYS[2], h)\n"
    "  state = 'cancelled'\n"
    "else\n"
    "  redis.call('HSET', KEYS[1], h, ARGV[3])\n"
    "  if ARGV[4] ~= '' then redis.call('ZADD', KEYS[2], ARGV[4], h) end\n"
    "end\n"
    "redis.call('SET', KEYS[4], h, 'EX', ARGV[5])\n"
    "return {h, state}\n";

/* ------------------------------------------------------------------------
 * Running them
 * ---------------------------------------------------------------------- */

/* The keys, numbers and record one call needs. */
struct pending_call {
    char hash[PENDING_KEYLEN], due[PENDING_KEYLEN], released[PENDING_KEYLEN];
    char idem[PENDING_KEYLEN], due_ms[24], ttl[24];
    char *record;
    size_t record_len;
    const char *handle;
    struct script_call call;
};

static void pending_arg(struct pending_call *k, const char *s)
{
    script_arg(&k->call, s, strlen(s));
}

/* Names the keys and builds "<maxlen> <item>"; -1 when a name is too long
 * or memory is short. */
static int pending_prepare(const struct pending_request *req, struct pending_call *k)
{
    const char *p = req->prefix;
    memset(k, 0, sizeof(*k));
    k->handle = req->handle;
    if (rkeys_name(k->hash, PENDING_KEYLEN, p, RKEYS_EMBARGO, NULL) ||
        rkeys_name(k->due, PENDING_KEYLEN, p, RKEYS_EMBARGO_DUE, NULL) ||
        rkeys_name(k->released, PENDING_KEYLEN, p, RKEYS_EMBARGO_RELEASED, req->handle) ||
        rkeys_name(k->idem, PENDING_KEYLEN, p, RKEYS_IDEM, req->idem_key))
        return -1;
    if (req->due_ms > 0)
        snprintf(k->due_ms, sizeof(k->due_ms), "%lld", (long long)req->due_ms);
    snprintf(k->ttl, sizeof(k->ttl), "%d", EMBARGO_RELEASED_TTL);
    if (req->item) {
        k->record = malloc(req->item_len + 24);
        if (k->record == NULL)
            return -1;
        int n = snprintf(k->record, 24, "%ld ", req->maxlen);
        memcpy(k->record + n, req->item, req->item_len);
        k->record_len = (size_t)n + req->item_len;
    }
    script_begin(&k->call);
    return 0;
}

/* Runs the script and reads {value, state}: state an integer (hold: 1
 * duplicate) or a word (change). */
static int pending_run(redisContext *c, const char *text, size_t len, const char *sha,
                       struct pending_call *k, struct pending_result *out, char *err, size_t errlen)
{
    int sent, rc = PENDING_ERR_REDIS;
    redisReply *r = script_run(c, text, len, sha, &k->call, &sent);
    free(k->record);
    if (r == NULL) {
        script_no_reply(c, err, errlen);
        return sent ? PENDING_ERR_UNKNOWN : PENDING_ERR_REDIS;
    }
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "unknown embargo")) {
        pending_unknown(k->handle, err, errlen);
        rc = PENDING_ERR_HANDLE;
    } else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", r->str);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
               r->element[0]->type != REDIS_REPLY_STRING ||
               r->element[0]->len >= sizeof(out->value)) {
        snprintf(err, errlen, "unexpected reply from the embargo script");
    } else {
        const redisReply *s = r->element[1];
        memcpy(out->value, r->element[0]->str, r->element[0]->len + 1);
        rc = PENDING_OK;
        if (s->type == REDIS_REPLY_INTEGER)
            out->state = s->integer ? PENDING_DUPLICATE : PENDING_HELD;
        else if (s->type == REDIS_REPLY_STRING && strcmp(s->str, "duplicate") == 0)
            out->state = PENDING_DUPLICATE;
        else if (s->type == REDIS_REPLY_STRING && strcmp(s->str, "cancelled") == 0)
            out->state = PENDING_CANCELLED;
        else if (s->type == REDIS_REPLY_STRING && strcmp(s->str, "replaced") == 0)
            out->state = PENDING_REPLACED;
        else if (s->type == REDIS_REPLY_STRING && strcmp(s->str, "released") == 0)
            out->state = PENDING_RELEASED;
        else {
            snprintf(err, errlen, "unexpected reply from the embargo script");
            rc = PENDING_ERR_REDIS;
        }
    }
    freeReplyObject(r);
    return rc;
}

static const char *pending_sha(const char *text, size_t len, char hex[SCRIPTSHA_STRLEN])
{
    if (!hex[0])
        scriptsha_hex(text, len, hex);
    return hex;
}

int pending_hold(redisContext *c, const struct pending_request *req, struct pending_result *out,
                 char *err, size_t errlen)
{
    static char sha[SCRIPTSHA_STRLEN];
    struct pending_call k;
    memset(out, 0, sizeof(*out));
    if (pending_prepare(req, &k) != 0 || k.record == NULL) {
        free(k.record);
        snprintf(err, errlen, "key prefix or idempotency key too long, or out of memory");
        return PENDING_ERR_INPUT;
    }
    pending_arg(&k, "3");
    pending_arg(&k, k.hash);
    pending_arg(&k, k.due);
    pending_arg(&k, k.idem);
    pending_arg(&k, req->handle);
    pending_arg(&k, k.due_ms);
    script_arg(&k.call, k.record, k.record_len);
    pending_arg(&k, k.ttl);
    const char *text = pending_hold_script;
    size_t len = sizeof(pending_hold_script) - 1;
    return pending_run(c, text, len, pending_sha(text, len, sha), &k, out, err, errlen);
}

int pending_change(redisContext *c, const struct pending_request *req, struct pending_result *out,
                   char *err, size_t errlen)
{
    static char sha[SCRIPTSHA_STRLEN];
    struct pending_call k;
    memset(out, 0, sizeof(*out));
    if (pending_prepare(req, &k) != 0 || (!req->cancel && k.record == NULL)) {
        free(k.record);
        snprintf(err, errlen, "key prefix or idempotency key too long, or out of memory");
        return PENDING_ERR_INPUT;
    }
    pending_arg(&k, "4");
    pending_arg(&k, k.hash);
    pending_arg(&k, k.due);
    pending_arg(&k, k.released);
    pending_arg(&k, k.idem);
    pending_arg(&k, req->handle);
    pending_arg(&k, req->cancel ? "cancel" : "replace");
    script_arg(&k.call, k.record ? k.record : "", k.record_len);
    pending_arg(&k, k.due_ms);
    pending_arg(&k, k.ttl);
    const char *text = pending_change_script;
    size_t len = sizeof(pending_change_script) - 1;
    return pending_run(c, text, len, pending_sha(text, len, sha), &k, out, err, errlen);
}

int pending_new_handle(char out[EMBARGO_HANDLE_STRLEN])
{
    unsigned char r[EMBARGO_HANDLE_HEX / 2];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -1;
    int n = snprintf(out, EMBARGO_HANDLE_STRLEN, "%s", EMBARGO_HANDLE_PREFIX);
    for (size_t i = 0; i < sizeof(r); i++)
        n += snprintf(out + n, EMBARGO_HANDLE_STRLEN - (size_t)n, "%02x", r[i]);
    return 0;
}

/* ------------------------------------------------------------------------
 * Reads
 * ---------------------------------------------------------------------- */

/* The item of a record, as a node will see it; NULL if it holds none. */
static json_t *pending_record_item(const redisReply *v)
{
    long maxlen;
    const char *item;
    size_t len;
    if (v->type != REDIS_REPLY_STRING ||
        embargo_record_split(v->str, v->len, &maxlen, &item, &len) != 0)
        return NULL;
    return item_parse(item, len, ITEM_RELAY, &(struct item_error){0}, NULL);
}

static int pending_failed(redisContext *c, const redisReply *r, char *err, size_t errlen)
{
    if (r == NULL) {
        snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "no reply");
        return 1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", r->str);
        return 1;
    }
    return 0;
}

int pending_fetch(redisContext *c, const char *prefix, const char *handle,
                  enum pending_state *state, json_t **item, int64_t *due_ms,
                  char released[ITEM_ID_STRLEN], char *err, size_t errlen)
{
    char hash[PENDING_KEYLEN], due[PENDING_KEYLEN], rel[PENDING_KEYLEN];
    redisReply *r[3] = {NULL, NULL, NULL};
    int rc = PENDING_ERR_REDIS;
    *item = NULL;
    if (rkeys_name(hash, sizeof(hash), prefix, RKEYS_EMBARGO, NULL) ||
        rkeys_name(due, sizeof(due), prefix, RKEYS_EMBARGO_DUE, NULL) ||
        rkeys_name(rel, sizeof(rel), prefix, RKEYS_EMBARGO_RELEASED, handle)) {
        snprintf(err, errlen, "key prefix too long");
        return PENDING_ERR_INPUT;
    }
    redisAppendCommand(c, "HGET %s %s", hash, handle);
    redisAppendCommand(c, "ZSCORE %s %s", due, handle);
    redisAppendCommand(c, "GET %s", rel);
    for (int i = 0; i < 3; i++)
        if (redisGetReply(c, (void **)&r[i]) != REDIS_OK || pending_failed(c, r[i], err, errlen))
            goto done;
    if (r[0]->type == REDIS_REPLY_STRING && r[1]->type == REDIS_REPLY_STRING) {
        if ((*item = pending_record_item(r[0])) == NULL) {
            snprintf(err, errlen, "%s: the pending record holds no valid item", handle);
            goto done;
        }
        *state = PENDING_HELD;
        *due_ms = strtoll(r[1]->str, NULL, 10);
        rc = PENDING_OK;
    } else if (r[2]->type == REDIS_REPLY_STRING && r[2]->len < ITEM_ID_STRLEN) {
        memcpy(released, r[2]->str, r[2]->len + 1);
        *state = PENDING_RELEASED;
        rc = PENDING_OK;
    } else {
        pending_unknown(handle, err, errlen);
        rc = PENDING_ERR_HANDLE;
    }
done:
    for (int i = 0; i < 3; i++)
        freeReplyObject(r[i]);
    return rc;
}

/* {"handle", "release_at", "item"} for one pending alert. */
static int pending_list_add(json_t *out, const char *handle, const char *score,
                            const redisReply *rec, unsigned *skipped)
{
    char at[ITEM_TIME_STRLEN];
    json_t *item = pending_record_item(rec);
    if (item == NULL) {
        (*skipped)++;
        return 0;
    }
    item_time_format(strtoll(score, NULL, 10), at);
    json_t *e = json_pack("{s:s, s:s, s:o}", "handle", handle, "release_at", at, "item", item);
    return e == NULL || json_array_append_new(out, e) != 0 ? -1 : 0;
}

json_t *pending_list(redisContext *c, const char *prefix, long limit, unsigned *skipped, char *err,
                     size_t errlen)
{
    char hash[PENDING_KEYLEN], due[PENDING_KEYLEN];
    redisReply *z = NULL, *recs = NULL;
    json_t *out = NULL;
    *skipped = 0;
    rkeys_name(hash, sizeof(hash), prefix, RKEYS_EMBARGO, NULL);
    rkeys_name(due, sizeof(due), prefix, RKEYS_EMBARGO_DUE, NULL);
    z = redisCommand(c, "ZRANGE %s 0 %ld WITHSCORES", due, limit - 1);
    if (pending_failed(c, z, err, errlen))
        goto done;
    if (z->type != REDIS_REPLY_ARRAY || z->elements % 2) {
        snprintf(err, errlen, "unexpected reply to ZRANGE");
        goto done;
    }
    size_t n = z->elements / 2;
    if ((out = json_array()) == NULL || n == 0)
        goto done;
    const char **argv = calloc(n + 2, sizeof(*argv));
    if (argv == NULL)
        goto oom;
    argv[0] = "HMGET";
    argv[1] = hash;
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = z->element[2 * i]->str;
    recs = redisCommandArgv(c, (int)n + 2, argv, NULL);
    free(argv);
    if (pending_failed(c, recs, err, errlen) || recs->type != REDIS_REPLY_ARRAY ||
        recs->elements != n) {
        if (recs && recs->type != REDIS_REPLY_ERROR)
            snprintf(err, errlen, "unexpected reply to HMGET");
        json_decref(out);
        out = NULL;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (pending_list_add(out, z->element[2 * i]->str, z->element[2 * i + 1]->str,
                             recs->element[i], skipped) != 0)
            goto oom;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
    json_decref(out);
    out = NULL;
done:
    freeReplyObject(z);
    freeReplyObject(recs);
    return out;
}
