/*
 * opts — see opts.h.
 */
#include "opts.h"

#include "rkeys.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPTS_DEFAULT_URL "wss://127.0.0.1:8443/v1/ws"

static const char opts_usage_text[] =
    "usage: alert-bench [OPTIONS]\n"
    "       alert-bench --tls-write-limit N [--duration S] [--size B] [--cpu C] [--json FILE]\n"
    "\n"
    "Opens N TLS WebSocket clients, has K alerts published through Redis, and\n"
    "measures what every client received. Loopback (127.0.0.0/8) only.\n"
    "\n"
    "Target and connections\n"
    "  --url URL              wss://HOST:PORT/PATH (default " OPTS_DEFAULT_URL ")\n"
    "  --subprotocol NAME     offer this Sec-WebSocket-Protocol (default: none)\n"
    "  --deflate              offer permessage-deflate with no context takeover either way\n"
    "                         and inflate what comes compressed (default: not offered)\n"
    "  --fields LIST          add fields=LIST to the URL's query: alertd's compact alerts;\n"
    "                         LIST must keep ext, which carries the bench tag (default: none)\n"
    "  -n, --clients N        WebSocket clients (default 1000)\n"
    "  --rate R               connections started per second, in all (default 2000)\n"
    "  --procs P              worker processes (default: N/18000 rounded up)\n"
    "  --sources K            source addresses 127.0.X.Y (default: N/500 rounded up, at least 16)\n"
    "  --connect-timeout S    seconds for TCP, TLS and upgrade (default 15)\n"
    "  --max-pending M        handshakes in flight per worker (default 256)\n"
    "  --resume               once connected, reconnect everyone with its session ticket\n"
    "                         and measure the resumed handshakes too\n"
    "TLS\n"
    "  --ca FILE              trust this certificate (chain) only\n"
    "  --insecure             do not verify the certificate\n"
    "  --ciphersuites LIST    TLS 1.3 suites (default TLS_AES_256_GCM_SHA384)\n"
    "  --ciphers LIST         TLS 1.2 ciphers (default ECDHE-ECDSA-AES256-GCM-SHA384:\n"
    "                         ECDHE-RSA-AES256-GCM-SHA384)\n"
    "Alerts\n"
    "  --alerts K             alerts to publish (default 20)\n"
    "  --alert-rate R         alerts per second (default 10)\n"
    "  --size B               bytes of the message a client receives (default 600)\n"
    "  --burst B              alertd mode: before each (flash) alert, B routine alerts of\n"
    "                         the same size straight into the stream and the channel\n"
    "                         (pipelined), a backlog the flash must overtake (default 0)\n"
    "  --publish-mode M       alertd: `alert push -f -` (the publish script), default;\n"
    "                         publish: PUBLISH CHANNEL <frame> (the Node server);\n"
    "                         nchan-http: POST <frame> to --publish-url (nginx + nchan)\n"
    "  --channel NAME         publish mode: the channel (required there)\n"
    "  --publish-url URL      nchan-http mode: http://HOST:PORT/PATH (required there)\n"
    "  --redis URL            (default redis://127.0.0.1:6379)\n"
    "  --prefix P             alertd mode: key prefix (default alert)\n"
    "  --alert-bin PATH       alertd mode: the alert CLI (default: next to alert-bench)\n"
    "  --drain S              seconds after the last publish before an alert counts as\n"
    "                         missing (default 10)\n"
    "  --settle S             seconds between connected and the idle-memory reading (default 1)\n"
    "Measurement and output\n"
    "  --server-pid PID       server process to measure, with its descendants (repeatable)\n"
    "  --server-pgid PGID     every process of this group (repeatable)\n"
    "  --cpu LIST             run alert-bench on these CPUs, e.g. 1 or 0-1\n"
    "                         (--tls-write-limit: the writer's CPU, default 0)\n"
    "  --json FILE            write the results as JSON\n"
    "  --record FILE          write every text message the first client receives\n"
    "                         (inflated if compressed) to FILE, one a line\n"
    "  --label TEXT           copied into the JSON (e.g. alertd, nchan, node)\n"
    "  -q, --quiet            no progress lines\n"
    "TLS write limit\n"
    "  --tls-write-limit N    write --size records round-robin to N loopback TLS\n"
    "                         connections from one pinned core; report the rate\n"
    "  --duration S           seconds per measurement (default 3)\n"
    "\n"
    "Exit status: 0 every client connected and received every alert exactly once;\n"
    "1 otherwise; 2 usage error; 3 setup failed (Redis, TLS files, fork).\n";

