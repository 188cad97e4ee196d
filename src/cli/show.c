/*
 * show — `alert list` and `alert status`; see show.h. The reads are in
 * query.c; this file owns arguments and output formats.
 */
#include "show.h"

#include "cli.h"
#include "pending.h"
#include "query.h"

#include <stdio.h>
#include <string.h>

#define SHOW_LIMIT_DEFAULT 20
#define SHOW_LIMIT_MAX     1000
#define SHOW_SCAN_FACTOR   10 /* examine up to 10 x limit entries (filters, folding) */

enum { SHOW_OPT_LIMIT = 400, SHOW_OPT_TOPIC, SHOW_OPT_LANG, SHOW_OPT_JSON, SHOW_OPT_EMBARGOED };

#define SHOW_COMMON_HELP                                                                           \
    "  --redis URL            redis://[user:password@]host[:port][/db], unix:///path, or\n"        \
    "                         redis+sentinel://[user:password@]host[:port][,...]/MASTER[/db]\n"    \
    "                         (env ALERT_REDIS_URL; default redis://127.0.0.1:6379)\n"             \
    "  --prefix P             key prefix (env ALERT_PREFIX; default alert)\n"                      \
    "  -h, --help             this help;  --version  the version\n"                                \
    "\n"                                                                                           \
    "Exit status: 0 done, 2 usage error, 3 Redis unreachable or refused.\n"

static const char show_help_list[] =
    "Usage: alert list [--limit N] [--topic T] [--lang L] [--json] [--embargoed]\n"
    "Prints the recent history, newest first: one line per item\n"
    "  <id>  <published_at>  <urgency>  <kind> <headline>\n"
    "or, with --json, a JSON array of the items, each with its \"id\" first.\n\n"
    "  --limit N              at most N items, 1-1000 (default 20)\n"
    "  --topic T              only items with topic T\n"
    "  --lang L               only items in language L (en also matches en-GB)\n"
    "  --json                 JSON output\n"
    "  --embargoed            instead, the embargoed alerts not yet released, the\n"
    "                         next first: <handle>  <release time>  <urgency>  <headline>\n"
    "                         (--json: [{\"handle\", \"release_at\", \"item\"}])\n"
    "Each story is listed once, as its newest version; a retracted one only as\n"
    "its retraction. At most 10 x N of the newest entries are examined.\n\n" SHOW_COMMON_HELP;

static const char show_help_status[] =
    "Usage: alert status [--json]\n"
    "Prints the alertd nodes subscribed to the live channel, the stream length\n"
    "and the newest id.\n\n"
    "  --json                 JSON output\n" SHOW_COMMON_HELP;

/* ------------------------------------------------------------------------
 * Output helpers
 * ---------------------------------------------------------------------- */

/* Text from an item on one terminal line: control characters (newline,
 * tab, escapes) become spaces. */
static void show_text(const char *s)
{
    for (; s && *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static const char *show_str(const json_t *item, const char *key)
{
    const char *s = json_string_value(json_object_get(item, key));
    return s ? s : "";
}

/* <id>  <published_at>  <urgency>  <kind> <headline>; an update adds its
 * version and ref, a retraction names its ref and reason. */
static void show_line(const json_t *item)
{
    const char *kind = show_str(item, "kind");
    printf("%s  %s  %s  %s ", show_str(item, "id"), show_str(item, "published_at"),
           show_str(item, "urgency"), kind);
    if (strcmp(kind, "retraction") == 0) {
        printf("of %s", show_str(item, "ref"));
        if (json_object_get(item, "summary")) {
            fputs(": ", stdout);
            show_text(show_str(item, "summary"));
        }
    } else {
        show_text(show_str(item, "headline"));
        if (strcmp(kind, "update") == 0)
            printf(" (v%lld of %s)",
                   (long long)json_integer_value(json_object_get(item, "version")),
                   show_str(item, "ref"));
    }
    putchar('\n');
}

/* <handle>  <release_at>  <urgency>  <headline> of one pending alert. */
static void show_pending_line(const json_t *e)
{
    const json_t *item = json_object_get(e, "item");
    printf("%s  %s  %s  ", show_str(e, "handle"), show_str(e, "release_at"),
           show_str(item, "urgency"));
    show_text(show_str(item, "headline"));
    putchar('\n');
}

/* --json output: the value, indented, then a newline. */
static void show_json(const json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2));
    putchar('\n');
}

#define SHOW_JSON      0x1 /* --json */
#define SHOW_EMBARGOED 0x2 /* --embargoed */

/* The getopt loop both subcommands share. Returns -1 to go on, else an
 * exit status. */
