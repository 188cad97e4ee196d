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

int rkeys_receipts(char *out, size_t outlen, const char *prefix, const char *id, const char *node)
{
    int n = snprintf(out, outlen, "%s%s%s%s%s", prefix, RKEYS_RCPT, id, node ? ":" : "",
                     node ? node : "");
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen)
            out[0] = '\0';
        return -1;
    }
    return 0;
}
