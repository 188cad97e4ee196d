/*
 * fuzz_redisurl — Redis URLs (redisurl.c): redis://, unix:// and
 * redis+sentinel://, from --redis, ALERT_REDIS_URL or a config file (the
 * input, cut at its first NUL, as a C string).
 *
 * Beyond "no crash, no leak, no UB":
 *   - a refusal says why;
 *   - an accepted URL names a socket path, a host or a master with its
 *     Sentinels, with ports 1-65535, a db 0-100000, at most
 *     REDISURL_MAX_SENTINELS Sentinels, every string NUL-terminated within
 *     its field;
 *   - its description (what logs and messages print) parses again to the
 *     same address: host, port, db, path, master and Sentinels.
 */
#include "fuzz.h"
#include "redisurl.h"

static void check_fields(const struct redis_url *u)
{
    FUZZ_CHECK(memchr(u->host, '\0', sizeof(u->host)) && memchr(u->path, '\0', sizeof(u->path)));
    FUZZ_CHECK(memchr(u->user, '\0', sizeof(u->user)) &&
               memchr(u->password, '\0', sizeof(u->password)));
    FUZZ_CHECK(memchr(u->master, '\0', sizeof(u->master)) &&
               memchr(u->sentinel_password, '\0', sizeof(u->sentinel_password)));
    FUZZ_CHECK(u->db >= 0 && u->db <= 100000);
    FUZZ_CHECK(u->nsentinels >= 0 && u->nsentinels <= REDISURL_MAX_SENTINELS);
    if (u->path[0]) {
        FUZZ_CHECK(u->path[0] == '/' && !u->host[0] && !u->master[0] && u->nsentinels == 0);
    } else if (u->master[0]) {
        FUZZ_CHECK(!u->host[0] && u->nsentinels >= 1);
        for (int i = 0; i < u->nsentinels; i++) {
            FUZZ_CHECK(u->sentinels[i].host[0] != '\0');
            FUZZ_CHECK(u->sentinels[i].port >= 1 && u->sentinels[i].port <= 65535);
        }
    } else {
        FUZZ_CHECK(u->host[0] != '\0' && u->nsentinels == 0);
        FUZZ_CHECK(u->port >= 1 && u->port <= 65535);
    }
}

static void check_described(const struct redis_url *u)
{
    char text[4096], err[256];
    struct redis_url back;
    redisurl_describe(u, text, sizeof(text));
    FUZZ_CHECK(redisurl_parse(text, &back, err, sizeof(err)) == 0);
    FUZZ_CHECK(strcmp(back.path, u->path) == 0 && strcmp(back.master, u->master) == 0);
    if (u->path[0])
        return; /* unix://: the description leaves the db out */
    FUZZ_CHECK(back.db == u->db);
    if (!u->master[0]) {
        FUZZ_CHECK(strcmp(back.host, u->host) == 0 && back.port == u->port);
        return;
    }
    FUZZ_CHECK(back.nsentinels == u->nsentinels);
    for (int i = 0; i < u->nsentinels; i++)
        FUZZ_CHECK(strcmp(back.sentinels[i].host, u->sentinels[i].host) == 0 &&
                   back.sentinels[i].port == u->sentinels[i].port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct redis_url u;
    char err[256];
    char *url = fuzz_cstr(data, size);
    err[0] = '\0';
    if (redisurl_parse(url, &u, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0');
    } else {
        check_fields(&u);
        check_described(&u);
    }
    free(url);
    return 0;
}
