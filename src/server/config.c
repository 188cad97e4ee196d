/*
 * config — see config.h.
 */
#include "config.h"

#include "cpus.h"
#include "redisurl.h"
#include "rkeys.h"
#include "version.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CONFIG_FILE is --config itself, read before every other layer. */
enum config_kind { CONFIG_STR, CONFIG_INT, CONFIG_FLAG, CONFIG_LIST, CONFIG_ADDR, CONFIG_FILE };

struct config_option {
    const char *name; /* flag name; the env name and file key derive from it */
    enum config_kind kind;
    size_t offset; /* into struct config */
    int min, max;  /* CONFIG_INT bounds */
    const char *metavar;
    const char *help;
    /* The default, as a value written in a config file: applied first, and
     * shown by --help. NULL: none, or one that config_defaults computes;
     * dflt_doc then says what it is. */
    const char *dflt;
    const char *dflt_doc;
};

#define CONFIG_AT(field) offsetof(struct config, field)

static const struct config_option config_options[] = {
    {"listen", CONFIG_ADDR, CONFIG_AT(listen), 0, 0, "HOST:PORT",
     "address to serve readers on ([::]:443 for IPv6)", "127.0.0.1:8443", NULL},
    {"metrics-listen", CONFIG_ADDR, CONFIG_AT(metrics_listen), 0, 0, "HOST:PORT",
     "serve /metrics (with /healthz, /readyz) here in plain HTTP, for the scraper; no "
     "per-address limits",
     NULL, "none"},
    {"public-metrics", CONFIG_FLAG, CONFIG_AT(public_metrics), 0, 1, NULL,
     "also serve /metrics on --listen, to anyone who can reach the readers' port", "off", NULL},
    {"redis", CONFIG_STR, CONFIG_AT(redis_url), 0, 0, "URL",
     "redis://[user:password@]host[:port][/db], unix:///path or "
     "redis+sentinel://[user:password@]host[:port][,...]/MASTER[/db]",
     REDISURL_DEFAULT, NULL},
    {"prefix", CONFIG_STR, CONFIG_AT(prefix), 0, 0, "P", "Redis key prefix", RKEYS_PREFIX_DEFAULT,
     NULL},
    {"tls-cert", CONFIG_STR, CONFIG_AT(tls_cert), 0, 0, "FILE", "PEM certificate chain",
     "var/tls/localhost.crt", NULL},
    {"tls-key", CONFIG_STR, CONFIG_AT(tls_key), 0, 0, "FILE", "PEM private key",
     "var/tls/localhost.key", NULL},
    {"tls-ticket-key", CONFIG_STR, CONFIG_AT(tls_ticket_key), 0, 0, "FILE",
     "session ticket keys, 80 bytes each, first one current", NULL, "random keys made at start"},
    {"tls-ocsp", CONFIG_STR, CONFIG_AT(tls_ocsp), 0, 0, "FILE",
     "DER OCSP response for --tls-cert, stapled to handshakes that ask; refresh it (openssl "
     "ocsp -respout): it is read again like the certificate",
     NULL, "none (no stapling)"},
    {"plain", CONFIG_FLAG, CONFIG_AT(plain), 0, 1, NULL,
     "serve plain HTTP/WebSocket, only behind a TLS-terminating balancer", "off", NULL},
    {"history", CONFIG_INT, CONFIG_AT(history), 1, 1000000, "N",
     "alerts kept in memory for replay and REST", "10000", NULL},
    {"heartbeat", CONFIG_INT, CONFIG_AT(heartbeat), 1, CONFIG_HEARTBEAT_MAX, "SECONDS",
     "ping interval for a client that asks for none; silent connections close after two", "25",
     NULL},
    {"heartbeat-min", CONFIG_INT, CONFIG_AT(heartbeat_min), 1, CONFIG_HEARTBEAT_MAX, "SECONDS",
     "shortest heartbeat a client may ask for (heartbeat= in its URL); shorter asks get this", "10",
     NULL},
    {"heartbeat-max", CONFIG_INT, CONFIG_AT(heartbeat_max), 1, CONFIG_HEARTBEAT_MAX, "SECONDS",
     "longest heartbeat a client may ask for; longer asks get this", "300", NULL},
    {"workers", CONFIG_INT, CONFIG_AT(workers), 1, CONFIG_MAX_WORKERS, "N",
     "processes sharing the port", NULL, "the CPUs available, within a CPU quota"},
    {"drain-seconds", CONFIG_INT, CONFIG_AT(drain_seconds), 0, 600, "SECONDS",
     "on SIGTERM, close clients spread over this window, then exit", "3", NULL},
    {"max-connections", CONFIG_INT, CONFIG_AT(max_connections), 1, 10000000, "N",
     "connections per worker before new ones get 4029", "19000", NULL},
    {"max-queue", CONFIG_INT, CONFIG_AT(max_queue), 1, 1000000, "N",
     "alerts a client may fall behind: then its routine alerts are shed (WebSocket), and it is "
     "closed with 4001 when the rest still do not fit",
     "256", NULL},
    {"max-per-ip", CONFIG_INT, CONFIG_AT(max_per_ip), 1, 10000000, "N",
     "concurrent connections from one address, per worker", "1000", NULL},
    {"max-rate-per-ip", CONFIG_INT, CONFIG_AT(max_rate_per_ip), 0, 1000000, "N",
     "new connections per second from one address, per worker; 0: no limit", "0", NULL},
    {"max-frames-per-sec", CONFIG_INT, CONFIG_AT(max_frames_per_sec), 0, 1000000, "N",
     "frames one WebSocket client may send per second, N at once; over it: close 4030; 0: no "
     "limit",
     "10", NULL},
    {"max-replays-per-min", CONFIG_INT, CONFIG_AT(max_replays_per_min), 0, 1000000, "N",
     "replays (since) one WebSocket connection may ask for per minute, N at once; over it: "
     "close 4031; 0: no limit",
     "6", NULL},
    {"receipts-days", CONFIG_INT, CONFIG_AT(receipts_days), 0, 365, "DAYS",
     "count per alert the sockets written and the readers' acks, flushed to Redis each second "
     "and kept DAYS days there (alert stats); 0: counted nowhere, acks ignored",
     "7", NULL},
    {"proxy-protocol", CONFIG_FLAG, CONFIG_AT(proxy_protocol), 0, 1, NULL,
     "readers come through a balancer that starts each connection with a PROXY protocol "
     "header (v1 or v2); the limits count the address it names",
     "off", NULL},
    {"jwt-secret", CONFIG_STR, CONFIG_AT(jwt_secret), 0, 0, "FILE",
     "HS256 key (32+ bytes) that signs tokens for restricted topics", NULL,
     "none (no tokens checked)"},
    {"restricted-topics", CONFIG_STR, CONFIG_AT(restricted_topics), 0, 0, "T,...",
     "topics whose alerts only token holders receive (needs --jwt-secret)", NULL, "none"},
    {"allowed-origin", CONFIG_LIST, CONFIG_AT(origins), 0, 0, "ORIGIN",
     "browser Origin allowed to connect, repeatable; https://*.example.org allows its "
     "subdomains",
     NULL, "any origin"},
    {"max-header-bytes", CONFIG_INT, CONFIG_AT(max_header_bytes), 4096, 32768, "BYTES",
     "a request's target and headers, at most; more gets 431", "16384", NULL},
    {"hsts-max-age", CONFIG_INT, CONFIG_AT(hsts_max_age), 0, 63072000, "SECONDS",
     "Strict-Transport-Security max-age on HTTPS answers; 0: none", "31536000", NULL},
    {"node", CONFIG_STR, CONFIG_AT(node), 0, 0, "NAME", "node name in hello frames and metrics",
     NULL, "the host name"},
    {"user", CONFIG_STR, CONFIG_AT(user), 0, 0, "NAME",
     "once the ports are open, run as this user (start as root)", NULL, "none (stay as started)"},
    {"log-level", CONFIG_STR, CONFIG_AT(log_level), 0, 0, "LEVEL", "debug, info, warn or error",
     "info", NULL},
    {"log-format", CONFIG_STR, CONFIG_AT(log_format), 0, 0, "FORMAT", "logfmt or json", "logfmt",
     NULL},
    {"config", CONFIG_FILE, 0, 0, 0, "FILE", "read settings from FILE (lines: name = value)", NULL,
     "none"},
};
#define CONFIG_NOPTIONS (sizeof(config_options) / sizeof(config_options[0]))

