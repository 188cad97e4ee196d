/*
 * backoff — the delays between reconnection attempts: exponential, capped,
 * with full jitter (each delay drawn at random below the cap) and a floor.
 *
 * Each instance draws from a generator of its own, seeded by its owner
 * (a worker seeds with its pid and index), so the workers of a node, all
 * forked from one process, and the nodes of a fleet do not retry in step
 * against a Redis that has just come back. Pure: no clock, no I/O.
 */
#ifndef ALERTD_BACKOFF_H
#define ALERTD_BACKOFF_H

#include <stdint.h>

struct backoff {
    uint32_t min_ms, max_ms; /* the floor is min_ms / 2; the cap grows from min_ms to max_ms */
    unsigned attempts;       /* delays drawn since the last reset */
    uint64_t state;          /* the generator's */
};

void backoff_init(struct backoff *b, uint32_t min_ms, uint32_t max_ms, uint64_t seed);
/* The delay before the next attempt, in [min_ms / 2, min_ms / 2 + cap). */
uint64_t backoff_next_ms(struct backoff *b);
/* A success: the next delay starts from min_ms again. */
void backoff_reset(struct backoff *b);

#endif