enum {
    OPT_URL = 256,
    OPT_SUBPROTOCOL,
    OPT_DEFLATE,
    OPT_FIELDS,
    OPT_RATE,
    OPT_PROCS,
    OPT_SOURCES,
    OPT_CONNECT_TIMEOUT,
    OPT_MAX_PENDING,
    OPT_RESUME,
    OPT_CA,
    OPT_INSECURE,
    OPT_CIPHERSUITES,
    OPT_CIPHERS,
    OPT_ALERTS,
    OPT_ALERT_RATE,
    OPT_SIZE,
    OPT_MODE,
    OPT_CHANNEL,
    OPT_PUBLISH_URL,
    OPT_REDIS,
    OPT_PREFIX,
    OPT_ALERT_BIN,
    OPT_DRAIN,
    OPT_SETTLE,
    OPT_SERVER_PID,
    OPT_SERVER_PGID,
    OPT_CPU,
    OPT_JSON,
    OPT_RECORD,
    OPT_LABEL,
    OPT_TLS_WRITE,
    OPT_DURATION,
    OPT_BURST,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option opts_long[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"subprotocol", required_argument, NULL, OPT_SUBPROTOCOL},
    {"deflate", no_argument, NULL, OPT_DEFLATE},
    {"fields", required_argument, NULL, OPT_FIELDS},
    {"clients", required_argument, NULL, 'n'},
    {"rate", required_argument, NULL, OPT_RATE},
    {"procs", required_argument, NULL, OPT_PROCS},
    {"sources", required_argument, NULL, OPT_SOURCES},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"max-pending", required_argument, NULL, OPT_MAX_PENDING},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"ca", required_argument, NULL, OPT_CA},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"ciphersuites", required_argument, NULL, OPT_CIPHERSUITES},
    {"ciphers", required_argument, NULL, OPT_CIPHERS},
    {"alerts", required_argument, NULL, OPT_ALERTS},
    {"alert-rate", required_argument, NULL, OPT_ALERT_RATE},
    {"size", required_argument, NULL, OPT_SIZE},
    {"burst", required_argument, NULL, OPT_BURST},
    {"publish-mode", required_argument, NULL, OPT_MODE},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"publish-url", required_argument, NULL, OPT_PUBLISH_URL},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"alert-bin", required_argument, NULL, OPT_ALERT_BIN},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"settle", required_argument, NULL, OPT_SETTLE},
    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
    {"server-pgid", required_argument, NULL, OPT_SERVER_PGID},
    {"cpu", required_argument, NULL, OPT_CPU},
    {"json", required_argument, NULL, OPT_JSON},
    {"record", required_argument, NULL, OPT_RECORD},
    {"label", required_argument, NULL, OPT_LABEL},
    {"quiet", no_argument, NULL, 'q'},
    {"tls-write-limit", required_argument, NULL, OPT_TLS_WRITE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* ------------------------------------------------------------------------
 * Values
 * ---------------------------------------------------------------------- */

static int opts_uint(const char *s, unsigned long min, unsigned long max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int opts_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "1", "0,2", "0-3" into set. */
static int opts_cpus(const char *s, cpu_set_t *set)
{
    CPU_ZERO(set);
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b;
        if (end == s || a < 0 || a >= CPU_SETSIZE)
            return -1;
        b = a;
        if (*end == '-') {
            const char *t = end + 1;
            b = strtol(t, &end, 10);
            if (end == t || b < a || b >= CPU_SETSIZE)
                return -1;
        }
        for (long c = a; c <= b; c++)
            CPU_SET((int)c, set);
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        s = end;
    }
    return CPU_COUNT(set) > 0 ? 0 : -1;
}

/* wss://HOST[:PORT][/PATH]; HOST an IPv4 address in 127.0.0.0/8 or localhost. */
static int opts_url(struct bench_opts *o, const char *url)
{
    const char *p;
    if (snprintf(o->url, sizeof(o->url), "%s", url) >= (int)sizeof(o->url))
        return -1;
    if (strncmp(url, "wss://", 6) != 0) {
        fprintf(stderr, "alert-bench: --url must start with wss:// (TLS only)\n");
        return -1;
    }
    p = url + 6;
    size_t hl = strcspn(p, ":/?");
    if (hl == 0 || hl >= sizeof(o->host))
        return -1;
    memcpy(o->host, p, hl);
    o->host[hl] = '\0';
    p += hl;
    o->port = 443;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535)
            return -1;
        o->port = (int)port;
        p = end;
    }
    if (*p && *p != '/' && *p != '?')
        return -1;
    if (snprintf(o->path, sizeof(o->path), "%s%s", *p == '/' ? "" : "/", p) >= (int)sizeof(o->path))
        return -1;
    memset(&o->dst, 0, sizeof(o->dst));
    o->dst.sin_family = AF_INET;
    o->dst.sin_port = htons((uint16_t)o->port);
    const char *ip = strcmp(o->host, "localhost") == 0 ? "127.0.0.1" : o->host;
    if (inet_pton(AF_INET, ip, &o->dst.sin_addr) != 1 ||
        (ntohl(o->dst.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "alert-bench: the host must be localhost or an address in 127.0.0.0/8\n");
        return -1;
    }
    return 0;
}

