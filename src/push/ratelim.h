/*
 * ratelim — registration requests per client address: `limit` per minute,
 * up to `limit` at once (GCRA: each slot keeps the time its bucket is full
 * again). A direct-mapped table of recent addresses: an address that takes
 * a slot over starts afresh, so a collision can only let more through,
 * never refuse a client wrongly. Pure; unit-tested alone.
 */
#ifndef PUSH_RATELIM_H
#define PUSH_RATELIM_H

#include <stddef.h>
#include <stdint.h>

#define RATELIM_ADDR_MAX 64

struct ratelim_slot {
    char addr[RATELIM_ADDR_MAX];
    uint64_t tat_us; /* theoretical arrival time; 0: free */
};

struct ratelim {
    struct ratelim_slot *slots; /* NULL: no limit */
    size_t mask;
    uint64_t interval_us; /* 60 s / limit */
    uint64_t burst_us;    /* 60 s: `limit` at once */
};

/* limit 0: no limit, nothing allocated. 0, or -1 out of memory. */
int ratelim_init(struct ratelim *r, size_t slots, uint32_t per_minute);
void ratelim_free(struct ratelim *r);

/* Counts one request from `addr` at now_us: 0 when allowed, else the
 * seconds (1 or more) to wait before the next would be. */
unsigned ratelim_check(struct ratelim *r, const char *addr, uint64_t now_us);

#endif
