/*
 * push — `alert push`, `alert update` and `alert retract`; see push.h.
 *
 * The order of a run: arguments, then the item (from -f and the options),
 * which must be valid before anything is sent, then one connection and one
 * script call (publish.c). An update first reads the alert it revises and
 * starts from its content; a retraction carries the lang and topics of the
 * alert it withdraws, so that every reader who got the alert gets the
 * retraction too.
 */
#include "push.h"

#include "cli.h"
#include "item.h"
#include "options.h"
#include "publish.h"
#include "query.h"
#include "stats.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSH_OPT_REASON (OPT_MAXLEN + 1)
#define PUSH_OPT_WAIT   (OPT_MAXLEN + 2)

#define PUSH_ITEM_HELP                                                                             \
    "Item options:\n"                                                                              \
    "  --headline TEXT        1-280 characters (required, except for an update)\n"                 \
    "  --summary TEXT         up to 1000 characters\n"                                             \
    "  --url URL              http(s) link to the story\n"                                         \
    "  --urgency LEVEL        flash, bulletin (default), urgent or routine\n"                      \
    "  --lang TAG             BCP 47 language tag (default en)\n"                                  \
    "  --topic SLUG           " ITEM_TOPIC_RULE "; repeat for several (at most 16)\n"              \
    "  --byline TEXT          e.g. \"VOA News\"\n"                                                 \
    "  --credit TEXT          e.g. \"Some information from AP and Reuters\"\n"                     \
    "  --image URL            http(s) image; --caption TEXT, --image-credit TEXT\n"                \
    "  --expires DURATION     stop showing it after 90s, 30m, 2h, 1d, ... from now\n"              \
    "  -f, --file FILE|-      item JSON from a file or standard input (at most 16 KiB);\n"         \
    "                         options given as well override its fields\n"

#define PUSH_PUBLISH_HELP                                                                          \
    "Publishing:\n"                                                                                \
    "  --key KEY              idempotency key: a retry with the same key within 24 h\n"            \
    "                         returns the first id and publishes nothing (default: a\n"            \
    "                         new random key, printed when the outcome is unknown)\n"              \
    "  --maxlen N             history kept, roughly (XADD MAXLEN ~; env ALERT_MAXLEN,\n"           \
    "                         default 10000)\n"                                                    \
    "  --wait TIME            then wait TIME (2s, 500ms; at most 60s) and print on a\n"            \
    "                         second line whom it reached, as 'alert stats ID' does\n"

#define PUSH_COMMON_HELP                                                                           \
    "Common options:\n"                                                                            \
    "  --redis URL            redis://[user:password@]host[:port][/db], unix:///path, or\n"        \
    "                         redis+sentinel://[user:password@]host[:port][,...]/MASTER[/db]\n"    \
    "                         (env ALERT_REDIS_URL; default redis://127.0.0.1:6379)\n"             \
    "  --prefix P             key prefix (env ALERT_PREFIX; default alert)\n"                      \
    "  -h, --help             this help;  --version  the version\n"                                \
    "\n"                                                                                           \
    "Exit status: 0 published (its id on stdout), 2 usage error or invalid item,\n"                \
    "3 Redis unreachable or refused (nothing was published), 4 sent but Redis did\n"               \
    "not answer (it may have been published: retry with the --key printed).\n"

static const char push_help_push[] =
    "Usage: alert push [ITEM OPTIONS] [-f FILE|-]\n"
    "Publishes a new alert and prints its id. A warning on stderr says when no\n"
    "alertd node is subscribed: the alert is stored and nodes catch up.\n\n" PUSH_ITEM_HELP
    "\n" PUSH_PUBLISH_HELP "\n" PUSH_COMMON_HELP;

static const char push_help_update[] =
    "Usage: alert update ID [ITEM OPTIONS] [-f FILE|-]\n"
    "Publishes the next version of alert ID and prints the new id. The update\n"
    "starts from the content of ID; -f and the options replace fields.\n\n" PUSH_ITEM_HELP
    "\n" PUSH_PUBLISH_HELP "\n" PUSH_COMMON_HELP;

static const char push_help_retract[] =
    "Usage: alert retract ID [--reason TEXT]\n"
    "Withdraws alert ID: tickers remove it. Prints the retraction's id.\n\n"
    "  --reason TEXT          why, up to 1000 characters (sent as the "
    "summary)\n\n" PUSH_PUBLISH_HELP "\n" PUSH_COMMON_HELP;

