/*
 * tls — see tls.h.
 */
#include "tls.h"

#include "itemtime.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <time.h>

/* Counts handshakes that ended in failure (bad version, plain HTTP on the
 * TLS port, bad client hello...). */
static void tls_info(const SSL *ssl, int where, int ret)
{
    (void)ssl;
    if ((where & SSL_CB_ACCEPT_EXIT) && ret == 0)
        metrics->tls_failures++;
}

/* A TLS 1.3 server sends its session ticket after reading the client's
 * Finished, before the request that usually follows. Sent alone, the
 * ticket and then the answer were two small segments in flight: the client
 * delayed its ACK and Linux sent a loss probe a few milliseconds later, a
 * spurious retransmission for nearly every connection. So the ticket is
 * held to leave in one segment with the answer (released by server.c
 * with the 101 and hello, after an HTTP answer, or by the close), and the
 * Finished is acknowledged at once instead: a client using Nagle's
 * algorithm holds its request until then. TLS 1.2 sends its ticket inside
 * the handshake, where the client waits for what follows. */
static void tls_hold_ticket(SSL *ssl)
{
    if (SSL_version(ssl) == TLS1_3_VERSION) {
        int fd = SSL_get_fd(ssl);
        listener_cork(fd, 1);
        listener_ack_now(fd);
    }
}

/* Mozilla's "intermediate" profile (v5.7), without DHE. TLS 1.2: ECDHE
 * with AES-GCM or ChaCha20-Poly1305 only; none with CBC (Lucky13-class
 * padding oracles), SHA-1 MACs or a static RSA key exchange (no forward
 * secrecy), which OpenSSL's default list still offers. Both ECDSA and RSA
 * suites are listed: each certificate type uses its own. DHE is left out:
 * every client that has these AEAD suites has ECDHE too, and a 2048-bit DHE
 * handshake costs several times the CPU of X25519 or P-256, which a
 * reconnection storm after a restart would pay. TLS 1.3: OpenSSL's three
 * suites, named so that a system openssl.cnf cannot add others. Groups:
 * X25519, P-256, P-384 (OpenSSL's default list also has X448, P-521 and the
 * finite-field groups, each a slower handshake for no client that needs
 * it). tests/integration/test_tls_profile.py lists what is accepted. */
#define TLS_CIPHERS_12                                                                             \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_CIPHERS_13 "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define TLS_GROUPS     "X25519:P-256:P-384"

/* OpenSSL asks during a full handshake whose client sent status_request
 * (a resumption sends no certificate, so no staple). The response goes out
 * while it can help the client (staple.h); why not is logged once per
 * file read. */
static int tls_on_status(SSL *ssl, void *arg)
{
    struct staple *s = arg;
    const char *why = staple_unusable(s, time(NULL));
    if (why != NULL) {
        if (!s->logged)
            log_warn("OCSP response not stapled: refresh --tls-ocsp", KV_S("reason", why));
        s->logged = 1;
        return SSL_TLSEXT_ERR_NOACK;
    }
    /* OpenSSL frees the copy with the connection. */
    unsigned char *copy = OPENSSL_memdup(s->der, s->len);
    if (copy == NULL || !SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)s->len)) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

int tls_setup(SSL_CTX *ctx, struct tickets *tickets, struct staple *staple)
{
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) ||
        !SSL_CTX_set_ciphersuites(ctx, TLS_CIPHERS_13) ||
        !SSL_CTX_set1_groups_list(ctx, TLS_GROUPS))
        return -1;
    /* Every suite offered is strong: the client's order wins, so one
     * without AES instructions (many phones) gets ChaCha20 (lws sets the
     * server's preference). */
    SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_info_callback(ctx, tls_info);
    /* One session ticket per handshake (OpenSSL sends two by default): a
     * reconnecting client needs one, and each costs an encryption. */
    SSL_CTX_set_num_tickets(ctx, 1);
    if (staple != NULL && (!SSL_CTX_set_tlsext_status_cb(ctx, tls_on_status) ||
                           !SSL_CTX_set_tlsext_status_arg(ctx, staple)))
        return -1;
    return tickets_install(tickets, ctx, tls_hold_ticket);
}

/* The certificate chain and key of cfg in a scratch context, or NULL with
 * err set (OpenSSL's reason). */
