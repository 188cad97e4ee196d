/*
 * stats — `alert stats` and push's --wait report; see stats.h.
 */
#include "stats.h"

#include "cli.h"
#include "item.h"
#include "receipt.h"
#include "rkeys.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { STATS_OPT_JSON = 500 };

static const char stats_help[] =
    "Usage: alert stats ID [--json]\n"
    "Prints what the alertd nodes counted for alert ID: the sockets it was\n"
    "written to (WebSocket and SSE readers), the acks readers sent once it was\n"
    "on screen (WebSocket only), and p50/p99 latencies from the publish to the\n"
    "socket and to the screen, summed over every node:\n"
    "  ID: reached N readers on K nodes, A acknowledged; p50/p99 X/Y ms to socket, ...\n"
    "Nodes add their figures about once a second; Redis keeps them for the\n"
    "days of alertd's receipts-days setting (7 by default).\n\n"
    "  --json                 JSON output, with each node's figures\n"
    "  --redis URL            redis://[user:password@]host[:port][/db], unix:///path, or\n"
    "                         redis+sentinel://[user:password@]host[:port][,...]/MASTER[/db]\n"
    "                         (env ALERT_REDIS_URL; default redis://127.0.0.1:6379)\n"
    "  --prefix P             key prefix (env ALERT_PREFIX; default alert)\n"
    "  -h, --help             this help;  --version  the version\n"
    "\n"
    "Exit status: 0 done (an alert no node counted reached 0 readers), 2 usage\n"
    "error, 3 Redis unreachable or refused.\n";

/* ------------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------- */

static int stats_failed(redisContext *c, const redisReply *r, int type, char *err, size_t errlen)
{
    if (r == NULL)
        snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "no reply");
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "%s", r->str);
    else if (r->type != type)
        snprintf(err, errlen, "unexpected reply type %d", r->type);
    else
        return 0;
    return -1;
}

/* Adds one node's hash into s and, if nodes is not NULL, its figures as
 * {"node", "readers", "acks"}. 0 or -1 (err set). */
static int stats_node(redisContext *c, const char *prefix, const char *id, const char *node,
                      struct receipt_sum *s, json_t *nodes, char *err, size_t errlen)
{
    size_t len = strlen(prefix) + strlen(RKEYS_RCPT) + strlen(id) + strlen(node) + 2;
    char *key = malloc(len);
    struct receipt_sum one = {0};
    if (key == NULL || rkeys_receipts(key, len, prefix, id, node)) {
        free(key);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    redisReply *r = redisCommand(c, "HGETALL %s", key);
    free(key);
    int rc = stats_failed(c, r, REDIS_REPLY_ARRAY, err, errlen);
    for (size_t i = 0; rc == 0 && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        /* A field this version does not know (a newer node's) is skipped. */
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            receipt_sum_field(&one, k->str, v->str) == 0)
            receipt_sum_field(s, k->str, v->str);
    }
    if (r)
        freeReplyObject(r);
    if (rc == 0 && nodes &&
        json_array_append_new(nodes,
                              json_pack("{s:s, s:I, s:I}", "node", node, "readers",
                                        (json_int_t)one.written, "acks", (json_int_t)one.acks)))
        return snprintf(err, errlen, "out of memory"), -1;
    return rc;
}

/* Every node's figures for `id`, summed into s; per node into `nodes`
 * (may be NULL). 0 or -1 (err set). */