/* One run of a publishing subcommand. */
struct push_run {
    struct cli_common common;
    struct options_item opts;
    const char *kind;          /* "alert", "update", "retraction" */
    const char *help;          /* the subcommand's --help text */
    const char *ref;           /* ID of update/retract: the original alert's */
    char root[ITEM_ID_STRLEN]; /* ref, when the ID named was an update */
    const char *key;           /* --key, or auto_key */
    char auto_key[48];         /* made when --key is not given */
    const char *maxlen_s;      /* --maxlen or ALERT_MAXLEN */
    long maxlen;
    long wait_ms;                  /* --wait: report the receipts after that long; 0: no */
    char text[ITEM_MAX_BYTES + 1]; /* -f contents */
    long text_len;                 /* -1: no file */
};

/* ------------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------- */

static const struct option push_longopts_item[] = {
    OPTIONS_ITEM_LONGOPTS,
    CLI_COMMON_LONGOPTS,
    {"key", required_argument, NULL, OPT_KEY},
    {"maxlen", required_argument, NULL, OPT_MAXLEN},
    {"wait", required_argument, NULL, PUSH_OPT_WAIT},
    {NULL, 0, NULL, 0},
};

static const struct option push_longopts_retract[] = {
    CLI_COMMON_LONGOPTS,
    {"reason", required_argument, NULL, PUSH_OPT_REASON},
    {"key", required_argument, NULL, OPT_KEY},
    {"maxlen", required_argument, NULL, OPT_MAXLEN},
    {"wait", required_argument, NULL, PUSH_OPT_WAIT},
    {NULL, 0, NULL, 0},
};

/* An idempotency key becomes part of a key name: printable, no spaces. */
static int push_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > OPTIONS_KEY_MAX)
        return 0;
    for (; *k; k++)
        if ((unsigned char)*k <= 0x20 || (unsigned char)*k >= 0x7f)
            return 0;
    return 1;
}

/* Reports an item error the way every subcommand does; CLI_EXIT_USAGE. */
static int push_invalid(const struct item_error *e)
{
    if (e->field[0])
        cli_error("invalid item: %s: %s", e->field, e->message);
    else
        cli_error("invalid item: %s", e->message);
    return CLI_EXIT_USAGE;
}

/* Takes one option; returns -1 to go on, else an exit status. */
static int push_option(struct push_run *run, int opt, const char *arg, char **argv)
{
    struct item_error ierr;
    if (cli_common_option(&run->common, opt, arg))
        return -1;
    switch (opt) {
    case OPT_KEY:
        run->key = arg;
        return -1;
    case OPT_MAXLEN:
        run->maxlen_s = arg;
        return -1;
    case PUSH_OPT_WAIT:
        if (stats_parse_wait(arg, &run->wait_ms))
            return cli_usage(run->common.cmd,
                             "--wait wants 1ms-60s, such as 2s or 500ms, not '%.40s'", arg);
        return -1;
    case PUSH_OPT_REASON:
        /* A retraction's reason travels as its summary. */
        opt = OPT_SUMMARY;
        break;
    case '?':
    case ':':
        return cli_getopt_error(run->common.cmd, opt, argv);
    }
    int taken = options_take(&run->opts, opt, arg, &ierr);
    if (taken < 0)
        return push_invalid(&ierr);
    if (taken == 0)
        return cli_usage(run->common.cmd, "unexpected option");
    return -1;
}

/* Parses argv into run; returns -1 to go on, else an exit status. */
static int push_parse(struct push_run *run, int argc, char **argv)
{
    int retract = strcmp(run->kind, "retraction") == 0;
    const struct option *longopts = retract ? push_longopts_retract : push_longopts_item;
    const char *shortopts = cli_getopt_begin(retract ? "h" : "hf:");
    int opt, status;

    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
        if ((status = push_option(run, opt, optarg, argv)) >= 0)
            return status;
    if ((status = cli_common_finish(&run->common, run->help)) >= 0)
        return status;

    int want = strcmp(run->kind, "alert") == 0 ? 0 : 1;
    if (argc - optind < want)
        return cli_usage(run->common.cmd, "missing the ID of the alert");
    if (argc - optind > want)
        return cli_usage(run->common.cmd, "unexpected argument '%s'", argv[optind + want]);
    if (want) {
        struct item_id id;
        run->ref = argv[optind];
        if (item_id_parse(run->ref, &id) != 0)
            return cli_usage(run->common.cmd, "'%.60s' is not an alert id (like 1700000000000-0)",
                             run->ref);
    }
    if (run->key && !push_key_ok(run->key))
        return cli_usage(run->common.cmd, "--key must be 1-%d printable characters without spaces",
                         OPTIONS_KEY_MAX);
    if (run->maxlen_s && cli_parse_long(run->maxlen_s, 1, OPTIONS_MAXLEN_MAX, &run->maxlen) != 0)
        return cli_usage(run->common.cmd, "--maxlen (or ALERT_MAXLEN) must be 1-%ld, not '%.40s'",
                         OPTIONS_MAXLEN_MAX, run->maxlen_s);
    return -1;
}

