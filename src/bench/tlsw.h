/*
 * tlsw — `alert-bench --tls-write-limit N`: the per-delivery floor.
 *
 * One process (the writer, pinned to --cpu, default CPU 0) holds the server
 * side of N loopback TLS 1.3 connections and writes --size-byte records to
 * them round-robin, as fast as one core can, for --duration seconds. A
 * second process (the reader, pinned to another CPU) holds the client
 * sides and only drains the sockets: it never decrypts, so it keeps up.
 * Then the same with plain write() of a record's worth of bytes on the same
 * sockets, and AES-256-GCM sealing alone in memory. What the issue compares
 * alertd's CPU per delivery with.
 */
#ifndef BENCH_TLSW_H
#define BENCH_TLSW_H

#include "opts.h"

/* Runs the measurement; returns the exit status (0, or 3 if it could not
 * set up). */
int tlsw_run(const struct bench_opts *o);

#endif
