/*
 * pconf — see pconf.h.
 */
#include "pconf.h"

#include "redisurl.h"
#include "rkeys.h"
#include "version.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PCONF_FILE is --config itself, read before every other layer. */
enum pconf_kind { PCONF_STR, PCONF_INT, PCONF_FLAG, PCONF_LIST, PCONF_ADDR, PCONF_FILE };

struct pconf_option {
    const char *name; /* flag name; the env name and file key derive from it */
    enum pconf_kind kind;
    size_t offset; /* into struct pconf */
    int min, max;  /* PCONF_INT bounds */
    const char *metavar;
    const char *help;
    /* The default, as a value written in a config file; NULL: none, and
     * dflt_doc says what happens then. */
    const char *dflt;
    const char *dflt_doc;
};

#define PCONF_AT(field) offsetof(struct pconf, field)

static const struct pconf_option pconf_options[] = {
    {"listen", PCONF_ADDR, PCONF_AT(listen), 0, 0, "HOST:PORT",
     "address of the registration API (and /healthz, /readyz)", "127.0.0.1:8444", NULL},
    {"metrics-listen", PCONF_ADDR, PCONF_AT(metrics_listen), 0, 0, "HOST:PORT",
     "serve /metrics (with /healthz, /readyz) here in plain HTTP, for the scraper", NULL, "none"},
    {"plain", PCONF_FLAG, PCONF_AT(plain), 0, 1, NULL,
     "serve the API in plain HTTP, only behind a TLS-terminating balancer", "off", NULL},
    {"tls-cert", PCONF_STR, PCONF_AT(tls_cert), 0, 0, "FILE", "PEM certificate chain of the API",
     "var/tls/localhost.crt", NULL},
    {"tls-key", PCONF_STR, PCONF_AT(tls_key), 0, 0, "FILE", "PEM private key of the API",
     "var/tls/localhost.key", NULL},
    {"redis", PCONF_STR, PCONF_AT(redis_url), 0, 0, "URL",
     "redis://[user:password@]host[:port][/db], unix:///path or "
     "redis+sentinel://[user:password@]host[:port][,...]/MASTER[/db]",
     REDISURL_DEFAULT, NULL},
    {"prefix", PCONF_STR, PCONF_AT(prefix), 0, 0, "P", "Redis key prefix", RKEYS_PREFIX_DEFAULT,
     NULL},
    {"vapid-key", PCONF_STR, PCONF_AT(vapid_key), 0, 0, "FILE",
     "PEM P-256 private key that signs Web Push requests (VAPID); browsers subscribe with its "
     "public key",
     "var/push/vapid.pem", NULL},
    {"vapid-subject", PCONF_STR, PCONF_AT(vapid_subject), 0, 0, "URI",
     "contact the push services may use: mailto: or https: URI", "mailto:postmaster@localhost",
     NULL},
    {"webpush-hosts", PCONF_STR, PCONF_AT(webpush_hosts), 0, 0, "HOST,...",
     "push services a subscription's endpoint may name (.domain: any host under it)",
     "fcm.googleapis.com,updates.push.services.mozilla.com,web.push.apple.com,"
     ".notify.windows.com",
     NULL},
    {"provider-ca", PCONF_STR, PCONF_AT(provider_ca), 0, 0, "FILE",
     "CA certificates that verify the push services", NULL, "the system's"},
    {"apns-key", PCONF_STR, PCONF_AT(apns_key), 0, 0, "FILE",
     "APNs signing key (.p8, PEM P-256) for token authentication; with the three next, turns "
     "APNs on (reread on SIGHUP)",
     NULL, "none: APNs off"},
    {"apns-key-id", PCONF_STR, PCONF_AT(apns_key_id), 0, 0, "ID",
     "the APNs key's 10-character key id (the JWT's kid)", NULL, "none"},
    {"apns-team-id", PCONF_STR, PCONF_AT(apns_team_id), 0, 0, "ID",
     "the Apple developer team id (the JWT's iss)", NULL, "none"},
    {"apns-bundle-id", PCONF_STR, PCONF_AT(apns_bundle_id), 0, 0, "BUNDLE",
     "the iOS app's bundle id (apns-topic)", NULL, "none"},
    {"apns-host", PCONF_STR, PCONF_AT(apns_host), 0, 0, "HOST",
     "APNs server, HOST or HOST:PORT (api.sandbox.push.apple.com for development builds)",
     "api.push.apple.com", NULL},
    {"fcm-service-account", PCONF_STR, PCONF_AT(fcm_account), 0, 0, "FILE",
     "Firebase service-account key (JSON); turns FCM on (reread on SIGHUP)", NULL, "none: FCM off"},
    {"fcm-host", PCONF_STR, PCONF_AT(fcm_host), 0, 0, "HOST",
     "FCM HTTP v1 server, HOST or HOST:PORT (access tokens come from the key file's token_uri)",
     "fcm.googleapis.com", NULL},
    {"urgencies", PCONF_STR, PCONF_AT(urgencies), 0, 0, "U,...",
     "urgencies of the alerts sent: flash, urgent, bulletin, routine", "flash,bulletin", NULL},
    {"ttl", PCONF_INT, PCONF_AT(ttl), 1, 28 * 86400, "SECONDS",
     "how long after publication an alert without expires_at is still sent", "14400", NULL},
    {"registration-days", PCONF_INT, PCONF_AT(registration_days), 1, 3650, "DAYS",
     "a registration not refreshed for this long expires", "30", NULL},
    {"max-registrations-per-min", PCONF_INT, PCONF_AT(max_registrations_per_min), 0, 1000000, "N",
     "registration requests per minute from one address, N at once; 0: no limit", "30", NULL},
    {"allowed-origin", PCONF_LIST, PCONF_AT(origins), 0, 0, "ORIGIN",
     "browser Origin allowed to call the API, repeatable", NULL, "any origin"},
    {"concurrency", PCONF_INT, PCONF_AT(concurrency), 1, 100000, "N",
     "requests in flight to each provider (Web Push, APNs, FCM)", "256", NULL},
    {"max-jobs", PCONF_INT, PCONF_AT(max_jobs), 1, 1024, "N",
     "registry shards this gateway sends to at once", "8", NULL},
    {"claim-after", PCONF_INT, PCONF_AT(claim_after), 3, 3600, "SECONDS",
     "a gateway silent this long loses its unfinished work to another", "30", NULL},
    {"name", PCONF_STR, PCONF_AT(name), 0, 0, "NAME",
     "this gateway's name among the gateways sharing the work", NULL, "HOST:PID"},
    {"log-level", PCONF_STR, PCONF_AT(log_level), 0, 0, "LEVEL", "debug, info, warn or error",
     "info", NULL},
    {"log-format", PCONF_STR, PCONF_AT(log_format), 0, 0, "FORMAT", "logfmt or json", "logfmt",
     NULL},
    {"config", PCONF_FILE, 0, 0, 0, "FILE", "read settings from FILE (lines: name = value)", NULL,
     "none"},
};
#define PCONF_NOPTIONS (sizeof(pconf_options) / sizeof(pconf_options[0]))

