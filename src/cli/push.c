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

#include "itemsig.h"
#include "pushrun.h"
#include "query.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSH_OPT_REASON          (OPT_MAXLEN + 1)
#define PUSH_OPT_DURABLE         (OPT_MAXLEN + 2)
#define PUSH_OPT_DURABLE_TIMEOUT (OPT_MAXLEN + 3)
#define PUSH_OPT_EMBARGO         (OPT_MAXLEN + 4)
#define PUSH_OPT_WAIT            (OPT_MAXLEN + 5)
#define PUSH_OPT_SIGN_KEY        (OPT_MAXLEN + 8)

#define PUSH_DURABLE_MAX         100   /* replicas --durable=N may ask for */
#define PUSH_DURABLE_TIMEOUT_MS  1000  /* --durable-timeout's default */
#define PUSH_DURABLE_TIMEOUT_MAX 60000 /* and its largest value */

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
    "                         options given as well override its fields\n"                         \
    "  --embargo-until TIME   hold it until TIME (15m, 2h, ... from now, or RFC 3339):\n"          \
    "                         prints a handle (emb-...) that update and retract take\n"

#define PUSH_PUBLISH_HELP                                                                          \
    "Publishing:\n"                                                                                \
    "  --key KEY              idempotency key: a retry with the same key within 24 h\n"            \
    "                         returns the first id and publishes nothing (default: a\n"            \
    "                         new random key, printed when the outcome is unknown)\n"              \
    "  --maxlen N             history kept, roughly (XADD MAXLEN ~; env ALERT_MAXLEN,\n"           \
    "                         default 10000)\n"                                                    \
    "  --durable[=N]          after publishing, wait until N replicas (default 1) hold\n"          \
    "                         it (Redis WAIT); exit 5 if they do not confirm in time\n"            \
    "  --durable-timeout MS   how long --durable waits, 1-60000 ms (default 1000)\n"               \
    "  --sign-key FILE        sign the item with this Ed25519 private key (PEM, from\n"            \
    "                         alert keygen; mode 0600) (env ALERT_SIGN_KEY)\n"                     \
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
    "not answer (it may have been published: retry with the --key printed),\n"                     \
    "5 published (its id on stdout) but --durable's replicas did not confirm it.\n"

static const char push_help_push[] =
    "Usage: alert push [ITEM OPTIONS] [-f FILE|-]\n"
    "Publishes a new alert and prints its id. A warning on stderr says when no\n"
    "alertd node is subscribed: the alert is stored and nodes catch up.\n\n" PUSH_ITEM_HELP
    "\n" PUSH_PUBLISH_HELP "\n" PUSH_COMMON_HELP;

static const char push_help_update[] =
    "Usage: alert update ID [ITEM OPTIONS] [-f FILE|-]\n"
    "Publishes the next version of alert ID and prints the new id. The update\n"
    "starts from the content of ID; -f and the options replace fields. ID may be\n"
    "the handle of an embargoed alert: it is replaced, still embargoed (until\n"
    "--embargo-until, if given), and the handle is printed.\n\n" PUSH_ITEM_HELP
    "\n" PUSH_PUBLISH_HELP "\n" PUSH_COMMON_HELP;

static const char push_help_retract[] =
    "Usage: alert retract ID [--reason TEXT]\n"
    "Withdraws alert ID: tickers remove it. Prints the retraction's id. ID may\n"
    "be the handle of an embargoed alert: it is cancelled, never published.\n\n"
    "  --reason TEXT          why, up to 1000 characters (sent as the "
    "summary)\n\n" PUSH_PUBLISH_HELP "\n" PUSH_COMMON_HELP;

/* ------------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------- */

static const struct option push_longopts_item[] = {
    OPTIONS_ITEM_LONGOPTS,
    CLI_COMMON_LONGOPTS,
    {"key", required_argument, NULL, OPT_KEY},
    {"maxlen", required_argument, NULL, OPT_MAXLEN},
    {"durable", optional_argument, NULL, PUSH_OPT_DURABLE},
    {"durable-timeout", required_argument, NULL, PUSH_OPT_DURABLE_TIMEOUT},
    {"sign-key", required_argument, NULL, PUSH_OPT_SIGN_KEY},
    {"embargo-until", required_argument, NULL, PUSH_OPT_EMBARGO},
    {"wait", required_argument, NULL, PUSH_OPT_WAIT},
    {NULL, 0, NULL, 0},
};

static const struct option push_longopts_retract[] = {
    CLI_COMMON_LONGOPTS,
    {"reason", required_argument, NULL, PUSH_OPT_REASON},
    {"key", required_argument, NULL, OPT_KEY},
    {"maxlen", required_argument, NULL, OPT_MAXLEN},
    {"durable", optional_argument, NULL, PUSH_OPT_DURABLE},
    {"durable-timeout", required_argument, NULL, PUSH_OPT_DURABLE_TIMEOUT},
    {"sign-key", required_argument, NULL, PUSH_OPT_SIGN_KEY},
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
    case PUSH_OPT_DURABLE:
        run->durable = 1;
        run->durable_s = arg;
        return -1;
    case PUSH_OPT_DURABLE_TIMEOUT:
        run->durable_timeout_s = arg;
        return -1;
    case PUSH_OPT_SIGN_KEY:
        run->sign_key_path = arg;
        return -1;
    case PUSH_OPT_EMBARGO:
        run->embargo_s = arg;
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
        return pushsend_invalid(&ierr);
    if (taken == 0)
        return cli_usage(run->common.cmd, "unexpected option");
    return -1;
}

