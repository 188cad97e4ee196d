/*
 * cli — the common options, the connection and terminal messages of every
 * `alert` subcommand; see cli.h.
 */
#include "cli.h"

#include "redisurl.h"
#include "rkeys.h"
#include "version.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Messages
 * ---------------------------------------------------------------------- */

/* Writes "alert: " + the formatted text + "\n" to stderr as one line, with
 * control characters replaced: messages quote user input. */
static void cli_vmessage(const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "alert: %s\n", buf);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vmessage(fmt, ap);
    va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (cmd) {
        cli_error("%s: %s", cmd, buf);
        fprintf(stderr, "Try 'alert %s --help'.\n", cmd);
    } else {
        cli_error("%s", buf);
        fprintf(stderr, "Try 'alert --help'.\n");
    }
    return CLI_EXIT_USAGE;
}

int cli_flush_stdout(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output: %s", strerror(errno));
        return status == CLI_EXIT_OK ? CLI_EXIT_FAIL : status;
    }
    return status;
}

/* ------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------- */

void cli_common_init(struct cli_common *c, const char *cmd)
{
    const char *url = getenv("ALERT_REDIS_URL");
    const char *prefix = getenv("ALERT_PREFIX");
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    c->redis_url = url && *url ? url : REDISURL_DEFAULT;
    c->prefix = prefix && *prefix ? prefix : RKEYS_PREFIX_DEFAULT;
}

int cli_common_option(struct cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_REDIS:
        c->redis_url = arg;
        return 1;
    case CLI_OPT_PREFIX:
        c->prefix = arg;
        return 1;
    case CLI_OPT_HELP:
        c->help = 1;
        return 1;
    case CLI_OPT_VERSION:
        c->version = 1;
        return 1;
    default:
        return 0;
    }
}

/* A prefix becomes part of every key name: printable ASCII without spaces,
 * so that keys stay readable in redis-cli and ACL patterns. */
static int cli_prefix_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > CLI_PREFIX_MAX)
        return 0;
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

int cli_common_finish(const struct cli_common *c, const char *help)
{
    if (c->help) {
        fputs(help, stdout);
        return cli_flush_stdout(CLI_EXIT_OK);
    }
    if (c->version) {
        printf("alert %s\n", ALERT_VERSION);
        return cli_flush_stdout(CLI_EXIT_OK);
    }
    if (!cli_prefix_ok(c->prefix))
        return cli_usage(c->cmd, "--prefix must be 1-%d printable characters without spaces",
                         CLI_PREFIX_MAX);
    return -1;
}

const char *cli_getopt_begin(const char *shortopts)
{
    static char buf[64];
    optind = 0; /* glibc: a full reset, as if getopt had never been called */
    opterr = 0;
    /* A leading ':' makes a missing argument return ':' rather than '?'. */
    snprintf(buf, sizeof(buf), ":%s", shortopts);
    return buf;
}

int cli_getopt_error(const char *cmd, int opt, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    if (opt == ':')
        return cli_usage(cmd, "option '%s' needs an argument", arg);
    if (optopt && strncmp(arg, "--", 2) != 0)
        return cli_usage(cmd, "unknown option '-%c'", optopt);
    return cli_usage(cmd, "unknown option '%s'", arg);
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------------
 * Redis
 * ---------------------------------------------------------------------- */

redisContext *cli_connect(const struct cli_common *c, int *status, char *where, size_t wherelen)
{
    struct redis_url u;
    char err[CLI_ERRLEN], addr[400];
    struct timeval tv = {CLI_TIMEOUT_SEC, 0};

    if (redisurl_parse(c->redis_url, &u, err, sizeof(err)) != 0) {
        *status = cli_usage(c->cmd, "--redis: %s", err);
        return NULL;
    }
    redisurl_describe(&u, addr, sizeof(addr));
    if (where)
        snprintf(where, wherelen, "%s", addr);
    redisContext *ctx = redisurl_connect(&u, tv, err, sizeof(err));
    if (ctx == NULL) {
        /* Connection failures already name the address; AUTH and SELECT
         * failures do not. */
        if (strstr(err, addr))
            cli_error("%s", err);
        else
            cli_error("%s: %s", addr, err);
        *status = CLI_EXIT_REDIS;
        return NULL;
    }
    return ctx;
}
