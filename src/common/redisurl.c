/*
 * redisurl — see redisurl.h.
 */
#include "redisurl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int redisurl_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int redisurl_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into out; refuses %00 and bad escapes. */
static int redisurl_unescape(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = redisurl_hexval((unsigned char)s[i + 1]);
            int lo = redisurl_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int redisurl_number(const char *s, size_t n, long min, long max, long *out)
{
    char buf[16];
    char *end;
    if (n == 0 || n >= sizeof(buf))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int redisurl_parse_unix(const char *rest, struct redis_url *u, char *err, size_t errlen)
{
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    if (plen == 0 || rest[0] != '/')
        return redisurl_fail(err, errlen, "unix socket URL needs an absolute path");
    if (plen >= sizeof(u->path))
        return redisurl_fail(err, errlen, "unix socket path is longer than %zu bytes",
                             sizeof(u->path) - 1);
    memcpy(u->path, rest, plen);
    u->path[plen] = '\0';
    if (q) {
        long db;
        if (strncmp(q, "?db=", 4) != 0 || redisurl_number(q + 4, strlen(q + 4), 0, 100000, &db))
            return redisurl_fail(err, errlen, "unix socket URL accepts only ?db=N");
        u->db = (int)db;
    }
    return 0;
}

/* "user:password", or a lone "password" (redis://secret@host). */
static int redisurl_parse_userinfo(const char *s, size_t n, struct redis_url *u, char *err,
                                   size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
        return redisurl_unescape(s, n, u->password, sizeof(u->password))
                   ? redisurl_fail(err, errlen, "bad password in Redis URL")
                   : 0;
    size_t ulen = (size_t)(colon - s);
    if (redisurl_unescape(s, ulen, u->user, sizeof(u->user)))
        return redisurl_fail(err, errlen, "bad user name in Redis URL");
    if (redisurl_unescape(colon + 1, n - ulen - 1, u->password, sizeof(u->password)))
        return redisurl_fail(err, errlen, "bad password in Redis URL");
    return 0;
}

/* host[:port] or [v6]:port into host (hostlen bytes) and *port (left as
 * is when absent). */
static int redisurl_parse_hostport(const char *s, size_t n, char *hostbuf, size_t hostlen,
                                   int *portp, char *err, size_t errlen)
{
    const char *host = s, *port = NULL;
    size_t hlen;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return redisurl_fail(err, errlen, "unclosed '[' in Redis URL host");
        host = s + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < s + n) {
            if (close[1] != ':')
                return redisurl_fail(err, errlen, "unexpected text after ']' in Redis URL");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        hlen = colon ? (size_t)(colon - s) : n;
        port = colon ? colon + 1 : NULL;
    }
    if (hlen == 0)
        return redisurl_fail(err, errlen, "Redis URL has no host");
    if (hlen >= hostlen)
        return redisurl_fail(err, errlen, "Redis URL host is too long");
    if (memchr(host, '[', hlen) || memchr(host, ']', hlen))
        return redisurl_fail(err, errlen,
                             "Redis URL host has a stray '[' or ']' (an IPv6 address goes in "
                             "one pair of brackets)");
    memcpy(hostbuf, host, hlen);
    hostbuf[hlen] = '\0';
    if (port) {
        long p;
        if (redisurl_number(port, (size_t)(s + n - port), 1, 65535, &p))
            return redisurl_fail(err, errlen, "Redis URL port must be 1-65535");
        *portp = (int)p;
    }
    return 0;
}

/* The last '@' in [s, end) (credentials end there: a password may hold an
 * unescaped '@'), or NULL. */
static const char *redisurl_last_at(const char *s, const char *end)
{
    const char *at = NULL;
    for (const char *p = s; p < end; p++)
        if (*p == '@')
            at = p;
    return at;
}

static int redisurl_parse_db(const char *s, size_t n, struct redis_url *u, char *err, size_t errlen)
{
    long db;
    if (redisurl_number(s, n, 0, 100000, &db))
        return redisurl_fail(err, errlen, "Redis URL database must be a number (got \"%.*s\")",
                             (int)n, s);
    u->db = (int)db;
    return 0;
}

/* ------------------------------------------------------------------------
 * redis+sentinel://[user:password@]host[:port][,host[:port]...]/MASTER[/db]
 *     [?sentinel-password=P]
 * ---------------------------------------------------------------------- */

static int redisurl_parse_sentinels(const char *s, size_t n, struct redis_url *u, char *err,
                                    size_t errlen)
{
    const char *end = s + n;
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma ? comma : end;
        if (u->nsentinels == REDISURL_MAX_SENTINELS)
            return redisurl_fail(err, errlen, "at most %d Sentinels in a Redis URL",
                                 REDISURL_MAX_SENTINELS);
        struct redisurl_addr *a = &u->sentinels[u->nsentinels++];
        a->port = 26379;
        if (redisurl_parse_hostport(s, (size_t)(e - s), a->host, sizeof(a->host), &a->port, err,
                                    errlen))
            return -1;
        s = e + 1;
    }
    return 0;
}

