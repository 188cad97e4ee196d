/*
 * tls — alertd's TLS settings on top of lws: the SSL_CTX options (TLS 1.2
 * and up with Mozilla's "intermediate" suites and groups, the client's
 * order, one session ticket per handshake, the shared ticket keys, the
 * held ticket, the OCSP staple of --tls-ocsp), counting failed handshakes,
 * and reloading the certificate with its staple and the key files
 * (--tls-ticket-key, --jwt-secret) without a restart. Runs on the worker's
 * loop.
 */
#ifndef ALERTD_TLS_H
#define ALERTD_TLS_H

#include "config.h"
#include "grant.h"
#include "staple.h"
#include "tickets.h"

#include <libwebsockets.h>
#include <openssl/ssl.h>

/* LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: sets ctx up, with
 * `tickets` for session tickets and, unless NULL (no --tls-ocsp), `staple`
 * stapled to the handshakes that ask; both must outlive ctx. 0 or -1. */
int tls_setup(SSL_CTX *ctx, struct tickets *tickets, struct staple *staple);

/* 0 when cfg's certificate chain and key load and match; -1 with err set
 * (OpenSSL's reason). */
int tls_check_files(const struct config *cfg, char *err, size_t errlen);

/* 0 when cfg->tls_ocsp is a readable OCSP response; -1 with err set. */
int tls_check_staple(const struct config *cfg, char *err, size_t errlen);

/* Reads cfg->tls_ocsp into s, about cfg's certificate, and logs what it
 * will do (staple.h). -1 when refused (logged; s is unchanged). */
int tls_load_staple(struct staple *s, const struct config *cfg);

/* The certificate and key of cfg into the running context, if they load
 * (checked first: lws reloads in place and reports nothing), then, unless
 * `staple` is NULL, cfg->tls_ocsp into it; a file that does not load is
 * refused (logged) and the one in use stays: a staple kept is judged
 * again against the new certificate. -1 when something was refused. */
int tls_reload_cert(struct lws_context *lws, const struct config *cfg, struct staple *staple);

/* The key files alone: --tls-ticket-key into tickets and --jwt-secret into
 * grant, those that are set; each that does not load is refused (logged)
 * and its keys stay. `announce` logs each reload. -1 when something was
 * refused. */
int tls_reload_keys(const struct config *cfg, struct tickets *tickets, struct grant *grant,
                    int announce);

#endif