/* --fields: appends fields=LIST to the path's query. LIST is names
 * ([a-z_]) separated by commas, and keeps ext: without it no alert could be
 * recognised (msg.h). */
static int opts_fields(struct bench_opts *o)
{
    const char *f = o->fields;
    size_t len = strlen(f), n = strlen(o->path);
    if (len == 0 || strspn(f, "abcdefghijklmnopqrstuvwxyz_,") != len) {
        fprintf(stderr, "alert-bench: --fields takes field names separated by commas\n");
        return -1;
    }
    char padded[256];
    snprintf(padded, sizeof(padded), ",%s,", f);
    if (len + 2 >= sizeof(padded) || strstr(padded, ",ext,") == NULL) {
        fprintf(stderr, "alert-bench: --fields must include ext (the bench tag is in it)\n");
        return -1;
    }
    int w = snprintf(o->path + n, sizeof(o->path) - n, "%sfields=%s",
                     strchr(o->path, '?') ? "&" : "?", f);
    if (w < 0 || (size_t)w >= sizeof(o->path) - n) {
        fprintf(stderr, "alert-bench: --url and --fields make too long a path\n");
        return -1;
    }
    return 0;
}

/* The `alert` next to this executable. */
static const char *opts_default_alert_bin(void)
{
    static char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 8);
    if (n <= 0)
        return "alert";
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL)
        return "alert";
    strcpy(slash + 1, "alert");
    return path;
}

/* ------------------------------------------------------------------------
 * Parsing
 * ---------------------------------------------------------------------- */

static void opts_defaults(struct bench_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->clients = 1000;
    o->rate = 2000;
    o->connect_timeout = 15;
    o->max_pending = 256;
    o->ciphersuites = "TLS_AES_256_GCM_SHA384";
    o->ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
    o->alerts = 20;
    o->alert_rate = 10;
    o->size = 600;
    o->via = VIA_ALERT_CLI;
    o->redis_url = "redis://127.0.0.1:6379";
    o->prefix = RKEYS_PREFIX_DEFAULT;
    o->drain = 10;
    o->settle = 1;
    o->duration = 3;
}

