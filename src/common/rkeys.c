/*
 * rkeys — see rkeys.h.
 */
#include "rkeys.h"

#include <stdio.h>

int rkeys_name(char *out, size_t outlen, const char *prefix, const char *suffix, const char *tail)
{
    int n = snprintf(out, outlen, "%s%s%s", prefix, suffix, tail ? tail : "");
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen)
            out[0] = '\0';
        return -1;
    }
    return 0;
}