static SSL_CTX *tls_load_files(const struct config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int ok = ctx && SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;
    if (!ok) {
        ERR_error_string_n(ERR_get_error(), err, errlen);
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    ERR_clear_error();
    return ctx;
}

int tls_check_files(const struct config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = tls_load_files(cfg, err, errlen);
    SSL_CTX_free(ctx);
    return ctx ? 0 : -1;
}

int tls_check_staple(const struct config *cfg, char *err, size_t errlen)
{
    struct staple s = {0};
    int rc = staple_read(&s, cfg->tls_ocsp, err, errlen);
    staple_free(&s);
    return rc;
}

/* Logs what s, just read and matched, will do. */
static void tls_staple_report(struct staple *s, const char *path)
{
    const char *why = staple_unusable(s, time(NULL));
    char next[ITEM_TIME_STRLEN] = "none";
    if (s->next_update)
        item_time_format((int64_t)s->next_update * 1000, next);
    if (why != NULL) {
        log_warn("OCSP response will not be stapled", KV_S("tls_ocsp", path), KV_S("reason", why));
        s->logged = 1;
    } else if (s->status == V_OCSP_CERTSTATUS_REVOKED) {
        log_error("the OCSP response says the certificate is revoked: stapled as it is; "
                  "replace the certificate",
                  KV_S("tls_ocsp", path));
    } else {
        log_info("OCSP response stapled", KV_S("tls_ocsp", path), KV_S("next_update", next));
    }
}

/* Reads cfg->tls_ocsp into s (a file refused leaves s as it was: logged)
 * and finds its answer about the certificate in `certs`. -1 if refused. */
static int tls_staple_take(struct staple *s, const struct config *cfg, SSL_CTX *certs)
{
    char err[512];
    STACK_OF(X509) *chain = NULL;
    int rc = 0;
    if (staple_read(s, cfg->tls_ocsp, err, sizeof(err))) {
        log_error(s->der ? "OCSP response not reloaded: keeping the one in use"
                         : "OCSP response not loaded: stapling nothing",
                  KV_S("error", err));
        rc = -1;
    }
    SSL_CTX_get0_chain_certs(certs, &chain);
    staple_match(s, SSL_CTX_get0_certificate(certs), chain);
    if (s->der != NULL)
        tls_staple_report(s, cfg->tls_ocsp);
    return rc;
}

int tls_load_staple(struct staple *s, const struct config *cfg)
{
    char err[256];
    SSL_CTX *certs = tls_load_files(cfg, err, sizeof(err));
    if (certs == NULL) { /* checked just before: a file changed since */
        log_error("OCSP response not loaded: the certificate does not load", KV_S("error", err));
        return -1;
    }
    int rc = tls_staple_take(s, cfg, certs);
    SSL_CTX_free(certs);
    return rc;
}

int tls_reload_cert(struct lws_context *lws, const struct config *cfg, struct staple *staple)
{
    char err[256] = "";
    SSL_CTX *certs = tls_load_files(cfg, err, sizeof(err));
    if (certs == NULL) {
        log_error("TLS reload refused: keeping the certificate in use",
                  KV_S("tls_cert", cfg->tls_cert), KV_S("tls_key", cfg->tls_key),
                  KV_S("error", err));
        return -1;
    }
    lws_tls_cert_updated(lws, cfg->tls_cert, cfg->tls_key, NULL, 0, NULL, 0);
    log_info("TLS certificate reloaded", KV_S("tls_cert", cfg->tls_cert));
    int rc = staple ? tls_staple_take(staple, cfg, certs) : 0;
    SSL_CTX_free(certs);
    return rc;
}

int tls_reload_keys(const struct config *cfg, struct tickets *tickets, struct grant *grant,
                    int announce)
{
    char err[256];
    int rc = 0;
    if (!cfg->plain && cfg->tls_ticket_key) {
        if (tickets_load(tickets, cfg->tls_ticket_key, err, sizeof(err))) {
            log_error("session ticket keys not reloaded: keeping the keys in use",
                      KV_S("error", err));
            rc = -1;
        } else if (announce) {
            log_info("session ticket keys reloaded", KV_S("tls_ticket_key", cfg->tls_ticket_key),
                     KV_I("keys", tickets_count(tickets)));
        }
    }
    if (cfg->jwt_secret) {
        if (grant_load_key(grant, cfg->jwt_secret, err, sizeof(err))) {
            log_error("token key not reloaded: keeping the key in use", KV_S("error", err));
            rc = -1;
        } else if (announce) {
            log_info("token key reloaded", KV_S("jwt_secret", cfg->jwt_secret));
        }
    }
    return rc;
}