/* Checks what only makes sense together and fills the automatic values. */
static int opts_finish(struct bench_opts *o)
{
    if (o->url[0] == '\0' && opts_url(o, OPTS_DEFAULT_URL) != 0)
        return -1;
    if (o->sources == 0) {
        uint32_t n = o->tls_write_limit ? o->tls_write_limit : o->clients;
        o->sources = (n + 499) / 500;
        if (o->sources < 16)
            o->sources = 16;
    }
    if (o->tls_write_limit) {
        if (o->size < 1 || o->size > 16384) {
            fprintf(stderr, "alert-bench: --size must be 1..16384 with --tls-write-limit\n");
            return -1;
        }
        return 0;
    }
    o->mode = o->via == VIA_ALERT_CLI ? MSG_ALERTD : MSG_PUBLISH;
    if (o->fields && opts_fields(o) != 0)
        return -1;
    if (o->via == VIA_REDIS && o->channel == NULL) {
        fprintf(stderr, "alert-bench: --publish-mode publish needs --channel\n");
        return -1;
    }
    if (o->burst && o->via != VIA_ALERT_CLI) {
        fprintf(stderr, "alert-bench: --burst needs --publish-mode alertd\n");
        return -1;
    }
    if (o->via == VIA_HTTP && o->publish_url == NULL) {
        fprintf(stderr, "alert-bench: --publish-mode nchan-http needs --publish-url\n");
        return -1;
    }
    uint32_t max_size = o->mode == MSG_ALERTD ? MSG_ALERTD_MAX_SIZE : MSG_MAX_SIZE;
    if (o->size < MSG_MIN_SIZE || o->size > max_size) {
        fprintf(stderr, "alert-bench: --size must be %d..%u in this publish mode\n", MSG_MIN_SIZE,
                max_size);
        return -1;
    }
    if (o->ca && o->insecure) {
        fprintf(stderr, "alert-bench: --ca and --insecure exclude each other\n");
        return -1;
    }
    if (o->procs == 0)
        o->procs = (int)((o->clients + 17999) / 18000);
    if ((o->clients + (uint32_t)o->procs - 1) / (uint32_t)o->procs > OPTS_MAX_PER_WORKER) {
        fprintf(stderr, "alert-bench: %u clients need at least %u worker processes (--procs)\n",
                o->clients, (o->clients + OPTS_MAX_PER_WORKER - 1) / OPTS_MAX_PER_WORKER);
        return -1;
    }
    if ((uint32_t)o->procs > o->clients)
        o->procs = (int)o->clients;
    if (o->alert_bin == NULL)
        o->alert_bin = opts_default_alert_bin();
    return 0;
}