/* A master name as Sentinel configurations write them. */
static int redisurl_master_name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= sizeof(((struct redis_url *)0)->master))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.:", s[i]))
            return 0;
    return 1;
}

static int redisurl_parse_sentinel_query(const char *q, struct redis_url *u, char *err,
                                         size_t errlen)
{
    static const char key[] = "sentinel-password=";
    if (strncmp(q, key, sizeof(key) - 1) != 0)
        return redisurl_fail(
            err, errlen, "redis+sentinel:// URL accepts only ?sentinel-password=P (got \"?%.40s\")",
            q);
    q += sizeof(key) - 1;
    if (*q == '\0' ||
        redisurl_unescape(q, strlen(q), u->sentinel_password, sizeof(u->sentinel_password)))
        return redisurl_fail(err, errlen, "bad sentinel-password in Redis URL");
    return 0;
}

static int redisurl_parse_sentinel(const char *rest, struct redis_url *u, char *err, size_t errlen)
{
    const char *q = strchr(rest, '?');
    const char *end = q ? q : rest + strlen(rest);
    const char *slash = memchr(rest, '/', (size_t)(end - rest));
    if (slash == NULL)
        return redisurl_fail(err, errlen,
                             "redis+sentinel:// URL needs the master's name after the Sentinels "
                             "(redis+sentinel://host:26379/mymaster)");
    const char *at = redisurl_last_at(rest, slash), *hosts = rest;
    if (at) {
        if (redisurl_parse_userinfo(rest, (size_t)(at - rest), u, err, errlen))
            return -1;
        hosts = at + 1;
    }
    if (redisurl_parse_sentinels(hosts, (size_t)(slash - hosts), u, err, errlen))
        return -1;
    const char *name = slash + 1, *dbslash = memchr(name, '/', (size_t)(end - name));
    const char *name_end = dbslash ? dbslash : end;
    if (!redisurl_master_name_ok(name, (size_t)(name_end - name)))
        return redisurl_fail(err, errlen,
                             "Redis URL master name must be 1-127 letters, digits or -_.: "
                             "(got \"%.*s\")",
                             (int)(name_end - name), name);
    memcpy(u->master, name, (size_t)(name_end - name));
    u->master[name_end - name] = '\0';
    u->host[0] = '\0'; /* until a Sentinel names it */
    if (dbslash && redisurl_parse_db(dbslash + 1, (size_t)(end - dbslash - 1), u, err, errlen))
        return -1;
    return q ? redisurl_parse_sentinel_query(q + 1, u, err, errlen) : 0;
}

