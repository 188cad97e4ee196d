/*
 * cli — what every `alert` subcommand shares: exit statuses, the common
 * options (--redis, --prefix, --help, --version), the Redis connection and
 * the way messages reach the terminal.
 *
 * Subcommands parse their own arguments with getopt_long; they hand the
 * common options to cli_common_option. Common options given before the
 * command reach them the same way: main moves them after the command's
 * name (cmdline.h). Library-like modules (options, publish, query) never
 * print: they return -1 with a message in a caller's buffer, and the
 * subcommand prints it with cli_error.
 */
#ifndef ALERT_CLI_H
#define ALERT_CLI_H

#include <getopt.h>
#include <hiredis.h>
#include <stddef.h>

/* Exit statuses (ARCHITECTURE.md, "The CLI"). */
#define CLI_EXIT_OK    0 /* done (published: the id is on stdout) */
#define CLI_EXIT_FAIL  1 /* local failure: out of memory, stdout closed */
#define CLI_EXIT_USAGE 2 /* usage error or invalid item; nothing was sent */
#define CLI_EXIT_REDIS 3 /* Redis unreachable or refused; nothing was published */
/* The publish was sent but Redis did not answer: it may have been
 * published. A retry with the key `alert` printed publishes at most once. */
#define CLI_EXIT_UNKNOWN 4
/* --durable: published (the id is on stdout), but fewer replicas than
 * asked confirmed holding it within --durable-timeout (Redis WAIT). */
#define CLI_EXIT_NOT_DURABLE 5
/* `alert tail`: the server refused us (close 1008/4003, certificate not
 * trusted) or, with --timeout, no connection was up when the time ran out.
 * The same "unreachable or refused" as CLI_EXIT_REDIS. */
#define CLI_EXIT_REFUSED 3
/* `alert tail --verify --strict`: an alert failed verification (unsigned,
 * unknown key, bad signature, stale or replayed). */
#define CLI_EXIT_REJECTED 6

#define CLI_ERRLEN      512
#define CLI_TIMEOUT_SEC 5 /* connect and per-command timeout */
#define CLI_PREFIX_MAX  64

/* getopt_long codes of the common options; item options use 256-299. */
enum {
    CLI_OPT_REDIS = 300,
    CLI_OPT_PREFIX,
    CLI_OPT_VERSION,
    CLI_OPT_HELP = 'h',
};

/* For a subcommand's `struct option` table. */
/* clang-format off */
#define CLI_COMMON_LONGOPTS \
    {"redis", required_argument, NULL, CLI_OPT_REDIS}, \
    {"prefix", required_argument, NULL, CLI_OPT_PREFIX}, \
    {"version", no_argument, NULL, CLI_OPT_VERSION}, \
    {"help", no_argument, NULL, CLI_OPT_HELP}
/* clang-format on */

/* The common options; strings point into argv or the environment. */
struct cli_common {
    const char *cmd;       /* subcommand name, for messages */
    const char *redis_url; /* --redis, ALERT_REDIS_URL, REDISURL_DEFAULT */
    const char *prefix;    /* --prefix, ALERT_PREFIX, "alert" */
    int help;              /* --help given */
    int version;           /* --version given */
};

/* Fills the defaults from the environment. */
void cli_common_init(struct cli_common *c, const char *cmd);

/* Takes one getopt_long result if it is a common option (returns 1). */
int cli_common_option(struct cli_common *c, int opt, const char *arg);

/* Call after the getopt loop: checks the prefix; on --help prints `help`
 * to stdout, on --version the version. Returns -1 to go on, else the exit
 * status to return. */
int cli_common_finish(const struct cli_common *c, const char *help);

/* The argument-parsing state getopt_long needs, reset for a subcommand
 * whose argv[0] is its name. Returns the optstring to use, which makes
 * getopt report errors to us instead of printing them. */
const char *cli_getopt_begin(const char *shortopts);

/* Reports a getopt '?' or ':' result; returns CLI_EXIT_USAGE. */
int cli_getopt_error(const char *cmd, int opt, char **argv);

/* "alert: CMD: message" and a hint to --help on stderr; CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "alert: message" on stderr; control characters (escape sequences from
 * hostile input included) are shown as '?'. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal in [min, max]; 0 or -1. */
int cli_parse_long(const char *s, long min, long max, long *out);

/* Connects (AUTH, SELECT, timeouts). On failure prints the reason, naming
 * the address without password, and returns NULL. *status gets the exit
 * status to return (CLI_EXIT_USAGE for a malformed URL, else
 * CLI_EXIT_REDIS). `where` (may be NULL) gets the address for messages. */
redisContext *cli_connect(const struct cli_common *c, int *status, char *where, size_t wherelen);

/* Flushes stdout; CLI_EXIT_FAIL with a message if the output was lost. */
int cli_flush_stdout(int status);

#endif