int opts_parse(struct bench_opts *o, int argc, char **argv)
{
    int c;
    uint32_t u;
    opts_defaults(o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:q", opts_long, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case OPT_URL:
            bad = opts_url(o, optarg);
            break;
        case OPT_SUBPROTOCOL:
            o->subprotocol = optarg;
            bad = strpbrk(optarg, "\r\n") != NULL;
            break;
        case OPT_DEFLATE:
            o->deflate = 1;
            break;
        case OPT_FIELDS:
            o->fields = optarg;
            break;
        case 'n':
            bad = opts_uint(optarg, 1, 10000000, &o->clients);
            break;
        case OPT_RATE:
            bad = opts_double(optarg, 1, 1e6, &o->rate);
            break;
        case OPT_PROCS:
            bad = opts_uint(optarg, 1, 64, &u);
            o->procs = (int)u;
            break;
        case OPT_SOURCES:
            bad = opts_uint(optarg, 1, 254 * 254, &o->sources);
            break;
        case OPT_CONNECT_TIMEOUT:
            bad = opts_double(optarg, 0.1, 3600, &o->connect_timeout);
            break;
        case OPT_MAX_PENDING:
            bad = opts_uint(optarg, 1, OPTS_MAX_PER_WORKER, &o->max_pending);
            break;
        case OPT_RESUME:
            o->resume = 1;
            break;
        case OPT_CA:
            o->ca = optarg;
            break;
        case OPT_INSECURE:
            o->insecure = 1;
            break;
        case OPT_CIPHERSUITES:
            o->ciphersuites = optarg;
            break;
        case OPT_CIPHERS:
            o->ciphers = optarg;
            break;
        case OPT_ALERTS:
            bad = opts_uint(optarg, 1, OPTS_MAX_ALERTS, &o->alerts);
            break;
        case OPT_ALERT_RATE:
            bad = opts_double(optarg, 0.01, 100000, &o->alert_rate);
            break;
        case OPT_SIZE:
            bad = opts_uint(optarg, 1, MSG_MAX_SIZE, &o->size);
            break;
        case OPT_BURST:
            bad = opts_uint(optarg, 0, OPTS_MAX_BURST, &o->burst);
            break;
        case OPT_MODE:
            if (strcmp(optarg, "alertd") == 0)
                o->via = VIA_ALERT_CLI;
            else if (strcmp(optarg, "publish") == 0)
                o->via = VIA_REDIS;
            else if (strcmp(optarg, "nchan-http") == 0)
                o->via = VIA_HTTP;
            else
                bad = 1;
            break;
        case OPT_CHANNEL:
            o->channel = optarg;
            break;
        case OPT_PUBLISH_URL:
            o->publish_url = optarg;
            break;
        case OPT_REDIS:
            o->redis_url = optarg;
            break;
        case OPT_PREFIX:
            o->prefix = optarg;
            break;
        case OPT_ALERT_BIN:
            o->alert_bin = optarg;
            break;
        case OPT_DRAIN:
            bad = opts_double(optarg, 0, 3600, &o->drain);
            break;
        case OPT_SETTLE:
            bad = opts_double(optarg, 0, 3600, &o->settle);
            break;
        case OPT_SERVER_PID:
        case OPT_SERVER_PGID:
            bad = opts_uint(optarg, 1, INT_MAX, &u);
            if (!bad && c == OPT_SERVER_PID && o->n_server_pids < OPTS_MAX_PIDS)
                o->server_pids[o->n_server_pids++] = (pid_t)u;
            else if (!bad && c == OPT_SERVER_PGID && o->n_server_pgids < OPTS_MAX_PIDS)
                o->server_pgids[o->n_server_pgids++] = (pid_t)u;
            else
                bad = 1;
            break;
        case OPT_CPU:
            bad = opts_cpus(optarg, &o->cpus);
            o->has_cpus = !bad;
            break;
        case OPT_JSON:
            o->json = optarg;
            break;
        case OPT_RECORD:
            o->record = optarg;
            break;
        case OPT_LABEL:
            o->label = optarg;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case OPT_TLS_WRITE:
            bad = opts_uint(optarg, 1, OPTS_MAX_PER_WORKER, &o->tls_write_limit);
            break;
        case OPT_DURATION:
            bad = opts_double(optarg, 0.1, 3600, &o->duration);
            break;
        case OPT_HELP:
            fputs(opts_usage_text, stdout);
            return 1;
        case OPT_VERSION:
            printf("alert-bench %s\n", ALERT_VERSION);
            return 1;
        default:
            fputs("Try 'alert-bench --help'.\n", stderr);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "alert-bench: bad value for %s: '%s'\nTry 'alert-bench --help'.\n",
                    argv[optind - 1], optarg ? optarg : "");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "alert-bench: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return opts_finish(o);
}

const char *opts_via_name(enum opts_via via)
{
    return via == VIA_ALERT_CLI ? "alertd" : via == VIA_REDIS ? "publish" : "nchan-http";
}

struct in_addr opts_source(const struct bench_opts *o, uint32_t i)
{
    uint32_t a = i % o->sources;
    struct in_addr s;
    s.s_addr = htonl(0x7F000000u | (1 + a / 254) << 8 | (1 + a % 254));
    return s;
}
