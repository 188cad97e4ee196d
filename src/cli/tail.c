/*
 * tail — `alert tail`; see tail.h. This file owns the arguments, the
 * server URL, the frames of the wire protocol (proto/PROTOCOL.md) and the
 * output; the connection, its retries and the close codes are in
 * tailconn.c.
 */
#include "tail.h"

#include "cli.h"
#include "fields.h"
#include "item.h"
#include "itemsig.h"
#include "rkeys.h"
#include "tailconn.h"
#include "verify.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAIL_SERVER_DEFAULT   "wss://localhost:8443"
#define TAIL_PROTOCOL_VERSION 1  /* hello's "v" */
#define TAIL_AHEAD_KEPT       16 /* flashes sent ahead remembered, against printing twice */
#define TAIL_MAX_TOPICS       32 /* the server's limits per connection */
#define TAIL_MAX_LANGS        8
#define TAIL_TOKEN_MAX        2047 /* what alertd reads of token= */
#define TAIL_FIELDS_MAX       512  /* a --fields list: every name, and room */
#define TAIL_COUNT_MAX        1000000000L
#define TAIL_TIMEOUT_MAX      31536000L /* a year */
#define TAIL_MAX_AGE_MAX      86400L    /* --max-age: a day */

enum {
    TAIL_OPT_SERVER = 500,
    TAIL_OPT_TOPIC,
    TAIL_OPT_LANG,
    TAIL_OPT_SINCE,
    TAIL_OPT_INSECURE,
    TAIL_OPT_CA,
    TAIL_OPT_JSON,
    TAIL_OPT_COUNT,
    TAIL_OPT_TIMEOUT,
    TAIL_OPT_TOKEN,
    TAIL_OPT_FIELDS,
    TAIL_OPT_VERIFY,
    TAIL_OPT_STRICT,
    TAIL_OPT_MAX_AGE,
};

static const char tail_help[] =
    "Usage: alert tail [--server URL] [--topic T]... [--lang L]... [--since ID]\n"
    "                  [--token JWT] [--fields F,...] [--insecure] [--ca FILE] [--json]\n"
    "                  [--count N] [--timeout SECONDS] [--verify PUBKEY]... [--strict]\n"
    "                  [--max-age SECONDS]\n"
    "Follows an alertd server live, as a WebSocket client, and prints each alert as\n"
    "it arrives, one line each:\n"
    "  <id>  <urgency>  <kind>  <headline>\n"
    "where an UPDATE names its version and the alert it revises and a RETRACTION\n"
    "the alert it withdraws; or, with --json, the alert object as one JSON line.\n"
    "Connection news and warnings go to stderr. After a drop it reconnects (backoff\n"
    "with jitter, 0.5 s up to 30 s) and resumes after the last alert printed: none is\n"
    "printed twice, none is missed while the server's history still holds it.\n\n"
    "  --server URL           wss://HOST[:PORT][/PREFIX], or ws:// (plain: behind a\n"
    "                         TLS-terminating balancer) (env ALERT_SERVER;\n"
    "                         default " TAIL_SERVER_DEFAULT ")\n"
    "  --topic T              only alerts with topic T; repeatable (at most 32)\n"
    "  --lang L               only alerts in language L; repeatable (at most 8)\n"
    "  --since ID             start with the alerts after ID still in the history\n"
    "  --token JWT            a token that opens restricted topics (env ALERT_TOKEN)\n"
    "  --fields F,...         receive only these item fields (id, kind and ref always\n"
    "                         come): compact alerts, e.g. --fields headline,urgency\n"
    "  --ca FILE              also trust the CA certificate(s) in FILE (PEM)\n"
    "  --insecure             do not verify the server's certificate (development)\n"
    "  --json                 print each alert as one line of JSON\n"
    "  --count N              exit after N alerts\n"
    "  --timeout SECONDS      exit after SECONDS\n"
    "  --verify PUBKEY        print only alerts signed by the Ed25519 public key in\n"
    "                         PUBKEY (PEM, from alert keygen); repeatable, for key\n"
    "                         rotation (at most 8). Others are rejected on stderr with\n"
    "                         the reason: unsigned, unknown key, bad signature, stale\n"
    "                         or replayed\n"
    "  --max-age SECONDS      with --verify: how far published_at may be from the\n"
    "                         time in the alert's id, and for a live alert from now\n"
    "                         (default 300)\n"
    "  --strict               with --verify: exit 6 at the first alert rejected\n"
    "  -h, --help             this help;  --version  the version\n"
    "  --redis URL, --prefix P\n"
    "                         accepted as by every command, but unused: tail reads\n"
    "                         alertd, not Redis\n\n"
    "Exit status: 0 done (--count, --timeout, Ctrl-C), 2 usage error, 3 refused by the\n"
    "server (close 1008 or 4003), its certificate not trusted, or not connected when\n"
    "--timeout ran out, 6 an alert rejected by --verify with --strict.\n";

