/*
 * iprate — see iprate.h.
 */
#include "iprate.h"

#include "ipcount.h"

#include <stdlib.h>
#include <string.h>

int iprate_init(struct iprate *r, size_t slots, uint32_t per_second)
{
    size_t cap = 64;
    memset(r, 0, sizeof(*r));
    r->per_second = per_second;
    if (per_second == 0)
        return 0;
    while (cap < slots)
        cap *= 2;
    r->slots = calloc(cap, sizeof(*r->slots));
    if (r->slots == NULL)
        return -1;
    r->mask = cap - 1;
    return 0;
}

void iprate_free(struct iprate *r)
{
    free(r->slots);
    r->slots = NULL;
}

int iprate_allow(struct iprate *r, const struct sockaddr *sa, uint32_t second)
{
    uint8_t key[16];
    if (r->slots == NULL || ipcount_key(sa, key))
        return 1;
    struct iprate_slot *s = &r->slots[ipcount_hash(key) & r->mask];
    if (s->count == 0 || s->second != second || memcmp(s->addr, key, 16) != 0) {
        memcpy(s->addr, key, 16);
        s->second = second;
        s->count = 0;
    }
    if (s->count >= r->per_second)
        return 0;
    s->count++;
    return 1;
}