static int pconf_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static char **pconf_str_at(struct pconf *cfg, const struct pconf_option *o)
{
    return (char **)((char *)cfg + o->offset);
}

static int *pconf_int_at(struct pconf *cfg, const struct pconf_option *o)
{
    return (int *)((char *)cfg + o->offset);
}

static int pconf_set_str(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

static int pconf_parse_int(const char *s, int min, int max, int *out)
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
static int pconf_parse_addr(struct pconf_addr *a, const char *flag, const char *s, char *err,
                            size_t errlen)
{
    const char *colon = strrchr(s, ':');
    const char *host = s;
    size_t hlen;
    if (colon == NULL)
        return pconf_fail(err, errlen, "--%s: expected HOST:PORT, got \"%s\"", flag, s);
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && colon[-1] == ']') {
        host++;
        hlen -= 2;
    }
    if (pconf_parse_int(colon + 1, 1, 65535, &a->port))
        return pconf_fail(err, errlen, "--%s: port must be 1-65535, got \"%s\"", flag, colon + 1);
    char *h = strndup(host, hlen);
    if (h == NULL)
        return pconf_fail(err, errlen, "out of memory");
    free(a->host);
    a->host = h;
    return 0;
}

/* An Origin is scheme://host[:port], nothing after it. */
static int pconf_origin_valid(const char *s)
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
    for (; *rest; rest++)
        if (*rest == '/' || *rest == '?' || *rest == '#' || isspace((unsigned char)*rest))
            return 0;
    return 1;
}

static int pconf_add_origins(struct pconf *cfg, const char *value, char *err, size_t errlen)
{
    char *copy = strdup(value), *save = NULL;
    int rc = 0;
    if (copy == NULL)
        return pconf_fail(err, errlen, "out of memory");
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!pconf_origin_valid(tok)) {
            rc = pconf_fail(err, errlen,
                            "--allowed-origin: \"%s\" is not an origin like https://news.example",
                            tok);
            break;
        }
        if (cfg->norigins == PCONF_MAX_ORIGINS) {
            rc = pconf_fail(err, errlen, "--allowed-origin: at most %d origins", PCONF_MAX_ORIGINS);
            break;
        }
        if ((cfg->origins[cfg->norigins] = strdup(tok)) == NULL) {
            rc = pconf_fail(err, errlen, "out of memory");
            break;
        }
        cfg->norigins++;
    }
    free(copy);
    return rc;
}

