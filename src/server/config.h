/*
 * config — alertd's settings: defaults, a config file, ALERTD_* environment
 * variables and command-line flags, in rising order of precedence.
 *
 * One table describes every setting once, its default included; --help, the
 * environment names, the config-file keys and the defaults applied all come
 * from it, so they cannot drift apart; the machinery that reads the table
 * is settings.h, shared with alertd-push.
 * config_load owns the strings it stores and config_free releases them.
 */
#ifndef ALERTD_CONFIG_H
#define ALERTD_CONFIG_H

#include "settings.h"

#include <stddef.h>

#define CONFIG_MAX_ORIGINS   32
#define CONFIG_MAX_WORKERS   256  /* --workers, and the sockets main opens for them */
#define CONFIG_HEARTBEAT_MAX 3600 /* the bound of --heartbeat, --heartbeat-min, --heartbeat-max */

struct config {
    struct settings_addr listen;         /* readers: 127.0.0.1:8443 */
    struct settings_addr metrics_listen; /* /metrics, /healthz, /readyz apart; unset: none */

    int public_metrics;                /* /metrics on --listen too */
    char *redis_url;                   /* redis://127.0.0.1:6379 */
    char *prefix;                      /* "alert": keys prefix:stream, prefix:live */
    char *tls_cert;                    /* PEM certificate chain */
    char *tls_key;                     /* PEM private key */
    char *tls_ticket_key;              /* session ticket keys (tickets.h); NULL: random */
    char *tls_ocsp;                    /* DER OCSP response to staple (staple.h); NULL: none */
    int plain;                         /* serve without TLS (behind a terminating balancer) */
    int history;                       /* alerts kept in memory for replays and REST */
    int heartbeat;                     /* seconds between server pings, unless a client asks */
    int heartbeat_min, heartbeat_max;  /* what a client may ask for (heartbeat=) is clamped to */
    int drain_seconds;                 /* SIGTERM: window the client closes are spread over */
    int workers;                       /* processes sharing the port */
    int max_connections;               /* per worker process */
    int max_queue;                     /* alerts a client may lag behind before 4001 */
    int max_per_ip;                    /* concurrent connections from one address */
    int max_rate_per_ip;               /* new connections per second from one; 0: no limit */
    int max_frames_per_sec;            /* client frames per second, per WebSocket; 0: no limit */
    int max_replays_per_min;           /* replays (since) per minute, per WebSocket; 0: no limit */
    int receipts_days;                 /* days Redis keeps receipts (receipts.h); 0: none counted */
    int proxy_protocol;                /* readers' connections start with a PROXY header */
    char *jwt_secret;                  /* HS256 key file for tokens (grant.h); NULL: none */
    char *restricted_topics;           /* comma-separated; NULL: none */
    char *origins[CONFIG_MAX_ORIGINS]; /* allowed browser Origins; none = any */
    int norigins;
    int max_header_bytes; /* a request's target and headers (431 beyond) */
    int hsts_max_age;     /* Strict-Transport-Security max-age; 0: not sent */
    char *node;           /* node name in hello frames and metrics */
    char *user;           /* --user: who to become once the sockets are open; NULL: stay */
    char *log_level;
    char *log_format;
};

enum config_result { CONFIG_OK, CONFIG_EXIT_OK, CONFIG_ERROR };

/* Fills cfg from defaults, the file named by --config / ALERTD_CONFIG, the
 * environment, then argv. CONFIG_EXIT_OK means --help or --version was
 * printed; CONFIG_ERROR means err holds a message naming the setting. */
enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_free(struct config *cfg);

#endif
