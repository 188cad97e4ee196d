/*
 * config — see config.h.
 */
#include "config.h"

#include "cpus.h"
#include "redisurl.h"
#include "rkeys.h"

#include <ctype.h>
#include <string.h>
#include <unistd.h>

/* An Origin is scheme://host[:port], nothing after it; a pattern's host
 * is "*." and two labels or more (origin.h), such as *.example.org. */
static int config_origin_valid(const char *s)
{
    const char *rest = settings_origin_host(s);
    if (rest == NULL || strncmp(rest, "*.", 2) != 0)
        return settings_origin_exact(s);
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
    return labels >= 2 &&
           (*end == '\0' || (end[1] != '\0' && strspn(end + 1, "0123456789") == strlen(end + 1)));
}

static const struct settings_list config_origin_list = {
    .count_offset = offsetof(struct config, norigins),
    .valid = config_origin_valid,
    .rule = "an origin like https://news.example or a pattern like https://*.news.example",
    .noun = "origins",
};

#define CONFIG_AT(field) offsetof(struct config, field)

static const struct settings_row config_rows[] = {
    {"listen", SETTINGS_ADDR, CONFIG_AT(listen), 0, 0, "HOST:PORT",
     "address to serve readers on ([::]:443 for IPv6)", "127.0.0.1:8443", NULL, NULL},
    {"metrics-listen", SETTINGS_ADDR, CONFIG_AT(metrics_listen), 0, 0, "HOST:PORT",
     "serve /metrics (with /healthz, /readyz) here in plain HTTP, for the scraper; no "
     "per-address limits",
     NULL, "none", NULL},
    {"public-metrics", SETTINGS_FLAG, CONFIG_AT(public_metrics), 0, 1, NULL,
     "also serve /metrics on --listen, to anyone who can reach the readers' port", "off", NULL,
     NULL},
    {"redis", SETTINGS_STR, CONFIG_AT(redis_url), 0, 0, "URL",
     "redis://[user:password@]host[:port][/db], unix:///path or "
     "redis+sentinel://[user:password@]host[:port][,...]/MASTER[/db]",
     REDISURL_DEFAULT, NULL, NULL},
    {"prefix", SETTINGS_STR, CONFIG_AT(prefix), 0, 0, "P", "Redis key prefix", RKEYS_PREFIX_DEFAULT,
     NULL, NULL},
    {"tls-cert", SETTINGS_STR, CONFIG_AT(tls_cert), 0, 0, "FILE", "PEM certificate chain",
     "var/tls/localhost.crt", NULL, NULL},
    {"tls-key", SETTINGS_STR, CONFIG_AT(tls_key), 0, 0, "FILE", "PEM private key",
     "var/tls/localhost.key", NULL, NULL},
    {"tls-ticket-key", SETTINGS_STR, CONFIG_AT(tls_ticket_key), 0, 0, "FILE",
     "session ticket keys, 80 bytes each, first one current", NULL, "random keys made at start",
     NULL},
    {"tls-ocsp", SETTINGS_STR, CONFIG_AT(tls_ocsp), 0, 0, "FILE",
     "DER OCSP response for --tls-cert, stapled to handshakes that ask; refresh it (openssl "
     "ocsp -respout): it is read again like the certificate",
     NULL, "none (no stapling)", NULL},
    {"plain", SETTINGS_FLAG, CONFIG_AT(plain), 0, 1, NULL,
     "serve plain HTTP/WebSocket, only behind a TLS-terminating balancer", "off", NULL, NULL},
    {"history", SETTINGS_INT, CONFIG_AT(history), 1, 1000000, "N",
     "alerts kept in memory for replay and REST", "10000", NULL, NULL},
    {"heartbeat", SETTINGS_INT, CONFIG_AT(heartbeat), 1, CONFIG_HEARTBEAT_MAX, "SECONDS",
     "ping interval for a client that asks for none; silent connections close after two", "25",
     NULL, NULL},
    {"heartbeat-min", SETTINGS_INT, CONFIG_AT(heartbeat_min), 1, CONFIG_HEARTBEAT_MAX, "SECONDS",
     "shortest heartbeat a client may ask for (heartbeat= in its URL); shorter asks get this", "10",
     NULL, NULL},
    {"heartbeat-max", SETTINGS_INT, CONFIG_AT(heartbeat_max), 1, CONFIG_HEARTBEAT_MAX, "SECONDS",
     "longest heartbeat a client may ask for; longer asks get this", "300", NULL, NULL},
    {"workers", SETTINGS_INT, CONFIG_AT(workers), 1, CONFIG_MAX_WORKERS, "N",
     "processes sharing the port", NULL, "the CPUs available, within a CPU quota", NULL},
    {"drain-seconds", SETTINGS_INT, CONFIG_AT(drain_seconds), 0, 600, "SECONDS",
     "on SIGTERM, close clients spread over this window, then exit", "3", NULL, NULL},
    {"max-connections", SETTINGS_INT, CONFIG_AT(max_connections), 1, 10000000, "N",
     "connections per worker before new ones get 4029", "19000", NULL, NULL},
    {"max-queue", SETTINGS_INT, CONFIG_AT(max_queue), 1, 1000000, "N",
     "alerts a client may fall behind: then its routine alerts are shed (WebSocket), and it is "
     "closed with 4001 when the rest still do not fit",
     "256", NULL, NULL},
    {"max-per-ip", SETTINGS_INT, CONFIG_AT(max_per_ip), 1, 10000000, "N",
     "concurrent connections from one address, per worker", "1000", NULL, NULL},
    {"max-rate-per-ip", SETTINGS_INT, CONFIG_AT(max_rate_per_ip), 0, 1000000, "N",
     "new connections per second from one address, per worker; 0: no limit", "0", NULL, NULL},
    {"max-frames-per-sec", SETTINGS_INT, CONFIG_AT(max_frames_per_sec), 0, 1000000, "N",
     "frames one WebSocket client may send per second, N at once; over it: close 4030; 0: no "
     "limit",
     "10", NULL, NULL},
    {"max-replays-per-min", SETTINGS_INT, CONFIG_AT(max_replays_per_min), 0, 1000000, "N",
     "replays (since) one WebSocket connection may ask for per minute, N at once; over it: "
     "close 4031; 0: no limit",
     "6", NULL, NULL},
    {"receipts-days", SETTINGS_INT, CONFIG_AT(receipts_days), 0, 365, "DAYS",
     "count per alert the sockets written and the readers' acks, flushed to Redis each second "
     "and kept DAYS days there (alert stats); 0: counted nowhere, acks ignored",
     "7", NULL, NULL},
    {"proxy-protocol", SETTINGS_FLAG, CONFIG_AT(proxy_protocol), 0, 1, NULL,
     "readers come through a balancer that starts each connection with a PROXY protocol "
     "header (v1 or v2); the limits count the address it names",
     "off", NULL, NULL},
    {"jwt-secret", SETTINGS_STR, CONFIG_AT(jwt_secret), 0, 0, "FILE",
     "HS256 key (32+ bytes) that signs tokens for restricted topics", NULL,
     "none (no tokens checked)", NULL},
    {"restricted-topics", SETTINGS_STR, CONFIG_AT(restricted_topics), 0, 0, "T,...",
     "topics whose alerts only token holders receive (needs --jwt-secret)", NULL, "none", NULL},
    {"allowed-origin", SETTINGS_LIST, CONFIG_AT(origins), 0, CONFIG_MAX_ORIGINS, "ORIGIN",
     "browser Origin allowed to connect, repeatable; https://*.example.org allows its "
     "subdomains",
     NULL, "any origin", &config_origin_list},
    {"max-header-bytes", SETTINGS_INT, CONFIG_AT(max_header_bytes), 4096, 32768, "BYTES",
     "a request's target and headers, at most; more gets 431", "16384", NULL, NULL},
    {"hsts-max-age", SETTINGS_INT, CONFIG_AT(hsts_max_age), 0, 63072000, "SECONDS",
     "Strict-Transport-Security max-age on HTTPS answers; 0: none", "31536000", NULL, NULL},
    {"node", SETTINGS_STR, CONFIG_AT(node), 0, 0, "NAME", "node name in hello frames and metrics",
     NULL, "the host name", NULL},
    {"user", SETTINGS_STR, CONFIG_AT(user), 0, 0, "NAME",
     "once the ports are open, run as this user (start as root)", NULL, "none (stay as started)",
     NULL},
    {"log-level", SETTINGS_STR, CONFIG_AT(log_level), 0, 0, "LEVEL", "debug, info, warn or error",
     "info", NULL, NULL},
    {"log-format", SETTINGS_STR, CONFIG_AT(log_format), 0, 0, "FORMAT", "logfmt or json", "logfmt",
     NULL, NULL},
    {"config", SETTINGS_FILE, 0, 0, 0, "FILE", "read settings from FILE (lines: name = value)",
     NULL, "none", NULL},
};
#define CONFIG_NROWS (sizeof(config_rows) / sizeof(config_rows[0]))