/* One run: the connection, the output format and what was printed. The
 * id of the last alert printed is conn.resume. */
struct tail {
    struct tailconn conn;
    int json;             /* --json */
    long count;           /* --count, 0: no limit */
    long printed;         /* alerts printed */
    int replaying;        /* between a hello that follows since= and replayed/gap */
    int strict;           /* --strict */
    struct verify verify; /* --verify keys (nkeys 0: none) */
    /* Flashes the node sent ahead of a backlog (PROTOCOL.md, section 4):
     * printed, but no resume point, so kept here lest a replay after a
     * reconnection print them again. */
    struct item_id ahead[TAIL_AHEAD_KEPT];
    unsigned nahead; /* written so far; the ring holds the last TAIL_AHEAD_KEPT */
};

/* ------------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------- */

static const char *tail_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Item text on one terminal line: control characters become spaces. */
static void tail_put_text(const char *s)
{
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

/* <id>  <urgency>  <kind>  <headline>, UPDATE and RETRACTION in capitals. */
static void tail_put_line(const json_t *a)
{
    const char *kind = tail_str(a, "kind");
    printf("%s  %s  ", tail_str(a, "id"), tail_str(a, "urgency"));
    if (strcmp(kind, "retraction") == 0) {
        fputs("RETRACTION  of ", stdout);
        tail_put_text(tail_str(a, "ref"));
        if (json_object_get(a, "summary")) {
            fputs(": ", stdout);
            tail_put_text(tail_str(a, "summary"));
        }
    } else if (strcmp(kind, "update") == 0) {
        fputs("UPDATE  ", stdout);
        tail_put_text(tail_str(a, "headline"));
        printf(" (v%lld of ", (long long)json_integer_value(json_object_get(a, "version")));
        tail_put_text(tail_str(a, "ref"));
        putchar(')');
    } else {
        tail_put_text(kind[0] ? kind : "alert");
        fputs("  ", stdout);
        tail_put_text(tail_str(a, "headline"));
    }
    putchar('\n');
}

/* ------------------------------------------------------------------------
 * Frames
 * ---------------------------------------------------------------------- */

/* With --verify: 0 when the alert may be printed; else it is reported,
 * counted as processed (a reconnection does not bring it back), and with
 * --strict the run ends. */
static int tail_verify(struct tail *t, const json_t *a, struct item_id id)
{
    char why[400];
    if (verify_item(&t->verify, a, !t->replaying, item_time_now_ms(), why, sizeof(why)) ==
        VERIFY_OK)
        return 0;
    cli_error("rejected %s: %s", tail_str(a, "id"), why);
    t->conn.resume = id;
    t->conn.has_resume = 1;
    if (t->strict)
        tailconn_finish(&t->conn, CLI_EXIT_REJECTED);
    return -1;
}

static int tail_printed_ahead(const struct tail *t, struct item_id id)
{
    unsigned n = t->nahead < TAIL_AHEAD_KEPT ? t->nahead : TAIL_AHEAD_KEPT;
    for (unsigned i = 0; i < n; i++)
        if (item_id_cmp(t->ahead[i], id) == 0)
            return 1;
    return 0;
}

/* An alert frame; `ahead`: sent before the alerts older than it. */
static void tail_alert(struct tail *t, const json_t *a, int ahead)
{
    struct item_id id;
    if (!json_is_object(a) || item_id_parse(tail_str(a, "id"), &id) != 0) {
        cli_error("warning: ignored an alert frame without a valid id");
        return;
    }
    /* At or before the resume point: printed already (a replay that
     * overlaps, a node catching up) or older than where we started. */
    if ((t->conn.has_resume && item_id_cmp(id, t->conn.resume) <= 0) || tail_printed_ahead(t, id))
        return;
    if (t->verify.nkeys && tail_verify(t, a, id) != 0)
        return;
    if (t->json) {
        json_dumpf(a, stdout, JSON_COMPACT);
        putchar('\n');
    } else {
        tail_put_line(a);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* A reader that went away (| head) is an ordinary end. */
        if (errno != EPIPE)
            cli_error("cannot write to standard output: %s", strerror(errno));
        tailconn_finish(&t->conn, errno == EPIPE ? CLI_EXIT_OK : CLI_EXIT_FAIL);
        return;
    }
    if (ahead) {
        t->ahead[t->nahead++ % TAIL_AHEAD_KEPT] = id;
    } else {
        t->conn.resume = id;
        t->conn.has_resume = 1;
    }
    if (t->count && ++t->printed >= t->count)
        tailconn_finish(&t->conn, CLI_EXIT_OK);
}

static void tail_hello(struct tail *t, const json_t *f)
{
    const char *last = tail_str(f, "last_id");
    json_int_t v = json_integer_value(json_object_get(f, "v"));
    char node[128];

    if (v != TAIL_PROTOCOL_VERSION) {
        cli_error("%s speaks protocol version %lld; this alert knows %d: update alert",
                  t->conn.server, (long long)v, TAIL_PROTOCOL_VERSION);
        tailconn_finish(&t->conn, CLI_EXIT_REFUSED);
        return;
    }
    t->conn.hello = 1;
    t->replaying = t->conn.has_resume; /* since= was asked for: a replay comes first */
    tailconn_text(node, sizeof(node), tail_str(f, "node"), strlen(tail_str(f, "node")));
    cli_error("connected to node %s at %s, last id %s", node, t->conn.server,
              last[0] ? last : "none");
    /* Without --since and before any alert, resume after what the node
     * had when we first came: a reconnection then misses nothing. */
    if (!t->conn.has_resume) {
        struct item_id zero = {0, 0};
        if (item_id_parse(last, &t->conn.resume) != 0)
            t->conn.resume = zero;
        t->conn.has_resume = 1;
    }
}

/* replayed or gap: what follows is live. */
static void tail_replay_end(struct tail *t, const json_t *f, const char *type)
{
    t->replaying = 0;
    if (strcmp(type, "replayed") == 0)
        cli_error("replayed %lld alert(s) from the history, last id %s",
                  (long long)json_integer_value(json_object_get(f, "count")),
                  tail_str(f, "last_id")[0] ? tail_str(f, "last_id") : "none");
    else
        cli_error("warning: alerts after %s are no longer in the server's history (oldest "
                  "kept: %s): some may be missing",
                  tail_str(f, "since"), tail_str(f, "oldest"));
}

static void tail_on_message(struct tailconn *c, const char *msg, size_t len)
{
    struct tail *t = (struct tail *)c; /* conn is the first member */
    json_t *f = json_loadb(msg, len, 0, NULL);
    const char *type = tail_str(f, "type");

    if (!json_is_object(f))
        cli_error("warning: ignored a server message that is not a JSON object");
    else if (strcmp(type, "alert") == 0)
        tail_alert(t, json_object_get(f, "alert"), json_is_true(json_object_get(f, "ahead")));
    else if (strcmp(type, "hello") == 0)
        tail_hello(t, f);
    else if (strcmp(type, "replayed") == 0 || strcmp(type, "gap") == 0)
        tail_replay_end(t, f, type);
    else if (strcmp(type, "shed") == 0)
        cli_error("warning: %lld routine alert(s) after %s through %s were shed: this reader "
                  "fell behind; `alert list` or GET /v1/alerts?since=%s has them",
                  (long long)json_integer_value(json_object_get(f, "count")), tail_str(f, "after"),
                  tail_str(f, "through"), tail_str(f, "after"));
    else if (strcmp(type, "error") == 0)
        cli_error("the server says: %s: %s", tail_str(f, "code"), tail_str(f, "message"));
    /* pong, and types this version does not know: nothing to do. */
    json_decref(f);
}

/* ------------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------- */

/* Appends ",item" (or "item" first) to a comma-separated list. */
static int tail_csv_add(char *csv, size_t size, const char *item)
{
    size_t n = strlen(csv);
    int w = snprintf(csv + n, size - n, "%s%s", n ? "," : "", item);
    return w < 0 || (size_t)w >= size - n ? -1 : 0;
}

static int tail_chars_ok(const char *s, size_t max, const char *allowed)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max && strspn(s, allowed) == n;
}

