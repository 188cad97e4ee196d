/*
 * pace — see pace.h.
 */
#include "pace.h"

void pace_rule_init(struct pace_rule *r, uint32_t limit, uint64_t window_us)
{
    r->interval = limit ? window_us / limit : 0;
    if (limit && r->interval == 0)
        r->interval = 1;
    r->tolerance = limit ? r->interval * (limit - 1) : 0;
}

int pace_allow(const struct pace_rule *r, uint64_t *tat, uint64_t now_us)
{
    if (r->interval == 0)
        return 1;
    uint64_t t = *tat > now_us ? *tat : now_us; /* an idle bucket refills, no further */
    if (t - now_us > r->tolerance)
        return 0;
    *tat = t + r->interval;
    return 1;
}
