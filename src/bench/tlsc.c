/*
 * tlsc — see tlsc.h.
 */
#include "tlsc.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static tlsc_ticket_fn tlsc_on_ticket;

static int tlsc_new_session(SSL *ssl, SSL_SESSION *sess)
{
    return tlsc_on_ticket ? tlsc_on_ticket(ssl, sess) : 0;
}

void tlsc_error(char *out, size_t outlen, const char *what)
{
    char buf[128] = "no detail";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(out, outlen, "%s: %s", what, buf);
    ERR_clear_error();
}

SSL_CTX *tlsc_client_ctx(const struct bench_opts *o, tlsc_ticket_fn on_ticket, char *err,
                         size_t errlen)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        tlsc_error(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, o->ciphersuites) ||
        !SSL_CTX_set_cipher_list(ctx, o->ciphers)) {
        tlsc_error(err, errlen, "--ciphersuites or --ciphers");
        goto fail;
    }
    if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
        tlsc_error(err, errlen, "ALPN");
        goto fail;
    }
    /* Buffers go back to the allocator while a connection is idle: tens of
     * thousands of mostly idle clients would otherwise hold 2 x 16 KiB
     * each and the load generator would need more memory than the server. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* One read(2) takes whatever the socket holds rather than a record
     * header and then its body: a delivery costs one system call. */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (o->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        if ((o->ca ? SSL_CTX_load_verify_locations(ctx, o->ca, NULL)
                   : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
            tlsc_error(err, errlen, o->ca ? o->ca : "default CA paths");
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
        struct in_addr ip;
        int ok = inet_pton(AF_INET, o->host, &ip) == 1
                     ? X509_VERIFY_PARAM_set1_ip_asc(param, o->host)
                     : X509_VERIFY_PARAM_set1_host(param, o->host, 0);
        if (!ok) {
            tlsc_error(err, errlen, "certificate host check");
            goto fail;
        }
    }
    if (on_ticket) {
        /* A client cache that OpenSSL never stores into: each connection
         * keeps its own ticket (see conn.c). */
        tlsc_on_ticket = on_ticket;
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, tlsc_new_session);
    } else {
        /* Tickets are still accepted (and dropped), as a browser would. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