static int show_parse(struct cli_common *common, struct query_filter *f, int *flags, int argc,
                      char **argv, const struct option *longopts, const char *help)
{
    const char *shortopts = cli_getopt_begin("h");
    int opt;
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (cli_common_option(common, opt, optarg))
            continue;
        switch (opt) {
        case SHOW_OPT_LIMIT:
            if (cli_parse_long(optarg, 1, SHOW_LIMIT_MAX, &f->limit) != 0)
                return cli_usage(common->cmd, "--limit must be 1-%d, not '%.40s'", SHOW_LIMIT_MAX,
                                 optarg);
            break;
        case SHOW_OPT_TOPIC:
            f->topic = optarg;
            break;
        case SHOW_OPT_LANG:
            f->lang = optarg;
            break;
        case SHOW_OPT_JSON:
            *flags |= SHOW_JSON;
            break;
        case SHOW_OPT_EMBARGOED:
            *flags |= SHOW_EMBARGOED;
            break;
        default:
            return cli_getopt_error(common->cmd, opt, argv);
        }
    }
    int status = cli_common_finish(common, help);
    if (status >= 0)
        return status;
    if (optind < argc)
        return cli_usage(common->cmd, "unexpected argument '%s'", argv[optind]);
    if ((*flags & SHOW_EMBARGOED) && (f->topic || f->lang))
        return cli_usage(common->cmd, "--topic and --lang do not apply to --embargoed");
    return -1;
}

/* ------------------------------------------------------------------------
 * alert list
 * ---------------------------------------------------------------------- */

int show_cmd_list(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"limit", required_argument, NULL, SHOW_OPT_LIMIT},
        {"topic", required_argument, NULL, SHOW_OPT_TOPIC},
        {"lang", required_argument, NULL, SHOW_OPT_LANG},
        {"json", no_argument, NULL, SHOW_OPT_JSON},
        {"embargoed", no_argument, NULL, SHOW_OPT_EMBARGOED},
        {NULL, 0, NULL, 0},
    };
    struct cli_common common;
    struct query_filter f = {.limit = SHOW_LIMIT_DEFAULT};
    char err[CLI_ERRLEN], where[400];
    int flags = 0, status;
    unsigned skipped;

    cli_common_init(&common, argv[0]);
    if ((status = show_parse(&common, &f, &flags, argc, argv, longopts, show_help_list)) >= 0)
        return status;
    f.scan_max = f.limit * SHOW_SCAN_FACTOR;
    redisContext *c = cli_connect(&common, &status, where, sizeof(where));
    if (c == NULL)
        return status;
    json_t *items = (flags & SHOW_EMBARGOED)
                        ? pending_list(c, common.prefix, f.limit, &skipped, err, sizeof(err))
                        : query_recent(c, common.prefix, &f, &skipped, err, sizeof(err));
    redisFree(c);
    if (items == NULL) {
        cli_error("%s: %s", where, err);
        return CLI_EXIT_REDIS;
    }
    if (flags & SHOW_JSON) {
        show_json(items);
    } else {
        size_t i;
        json_t *item;
        json_array_foreach (items, i, item)
            (flags & SHOW_EMBARGOED) ? show_pending_line(item) : show_line(item);
    }
    json_decref(items);
    if (skipped)
        cli_error("warning: %u %s skipped: not valid items", skipped,
                  (flags & SHOW_EMBARGOED) ? "embargoed records" : "stream entries");
    return cli_flush_stdout(CLI_EXIT_OK);
}

/* ------------------------------------------------------------------------
 * alert status
 * ---------------------------------------------------------------------- */

static int show_status_human(const char *where, const char *prefix, const struct query_status *s)
{
    printf("redis     %s\n", where);
    printf("nodes     %lld subscribed to %s:live\n", s->nodes, prefix);
    printf("stream    %s:stream, %lld entries\n", prefix, s->length);
    if (s->last_id[0])
        printf("last id   %s%s%s%s\n", s->last_id, s->last_published_at[0] ? " (published " : "",
               s->last_published_at, s->last_published_at[0] ? ")" : "");
    else
        printf("last id   none\n");
    return CLI_EXIT_OK;
}

static int show_status_json(const char *where, const char *prefix, const struct query_status *s)
{
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "redis", where, "prefix", prefix, "nodes",
                  (json_int_t)s->nodes, "stream_length", (json_int_t)s->length, "last_id",
                  s->last_id[0] ? json_string(s->last_id) : json_null(), "last_published_at",
                  s->last_published_at[0] ? json_string(s->last_published_at) : json_null());
    if (o == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    show_json(o);
    json_decref(o);
    return CLI_EXIT_OK;
}

int show_cmd_status(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"json", no_argument, NULL, SHOW_OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    struct cli_common common;
    struct query_filter unused = {0};
    struct query_status st;
    char err[CLI_ERRLEN], where[400];
    int flags = 0, status;

    cli_common_init(&common, argv[0]);
    if ((status = show_parse(&common, &unused, &flags, argc, argv, longopts, show_help_status)) >=
        0)
        return status;
    redisContext *c = cli_connect(&common, &status, where, sizeof(where));
    if (c == NULL)
        return status;
    int rc = query_status(c, common.prefix, &st, err, sizeof(err));
    redisFree(c);
    if (rc != 0) {
        cli_error("%s: %s", where, err);
        return CLI_EXIT_REDIS;
    }
    status = (flags & SHOW_JSON) ? show_status_json(where, common.prefix, &st)
                                 : show_status_human(where, common.prefix, &st);
    return cli_flush_stdout(status);
}
