/*
 * inbox — what a client does with the bytes it reads: the upgrade answer,
 * then WebSocket frames (pings answered, closes noted, fragments put back
 * together), and in every text message the alert's bench_ns and seq, which
 * become a receipt: 1 + (receipt time - bench_ns) µs in c->rx[seq], or a
 * duplicate.
 *
 * It sits above conn (the transport): it reads through conn_read and
 * answers, fails and drops through conn's calls. Runs on the worker's
 * thread, like conn.
 */
#ifndef BENCH_INBOX_H
#define BENCH_INBOX_H

#include "conn.h"

#include <stdint.h>

/* Handles epoll events for c: conn_io, then whatever c received. */
void inbox_io(struct conn_env *e, struct conn *c, uint32_t events);

#endif
