/*
 * ratelim — see ratelim.h.
 */
#include "ratelim.h"

#include <stdlib.h>
#include <string.h>

#define RATELIM_WINDOW_US 60000000ull

int ratelim_init(struct ratelim *r, size_t slots, uint32_t per_minute)
{
    size_t cap = 64;
    memset(r, 0, sizeof(*r));
    if (per_minute == 0)
        return 0;
    while (cap < slots)
        cap *= 2;
    if ((r->slots = calloc(cap, sizeof(*r->slots))) == NULL)
        return -1;
    r->mask = cap - 1;
    r->interval_us = RATELIM_WINDOW_US / per_minute;
    r->burst_us = RATELIM_WINDOW_US - r->interval_us;
    return 0;
}

void ratelim_free(struct ratelim *r)
{
    free(r->slots);
    r->slots = NULL;
}

/* FNV-1a */
static size_t ratelim_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

unsigned ratelim_check(struct ratelim *r, const char *addr, uint64_t now_us)
{
    struct ratelim_slot *s;
    uint64_t tat;
    if (r->slots == NULL)
        return 0;
    s = &r->slots[ratelim_hash(addr) & r->mask];
    if (s->tat_us == 0 || strncmp(s->addr, addr, sizeof(s->addr)) != 0) {
        strncpy(s->addr, addr, sizeof(s->addr) - 1);
        s->addr[sizeof(s->addr) - 1] = '\0';
        s->tat_us = 0;
    }
    tat = s->tat_us > now_us ? s->tat_us : now_us;
    if (tat - now_us > r->burst_us) {
        uint64_t wait = tat - now_us - r->burst_us;
        return (unsigned)((wait + 999999) / 1000000);
    }
    s->tat_us = tat + r->interval_us;
    return 0;
}
