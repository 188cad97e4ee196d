/*
 * tls — alertd's TLS settings on top of lws: the SSL_CTX options (TLS 1.2
 * and up with Mozilla's "intermediate" suites and groups, the client's
 * order, one session ticket per handshake, the shared ticket keys, the
 * held ticket), counting failed handshakes, and reloading the certificate
 * and the key files (--tls-ticket-key, --jwt-secret) without a restart.
 * Runs on the worker's loop.
 */
#ifndef ALERTD_TLS_H
#define ALERTD_TLS_H

#include "config.h"
#include "grant.h"
#include "tickets.h"

#include <libwebsockets.h>
#include <openssl/ssl.h>

/* LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: sets ctx up, with
 * `tickets` (which must outlive it) for session tickets. 0 or -1. */
int tls_setup(SSL_CTX *ctx, struct tickets *tickets);

/* 0 when cfg's certificate chain and key load and match; -1 with err set
 * (OpenSSL's reason). */
int tls_check_files(const struct config *cfg, char *err, size_t errlen);

/* The certificate and key of cfg into the running context, if they load
 * (checked first: lws reloads in place and reports nothing); the one in
 * use otherwise stays. -1 when refused (logged). */
int tls_reload_cert(struct lws_context *lws, const struct config *cfg);

/* The key files alone: --tls-ticket-key into tickets and --jwt-secret into
 * grant, those that are set; each that does not load is refused (logged)
 * and its keys stay. `announce` logs each reload. -1 when something was
 * refused. */
int tls_reload_keys(const struct config *cfg, struct tickets *tickets, struct grant *grant,
                    int announce);

#endif
