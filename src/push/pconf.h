/*
 * pconf — alertd-push's settings: defaults, a config file, ALERTD_PUSH_*
 * environment variables and command-line flags, in rising order of
 * precedence. One table describes every setting once, its default
 * included; --help, the environment names, the file keys and the defaults
 * applied all come from it, read by the machinery alertd shares
 * (settings.h). pconf_load owns the strings it stores and
 * pconf_free releases them.
 */
#ifndef PUSH_PCONF_H
#define PUSH_PCONF_H

#include "settings.h"

#include <stddef.h>

#define PCONF_MAX_ORIGINS 32

/* Exit statuses of alertd-push. */
#define PUSH_EXIT_OK     0
#define PUSH_EXIT_START  1 /* cannot start: a port, memory */
#define PUSH_EXIT_CONFIG 2 /* bad configuration, key or certificate */

struct pconf {
    struct settings_addr listen;         /* the registration API: 127.0.0.1:8444 */
    struct settings_addr metrics_listen; /* /metrics, /healthz, /readyz; unset: none */
    int plain;                           /* the API without TLS, behind a balancer */
    char *tls_cert, *tls_key;
    char *redis_url;
    char *prefix;
    char *vapid_key;     /* PEM P-256 private key */
    char *vapid_subject; /* mailto: or https: contact */
    char *webpush_hosts; /* push services endpoints may name */
    char *provider_ca;   /* CA bundle for the push services; NULL: the system's */
    char *apns_key;      /* .p8 PEM P-256 key; NULL: APNs off */
    char *apns_key_id, *apns_team_id, *apns_bundle_id, *apns_host;
    char *fcm_account; /* service-account JSON key; NULL: FCM off */
    char *fcm_host;
    char *urgencies; /* "flash,bulletin" */
    int ttl;         /* seconds an alert without expires_at is worth sending */
    int registration_days;
    int max_registrations_per_min;    /* per address; 0: no limit */
    char *origins[PCONF_MAX_ORIGINS]; /* CORS: allowed browser Origins; none = any */
    int norigins;
    int concurrency; /* requests in flight to each provider */
    int max_jobs;    /* shards sent at once */
    int claim_after; /* seconds before another gateway takes a silent one's work */
    char *name;      /* this gateway's consumer name */
    char *log_level, *log_format;
};

enum pconf_result { PCONF_OK, PCONF_EXIT_OK, PCONF_ERROR };

/* Fills cfg from defaults, the --config / ALERTD_PUSH_CONFIG file, the
 * environment, then argv. PCONF_EXIT_OK: --help or --version was printed;
 * PCONF_ERROR: err names the setting. */
enum pconf_result pconf_load(struct pconf *cfg, int argc, char **argv, char *err, size_t errlen);
void pconf_free(struct pconf *cfg);

#endif