static int config_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static char **config_str_at(struct config *cfg, const struct config_option *o)
{
    return (char **)((char *)cfg + o->offset);
}

static int *config_int_at(struct config *cfg, const struct config_option *o)
{
    return (int *)((char *)cfg + o->offset);
}

static int config_set_str(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

static int config_parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* HOST:PORT or [IPv6]:PORT. */
static int config_parse_addr(struct config_addr *a, const char *flag, const char *s, char *err,
                             size_t errlen)
{
    const char *colon = strrchr(s, ':');
    const char *host = s;
    size_t hlen;
    if (colon == NULL)
        return config_fail(err, errlen, "--%s: expected HOST:PORT, got \"%s\"", flag, s);
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && colon[-1] == ']') {
        host++;
        hlen -= 2;
    }
    if (config_parse_int(colon + 1, 1, 65535, &a->port))
        return config_fail(err, errlen, "--%s: port must be 1-65535, got \"%s\"", flag, colon + 1);
    char *h = strndup(host, hlen);
    if (h == NULL)
        return config_fail(err, errlen, "out of memory");
    free(a->host);
    a->host = h;
    return 0;
}

/* An Origin is scheme://host[:port], nothing after it; a pattern's host
 * is "*." and two labels or more (origin.h), such as *.example.org. */
