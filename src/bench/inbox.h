/*
 * inbox — what a client does with the bytes it reads: the upgrade answer,
 * then WebSocket frames (pings answered, closes noted, fragments put back
 * together), and in every text message the alert's bench_ns and seq, which
 * become a receipt: 1 + (receipt time - bench_ns) µs in c->rx[seq], or a
 * duplicate.
 */
#ifndef BENCH_INBOX_H
#define BENCH_INBOX_H

#include "conn.h"

#include <stddef.h>
#include <stdint.h>

/* Consumes buf[0..n), read at rx_ns (CLOCK_REALTIME), on a connection in
 * CONN_UPGRADE or CONN_OPEN; keeps what is not whole yet in c->carry.
 * Returns 0, or -1 when c was closed (failed or dropped) meanwhile. */
int inbox_consume(struct conn_env *e, struct conn *c, unsigned char *buf, size_t n, int64_t rx_ns);

#endif
