/*
 * pconf — see pconf.h.
 */
#include "pconf.h"

#include "redisurl.h"
#include "rkeys.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct settings_list pconf_origin_list = {
    .count_offset = offsetof(struct pconf, norigins),
    .valid = settings_origin_exact,
    .rule = "an origin like https://news.example",
    .noun = "origins",
};

#define PCONF_AT(field) offsetof(struct pconf, field)

static const struct settings_row pconf_rows[] = {
    {"listen", SETTINGS_ADDR, PCONF_AT(listen), 0, 0, "HOST:PORT",
     "address of the registration API (and /healthz, /readyz)", "127.0.0.1:8444", NULL, NULL},
    {"metrics-listen", SETTINGS_ADDR, PCONF_AT(metrics_listen), 0, 0, "HOST:PORT",
     "serve /metrics (with /healthz, /readyz) here in plain HTTP, for the scraper", NULL, "none",
     NULL},
    {"plain", SETTINGS_FLAG, PCONF_AT(plain), 0, 1, NULL,
     "serve the API in plain HTTP, only behind a TLS-terminating balancer", "off", NULL, NULL},
    {"tls-cert", SETTINGS_STR, PCONF_AT(tls_cert), 0, 0, "FILE", "PEM certificate chain of the API",
     "var/tls/localhost.crt", NULL, NULL},
    {"tls-key", SETTINGS_STR, PCONF_AT(tls_key), 0, 0, "FILE", "PEM private key of the API",
     "var/tls/localhost.key", NULL, NULL},
    {"redis", SETTINGS_STR, PCONF_AT(redis_url), 0, 0, "URL",
     "redis://[user:password@]host[:port][/db], unix:///path or "
     "redis+sentinel://[user:password@]host[:port][,...]/MASTER[/db]",
     REDISURL_DEFAULT, NULL, NULL},
    {"prefix", SETTINGS_STR, PCONF_AT(prefix), 0, 0, "P", "Redis key prefix", RKEYS_PREFIX_DEFAULT,
     NULL, NULL},
    {"vapid-key", SETTINGS_STR, PCONF_AT(vapid_key), 0, 0, "FILE",
     "PEM P-256 private key that signs Web Push requests (VAPID); browsers subscribe with its "
     "public key",
     "var/push/vapid.pem", NULL, NULL},
    {"vapid-subject", SETTINGS_STR, PCONF_AT(vapid_subject), 0, 0, "URI",
     "contact the push services may use: mailto: or https: URI", "mailto:postmaster@localhost",
     NULL, NULL},
    {"webpush-hosts", SETTINGS_STR, PCONF_AT(webpush_hosts), 0, 0, "HOST,...",
     "push services a subscription's endpoint may name (.domain: any host under it)",
     "fcm.googleapis.com,updates.push.services.mozilla.com,web.push.apple.com,"
     ".notify.windows.com",
     NULL, NULL},
    {"provider-ca", SETTINGS_STR, PCONF_AT(provider_ca), 0, 0, "FILE",
     "CA certificates that verify the push services", NULL, "the system's", NULL},
    {"apns-key", SETTINGS_STR, PCONF_AT(apns_key), 0, 0, "FILE",
     "APNs signing key (.p8, PEM P-256) for token authentication; with the three next, turns "
     "APNs on (reread on SIGHUP)",
     NULL, "none: APNs off", NULL},
    {"apns-key-id", SETTINGS_STR, PCONF_AT(apns_key_id), 0, 0, "ID",
     "the APNs key's 10-character key id (the JWT's kid)", NULL, "none", NULL},
    {"apns-team-id", SETTINGS_STR, PCONF_AT(apns_team_id), 0, 0, "ID",
     "the Apple developer team id (the JWT's iss)", NULL, "none", NULL},
    {"apns-bundle-id", SETTINGS_STR, PCONF_AT(apns_bundle_id), 0, 0, "BUNDLE",
     "the iOS app's bundle id (apns-topic)", NULL, "none", NULL},
    {"apns-host", SETTINGS_STR, PCONF_AT(apns_host), 0, 0, "HOST",
     "APNs server, HOST or HOST:PORT (api.sandbox.push.apple.com for development builds)",
     "api.push.apple.com", NULL, NULL},
    {"fcm-service-account", SETTINGS_STR, PCONF_AT(fcm_account), 0, 0, "FILE",
     "Firebase service-account key (JSON); turns FCM on (reread on SIGHUP)", NULL, "none: FCM off",
     NULL},
    {"fcm-host", SETTINGS_STR, PCONF_AT(fcm_host), 0, 0, "HOST",
     "FCM HTTP v1 server, HOST or HOST:PORT (access tokens come from the key file's token_uri)",
     "fcm.googleapis.com", NULL, NULL},
    {"urgencies", SETTINGS_STR, PCONF_AT(urgencies), 0, 0, "U,...",
     "urgencies of the alerts sent: flash, urgent, bulletin, routine", "flash,bulletin", NULL,
     NULL},
    {"ttl", SETTINGS_INT, PCONF_AT(ttl), 1, 28 * 86400, "SECONDS",
     "how long after publication an alert without expires_at is still sent", "14400", NULL, NULL},
    {"registration-days", SETTINGS_INT, PCONF_AT(registration_days), 1, 3650, "DAYS",
     "a registration not refreshed for this long expires", "30", NULL, NULL},
    {"max-registrations-per-min", SETTINGS_INT, PCONF_AT(max_registrations_per_min), 0, 1000000,
     "N", "registration requests per minute from one address, N at once; 0: no limit", "30", NULL,
     NULL},
    {"allowed-origin", SETTINGS_LIST, PCONF_AT(origins), 0, PCONF_MAX_ORIGINS, "ORIGIN",
     "browser Origin allowed to call the API, repeatable", NULL, "any origin", &pconf_origin_list},
    {"concurrency", SETTINGS_INT, PCONF_AT(concurrency), 1, 100000, "N",
     "requests in flight to each provider (Web Push, APNs, FCM)", "256", NULL, NULL},
    {"max-jobs", SETTINGS_INT, PCONF_AT(max_jobs), 1, 1024, "N",
     "registry shards this gateway sends to at once", "8", NULL, NULL},
    {"claim-after", SETTINGS_INT, PCONF_AT(claim_after), 3, 3600, "SECONDS",
     "a gateway silent this long loses its unfinished work to another", "30", NULL, NULL},
    {"name", SETTINGS_STR, PCONF_AT(name), 0, 0, "NAME",
     "this gateway's name among the gateways sharing the work", NULL, "HOST:PID", NULL},
    {"log-level", SETTINGS_STR, PCONF_AT(log_level), 0, 0, "LEVEL", "debug, info, warn or error",
     "info", NULL, NULL},
    {"log-format", SETTINGS_STR, PCONF_AT(log_format), 0, 0, "FORMAT", "logfmt or json", "logfmt",
     NULL, NULL},
    {"config", SETTINGS_FILE, 0, 0, 0, "FILE", "read settings from FILE (lines: name = value)",
     NULL, "none", NULL},
};
#define PCONF_NROWS (sizeof(pconf_rows) / sizeof(pconf_rows[0]))

