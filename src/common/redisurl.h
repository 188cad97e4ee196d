/*
 * redisurl — Redis connection addresses, shared by `alert` and `alertd`.
 *
 * Parses redis://[user:password@]host[:port][/db] (user and password may be
 * percent-encoded; an IPv6 host goes in brackets), unix:///path/to/socket
 * (with an optional ?db=N) and, for a Redis watched by Sentinel,
 * redis+sentinel://[user:password@]host[:port][,host[:port]...]/MASTER[/db]
 * [?sentinel-password=P]: the Sentinels (port 26379 by default) are asked in
 * turn for MASTER's address; the credentials and db are the master's. It
 * opens a blocking hiredis connection that has already done AUTH and
 * SELECT. The server's event-driven connection uses the same parsed form
 * and asks the Sentinels, authenticates and selects itself.
 */
#ifndef ALERT_REDISURL_H
#define ALERT_REDISURL_H

#include <hiredis.h>
#include <stddef.h>
#include <sys/time.h>

#define REDISURL_DEFAULT       "redis://127.0.0.1:6379"
#define REDISURL_MAX_SENTINELS 8
/* How long a Sentinel has to answer (alertd: connect and answer together;
 * alert: each of them): it answers from memory, and a dead one must not
 * stall a reconnection for long. */
#define REDISURL_SENTINEL_MS 1000

struct redisurl_addr {
    char host[256];
    int port;
};

struct redis_url {
    char host[256];     /* TCP host, "" for a unix socket (or a master not yet asked for) */
    int port;           /* default 6379 */
    char path[108];     /* unix socket path, "" for TCP */
    char user[128];     /* ACL user, "" for none (AUTH password alone) */
    char password[256]; /* "" for none */
    int db;             /* SELECTed database, default 0 */
    /* redis+sentinel://: the master's name and the Sentinels that know its
     * address; master is "" for a direct address. */
    char master[128];
    char sentinel_password[256]; /* AUTH to the Sentinels; "" for none */
    int nsentinels;
    struct redisurl_addr sentinels[REDISURL_MAX_SENTINELS];
};

/* Returns 0, or -1 with a message naming what is wrong in err. */
int redisurl_parse(const char *url, struct redis_url *out, char *err, size_t errlen);

/* "host:port", or "[host]:port" for an IPv6 address; snprintf's result. */
int redisurl_format_addr(char *out, size_t outlen, const char *host, int port);

/* The address without credentials, for logs and messages. */
void redisurl_describe(const struct redis_url *u, char *out, size_t outlen);

/* Checks one Sentinel's answer to SENTINEL GET-MASTER-ADDR-BY-NAME and
 * stores the address in u: 0; 1 for a nil answer (unknown master); -1 for
 * anything else, with err set. Shared with the server's asynchronous ask. */
int redisurl_sentinel_reply(struct redis_url *u, const redisReply *r, char *err, size_t errlen);

/* Connects (through the Sentinels for redis+sentinel://), authenticates and
 * selects the database; every command then has `timeout` to answer.
 * Returns a context the caller frees with redisFree, or NULL with the
 * reason in err. */
redisContext *redisurl_connect(const struct redis_url *u, struct timeval timeout, char *err,
                               size_t errlen);

#endif