/* wss://HOST[:PORT][/PREFIX] or ws://...; an IPv6 address goes in brackets. */
static int tail_parse_server(struct tailconn *c, const char *url, char *err, size_t errlen)
{
    const char *p, *end;
    long port;
    char portbuf[8];

    if (strncmp(url, "wss://", 6) == 0) {
        c->tls = 1, p = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        c->tls = 0, p = url + 5;
    } else {
        snprintf(err, errlen, "--server must start with wss:// or ws://, not '%.80s'", url);
        return -1;
    }
    if (*p == '[') {
        end = strchr(p, ']');
        if (end == NULL)
            goto bad;
        p++;
    } else {
        end = p + strcspn(p, ":/");
    }
    if (end == p || (size_t)(end - p) >= sizeof(c->host))
        goto bad;
    memcpy(c->host, p, (size_t)(end - p));
    c->host[end - p] = '\0';
    if (strspn(c->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:%") !=
        strlen(c->host))
        goto bad;
    c->host_is_ip6 = strchr(c->host, ':') != NULL;
    p = *end == ']' ? end + 1 : end;
    c->port = c->tls ? 443 : 80;
    if (*p == ':') {
        size_t n = strcspn(++p, "/");
        if (n == 0 || n >= sizeof(portbuf))
            goto bad;
        memcpy(portbuf, p, n);
        portbuf[n] = '\0';
        if (cli_parse_long(portbuf, 1, 65535, &port) != 0)
            goto bad;
        c->port = (int)port;
        p += n;
    }
    /* What is left is a path prefix (a balancer's route), or nothing. */
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    if (strcspn(p, "?#% ") < plen || plen > 256)
        goto bad;
    snprintf(c->path, sizeof(c->path), "%.*s/v1/ws", (int)plen, p);
    if (c->port == (c->tls ? 443 : 80))
        snprintf(c->host_header, sizeof(c->host_header), c->host_is_ip6 ? "[%s]" : "%s", c->host);
    else
        snprintf(c->host_header, sizeof(c->host_header), c->host_is_ip6 ? "[%s]:%d" : "%s:%d",
                 c->host, c->port);
    return 0;
bad:
    snprintf(err, errlen, "--server: not a ws:// or wss:// URL: '%.80s'", url);
    return -1;
}

/* Appends name=value (if value) to the URL path's query. */
static void tail_add_query(struct tailconn *c, const char *name, const char *value)
{
    size_t used = strlen(c->path);
    if (value)
        snprintf(c->path + used, sizeof(c->path) - used, "%s%s=%s",
                 strchr(c->path, '?') ? "&" : "?", name, value);
}

static int tail_parse(struct tail *t, struct cli_common *common, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, TAIL_OPT_SERVER},
        {"topic", required_argument, NULL, TAIL_OPT_TOPIC},
        {"lang", required_argument, NULL, TAIL_OPT_LANG},
        {"since", required_argument, NULL, TAIL_OPT_SINCE},
        {"insecure", no_argument, NULL, TAIL_OPT_INSECURE},
        {"ca", required_argument, NULL, TAIL_OPT_CA},
        {"json", no_argument, NULL, TAIL_OPT_JSON},
        {"count", required_argument, NULL, TAIL_OPT_COUNT},
        {"timeout", required_argument, NULL, TAIL_OPT_TIMEOUT},
        {"token", required_argument, NULL, TAIL_OPT_TOKEN},
        {"fields", required_argument, NULL, TAIL_OPT_FIELDS},
        {"verify", required_argument, NULL, TAIL_OPT_VERIFY},
        {"strict", no_argument, NULL, TAIL_OPT_STRICT},
        {"max-age", required_argument, NULL, TAIL_OPT_MAX_AGE},
        CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *shortopts = cli_getopt_begin("h");
    const char *env = getenv("ALERT_SERVER");
    const char *server = env && *env ? env : TAIL_SERVER_DEFAULT, *cmd = common->cmd;
    const char *token = getenv("ALERT_TOKEN"), *fields = NULL;
    uint32_t set;
    char topics[TAIL_MAX_TOPICS * (ITEM_TOPIC_MAX_LEN + 1) + 1] = "",
                                                             langs[TAIL_MAX_LANGS * 36 + 1] = "";
    char err[CLI_ERRLEN];
    int ntopics = 0, nlangs = 0, opt, status;
    long max_age = ITEMSIG_MAX_AGE_SEC, max_age_given = 0;

    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (cli_common_option(common, opt, optarg))
            continue;
        switch (opt) {
        case TAIL_OPT_SERVER:
            server = optarg;
            break;
        case TAIL_OPT_TOPIC:
            if (!item_topic_ok(optarg, strlen(optarg)))
                return cli_usage(cmd,
                                 "--topic must be a slug matching " ITEM_TOPIC_RULE ", not '%.40s'",
                                 optarg);
            if (++ntopics > TAIL_MAX_TOPICS || tail_csv_add(topics, sizeof(topics), optarg))
                return cli_usage(cmd, "at most %d --topic options", TAIL_MAX_TOPICS);
            break;
        case TAIL_OPT_LANG:
            if (!tail_chars_ok(optarg, 35,
                               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789-"))
                return cli_usage(cmd,
                                 "--lang must be a language tag like en or pt-BR, not "
                                 "'%.40s'",
                                 optarg);
            if (++nlangs > TAIL_MAX_LANGS || tail_csv_add(langs, sizeof(langs), optarg))
                return cli_usage(cmd, "at most %d --lang options", TAIL_MAX_LANGS);
            break;
        case TAIL_OPT_SINCE:
            if (item_id_parse(optarg, &t->conn.resume) != 0)
                return cli_usage(cmd,
                                 "--since must be an alert id like 1700000000000-0, not "
                                 "'%.40s'",
                                 optarg);
            t->conn.has_resume = 1;
            break;
        case TAIL_OPT_INSECURE:
            t->conn.insecure = 1;
            break;
        case TAIL_OPT_CA:
            t->conn.ca = optarg;
            break;
        case TAIL_OPT_JSON:
            t->json = 1;
            break;
        case TAIL_OPT_COUNT:
            if (cli_parse_long(optarg, 1, TAIL_COUNT_MAX, &t->count) != 0)
                return cli_usage(cmd, "--count must be 1-%ld, not '%.40s'", TAIL_COUNT_MAX, optarg);
            break;
        case TAIL_OPT_TOKEN:
            token = optarg;
            break;
        case TAIL_OPT_FIELDS:
            if (strlen(optarg) > TAIL_FIELDS_MAX)
                return cli_usage(cmd, "--fields: at most %d bytes", TAIL_FIELDS_MAX);
            if (fields_parse(optarg, &set, err, sizeof(err)))
                return cli_usage(cmd, "--%s", err);
            fields = *optarg ? optarg : NULL;
            break;
        case TAIL_OPT_VERIFY:
            if (verify_add_key(&t->verify, optarg, err, sizeof(err)) != 0)
                return cli_usage(cmd, "--verify: %s", err);
            break;
        case TAIL_OPT_STRICT:
            t->strict = 1;
            break;
        case TAIL_OPT_MAX_AGE:
            if (cli_parse_long(optarg, 1, TAIL_MAX_AGE_MAX, &max_age) != 0)
                return cli_usage(cmd, "--max-age must be 1-%ld seconds, not '%.40s'",
                                 TAIL_MAX_AGE_MAX, optarg);
            max_age_given = 1;
            break;
        case TAIL_OPT_TIMEOUT:
            if (cli_parse_long(optarg, 1, TAIL_TIMEOUT_MAX, &t->conn.timeout) != 0)
                return cli_usage(cmd, "--timeout must be 1-%ld seconds, not '%.40s'",
                                 TAIL_TIMEOUT_MAX, optarg);
            break;
        default:
            return cli_getopt_error(cmd, opt, argv);
        }
    }
    if ((status = cli_common_finish(common, tail_help)) >= 0)
        return status;
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if ((t->strict || max_age_given) && t->verify.nkeys == 0)
        return cli_usage(cmd, "%s needs --verify", t->strict ? "--strict" : "--max-age");
    if (fields && t->verify.nkeys > 0) /* a signature covers the whole item */
        return cli_usage(cmd, "--fields and --verify cannot go together: a signature covers "
                              "the whole item");
    t->verify.max_age_ms = (int64_t)max_age * 1000;
    if (tail_parse_server(&t->conn, server, err, sizeof(err)) != 0)
        return cli_usage(cmd, "%s", err);
    t->conn.server = server;
    if (token && *token &&
        !tail_chars_ok(token, TAIL_TOKEN_MAX,
                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."))
        return cli_usage(cmd,
                         "--token must be a JWT (base64url parts joined by dots, at most %d "
                         "bytes)",
                         TAIL_TOKEN_MAX);
    tail_add_query(&t->conn, "topics", ntopics ? topics : NULL);
    tail_add_query(&t->conn, "lang", nlangs ? langs : NULL);
    tail_add_query(&t->conn, "token", token && *token ? token : NULL);
    tail_add_query(&t->conn, "fields", fields);
    if (t->conn.ca && t->conn.tls && !t->conn.insecure) {
        FILE *f = fopen(t->conn.ca, "r");
        if (f == NULL)
            return cli_usage(cmd, "--ca %s: %s", t->conn.ca, strerror(errno));
        fclose(f);
    }
    if (t->conn.insecure && t->conn.tls)
        cli_error("warning: --insecure: the server's certificate is not verified (use it only "
                  "with a development certificate)");
    return -1;
}

/* ------------------------------------------------------------------------
 * alert tail
 * ---------------------------------------------------------------------- */

int tail_cmd(int argc, char **argv)
{
    struct cli_common common;
    struct tail *t = calloc(1, sizeof(*t));
    int status;

    if (t == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    cli_common_init(&common, argv[0]);
    common.prefix = RKEYS_PREFIX_DEFAULT; /* tail does not use Redis */
    t->conn.on_message = tail_on_message;
    if ((status = tail_parse(t, &common, argc, argv)) < 0)
        status = tailconn_run(&t->conn);
    verify_free(&t->verify);
    free(t);
    return status;
}