static int config_origin_valid(const char *s)
{
    const char *rest;
    if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else
        return 0;
    if (*rest == '\0')
        return 0;
    if (strncmp(rest, "*.", 2) == 0) {
        const char *host = rest + 2, *end = host + strcspn(host, ":");
        int labels = 1;
        if (host == end || *host == '.' || end[-1] == '.' || strstr(host, "..") != NULL)
            return 0;
        for (const char *p = host; p < end; p++) {
            if (*p == '.')
                labels++;
            else if (!isalnum((unsigned char)*p) && *p != '-')
                return 0;
        }
        if (labels < 2 ||
            (*end == ':' && (end[1] == '\0' || strspn(end + 1, "0123456789") != strlen(end + 1))))
            return 0;
        return 1;
    }
    for (; *rest; rest++)
        if (*rest == '/' || *rest == '?' || *rest == '#' || *rest == '*' ||
            isspace((unsigned char)*rest))
            return 0;
    return 1;
}

static int config_add_origins(struct config *cfg, const char *value, char *err, size_t errlen)
{
    char *copy = strdup(value), *save = NULL;
    int rc = 0;
    if (copy == NULL)
        return config_fail(err, errlen, "out of memory");
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!config_origin_valid(tok)) {
            rc = config_fail(err, errlen,
                             "--allowed-origin: \"%s\" is not an origin like https://news.example "
                             "or a pattern like https://*.news.example",
                             tok);
            break;
        }
        if (cfg->norigins == CONFIG_MAX_ORIGINS) {
            rc = config_fail(err, errlen, "--allowed-origin: at most %d origins",
                             CONFIG_MAX_ORIGINS);
            break;
        }
        if ((cfg->origins[cfg->norigins] = strdup(tok)) == NULL) {
            rc = config_fail(err, errlen, "out of memory");
            break;
        }
        cfg->norigins++;
    }
    free(copy);
    return rc;
}

static void config_clear_origins(struct config *cfg)
{
    for (int i = 0; i < cfg->norigins; i++)
        free(cfg->origins[i]);
    cfg->norigins = 0;
}

/* Applies one setting. `fresh_list` is set for the first value of a list
 * option in a layer, so that a higher layer replaces a lower one's list. */
