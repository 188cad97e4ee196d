/*
 * pace — per-connection rate limits that cost one 64-bit word of state
 * each: the generic cell rate algorithm (GCRA), a token bucket kept as the
 * time at which the bucket would be full again. `limit` events per
 * `window`, up to `limit` of them at once, then one every window / limit.
 *
 * A rule is shared by every connection of a worker (struct node); the
 * word is the connection's (struct conn). Times are in microseconds of
 * any clock that does not go back (the loop's). No sockets or lws here, so
 * it is unit-tested alone.
 */
#ifndef ALERTD_PACE_H
#define ALERTD_PACE_H

#include <stdint.h>

struct pace_rule {
    uint64_t interval;  /* µs between events at the steady rate; 0: no limit */
    uint64_t tolerance; /* how far ahead of now the bucket may be: the burst */
};

/* `limit` events per `window_us` (limit 0: no limit). */
void pace_rule_init(struct pace_rule *r, uint32_t limit, uint64_t window_us);

/* Counts one event at `now_us` against the connection's word `*tat`
 * (start it at 0): 1 when it is within the rule (counted), 0 when over it
 * (not counted: a refused event costs the connection nothing more). */
int pace_allow(const struct pace_rule *r, uint64_t *tat, uint64_t now_us);

#endif
