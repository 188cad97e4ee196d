/*
 * ipcount — see ipcount.h.
 */
#include "ipcount.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int ipcount_init(struct ipcount *t, size_t addresses, uint32_t max_per_ip)
{
    size_t cap = 64;
    while (cap < addresses * 2)
        cap *= 2;
    memset(t, 0, sizeof(*t));
    t->slots = calloc(cap, sizeof(*t->slots));
    if (t->slots == NULL)
        return -1;
    t->cap = cap;
    t->max_per_ip = max_per_ip;
    return 0;
}

void ipcount_free(struct ipcount *t)
{
    free(t->slots);
    t->slots = NULL;
}

int ipcount_key(const struct sockaddr *sa, uint8_t key[16])
{
    if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 0;
    }
    if (sa->sa_family == AF_INET) {
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    return -1;
}

size_t ipcount_hash(const uint8_t key[16])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < 16; i++) {
        h ^= key[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h ^ (h >> 32));
}

long ipcount_acquire(struct ipcount *t, const struct sockaddr *sa)
{
    uint8_t key[16];
    long reuse = -1;
    if (ipcount_key(sa, key))
        return -1;
    size_t mask = t->cap - 1, i = ipcount_hash(key) & mask;
    for (size_t probes = 0; probes < t->cap; probes++, i = (i + 1) & mask) {
        struct ipcount_slot *s = &t->slots[i];
        if (s->used && memcmp(s->addr, key, 16) == 0) {
            if (s->count >= t->max_per_ip)
                return -1;
            if (s->count++ == 0)
                t->live++;
            return (long)i;
        }
        if (!s->used || s->count == 0) {
            if (reuse < 0)
                reuse = (long)i;
            if (!s->used)
                break; /* the address is nowhere further along */
        }
    }
    /* Keep half the table free so probes stay short. */
    if (reuse < 0 || t->max_per_ip == 0 || t->live * 2 >= t->cap)
        return -1;
    struct ipcount_slot *s = &t->slots[reuse];
    memcpy(s->addr, key, 16);
    s->used = 1;
    s->count = 1;
    t->live++;
    return reuse;
}

void ipcount_release(struct ipcount *t, long slot)
{
    size_t mask = t->cap - 1, i = (size_t)slot;
    if (slot < 0 || (size_t)slot >= t->cap || t->slots[slot].count == 0)
        return;
    if (--t->slots[i].count > 0)
        return;
    t->live--;
    /* The slot becomes a tombstone that later probes walk past. A run of
     * tombstones that ends at an empty slot serves no probe: empty it, so
     * tombstones cannot pile up and make every lookup scan the table. */
    if (t->slots[(i + 1) & mask].used)
        return;
    while (t->slots[i].used && t->slots[i].count == 0) {
        t->slots[i].used = 0;
        i = (i - 1) & mask;
    }
}