static int config_apply(struct config *cfg, const struct config_option *o, const char *value,
                        int fresh_list, char *err, size_t errlen)
{
    switch (o->kind) {
    case CONFIG_FILE:
        return 0;
    case CONFIG_STR:
        if (*value == '\0')
            return config_fail(err, errlen, "--%s: must not be empty", o->name);
        if (config_set_str(config_str_at(cfg, o), value))
            return config_fail(err, errlen, "out of memory");
        return 0;
    case CONFIG_INT:
        if (config_parse_int(value, o->min, o->max, config_int_at(cfg, o)))
            return config_fail(err, errlen, "--%s: expected a whole number %d-%d, got \"%s\"",
                               o->name, o->min, o->max, value);
        return 0;
    case CONFIG_FLAG:
        if (value == NULL || strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
            strcmp(value, "yes") == 0 || strcmp(value, "on") == 0)
            *config_int_at(cfg, o) = 1;
        else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 ||
                 strcmp(value, "no") == 0 || strcmp(value, "off") == 0)
            *config_int_at(cfg, o) = 0;
        else
            return config_fail(err, errlen, "--%s: expected true or false, got \"%s\"", o->name,
                               value);
        return 0;
    case CONFIG_LIST:
        if (fresh_list)
            config_clear_origins(cfg);
        return config_add_origins(cfg, value, err, errlen);
    case CONFIG_ADDR:
        return config_parse_addr((struct config_addr *)((char *)cfg + o->offset), o->name, value,
                                 err, errlen);
    }
    return 0;
}

static const struct config_option *config_find(const char *name, size_t len)
{
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
        if (strlen(config_options[i].name) == len &&
            strncmp(config_options[i].name, name, len) == 0)
            return &config_options[i];
    return NULL;
}

static char *config_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* A config file: "name = value" lines (the "=" may be a space), # comments. */
static int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0, rc = 0, seen_list = 0;
    if (f == NULL)
        return config_fail(err, errlen, "--config: cannot open %s: %s", path, strerror(errno));
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = config_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        size_t klen = strcspn(s, "= \t");
        char *value = s + klen;
        while (*value == ' ' || *value == '\t' || *value == '=')
            value++;
        const struct config_option *o = config_find(s, klen);
        if (o == NULL || o->kind == CONFIG_FILE) {
            rc = config_fail(err, errlen, "%s:%d: unknown setting \"%.*s\"", path, lineno,
                             (int)klen, s);
            break;
        }
        rc = config_apply(cfg, o, o->kind == CONFIG_FLAG && *value == '\0' ? NULL : value,
                          o->kind == CONFIG_LIST && !seen_list++, err, errlen);
        if (rc) {
            char inner[256];
            snprintf(inner, sizeof(inner), "%s", err);
            config_fail(err, errlen, "%s:%d: %s", path, lineno, inner);
        }
    }
    fclose(f);
    return rc;
}

static void config_env_name(const struct config_option *o, char *out, size_t outlen)
{
    size_t i = 0;
    for (const char *p = "ALERTD_"; *p && i + 1 < outlen; p++)
        out[i++] = *p;
    for (const char *p = o->name; *p && i + 1 < outlen; p++)
        out[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[i] = '\0';
}

static int config_load_env(struct config *cfg, char *err, size_t errlen)
{
    char name[64];
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        const struct config_option *o = &config_options[i];
        config_env_name(o, name, sizeof(name));
        const char *v = getenv(name);
        if (v == NULL || o->kind == CONFIG_FILE)
            continue;
        if (config_apply(cfg, o, v, 1, err, errlen)) {
            char inner[256];
            snprintf(inner, sizeof(inner), "%s", err);
            return config_fail(err, errlen, "%s: %s", name, inner);
        }
    }
    return 0;
}

static void config_usage(FILE *out)
{
    char env[64], flag[64];
    fprintf(out, "usage: alertd [OPTIONS]\n\n"
                 "Relays breaking-news alerts from Redis to WebSocket, SSE and REST clients.\n"
                 "Every option may also be set as ALERTD_<NAME> in the environment or as\n"
                 "\"name = value\" in the --config file; flags win over the environment,\n"
                 "which wins over the file.\n\n");
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        const struct config_option *o = &config_options[i];
        config_env_name(o, env, sizeof(env));
        snprintf(flag, sizeof(flag), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-26s %s\n  %-26s default: %s; env %s\n", flag, o->help, "",
                o->dflt ? o->dflt : o->dflt_doc, env);
    }
    fprintf(out, "  %-26s %s\n  %-26s %s\n", "--help", "show this help", "--version",
            "print the version");
}