int redisurl_parse(const char *url, struct redis_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (url == NULL || *url == '\0')
        return redisurl_fail(err, errlen, "empty Redis URL");
    if (strncmp(url, "unix://", 7) == 0)
        return redisurl_parse_unix(url + 7, u, err, errlen);
    if (strncmp(url, "redis+sentinel://", 17) == 0)
        return redisurl_parse_sentinel(url + 17, u, err, errlen);
    if (strncmp(url, "redis://", 8) != 0)
        return redisurl_fail(err, errlen,
                             "Redis URL must start with redis://, unix:// or redis+sentinel:// "
                             "(got \"%.40s\")",
                             url);

    const char *auth = url + 8;
    const char *slash = strchr(auth, '/');
    const char *end = slash ? slash : auth + strlen(auth);
    const char *at = redisurl_last_at(auth, end), *hp = auth;
    if (at) {
        if (redisurl_parse_userinfo(auth, (size_t)(at - auth), u, err, errlen))
            return -1;
        hp = at + 1;
    }
    if (redisurl_parse_hostport(hp, (size_t)(end - hp), u->host, sizeof(u->host), &u->port, err,
                                errlen))
        return -1;
    if (slash && slash[1] != '\0' &&
        redisurl_parse_db(slash + 1, strlen(slash + 1), u, err, errlen))
        return -1;
    return 0;
}

