/*
 * publish — the publishing Lua script and the EVALSHA/EVAL call; see
 * publish.h.
 */
#include "publish.h"

#include "rkeys.h"
#include "script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* ------------------------------------------------------------------------
 * The script
 *
 * Redis runs a script without any other command in between, so a reader
 * never sees the stream entry without the idempotency key or the other way
 * round, and two publishers retrying with the same key cannot both publish.
 * Every check comes before the first write (XADD): an error reply means
 * nothing was written.
 *
 * KEYS[1]  P:stream              the history
 * KEYS[2]  P:live                the live channel
 * KEYS[3]  P:idem:<key>          the idempotency key; absent without --key
 * ARGV[1]  the item JSON without "id", starting with {"version":<n>,
 * ARGV[2]  N for XADD MAXLEN ~ N
 * ARGV[3]  TTL of the idempotency key, seconds
 * ARGV[4]  kind: alert, update or retraction
 * ARGV[5]  ref: the id an update or retraction refers to ("" for an alert)
 * ARGV[6]  prefix of the version counters, "P:ver:"
 * ARGV[7]  TTL of a version counter, seconds
 * ARGV[8]  "1" when the publisher will WAIT for replicas (--durable)
 * ARGV[9]  "1" when the item is signed: its version is checked, never rewritten
 *
 * Returns {id, subscribers, duplicate, version}:
 *   - the idempotency key exists: {its id, 0, 1, 0}; nothing is written,
 *     except that for a publisher that will WAIT the key is written again
 *     unchanged (SET KEEPTTL): WAIT covers the writes of its own
 *     connection, and this one comes after the first publish's, so the
 *     replicas that confirm it hold that publish too;
 *   - else the new entry id, PUBLISH's count of subscribed nodes, 0, and
 *     the version the item was stored with.
 * Error replies: "ERR unknown ref <id>" (an update or retraction of an id
 * not in the stream: never published, or trimmed), "ERR bad item ..." (the
 * item does not start with its version), "NOPERM ..." (the ACL user may not
 * write one of the keys or the channel; checked before writing, on Redis 7).
 * Errors Redis raises itself (WRONGTYPE, OOM) come from XADD, the first
 * write, and so also leave nothing behind.
 *
 * Versions: an update carries the next version of its story. The counter
 * P:ver:<root> belongs to the root, the original alert; when ref is itself
 * an update, the script follows the refs back (at most 32 steps; a trimmed
 * link ends the walk). The new version is max(counter, version of ref) + 1,
 * so an expired counter does not go back to 2. The script writes it into
 * the JSON by replacing the leading {"version":<n>, - the JSON is never
 * decoded and re-encoded (cjson would turn [] into {} and round numbers).
 * A signed item cannot be rewritten (its signature covers the version): if
 * it carries another version than the one due, the script answers
 * "ERR version <n>" and writes nothing; `alert` signs it again with <n>.
 *
 * The live message is the stored JSON with "id" as its first member.
 *
 * Redis Cluster: the counter key is found by the script, not declared in
 * KEYS; give the prefix a hash tag ("{alert}") so all keys share a slot.
 * ---------------------------------------------------------------------- */
static const char publish_script[] =
    "local item, kind, ref = ARGV[1], ARGV[4], ARGV[5]\n"
    "local digits = string.match(item, '^{\"version\":(%d+),')\n"
    "if not digits then\n"
    "  return redis.error_reply('ERR bad item: it must start with {\"version\":N,')\n"
    "end\n"
    "local version = tonumber(digits)\n"
    "if KEYS[3] then\n"
    "  local prev = redis.call('GET', KEYS[3])\n"
    "  if prev then\n"
    "    if ARGV[8] == '1' then redis.call('SET', KEYS[3], prev, 'KEEPTTL') end\n"
    "    return {prev, 0, 1, 0}\n"
    "  end\n"
    "end\n"
    "-- The decoded item of entry `id`: nil if there is no such entry, {} if\n"
    "-- its item cannot be read (written by something else).\n"
    "local function entry(id)\n"
    "  local r = redis.pcall('XRANGE', KEYS[1], id, id)\n"
    "  if type(r) ~= 'table' or r.err or #r == 0 then return nil end\n"
    "  local f = r[1][2]\n"
    "  for i = 1, #f - 1, 2 do\n"
    "    if f[i] == 'item' then\n"
    "      local ok, obj = pcall(cjson.decode, f[i + 1])\n"
    "      if ok and type(obj) == 'table' then return obj end\n"
    "    end\n"
    "  end\n"
    "  return {}\n"
    "end\n"
    "local vkey\n"
    "if kind ~= 'alert' then\n"
    "  local target = entry(ref)\n"
    "  if not target then return redis.error_reply('ERR unknown ref ' .. ref) end\n"
    "  if kind == 'update' then\n"
    "    local root, node = ref, target\n"
    "    for _ = 1, 32 do\n"
    "      if node.kind ~= 'update' or type(node.ref) ~= 'string' then break end\n"
    "      root = node.ref\n"
    "      node = entry(root)\n"
    "      if not node then break end\n"
    "    end\n"
    "    vkey = ARGV[6] .. root\n"
    "    local last = tonumber(redis.call('GET', vkey)) or 1\n"
    "    local refver = tonumber(target.version) or 1\n"
    "    version = math.floor(math.max(last, refver)) + 1\n"
    "    if ARGV[9] == '1' then\n"
    "      if version ~= tonumber(digits) then\n"
    "        return redis.error_reply(string.format('ERR version %d', version))\n"
    "      end\n"
    "    else\n"
    "      item = string.format('{\"version\":%d', version) .. string.sub(item, 12 + #digits)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "-- ACLs are checked call by call: a PUBLISH refused after XADD would leave\n"
    "-- half a publish behind, so ask first (Redis 7; older versions lack it).\n"
    "if redis.acl_check_cmd then\n"
    "  local ok = redis.acl_check_cmd('XADD', KEYS[1], '*', 'item', 'x')\n"
    "    and redis.acl_check_cmd('PUBLISH', KEYS[2], 'x')\n"
    "    and (not KEYS[3] or redis.acl_check_cmd('SET', KEYS[3], 'x'))\n"
    "    and (not vkey or redis.acl_check_cmd('SET', vkey, 'x'))\n"
    "  if not ok then\n"
    "    return redis.error_reply('NOPERM this user may not write the alert keys and channel')\n"
    "  end\n"
    "end\n"
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'item', item)\n"
    "if vkey then\n"
    "  redis.call('SET', vkey, string.format('%d', version), 'EX', ARGV[7])\n"
    "end\n"
    "local n = redis.call('PUBLISH', KEYS[2], '{\"id\":\"' .. id .. '\",' .. string.sub(item, 2))\n"
    "if KEYS[3] then redis.call('SET', KEYS[3], id, 'EX', ARGV[3]) end\n"
    "return {id, n, 0, version}\n";

/* ------------------------------------------------------------------------
 * Running it
 * ---------------------------------------------------------------------- */

#define PUBLISH_KEYLEN         256
#define PUBLISH_WAIT_SLACK_SEC 5 /* read timeout beyond WAIT's own */

/* The script's SHA-1, as EVALSHA wants it; computed once ("" if it cannot
 * be: then EVAL). */
static const char *publish_sha(void)
{
    static char hex[SCRIPTSHA_STRLEN];
    if (!hex[0])
        scriptsha_hex(publish_script, sizeof(publish_script) - 1, hex);
    return hex;
}

/* Everything the command needs: the keys and numbers, and the call. */
struct publish_call {
    char stream[PUBLISH_KEYLEN], live[PUBLISH_KEYLEN], idem[PUBLISH_KEYLEN];
    char ver[PUBLISH_KEYLEN], maxlen[24], idem_ttl[24], ver_ttl[24], numkeys[4];
    struct script_call call;
};

static void publish_arg(struct publish_call *k, const char *s)
{
    script_arg(&k->call, s, strlen(s));
}

static int publish_prepare(const struct publish_request *req, struct publish_call *k)
{
    const char *p = req->prefix;
    int nkeys = req->idem_key ? 3 : 2;
    int bad = rkeys_name(k->stream, PUBLISH_KEYLEN, p, RKEYS_STREAM, NULL) ||
              rkeys_name(k->live, PUBLISH_KEYLEN, p, RKEYS_LIVE, NULL) ||
              rkeys_name(k->ver, PUBLISH_KEYLEN, p, RKEYS_VER, NULL) ||
              (req->idem_key && rkeys_name(k->idem, PUBLISH_KEYLEN, p, RKEYS_IDEM, req->idem_key));
    if (bad)
        return -1;
    snprintf(k->maxlen, sizeof(k->maxlen), "%ld", req->maxlen);
    snprintf(k->idem_ttl, sizeof(k->idem_ttl), "%d", PUBLISH_IDEM_TTL);
    snprintf(k->ver_ttl, sizeof(k->ver_ttl), "%d", PUBLISH_VER_TTL);
    snprintf(k->numkeys, sizeof(k->numkeys), "%d", nkeys);
    script_begin(&k->call);
    publish_arg(k, k->numkeys);
    publish_arg(k, k->stream);
    publish_arg(k, k->live);
    if (req->idem_key)
        publish_arg(k, k->idem);
    script_arg(&k->call, req->item, req->item_len);
    publish_arg(k, k->maxlen);
    publish_arg(k, k->idem_ttl);
    publish_arg(k, req->kind);
    publish_arg(k, req->ref ? req->ref : "");
    publish_arg(k, k->ver);
    publish_arg(k, k->ver_ttl);
    publish_arg(k, req->durable ? "1" : "0");
    publish_arg(k, req->signed_item ? "1" : "0");
    return 0;
}

/* Checks the {id, subscribers, duplicate, version} reply into *out. */
static int publish_read_reply(const redisReply *r, struct publish_result *out, char *err,
                              size_t errlen)
{
    if (r->type == REDIS_REPLY_ERROR) {
        if (sscanf(r->str, "ERR version %lld", &out->version) == 1) {
            snprintf(err, errlen, "the story's version moved to %lld while signing", out->version);
            return PUBLISH_ERR_VERSION;
        }
        snprintf(err, errlen, "%s", r->str);
        return strstr(r->str, "unknown ref") ? PUBLISH_ERR_REF : PUBLISH_ERR_REDIS;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        (r->element[0]->type != REDIS_REPLY_STRING && r->element[0]->type != REDIS_REPLY_STATUS) ||
        r->element[0]->len >= sizeof(out->id) || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_INTEGER || r->element[3]->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "unexpected reply to the publish script");
        return PUBLISH_ERR_REDIS;
    }
    memcpy(out->id, r->element[0]->str, r->element[0]->len);
    out->id[r->element[0]->len] = '\0';
    out->subscribers = r->element[1]->integer;
    out->duplicate = r->element[2]->integer != 0;
    out->version = r->element[3]->integer;
    return PUBLISH_OK;
}

