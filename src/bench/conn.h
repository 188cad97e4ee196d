/*
 * conn — one benchmark client: a non-blocking TCP connection from a chosen
 * source address, OpenSSL's client handshake, the WebSocket upgrade, then
 * frames, each alert timestamped when its TLS record is read.
 *
 *   CONN_TCP → CONN_TLS → CONN_UPGRADE → CONN_OPEN → CONN_IDLE
 *
 * Everything runs on the worker's single thread, driven by its epoll
 * (events carry the struct conn pointer). A connection counts itself in the
 * env's stats as it fails, opens, receives and drops. This is the transport
 * only: what the bytes read mean is inbox's (inbox.h), which reads them
 * with conn_read.
 *
 * Ownership: a struct conn lives in the worker's array; conn_close frees
 * what it holds except its receipts (rx, kept for the report until the next
 * conn_start or conn_forget) and, with keep_ticket, its session ticket,
 * which the next conn_start offers to the server (--resume). A connection
 * the server drops keeps its receipts too.
 */
#ifndef BENCH_CONN_H
#define BENCH_CONN_H

#include "opts.h"
#include "stats.h"
#include "wsz.h"

#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>

#define CONN_MSG_MAX (1u << 20) /* a longer message from the server fails the client */

enum conn_state {
    CONN_IDLE = 0, /* not started, or closed */
    CONN_TCP,      /* connect() in progress */
    CONN_TLS,      /* handshake */
    CONN_UPGRADE,  /* request sent, waiting for 101 */
    CONN_OPEN,     /* receiving frames */
};

struct conn {
    SSL *ssl;
    SSL_SESSION *ticket;  /* newest session ticket (--resume); owned */
    unsigned char *carry; /* received bytes not yet a whole frame or answer; malloc'd */
    unsigned char *out;   /* a control frame waiting for the socket; malloc'd */
    unsigned char *frag;  /* a fragmented message being put together; malloc'd */
    uint32_t *rx;         /* per alert: 0, or 1 + (receipt - bench_ns) in µs */
    int64_t t_start;      /* CLOCK_MONOTONIC when started */
    int64_t wire0;        /* TCP bytes received when publishing began (tcprx.h); -1 */
    uint32_t carry_len, out_len, frag_len;
    uint32_t index; /* global index: picks the source address */
    uint32_t got;   /* distinct alerts received */
    int fd;
    uint8_t state;      /* enum conn_state */
    uint8_t events;     /* registered epoll events (0: not registered) */
    uint8_t ticketed;   /* a ticket arrived on this connection */
    uint8_t frag_op;    /* opcode of the fragmented message */
    uint8_t pmd;        /* permessage-deflate negotiated (--deflate) */
    uint8_t frag_z;     /* the fragmented message is compressed (RSV1) */
    uint32_t frag_wire; /* its frames' bytes as received, headers included */
    char accept[29];    /* the Sec-WebSocket-Accept expected */
};

/* What a worker's connections share. */
struct conn_env {
    const struct bench_opts *o;
    SSL_CTX *ctx;
    int epfd;
    unsigned char *scratch;   /* CONN_SCRATCH bytes: reads and frame assembly */
    struct wsz z;             /* --deflate: the worker's one inflater (wsz.h) */
    FILE *record;             /* --record, in the worker holding client 0; else NULL */
    struct stats_connect *cs; /* the phase being counted */
    struct stats_deliver *ds;
    int64_t run_id;    /* alerts of other runs are foreign (msg.h) */
    uint32_t pending;  /* started, neither open nor failed yet */
    uint32_t open;     /* in CONN_OPEN */
    uint32_t complete; /* open, with every alert */
};

/* Sets the env up (the scratch buffer, the inflater with --deflate, the
 * ticket hook); 0 or -1. */
int conn_env_init(struct conn_env *e, const struct bench_opts *o, SSL_CTX *ctx, int epfd);
void conn_env_free(struct conn_env *e);
/* The ticket hook to give tlsc_client_ctx (--resume). */
int conn_on_ticket(SSL *ssl, SSL_SESSION *sess);

/* Starts connecting; a failure is counted and leaves the conn CONN_IDLE. */
void conn_start(struct conn_env *e, struct conn *c, uint32_t index);
/* Handles epoll events for c as far as the transport goes: the TCP
 * connect, the TLS handshake (then the upgrade request), writing what
 * waits. Returns 1 when c may have bytes to read (conn_read), else 0 (not
 * yet, or c was closed meanwhile). */
int conn_io(struct conn_env *e, struct conn *c, uint32_t events);
/* Fails c with FAIL_TIMEOUT if it is still not open at `now` (monotonic ns). */
void conn_check_timeout(struct conn_env *e, struct conn *c, int64_t now);
/* Closes c: a close frame (1000) and TLS close_notify if open, then the
 * socket; frees all it holds but, with keep_ticket, its ticket. */
void conn_close(struct conn_env *e, struct conn *c, int keep_ticket);
/* The TCP bytes c received since conn_mark_wire, added to *sum (and 1 to
 * *conns) when c is open and both readings exist; conn_mark_wire takes the
 * first reading. */
void conn_mark_wire(struct conn *c);
void conn_add_wire(const struct conn *c, uint64_t *sum, uint64_t *conns);
/* Frees the receipts and the ticket of a closed connection. */
void conn_forget(struct conn *c);

/* For inbox.c, which handles what a connection reads:
 * conn_read     reads what OpenSSL has for c into e->scratch, after the
 *               bytes c->carry held: on 1, *buf and *n are all of them,
 *               read at *rx_ns (CLOCK_REALTIME), and what the reader does
 *               not consume goes back into c->carry. Returns 0 when there
 *               is nothing to read now, -1 when c was closed (failed or
 *               dropped);
 * conn_pending  whether OpenSSL still holds bytes conn_read would return;
 * conn_opened   the upgrade was accepted (`pmd`: with permessage-deflate):
 *               c is CONN_OPEN;
 * conn_fail     c never opened: counted as `kind`, released;
 * conn_drop     an open c ended (close `code`, 1006 when lost), released;
 * conn_send     writes a whole message; what the socket does not take now
 *               waits in c->out; a second one while one waits is dropped
 *               (only control frames come after the upgrade request).
 *               Returns 0, or -1 when the connection is broken. */
int conn_read(struct conn_env *e, struct conn *c, unsigned char **buf, size_t *n, int64_t *rx_ns);
int conn_pending(const struct conn *c);
void conn_opened(struct conn_env *e, struct conn *c, int pmd);
void conn_fail(struct conn_env *e, struct conn *c, enum stats_fail kind, const char *what,
               const char *detail);
void conn_drop(struct conn_env *e, struct conn *c, int code, const char *detail);
int conn_send(struct conn_env *e, struct conn *c, const void *buf, size_t len);

#endif