static const struct settings_table pconf_table = {
    .program = "alertd-push",
    .env_prefix = "ALERTD_PUSH_",
    .about = "Sends breaking-news alerts from Redis to devices and browsers through their\n"
             "push services (Web Push, APNs, FCM), and serves the registration API. Every\n"
             "option may also be set as ALERTD_PUSH_<NAME> in the environment or as\n"
             "\"name = value\" in the --config file; flags win over the environment,\n"
             "which wins over the file. SIGHUP rereads the key files.\n\n",
    .epilogue = "\nExit status: 0 stopped, 1 cannot start, 2 bad configuration.\n",
    .column = 32,
    .rows = pconf_rows,
    .nrows = PCONF_NROWS,
    .size = sizeof(struct pconf),
};

/* Every default of the table, then the name, which depends on the host. */
static int pconf_defaults(struct pconf *cfg, char *err, size_t errlen)
{
    char host[256] = "alertd-push", name[300];
    if (settings_defaults(&pconf_table, cfg, err, errlen))
        return -1;
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(name, sizeof(name), "%s:%d", host, (int)getpid());
    return settings_set_str(&cfg->name, name) ? settings_fail(err, errlen, "out of memory") : 0;
}

enum pconf_result pconf_load(struct pconf *cfg, int argc, char **argv, char *err, size_t errlen)
{
    if (pconf_defaults(cfg, err, errlen))
        return PCONF_ERROR;
    switch (settings_load(&pconf_table, cfg, argc, argv, err, errlen)) {
    case SETTINGS_EXIT_OK:
        return PCONF_EXIT_OK;
    case SETTINGS_ERROR:
        return PCONF_ERROR;
    case SETTINGS_OK:
        break;
    }
    return PCONF_OK;
}

void pconf_free(struct pconf *cfg)
{
    settings_free(&pconf_table, cfg);
}
