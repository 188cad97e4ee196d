/*
 * itemid — see itemid.h.
 */
#include "itemid.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Parses [s, s+n) as a uint64 in canonical decimal (no sign, no leading 0). */
static int item_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!(s[i] >= '0' && s[i] <= '9'))
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int item_id_parse(const char *s, struct item_id *out)
{
    struct item_id id;
    if (s == NULL)
        return -1;
    const char *dash = strchr(s, '-');
    if (dash == NULL || item_u64(s, (size_t)(dash - s), &id.ms) != 0 ||
        item_u64(dash + 1, strlen(dash + 1), &id.seq) != 0)
        return -1;
    if (out)
        *out = id;
    return 0;
}

int item_id_cmp(struct item_id a, struct item_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

void item_id_format(struct item_id id, char out[ITEM_ID_STRLEN])
{
    snprintf(out, ITEM_ID_STRLEN, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}