/* ------------------------------------------------------------------------
 * The item
 * ---------------------------------------------------------------------- */

/* Turns the alert an update revises into the update's starting point: its
 * content without identity and time, an expiry already past dropped (it
 * would make the update invalid), and a provisional version - the script
 * sets the real one, but the item must be valid as sent. */
static void push_base_update(json_t *ref)
{
    static const char *const drop[] = {"id", "kind", "ref", "published_at"};
    json_int_t version = json_integer_value(json_object_get(ref, "version"));
    const char *expires = json_string_value(json_object_get(ref, "expires_at"));
    int64_t expires_ms;

    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        json_object_del(ref, drop[i]);
    if (expires &&
        (item_time_parse(expires, &expires_ms) != 0 || expires_ms <= item_time_now_ms() + 1000))
        json_object_del(ref, "expires_at");
    json_object_set_new(ref, "version", json_integer(version >= 1 ? version + 1 : 2));
}

/* What an update or retraction starts from: for an update the content of
 * the alert it revises, for a retraction that alert's lang and topics.
 * Returns -1 to go on (*base set), else an exit status. */
static int push_base(struct push_run *run, redisContext *c, const char *where, json_t **base)
{
    char err[CLI_ERRLEN];
    json_t *ref = NULL;
    int rc = query_fetch(c, run->common.prefix, run->ref, &ref, err, sizeof(err));

    *base = NULL;
    if (rc == QUERY_NOT_FOUND || rc == QUERY_ERR_ITEM) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    if (rc != QUERY_OK) {
        cli_error("%s: %s", where, err);
        return CLI_EXIT_REDIS;
    }
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    if (kind && strcmp(kind, "retraction") == 0) {
        json_decref(ref);
        cli_error("%s: is a retraction; name the alert it withdrew", run->ref);
        return CLI_EXIT_USAGE;
    }
    /* Every version of a story refers to its original alert, so readers
     * replace or withdraw the story whichever version they hold: naming
     * an update means its original. */
    const char *root = json_string_value(json_object_get(ref, "ref"));
    if (kind && strcmp(kind, "update") == 0 && root && strlen(root) < sizeof(run->root)) {
        memcpy(run->root, root, strlen(root) + 1);
        run->ref = run->root;
    }
    if (strcmp(run->kind, "update") == 0) {
        push_base_update(ref);
        *base = ref;
        return -1;
    }
    if ((*base = json_object()) == NULL) {
        json_decref(ref);
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    json_t *lang = json_object_get(ref, "lang"), *topics = json_object_get(ref, "topics");
    if (lang)
        json_object_set(*base, "lang", lang);
    if (topics)
        json_object_set(*base, "topics", topics);
    json_decref(ref);
    return -1;
}

/* The encoding that is published: "version" first (the script rewrites it
 * for an update), then the item's members in order. NULL with *err. */
static char *push_encode(const json_t *item, size_t *len, struct item_error *err)
{
    json_t *o = json_object();
    json_t *v = json_object_get(item, "version");
    char *enc = NULL;

    memset(err, 0, sizeof(*err));
    if (o == NULL || json_object_set_new(o, "version", v ? json_incref(v) : json_integer(1)) ||
        json_object_update_missing(o, (json_t *)item) != 0 || (enc = item_encode(o, len)) == NULL) {
        snprintf(err->message, sizeof(err->message), "out of memory");
    } else if (*len + PUBLISH_ID_OVERHEAD > ITEM_MAX_BYTES) {
        snprintf(err->message, sizeof(err->message),
                 "%zu bytes encoded; with its id an item must fit in %d bytes", *len,
                 ITEM_MAX_BYTES);
        free(enc);
        enc = NULL;
    }
    json_decref(o);
    return enc;
}

/* ------------------------------------------------------------------------
 * Publishing
 * ---------------------------------------------------------------------- */

/* Without --key, a fresh random key: every publish is then safe to retry
 * (the script publishes at most once per key within 24 h). */
static int push_auto_key(struct push_run *run)
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -1;
    int n = snprintf(run->auto_key, sizeof(run->auto_key), "auto-");
    for (size_t i = 0; i < sizeof(r); i++)
        n += snprintf(run->auto_key + n, sizeof(run->auto_key) - (size_t)n, "%02x", r[i]);
    run->key = run->auto_key;
    return 0;
}

/* Prints the outcome; returns the exit status. */
static int push_report(const struct push_run *run, const struct publish_result *res)
{
    printf("%s\n", res->id);
    if (res->duplicate)
        cli_error("note: --key %s was already used for %s; nothing new was published", run->key,
                  res->id);
    else if (res->subscribers == 0)
        cli_error("warning: no alertd node is subscribed; the alert is stored and nodes will "
                  "catch up");
    return cli_flush_stdout(CLI_EXIT_OK);
}