int redisurl_format_addr(char *out, size_t outlen, const char *host, int port)
{
    return snprintf(out, outlen, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

void redisurl_describe(const struct redis_url *u, char *out, size_t outlen)
{
    char addr[300];
    if (u->path[0]) {
        snprintf(out, outlen, "unix://%s", u->path);
        return;
    }
    if (!u->master[0]) {
        redisurl_format_addr(addr, sizeof(addr), u->host, u->port);
        snprintf(out, outlen, "redis://%s/%d", addr, u->db);
        return;
    }
    size_t at = (size_t)snprintf(out, outlen, "redis+sentinel://");
    for (int i = 0; i < u->nsentinels && at < outlen; i++) {
        redisurl_format_addr(addr, sizeof(addr), u->sentinels[i].host, u->sentinels[i].port);
        at += (size_t)snprintf(out + at, outlen - at, "%s%s", i ? "," : "", addr);
    }
    if (at < outlen)
        snprintf(out + at, outlen - at, "/%s/%d", u->master, u->db);
}

/* Runs one command whose only acceptable answer is a status reply. */
static int redisurl_expect_ok(redisContext *c, char *err, size_t errlen, const char *what,
                              redisReply *r)
{
    int rc = 0;
    if (r == NULL)
        rc = redisurl_fail(err, errlen, "%s: %s", what, c->errstr[0] ? c->errstr : "no reply");
    else if (r->type == REDIS_REPLY_ERROR)
        rc = redisurl_fail(err, errlen, "%s refused: %s", what, r->str);
    freeReplyObject(r);
    return rc;
}

int redisurl_sentinel_reply(struct redis_url *u, const redisReply *r, char *err, size_t errlen)
{
    long port;
    if (r->type == REDIS_REPLY_NIL) {
        snprintf(err, errlen, "knows no master \"%s\"", u->master);
        return 1;
    }
    if (r->type == REDIS_REPLY_ERROR)
        return redisurl_fail(err, errlen, "refused: %s", r->str);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[0]->len == 0 || r->element[0]->len >= sizeof(u->host) ||
        redisurl_number(r->element[1]->str, r->element[1]->len, 1, 65535, &port))
        return redisurl_fail(err, errlen, "answered something that is not an address");
    memcpy(u->host, r->element[0]->str, r->element[0]->len + 1);
    u->port = (int)port;
    return 0;
}

/* Asks one Sentinel: 0, 1 (unknown master) or -1, with why set. */
static int redisurl_ask_sentinel(struct redis_url *u, const struct redisurl_addr *s,
                                 struct timeval timeout, char *why, size_t whylen)
{
    redisContext *c = redisConnectWithTimeout(s->host, s->port, timeout);
    int rc = -1;
    if (c == NULL) {
        snprintf(why, whylen, "out of memory");
    } else if (c->err) {
        snprintf(why, whylen, "%s", c->errstr);
    } else if (redisSetTimeout(c, timeout) != REDIS_OK) {
        snprintf(why, whylen, "cannot set a timeout");
    } else if (u->sentinel_password[0] &&
               redisurl_expect_ok(c, why, whylen, "AUTH",
                                  redisCommand(c, "AUTH %s", u->sentinel_password))) {
        /* why is set */
    } else {
        redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", u->master);
        if (r == NULL)
            snprintf(why, whylen, "%s", c->errstr[0] ? c->errstr : "no reply");
        else
            rc = redisurl_sentinel_reply(u, r, why, whylen);
        freeReplyObject(r);
    }
    redisFree(c);
    return rc;
}

/* Asks the Sentinels of u in turn (REDISURL_SENTINEL_MS to connect, as much
 * to answer) for the address of u->master and sets u->host and u->port to
 * it. Returns 0; 1 when none gave it and one said it knows no such master
 * (a configuration error: the Sentinels of one deployment share their
 * masters' names); -1 when none gave it otherwise. err says what each one
 * said. */
static int redisurl_ask_sentinels(struct redis_url *u, char *err, size_t errlen)
{
    struct timeval timeout = {REDISURL_SENTINEL_MS / 1000, (REDISURL_SENTINEL_MS % 1000) * 1000};
    int unknown = 0;
    size_t at =
        (size_t)snprintf(err, errlen, "no Sentinel gave the address of master \"%s\":", u->master);
    for (int i = 0; i < u->nsentinels; i++) {
        char why[300], addr[300];
        int rc = redisurl_ask_sentinel(u, &u->sentinels[i], timeout, why, sizeof(why));
        if (rc == 0)
            return 0;
        unknown |= rc == 1;
        redisurl_format_addr(addr, sizeof(addr), u->sentinels[i].host, u->sentinels[i].port);
        if (at < errlen)
            at += (size_t)snprintf(err + at, errlen - at, "%s %s %s", i ? ";" : "", addr, why);
    }
    return unknown ? 1 : -1;
}

redisContext *redisurl_connect(const struct redis_url *url, struct timeval timeout, char *err,
                               size_t errlen)
{
    char where[400];
    struct redis_url master;
    const struct redis_url *u = url;
    if (url->master[0]) {
        master = *url;
        if (redisurl_ask_sentinels(&master, err, errlen) != 0)
            return NULL;
        master.master[0] = '\0'; /* from here on, a direct address */
        u = &master;
    }
    redisContext *c = u->path[0] ? redisConnectUnixWithTimeout(u->path, timeout)
                                 : redisConnectWithTimeout(u->host, u->port, timeout);
    redisurl_describe(u, where, sizeof(where));
    if (c == NULL) {
        redisurl_fail(err, errlen, "cannot connect to %s: out of memory", where);
        return NULL;
    }
    if (c->err) {
        redisurl_fail(err, errlen, "cannot connect to %s: %s", where, c->errstr);
        goto fail;
    }
    if (redisSetTimeout(c, timeout) != REDIS_OK) {
        redisurl_fail(err, errlen, "cannot set timeout on %s", where);
        goto fail;
    }
    if (u->password[0]) {
        redisReply *r = u->user[0] ? redisCommand(c, "AUTH %s %s", u->user, u->password)
                                   : redisCommand(c, "AUTH %s", u->password);
        if (redisurl_expect_ok(c, err, errlen, "AUTH", r))
            goto fail;
    }
    if (u->db != 0 &&
        redisurl_expect_ok(c, err, errlen, "SELECT", redisCommand(c, "SELECT %d", u->db)))
        goto fail;
    return c;
fail:
    redisFree(c);
    return NULL;
}
