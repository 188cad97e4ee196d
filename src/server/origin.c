/*
 * origin — see origin.h.
 */
#include "origin.h"

#include <stddef.h>
#include <strings.h>

int origin_allowed(char *const allowed[], int nallowed, const char *origin)
{
    if (origin == NULL || nallowed == 0)
        return 1;
    for (int i = 0; i < nallowed; i++)
        if (strcasecmp(origin, allowed[i]) == 0)
            return 1;
    return 0;
}
