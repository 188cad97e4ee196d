/*
 * redisurl — Redis connection addresses, shared by `alert` and `alertd`.
 *
 * Parses redis://[user:password@]host[:port][/db] (user and password may be
 * percent-encoded; an IPv6 host goes in brackets) and unix:///path/to/socket
 * (with an optional ?db=N), and opens a blocking hiredis connection that has
 * already done AUTH and SELECT. The server's event-driven connection uses the
 * same parsed form and issues AUTH and SELECT itself.
 */
#ifndef ALERT_REDISURL_H
#define ALERT_REDISURL_H

#include <hiredis.h>
#include <stddef.h>
#include <sys/time.h>

#define REDISURL_DEFAULT "redis://127.0.0.1:6379"

struct redis_url {
    char host[256];     /* TCP host, "" for a unix socket */
    int port;           /* default 6379 */
    char path[108];     /* unix socket path, "" for TCP */
    char user[128];     /* ACL user, "" for none (AUTH password alone) */
    char password[256]; /* "" for none */
    int db;             /* SELECTed database, default 0 */
};

/* Returns 0, or -1 with a message naming what is wrong in err. */
int redisurl_parse(const char *url, struct redis_url *out, char *err, size_t errlen);

/* The address without credentials, for logs and messages. */
void redisurl_describe(const struct redis_url *u, char *out, size_t outlen);

/* Connects, authenticates and selects the database; every command then has
 * `timeout` to answer. Returns a context the caller frees with redisFree, or
 * NULL with the reason in err. */
redisContext *redisurl_connect(const struct redis_url *u, struct timeval timeout, char *err,
                               size_t errlen);

#endif