static int push_publish(struct push_run *run, redisContext *c, const char *where,
                        const json_t *item)
{
    struct item_error ierr;
    struct publish_result res;
    char err[CLI_ERRLEN];
    size_t len;
    char *enc = push_encode(item, &len, &ierr);
    if (enc == NULL)
        return push_invalid(&ierr);

    struct publish_request req = {
        .prefix = run->common.prefix,
        .item = enc,
        .item_len = len,
        .kind = json_string_value(json_object_get(item, "kind")),
        .ref = json_string_value(json_object_get(item, "ref")),
        .idem_key = run->key,
        .maxlen = run->maxlen,
    };
    if (req.kind == NULL)
        req.kind = "alert";
    if (req.idem_key == NULL) {
        if (push_auto_key(run)) {
            free(enc);
            cli_error("no random bytes for an idempotency key: give one with --key");
            return CLI_EXIT_FAIL;
        }
        req.idem_key = run->key;
    }
    int rc = publish_item(c, &req, &res, err, sizeof(err));
    free(enc);
    switch (rc) {
    case PUBLISH_OK:
        rc = push_report(run, &res);
        if (rc == CLI_EXIT_OK && run->wait_ms)
            rc = stats_after_wait(c, run->common.prefix, res.id, run->wait_ms, where);
        return rc;
    case PUBLISH_ERR_REF:
        cli_error("%s: no such alert in history", req.ref ? req.ref : "?");
        return CLI_EXIT_USAGE;
    case PUBLISH_ERR_INPUT:
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    case PUBLISH_ERR_UNKNOWN:
        cli_error("%s: the alert was sent but Redis did not answer (%s): it may have been "
                  "published. Retry with --key %s to publish it at most once.",
                  where, err, req.idem_key);
        return CLI_EXIT_UNKNOWN;
    default:
        cli_error("%s: %s; nothing was published", where, err);
        return CLI_EXIT_REDIS;
    }
}

/* Builds the item over `base`; returns -1 to go on (*item set), else an
 * exit status. */
static int push_item(struct push_run *run, const json_t *base, json_t **item)
{
    struct item_error ierr;
    const char *text = run->text_len >= 0 ? run->text : NULL;
    const char *kind = strcmp(run->kind, "alert") == 0 ? NULL : run->kind;
    *item = options_build(&run->opts, base, text, text ? (size_t)run->text_len : 0, kind, run->ref,
                          &ierr);
    return *item ? -1 : push_invalid(&ierr);
}

static int push_main(struct push_run *run, int argc, char **argv)
{
    char err[CLI_ERRLEN], where[400];
    json_t *base = NULL, *item = NULL;
    redisContext *c = NULL;
    int status;

    if ((status = push_parse(run, argc, argv)) >= 0)
        return status;
    if (run->opts.file) {
        run->text_len =
            options_read_file(run->opts.file, run->text, sizeof(run->text), err, sizeof(err));
        if (run->text_len < 0) {
            cli_error("%s%s", run->text_len == -2 ? "invalid item: " : "", err);
            return CLI_EXIT_USAGE;
        }
    }
    /* A new alert is checked before connecting; an update needs its base. */
    if (run->ref == NULL && (status = push_item(run, NULL, &item)) >= 0)
        return status;
    if ((c = cli_connect(&run->common, &status, where, sizeof(where))) == NULL)
        goto done;
    if (run->ref && ((status = push_base(run, c, where, &base)) >= 0 ||
                     (status = push_item(run, base, &item)) >= 0))
        goto done;
    status = push_publish(run, c, where, item);
done:
    if (c)
        redisFree(c);
    json_decref(base);
    json_decref(item);
    return status;
}

/* Runs one subcommand of this file with a heap-held run (it holds a 16 KiB
 * buffer). */
static int push_start(const char *kind, const char *help, int argc, char **argv)
{
    struct push_run *run = calloc(1, sizeof(*run));
    if (run == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    cli_common_init(&run->common, argv[0]);
    options_init(&run->opts);
    run->kind = kind;
    run->help = help;
    run->text_len = -1;
    run->maxlen = OPTIONS_MAXLEN_DEFAULT;
    run->maxlen_s = getenv("ALERT_MAXLEN");
    if (run->maxlen_s && *run->maxlen_s == '\0')
        run->maxlen_s = NULL;
    int status = push_main(run, argc, argv);
    options_free(&run->opts);
    free(run);
    return status;
}

int push_cmd_push(int argc, char **argv)
{
    return push_start("alert", push_help_push, argc, argv);
}

int push_cmd_update(int argc, char **argv)
{
    return push_start("update", push_help_update, argc, argv);
}

int push_cmd_retract(int argc, char **argv)
{
    return push_start("retraction", push_help_retract, argc, argv);
}