static const struct settings_table config_table = {
    .program = "alertd",
    .env_prefix = "ALERTD_",
    .about = "Relays breaking-news alerts from Redis to WebSocket, SSE and REST clients.\n"
             "Every option may also be set as ALERTD_<NAME> in the environment or as\n"
             "\"name = value\" in the --config file; flags win over the environment,\n"
             "which wins over the file.\n\n",
    .epilogue = NULL,
    .column = 26,
    .rows = config_rows,
    .nrows = CONFIG_NROWS,
    .size = sizeof(struct config),
};

/* Every default of the table, then the two that depend on the machine. */
static int config_defaults(struct config *cfg, char *err, size_t errlen)
{
    int cpus = cpus_available(); /* not the host's: affinity, then CPU quota */
    char host[256] = "alertd";
    if (settings_defaults(&config_table, cfg, err, errlen))
        return -1;
    cfg->workers = cpus > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : cpus;
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    return settings_set_str(&cfg->node, host) ? settings_fail(err, errlen, "out of memory") : 0;
}

/* Settings that bound each other, once every layer is in. */
static int config_check(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->heartbeat_min > cfg->heartbeat_max)
        return settings_fail(err, errlen,
                             "--heartbeat-min (%d) must not exceed --heartbeat-max (%d)",
                             cfg->heartbeat_min, cfg->heartbeat_max);
    if (cfg->heartbeat < cfg->heartbeat_min || cfg->heartbeat > cfg->heartbeat_max)
        return settings_fail(err, errlen,
                             "--heartbeat (%d) must lie within --heartbeat-min and "
                             "--heartbeat-max (%d-%d)",
                             cfg->heartbeat, cfg->heartbeat_min, cfg->heartbeat_max);
    return 0;
}

enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    if (config_defaults(cfg, err, errlen))
        return CONFIG_ERROR;
    switch (settings_load(&config_table, cfg, argc, argv, err, errlen)) {
    case SETTINGS_EXIT_OK:
        return CONFIG_EXIT_OK;
    case SETTINGS_ERROR:
        return CONFIG_ERROR;
    case SETTINGS_OK:
        break;
    }
    return config_check(cfg, err, errlen) ? CONFIG_ERROR : CONFIG_OK;
}

void config_free(struct config *cfg)
{
    settings_free(&config_table, cfg);
}
