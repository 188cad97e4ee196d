/*
 * backoff — see backoff.h.
 */
#include "backoff.h"

/* SplitMix64: a small generator with good statistics whatever the seed,
 * so seeds that differ in a few bits (pids) give unrelated sequences. */
static uint64_t backoff_random(struct backoff *b)
{
    uint64_t z = (b->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void backoff_init(struct backoff *b, uint32_t min_ms, uint32_t max_ms, uint64_t seed)
{
    b->min_ms = min_ms;
    b->max_ms = max_ms;
    b->attempts = 0;
    b->state = seed;
}

uint64_t backoff_next_ms(struct backoff *b)
{
    uint64_t cap = b->min_ms;
    for (unsigned i = 0; i < b->attempts && cap < b->max_ms; i++)
        cap *= 2;
    if (cap > b->max_ms)
        cap = b->max_ms;
    b->attempts++;
    return b->min_ms / 2 + backoff_random(b) % (cap ? cap : 1);
}

void backoff_reset(struct backoff *b)
{
    b->attempts = 0;
}
