/*
 * staple — the OCSP response stapled to TLS handshakes (--tls-ocsp): reading
 * the operator's file, finding in it the answer about the certificate in
 * use, and judging whether that answer may be served now.
 *
 * A client that asks (status_request) gets the CA's signed word that the
 * certificate is not revoked without asking the CA itself: no extra round
 * trip to a responder, and the CA does not learn who reads the alerts.
 * alertd does not fetch the response: a worker's loop never waits on the
 * network, and whatever renews the certificate (certbot, cert-manager, a
 * cron job) fetches it beside it with `openssl ocsp ... -respout FILE`. The
 * file is read again with the certificate (SIGHUP, or certwatch).
 *
 * A response is stapled only while it can help: it names the certificate
 * in use, says "good" or "revoked" (a revocation is the truth, and is
 * served), and now lies between its thisUpdate and nextUpdate. An expired
 * answer or one about another certificate is worse than none: a client
 * that checks the staple (Firefox does) refuses the connection, while one
 * given nothing goes on as it would with any server that does not staple.
 * The signature is the client's to check, against the CA it trusts.
 *
 * Parsing and judging only; tls.c installs it on the SSL_CTX and logs.
 */
#ifndef ALERTD_STAPLE_H
#define ALERTD_STAPLE_H

#include <openssl/x509.h>
#include <stddef.h>
#include <time.h>

#define STAPLE_MAX_BYTES (64 * 1024) /* a response is 1-4 KiB, with a responder's chain */
/* How far thisUpdate may be ahead of this machine's clock: a responder
 * signs "now", and clocks differ. */
#define STAPLE_SKEW_SECONDS 300
/* staple.status when no answer in the response is about the certificate. */
#define STAPLE_FOREIGN (-1)

struct staple {
    unsigned char *der; /* the response, as read and as served; NULL: none */
    size_t len;
    int status;         /* V_OCSP_CERTSTATUS_* of the certificate, or STAPLE_FOREIGN */
    time_t this_update; /* of that answer */
    time_t next_update; /* 0: none given (the responder always has news) */
    int logged;         /* tls.c: why it is not served was logged */
};

/* Reads the DER OCSP response in `path` into s (replacing what s held;
 * s->status is STAPLE_FOREIGN until staple_match). -1 with err set, naming
 * the file, when it cannot be read or is not a successful OCSP response;
 * s is then unchanged. */
int staple_read(struct staple *s, const char *path, char *err, size_t errlen);

/* Finds the answer about `leaf` (whose issuer, if the chain has it, is
 * compared too) and takes its status and times. */
void staple_match(struct staple *s, X509 *leaf, STACK_OF(X509) * chain);

/* NULL when s may be stapled at time `now`; otherwise why not. */
const char *staple_unusable(const struct staple *s, time_t now);

void staple_free(struct staple *s);

#endif
