/*
 * oauth — the access token FCM's HTTP v1 API wants, from a Google
 * service-account key file (JSON: client_email, private_key, private_key_id,
 * token_uri, project_id): an RS256-signed JWT grant (RFC 7523; iss the
 * account, scope firebase.messaging, aud token_uri, one hour) POSTed to
 * token_uri through h2, and the token it answers cached until
 * OAUTH_RENEW_MS before it expires.
 *
 * One fetch at a time; `ready` runs on the loop when it ends (ok or not:
 * `why` says what failed, never with secret material in it). A reload
 * (SIGHUP) replaces the account and drops the token; a fetch in flight for
 * the old account is answered but not used, and another starts. The key and
 * the tokens are never logged.
 */
#ifndef PUSH_OAUTH_H
#define PUSH_OAUTH_H

#include "h2.h"

#include <openssl/evp.h>
#include <stdint.h>

#define OAUTH_SCOPE      "https://www.googleapis.com/auth/firebase.messaging"
#define OAUTH_GRANT_SECS 3600
#define OAUTH_RENEW_MS   (5 * 60 * 1000)
#define OAUTH_TOKEN_MAX  4096

struct oauth_account {
    EVP_PKEY *key; /* NULL: none loaded */
    char *email, *key_id, *token_uri, *project;
};

struct oauth_fetch;

typedef void (*oauth_ready_fn)(void *user, int ok, const char *why);

struct oauth {
    struct oauth_account acct;
    char *token;
    int64_t token_exp_ms;
    unsigned gen;      /* counts the tokens received */
    unsigned acct_gen; /* counts the accounts loaded */
    struct oauth_fetch *fetch;
    struct h2 *h2;
    oauth_ready_fn ready;
    void *user;
};

/* Reads the key file: 0, or -1 with err naming the file and the field. */
int oauth_load(struct oauth *o, const char *path, char *err, size_t errlen);

/* Reads it again: 0 (the token dropped), or -1 with o unchanged. */
int oauth_reload(struct oauth *o, const char *path, char *err, size_t errlen);

/* Where fetches go and who hears of their end. */
void oauth_start(struct oauth *o, struct h2 *h2, oauth_ready_fn ready, void *user);

/* The token while it has more than OAUTH_RENEW_MS to live (its
 * generation in *gen), else NULL. */
const char *oauth_token(const struct oauth *o, int64_t now_ms, unsigned *gen);

/* Starts a fetch unless one is in flight: 0, or -1 (`ready` will not run). */
int oauth_fetch(struct oauth *o, int64_t now_ms);

/* The token of generation gen was refused: it is not used again. */
void oauth_expired(struct oauth *o, unsigned gen);

/* After h2_free (no fetch in flight). */
void oauth_free(struct oauth *o);

#endif