int publish_item(redisContext *c, const struct publish_request *req, struct publish_result *out,
                 char *err, size_t errlen)
{
    struct publish_call k;
    memset(out, 0, sizeof(*out));
    if (publish_prepare(req, &k) != 0) {
        snprintf(err, errlen, "key prefix or idempotency key too long");
        return PUBLISH_ERR_INPUT;
    }
    int sent;
    redisReply *r =
        script_run(c, publish_script, sizeof(publish_script) - 1, publish_sha(), &k.call, &sent);
    if (r == NULL) {
        script_no_reply(c, err, errlen);
        return sent ? PUBLISH_ERR_UNKNOWN : PUBLISH_ERR_REDIS;
    }
    int rc = publish_read_reply(r, out, err, errlen);
    freeReplyObject(r);
    return rc;
}

int publish_wait(redisContext *c, int replicas, long timeout_ms, long long *confirmed, char *err,
                 size_t errlen)
{
    /* WAIT blocks up to its timeout: the socket's read timeout must not run
     * out first. */
    struct timeval tv = {timeout_ms / 1000 + PUBLISH_WAIT_SLACK_SEC, (timeout_ms % 1000) * 1000};
    redisReply *r = NULL;
    int rc = -1;

    *confirmed = 0;
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, errlen, "cannot set a timeout for WAIT");
        return -1;
    }
    r = redisCommand(c, "WAIT %d %ld", replicas, timeout_ms);
    if (r == NULL)
        snprintf(err, errlen, "WAIT: %s", c->errstr[0] ? c->errstr : "no reply");
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "WAIT refused: %s", r->str);
    else if (r->type != REDIS_REPLY_INTEGER)
        snprintf(err, errlen, "unexpected reply to WAIT");
    else {
        *confirmed = r->integer;
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}
