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

static int redisurl_parse_hostport(const char *s, size_t n, struct redis_url *u, char *err,
                                   size_t errlen)
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
    if (hlen >= sizeof(u->host))
        return redisurl_fail(err, errlen, "Redis URL host is too long");
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    if (port) {
        long p;
        if (redisurl_number(port, (size_t)(s + n - port), 1, 65535, &p))
            return redisurl_fail(err, errlen, "Redis URL port must be 1-65535");
        u->port = (int)p;
    }
    return 0;
}

int redisurl_parse(const char *url, struct redis_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (url == NULL || *url == '\0')
        return redisurl_fail(err, errlen, "empty Redis URL");
    if (strncmp(url, "unix://", 7) == 0)
        return redisurl_parse_unix(url + 7, u, err, errlen);
    if (strncmp(url, "redis://", 8) != 0)
        return redisurl_fail(err, errlen,
                             "Redis URL must start with redis:// or unix:// (got \"%.40s\")", url);

    const char *auth = url + 8;
    const char *slash = strchr(auth, '/');
    const char *end = slash ? slash : auth + strlen(auth);
    /* The last '@' before the path separates credentials from the host, so
     * a password may itself contain an unescaped '@'. */
    const char *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    const char *hp = auth;
    if (at) {
        if (redisurl_parse_userinfo(auth, (size_t)(at - auth), u, err, errlen))
            return -1;
        hp = at + 1;
    }
    if (redisurl_parse_hostport(hp, (size_t)(end - hp), u, err, errlen))
        return -1;
    if (slash && slash[1] != '\0') {
        long db;
        if (redisurl_number(slash + 1, strlen(slash + 1), 0, 100000, &db))
            return redisurl_fail(err, errlen, "Redis URL database must be a number (got \"%s\")",
                                 slash + 1);
        u->db = (int)db;
    }
    return 0;
}

void redisurl_describe(const struct redis_url *u, char *out, size_t outlen)
{
    if (u->path[0])
        snprintf(out, outlen, "unix://%s", u->path);
    else if (strchr(u->host, ':'))
        snprintf(out, outlen, "redis://[%s]:%d/%d", u->host, u->port, u->db);
    else
        snprintf(out, outlen, "redis://%s:%d/%d", u->host, u->port, u->db);
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

redisContext *redisurl_connect(const struct redis_url *u, struct timeval timeout, char *err,
                               size_t errlen)
{
    char where[400];
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
