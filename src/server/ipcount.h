/*
 * ipcount — open connections per client address, for --max-per-ip.
 *
 * A fixed-size open-addressing table, made once: an address keeps its slot
 * while it has connections, so the slot number handed out at accept time
 * stays valid until the matching release. IPv4 addresses are kept in their
 * IPv6-mapped form. No sockets or lws here, so it is unit-tested alone.
 */
#ifndef ALERTD_IPCOUNT_H
#define ALERTD_IPCOUNT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ipcount_slot {
    uint8_t addr[16];
    uint32_t count; /* open connections; 0 with used set: a tombstone */
    uint8_t used;
};

struct ipcount {
    struct ipcount_slot *slots;
    size_t cap;  /* a power of two */
    size_t live; /* slots with count > 0 */
    uint32_t max_per_ip;
};

/* Room for `addresses` distinct addresses at once. 0 or -1. */
int ipcount_init(struct ipcount *t, size_t addresses, uint32_t max_per_ip);
void ipcount_free(struct ipcount *t);

/* Counts one more connection from the address; returns its slot, or -1
 * when the address is at its limit (or the table is full). */
long ipcount_acquire(struct ipcount *t, const struct sockaddr *sa);
void ipcount_release(struct ipcount *t, long slot);

/* An address as the 16-byte key both tables use (IPv4 IPv6-mapped); -1 for
 * a family that has none. */
int ipcount_key(const struct sockaddr *sa, uint8_t key[16]);
/* A hash of a key, for a table index. */
size_t ipcount_hash(const uint8_t key[16]);

#endif