static int stats_read(redisContext *c, const char *prefix, const char *id, struct receipt_sum *s,
                      json_t *nodes, char *err, size_t errlen)
{
    size_t len = strlen(prefix) + strlen(RKEYS_RCPT) + strlen(id) + 1;
    char *key = malloc(len);
    memset(s, 0, sizeof(*s));
    if (key == NULL || rkeys_receipts(key, len, prefix, id, NULL)) {
        free(key);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    redisReply *r = redisCommand(c, "SMEMBERS %s", key);
    free(key);
    int rc = stats_failed(c, r, REDIS_REPLY_ARRAY, err, errlen);
    for (size_t i = 0; rc == 0 && i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        rc = stats_node(c, prefix, id, r->element[i]->str, s, nodes, err, errlen);
        s->nodes++;
    }
    if (r)
        freeReplyObject(r);
    return rc;
}

/* ------------------------------------------------------------------------
 * Printing
 * ---------------------------------------------------------------------- */

static json_t *stats_quantiles(const struct receipt_sum *s, enum receipt_hist h)
{
    double p50 = receipt_quantile(s, h, 0.5), p99 = receipt_quantile(s, h, 0.99);
    if (p50 < 0)
        return json_null();
    return json_pack("{s:f, s:f}", "p50", p50, "p99", p99);
}

static int stats_print_json(const char *id, const struct receipt_sum *s, json_t *nodes)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:O}", "id", id, "readers",
                          (json_int_t)s->written, "nodes", (json_int_t)s->nodes, "acks",
                          (json_int_t)s->acks, "to_socket_ms", stats_quantiles(s, RECEIPT_SOCKET),
                          "to_screen_ms", stats_quantiles(s, RECEIPT_SCREEN), "per_node", nodes);
    if (o == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    putchar('\n');
    json_decref(o);
    return CLI_EXIT_OK;
}

static void stats_print_line(const char *id, const struct receipt_sum *s)
{
    char line[256];
    receipt_format(s, line, sizeof(line));
    printf("%s: %s\n", id, line);
}

int stats_after_wait(redisContext *c, const char *prefix, const char *id, long wait_ms,
                     const char *where)
{
    struct receipt_sum s;
    char err[CLI_ERRLEN];
    struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
    fflush(stdout); /* the id first, before the wait */
    while (nanosleep(&ts, &ts) != 0)
        ;
    if (stats_read(c, prefix, id, &s, NULL, err, sizeof(err))) {
        cli_error("%s: receipts of %s: %s", where, id, err);
        return CLI_EXIT_REDIS;
    }
    stats_print_line(id, &s);
    return CLI_EXIT_OK;
}

int stats_parse_wait(const char *s, long *ms)
{
    long v;
    char digits[16];
    size_t n = strspn(s, "0123456789");
    const char *unit = s + n;
    int scale = strcmp(unit, "ms") == 0 ? 1 : (*unit == '\0' || strcmp(unit, "s") == 0) ? 1000 : 0;
    if (n == 0 || n >= sizeof(digits) || scale == 0)
        return -1;
    memcpy(digits, s, n);
    digits[n] = '\0';
    if (cli_parse_long(digits, 1, STATS_WAIT_MAX_MS, &v) || v * scale > STATS_WAIT_MAX_MS)
        return -1;
    *ms = v * scale;
    return 0;
}

/* ------------------------------------------------------------------------
 * alert stats
 * ---------------------------------------------------------------------- */

int stats_cmd(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"json", no_argument, NULL, STATS_OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    struct cli_common common;
    struct receipt_sum s;
    struct item_id parsed;
    char err[CLI_ERRLEN], where[400];
    const char *shortopts = cli_getopt_begin("h");
    int json = 0, opt, status;

    cli_common_init(&common, argv[0]);
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (cli_common_option(&common, opt, optarg))
            continue;
        if (opt != STATS_OPT_JSON)
            return cli_getopt_error(common.cmd, opt, argv);
        json = 1;
    }
    if ((status = cli_common_finish(&common, stats_help)) >= 0)
        return status;
    if (optind >= argc)
        return cli_usage(common.cmd, "missing the ID of the alert");
    if (optind + 1 < argc)
        return cli_usage(common.cmd, "unexpected argument '%s'", argv[optind + 1]);
    const char *id = argv[optind];
    if (item_id_parse(id, &parsed) != 0)
        return cli_usage(common.cmd, "'%.60s' is not an alert id (like 1700000000000-0)", id);
    redisContext *c = cli_connect(&common, &status, where, sizeof(where));
    if (c == NULL)
        return status;
    json_t *nodes = json ? json_array() : NULL;
    int rc = stats_read(c, common.prefix, id, &s, nodes, err, sizeof(err));
    redisFree(c);
    if (rc) {
        json_decref(nodes);
        cli_error("%s: %s", where, err);
        return CLI_EXIT_REDIS;
    }
    if (json)
        status = stats_print_json(id, &s, nodes);
    else
        stats_print_line(id, &s);
    json_decref(nodes);
    return cli_flush_stdout(json ? status : CLI_EXIT_OK);
}