static void pconf_clear_origins(struct pconf *cfg)
{
    for (int i = 0; i < cfg->norigins; i++)
        free(cfg->origins[i]);
    cfg->norigins = 0;
}

/* Applies one setting. `fresh_list` is set for the first value of a list
 * option in a layer, so that a higher layer replaces a lower one's list. */
static int pconf_apply(struct pconf *cfg, const struct pconf_option *o, const char *value,
                       int fresh_list, char *err, size_t errlen)
{
    switch (o->kind) {
    case PCONF_FILE:
        return 0;
    case PCONF_STR:
        if (*value == '\0')
            return pconf_fail(err, errlen, "--%s: must not be empty", o->name);
        if (pconf_set_str(pconf_str_at(cfg, o), value))
            return pconf_fail(err, errlen, "out of memory");
        return 0;
    case PCONF_INT:
        if (pconf_parse_int(value, o->min, o->max, pconf_int_at(cfg, o)))
            return pconf_fail(err, errlen, "--%s: expected a whole number %d-%d, got \"%s\"",
                              o->name, o->min, o->max, value);
        return 0;
    case PCONF_FLAG:
        if (value == NULL || strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
            strcmp(value, "yes") == 0 || strcmp(value, "on") == 0)
            *pconf_int_at(cfg, o) = 1;
        else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 ||
                 strcmp(value, "no") == 0 || strcmp(value, "off") == 0)
            *pconf_int_at(cfg, o) = 0;
        else
            return pconf_fail(err, errlen, "--%s: expected true or false, got \"%s\"", o->name,
                              value);
        return 0;
    case PCONF_LIST:
        if (fresh_list)
            pconf_clear_origins(cfg);
        return pconf_add_origins(cfg, value, err, errlen);
    case PCONF_ADDR:
        return pconf_parse_addr((struct pconf_addr *)((char *)cfg + o->offset), o->name, value, err,
                                errlen);
    }
    return 0;
}

static const struct pconf_option *pconf_find(const char *name, size_t len)
{
    for (size_t i = 0; i < PCONF_NOPTIONS; i++)
        if (strlen(pconf_options[i].name) == len && strncmp(pconf_options[i].name, name, len) == 0)
            return &pconf_options[i];
    return NULL;
}

static char *pconf_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* A config file: "name = value" lines (the "=" may be a space), # comments. */
static int pconf_load_file(struct pconf *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0, rc = 0, seen_list = 0;
    if (f == NULL)
        return pconf_fail(err, errlen, "--config: cannot open %s: %s", path, strerror(errno));
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = pconf_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        size_t klen = strcspn(s, "= \t");
        char *value = s + klen;
        while (*value == ' ' || *value == '\t' || *value == '=')
            value++;
        const struct pconf_option *o = pconf_find(s, klen);
        if (o == NULL || o->kind == PCONF_FILE) {
            rc = pconf_fail(err, errlen, "%s:%d: unknown setting \"%.*s\"", path, lineno, (int)klen,
                            s);
            break;
        }
        rc = pconf_apply(cfg, o, o->kind == PCONF_FLAG && *value == '\0' ? NULL : value,
                         o->kind == PCONF_LIST && !seen_list++, err, errlen);
        if (rc) {
            char inner[256];
            snprintf(inner, sizeof(inner), "%s", err);
            pconf_fail(err, errlen, "%s:%d: %s", path, lineno, inner);
        }
    }
    fclose(f);
    return rc;
}

