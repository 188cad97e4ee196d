/*
 * iprate — new connections per client address per second, for
 * --max-rate-per-ip: a handshake flood from one address is refused at
 * accept, before any TLS work, while everyone else is served.
 *
 * A direct-mapped table of recent addresses, each counting its
 * connections in the current second (a fixed one-second window). When
 * another address takes a slot over, the one it replaces starts counting
 * afresh: the table is sized far above the addresses that connect within
 * one second, and a collision can only let more through, never refuse a
 * reader wrongly. Addresses are ipcount keys (IPv4 kept IPv6-mapped). No
 * sockets or lws here, so it is unit-tested alone.
 */
#ifndef ALERTD_IPRATE_H
#define ALERTD_IPRATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct iprate_slot {
    uint8_t addr[16];
    uint32_t second; /* the window `count` belongs to */
    uint32_t count;
};

struct iprate {
    struct iprate_slot *slots; /* NULL: no limit */
    size_t mask;               /* slots - 1; slots is a power of two */
    uint32_t per_second;
};

/* A table of at least `slots` entries for a limit of per_second new
 * connections per address (0: no limit, nothing allocated). 0 or -1. */
int iprate_init(struct iprate *r, size_t slots, uint32_t per_second);
void iprate_free(struct iprate *r);

/* Counts a new connection from sa in `second` (any clock in whole
 * seconds); 1 when it is within the limit, 0 when over it. */
int iprate_allow(struct iprate *r, const struct sockaddr *sa, uint32_t second);

#endif
