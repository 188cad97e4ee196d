/*
 * tlsc — the client TLS context a worker's connections share.
 *
 * TLS 1.2 or 1.3 with the suites asked for (TLS 1.3 AES-256-GCM by
 * default), ALPN http/1.1, the certificate checked against --ca (and the
 * URL's host or address) unless --insecure. With `on_ticket`, every session
 * ticket the server sends is handed to it (TLS 1.3 sends tickets after the
 * handshake; they are read with the first application data), for resuming.
 */
#ifndef BENCH_TLSC_H
#define BENCH_TLSC_H

#include "opts.h"

#include <openssl/ssl.h>
#include <stddef.h>

/* Called with a new session for `ssl`; return 1 to keep the reference
 * (the callee then owns `sess`), 0 to let OpenSSL free it. */
typedef int (*tlsc_ticket_fn)(SSL *ssl, SSL_SESSION *sess);

/* Returns a new context (SSL_CTX_free it), or NULL with a message in err. */
SSL_CTX *tlsc_client_ctx(const struct bench_opts *o, tlsc_ticket_fn on_ticket, char *err,
                         size_t errlen);

/* The oldest OpenSSL error as text into out, and the queue cleared. */
void tlsc_error(char *out, size_t outlen, const char *what);

#endif