static void pconf_env_name(const struct pconf_option *o, char *out, size_t outlen)
{
    size_t i = 0;
    for (const char *p = "ALERTD_PUSH_"; *p && i + 1 < outlen; p++)
        out[i++] = *p;
    for (const char *p = o->name; *p && i + 1 < outlen; p++)
        out[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[i] = '\0';
}

static int pconf_load_env(struct pconf *cfg, char *err, size_t errlen)
{
    char name[64];
    for (size_t i = 0; i < PCONF_NOPTIONS; i++) {
        const struct pconf_option *o = &pconf_options[i];
        pconf_env_name(o, name, sizeof(name));
        const char *v = getenv(name);
        if (v == NULL || o->kind == PCONF_FILE)
            continue;
        if (pconf_apply(cfg, o, v, 1, err, errlen)) {
            char inner[256];
            snprintf(inner, sizeof(inner), "%s", err);
            return pconf_fail(err, errlen, "%s: %s", name, inner);
        }
    }
    return 0;
}

static void pconf_usage(FILE *out)
{
    char env[64], flag[64];
    fprintf(out, "usage: alertd-push [OPTIONS]\n\n"
                 "Sends breaking-news alerts from Redis to devices and browsers through their\n"
                 "push services (Web Push, APNs, FCM), and serves the registration API. Every\n"
                 "option may also be set as ALERTD_PUSH_<NAME> in the environment or as\n"
                 "\"name = value\" in the --config file; flags win over the environment,\n"
                 "which wins over the file. SIGHUP rereads the key files.\n\n");
    for (size_t i = 0; i < PCONF_NOPTIONS; i++) {
        const struct pconf_option *o = &pconf_options[i];
        pconf_env_name(o, env, sizeof(env));
        snprintf(flag, sizeof(flag), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-32s %s\n  %-32s default: %s; env %s\n", flag, o->help, "",
                o->dflt ? o->dflt : o->dflt_doc, env);
    }
    fprintf(out, "  %-32s %s\n  %-32s %s\n", "--help", "show this help", "--version",
            "print the version");
    fprintf(out, "\nExit status: 0 stopped, 1 cannot start, 2 bad configuration.\n");
}

/* Every default of the table, then the name, which depends on the host. */
static int pconf_defaults(struct pconf *cfg, char *err, size_t errlen)
{
    char host[256] = "alertd-push", name[300];
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < PCONF_NOPTIONS; i++) {
        const struct pconf_option *o = &pconf_options[i];
        if (o->dflt && pconf_apply(cfg, o, o->dflt, 1, err, errlen))
            return -1;
    }
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(name, sizeof(name), "%s:%d", host, (int)getpid());
    return pconf_set_str(&cfg->name, name) ? pconf_fail(err, errlen, "out of memory") : 0;
}

/* --config FILE may come as a flag or from ALERTD_PUSH_CONFIG: find it first. */
static const char *pconf_file_arg(int argc, char **argv)
{
    const char *path = getenv("ALERTD_PUSH_CONFIG");
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
static enum pconf_result pconf_load_flags(struct pconf *cfg, int argc, char **argv, char *err,
                                          size_t errlen)
{
    struct option longopts[PCONF_NOPTIONS + 3];
    int seen_list = 0;
    for (size_t i = 0; i < PCONF_NOPTIONS; i++) {
        longopts[i] =
            (struct option){pconf_options[i].name,
                            pconf_options[i].kind == PCONF_FLAG ? no_argument : required_argument,
                            NULL, (int)(i + 256)};
    }
    longopts[PCONF_NOPTIONS] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[PCONF_NOPTIONS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    longopts[PCONF_NOPTIONS + 2] = (struct option){NULL, 0, NULL, 0};

    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "hV", longopts, NULL);
        if (c == -1)
            break;
        if (c == 'h') {
            pconf_usage(stdout);
            return PCONF_EXIT_OK;
        }
        if (c == 'V') {
            printf("alertd-push %s\n", ALERT_VERSION);
            return PCONF_EXIT_OK;
        }
        if (c < 256) {
            pconf_fail(err, errlen, "unknown or incomplete option \"%s\" (see alertd-push --help)",
                       argv[optind - 1]);
            return PCONF_ERROR;
        }
        const struct pconf_option *o = &pconf_options[c - 256];
        if (pconf_apply(cfg, o, optarg, o->kind == PCONF_LIST && !seen_list++, err, errlen))
            return PCONF_ERROR;
    }
    if (optind < argc) {
        pconf_fail(err, errlen, "unexpected argument \"%s\" (see alertd-push --help)",
                   argv[optind]);
        return PCONF_ERROR;
    }
    return PCONF_OK;
}

enum pconf_result pconf_load(struct pconf *cfg, int argc, char **argv, char *err, size_t errlen)
{
    const char *file = pconf_file_arg(argc, argv);
    if (pconf_defaults(cfg, err, errlen))
        return PCONF_ERROR;
    if (file && pconf_load_file(cfg, file, err, errlen))
        return PCONF_ERROR;
    if (pconf_load_env(cfg, err, errlen))
        return PCONF_ERROR;
    return pconf_load_flags(cfg, argc, argv, err, errlen);
}

void pconf_free(struct pconf *cfg)
{
    for (size_t i = 0; i < PCONF_NOPTIONS; i++) {
        const struct pconf_option *o = &pconf_options[i];
        if (o->kind == PCONF_STR || o->kind == PCONF_ADDR)
            free(*pconf_str_at(cfg, o));
    }
    pconf_clear_origins(cfg);
    memset(cfg, 0, sizeof(*cfg));
}