/* Checks --durable[=N] and --durable-timeout; -1 to go on, else an exit
 * status. */
static int push_parse_durable(struct push_run *run)
{
    if (run->durable_s && cli_parse_long(run->durable_s, 1, PUSH_DURABLE_MAX, &run->replicas) != 0)
        return cli_usage(run->common.cmd, "--durable=N must be 1-%d replicas, not '%.40s'",
                         PUSH_DURABLE_MAX, run->durable_s);
    if (run->durable_timeout_s == NULL)
        return -1;
    if (!run->durable)
        return cli_usage(run->common.cmd, "--durable-timeout needs --durable");
    if (cli_parse_long(run->durable_timeout_s, 1, PUSH_DURABLE_TIMEOUT_MAX,
                       &run->durable_timeout) != 0)
        return cli_usage(run->common.cmd, "--durable-timeout must be 1-%d ms, not '%.40s'",
                         PUSH_DURABLE_TIMEOUT_MAX, run->durable_timeout_s);
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
        if (item_id_parse(run->ref, &id) != 0 && !embargo_handle_ok(run->ref))
            return cli_usage(run->common.cmd,
                             "'%.60s' is not an alert id (like 1700000000000-0) or an embargo "
                             "handle (emb- and 16 hex digits)",
                             run->ref);
        if (run->embargo_s && !embargo_handle_ok(run->ref))
            return cli_usage(run->common.cmd, "--embargo-until: only for a new alert or an "
                                              "embargoed one (a handle), not a published id");
    }
    if (run->embargo_s) {
        char err[CLI_ERRLEN];
        if (hold_parse_time(run, err, sizeof(err)) != 0)
            return cli_usage(run->common.cmd, "%s", err);
    }
    if (run->key && !push_key_ok(run->key))
        return cli_usage(run->common.cmd, "--key must be 1-%d printable characters without spaces",
                         OPTIONS_KEY_MAX);
    if (run->maxlen_s && cli_parse_long(run->maxlen_s, 1, OPTIONS_MAXLEN_MAX, &run->maxlen) != 0)
        return cli_usage(run->common.cmd, "--maxlen (or ALERT_MAXLEN) must be 1-%ld, not '%.40s'",
                         OPTIONS_MAXLEN_MAX, run->maxlen_s);
    if (run->sign_key_path) {
        char err[CLI_ERRLEN];
        if ((run->sign_key = itemsig_load_private(run->sign_key_path, err, sizeof(err))) == NULL)
            return cli_usage(run->common.cmd, "--sign-key (or ALERT_SIGN_KEY): %s", err);
    }
    return push_parse_durable(run);
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
    static const char *const drop[] = {"id", "kind", "ref", "published_at", "kid", "sig"};
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

/* A signed update carries over the content of the alert it revises, as
 * Redis holds it: content this key signed must still verify, or a
 * compromised Redis could have this key sign what it changed. Content it
 * cannot check (unsigned, another key) is taken with a note. 0 or -1. */
static int push_base_signed(const struct push_run *run, const json_t *ref)
{
    char kid[ITEM_KID_LEN + 1];
    const char *theirs = json_string_value(json_object_get(ref, "kid"));
    if (run->sign_key == NULL || itemsig_key_id(run->sign_key, kid) != 0)
        return 0;
    if (theirs && strcmp(theirs, kid) == 0) {
        if (itemsig_check(ref, run->sign_key) == 1)
            return 0;
        cli_error("%s in Redis fails its signature by this key (altered since it was "
                  "published?): refusing to sign an update built on it",
                  run->ref);
        return -1;
    }
    cli_error("note: %s is %s: the update signs its content as Redis holds it", run->ref,
              theirs ? "signed by another key" : "not signed");
    return 0;
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
    if (strcmp(run->kind, "update") == 0 && push_base_signed(run, ref) != 0) {
        json_decref(ref);
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

/* Builds the item over `base`; returns -1 to go on (*item set), else an
 * exit status. */
int push_item(struct push_run *run, const json_t *base, json_t **item)
{
    struct item_error ierr;
    const char *text = run->text_len >= 0 ? run->text : NULL;
    const char *kind = strcmp(run->kind, "alert") == 0 ? NULL : run->kind;
    *item = options_build(&run->opts, base, text, text ? (size_t)run->text_len : 0, kind, run->ref,
                          &ierr);
    return *item ? -1 : pushsend_invalid(&ierr);
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
    /* A handle: the pending alert is changed, unless it was released. */
    if (run->ref && embargo_handle_ok(run->ref) && (status = hold_change(run, c, where)) >= 0)
        goto done;
    if (run->ref && ((status = push_base(run, c, where, &base)) >= 0 ||
                     (status = push_item(run, base, &item)) >= 0))
        goto done;
    status = run->due_ms ? hold_push(run, c, where, item) : pushsend_publish(run, c, where, item);
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
    run->replicas = 1;
    run->durable_timeout = PUSH_DURABLE_TIMEOUT_MS;
    run->maxlen_s = getenv("ALERT_MAXLEN");
    if (run->maxlen_s && *run->maxlen_s == '\0')
        run->maxlen_s = NULL;
    run->sign_key_path = getenv("ALERT_SIGN_KEY");
    if (run->sign_key_path && *run->sign_key_path == '\0')
        run->sign_key_path = NULL;
    int status = push_main(run, argc, argv);
    options_free(&run->opts);
    EVP_PKEY_free(run->sign_key);
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