/* Every default of the table, then the two that depend on the machine. */
static int config_defaults(struct config *cfg, char *err, size_t errlen)
{
    int cpus = cpus_available(); /* not the host's: affinity, then CPU quota */
    char host[256] = "alertd";
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        const struct config_option *o = &config_options[i];
        if (o->dflt && config_apply(cfg, o, o->dflt, 1, err, errlen))
            return -1;
    }
    cfg->workers = cpus > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : cpus;
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    return config_set_str(&cfg->node, host) ? config_fail(err, errlen, "out of memory") : 0;
}

/* --config FILE may come as a flag or from ALERTD_CONFIG: find it first. */
static const char *config_file_arg(int argc, char **argv)
{
    const char *path = getenv("ALERTD_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}

static enum config_result config_load_flags(struct config *cfg, int argc, char **argv, char *err,
                                            size_t errlen)
{
    struct option longopts[CONFIG_NOPTIONS + 3];
    int seen_list = 0;
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        longopts[i] =
            (struct option){config_options[i].name,
                            config_options[i].kind == CONFIG_FLAG ? no_argument : required_argument,
                            NULL, (int)(i + 256)};
    }
    longopts[CONFIG_NOPTIONS] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[CONFIG_NOPTIONS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    longopts[CONFIG_NOPTIONS + 2] = (struct option){NULL, 0, NULL, 0};

    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "hV", longopts, NULL);
        if (c == -1)
            break;
        if (c == 'h') {
            config_usage(stdout);
            return CONFIG_EXIT_OK;
        }
        if (c == 'V') {
            printf("alertd %s\n", ALERT_VERSION);
            return CONFIG_EXIT_OK;
        }
        if (c < 256) {
            config_fail(err, errlen, "unknown or incomplete option \"%s\" (see alertd --help)",
                        argv[optind - 1]);
            return CONFIG_ERROR;
        }
        const struct config_option *o = &config_options[c - 256];
        if (config_apply(cfg, o, optarg, o->kind == CONFIG_LIST && !seen_list++, err, errlen))
            return CONFIG_ERROR;
    }
    if (optind < argc) {
        config_fail(err, errlen, "unexpected argument \"%s\" (see alertd --help)", argv[optind]);
        return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

/* Settings that bound each other, once every layer is in. */
static int config_check(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->heartbeat_min > cfg->heartbeat_max)
        return config_fail(err, errlen, "--heartbeat-min (%d) must not exceed --heartbeat-max (%d)",
                           cfg->heartbeat_min, cfg->heartbeat_max);
    if (cfg->heartbeat < cfg->heartbeat_min || cfg->heartbeat > cfg->heartbeat_max)
        return config_fail(err, errlen,
                           "--heartbeat (%d) must lie within --heartbeat-min and --heartbeat-max "
                           "(%d-%d)",
                           cfg->heartbeat, cfg->heartbeat_min, cfg->heartbeat_max);
    return 0;
}

enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    const char *file = config_file_arg(argc, argv);
    enum config_result rc;
    if (config_defaults(cfg, err, errlen))
        return CONFIG_ERROR;
    if (file && config_load_file(cfg, file, err, errlen))
        return CONFIG_ERROR;
    if (config_load_env(cfg, err, errlen))
        return CONFIG_ERROR;
    rc = config_load_flags(cfg, argc, argv, err, errlen);
    if (rc == CONFIG_OK && config_check(cfg, err, errlen))
        return CONFIG_ERROR;
    return rc;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        const struct config_option *o = &config_options[i];
        if (o->kind == CONFIG_STR || o->kind == CONFIG_ADDR)
            free(*config_str_at(cfg, o));
    }
    config_clear_origins(cfg);
    memset(cfg, 0, sizeof(*cfg));
}
