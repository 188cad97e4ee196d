/*
 * ipc — messages between alert-bench's parent and its workers.
 *
 * Each worker has two pipes: commands go parent → worker, reports worker →
 * parent. A message is a struct ipc_hdr and `len` bytes of payload, written
 * whole; the reader reads it whole. Pipes are private to one worker, so
 * nothing interleaves.
 *
 *   worker → parent   IPC_READY   struct stats_connect  (a connection phase ended)
 *                     IPC_FINAL   delivery report, see stats.h
 *                     IPC_CLOSED  (none)   every client closed (after IPC_DISCONNECT)
 *                     IPC_WIRED   (none)   every open client's TCP count read (after IPC_WIRE)
 *                     IPC_BYE     int64_t CPU µs of the whole worker; it exits next
 *   parent → worker   IPC_DISCONNECT (none)   close every client, keep its ticket
 *                     IPC_RECONNECT  (none)   reconnect everyone with its ticket
 *                     IPC_WIRE    (none)   read each open client's TCP bytes received so
 *                                 far: the bytes on the wire are counted from here
 *                     IPC_START   (none)   publishing begins: the delivery phase's
 *                                 CPU is counted from here
 *                     IPC_DRAIN   int64_t deadline (CLOCK_MONOTONIC ns), then
 *                                 int64_t pub_delay_us[K]: when alert-bench's
 *                                 own subscriber saw alert k on Redis, minus
 *                                 its bench_ns (-1: not seen)
 *                     IPC_CLOSE   (none)   close every connection, say BYE, exit
 * A closed command pipe means IPC_CLOSE.
 */
#ifndef BENCH_IPC_H
#define BENCH_IPC_H

#include <stddef.h>
#include <stdint.h>

enum ipc_type {
    IPC_READY = 1,
    IPC_FINAL,
    IPC_BYE,
    IPC_CLOSED,
    IPC_DISCONNECT,
    IPC_RECONNECT,
    IPC_START,
    IPC_DRAIN,
    IPC_CLOSE,
    IPC_WIRE,
    IPC_WIRED,
};

struct ipc_hdr {
    uint32_t type;
    uint32_t len;
};

#define IPC_MAX_PAYLOAD (64u << 20)

/* Writes a message made of two parts (either may be empty); blocks until
 * written. Returns 0 or -1. */
int ipc_send(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen);

/* Reads one message; *payload is malloc'd (free it; NULL when len is 0).
 * Blocks until it is whole. Returns 0, or -1 on end of file or error. */
int ipc_recv(int fd, struct ipc_hdr *h, void **payload);

#endif
