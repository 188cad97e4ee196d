/*
 * fields — see fields.h.
 */
#include "fields.h"

#include <stdio.h>
#include <string.h>

uint32_t fields_bit(const char *key, size_t len)
{
    for (unsigned i = 0; i < FIELDS_NNAMES; i++) {
        const char *name = item_keys[i];
        if (strlen(name) == len && memcmp(name, key, len) == 0)
            return UINT32_C(1) << i;
    }
    return 0;
}

/* Adds an unknown name to the error, as far as it fits. */
static void fields_unknown(char *err, size_t errlen, int first, const char *name, size_t len)
{
    size_t at = strlen(err);
    if (at < errlen)
        snprintf(err + at, errlen - at, "%s\"%.*s\"", first ? "" : ", ", (int)(len > 32 ? 32 : len),
                 name);
}

int fields_parse(const char *csv, uint32_t *set, char *err, size_t errlen)
{
    uint32_t s = 0;
    int unknown = 0;
    snprintf(err, errlen, "fields: unknown field(s) ");
    for (const char *p = csv; *p;) {
        size_t n = strcspn(p, ",");
        uint32_t bit = fields_bit(p, n);
        if (n > 0 && bit == 0)
            fields_unknown(err, errlen, unknown++ == 0, p, n);
        s |= bit;
        p += n + (p[n] == ',');
    }
    if (unknown)
        return -1;
    *set = s == 0 ? FIELDS_ALL : s | FIELDS_ALWAYS;
    return 0;
}

int fields_json(uint32_t set, char *out, size_t len)
{
    size_t at = 1;
    if (len < 3)
        return -1;
    out[0] = '[';
    for (unsigned i = 0; i < FIELDS_NNAMES; i++) {
        if (!(set & (UINT32_C(1) << i)))
            continue;
        int n = snprintf(out + at, len - at, "%s\"%s\"", at > 1 ? "," : "", item_keys[i]);
        if (n < 0 || (size_t)n >= len - at)
            return -1;
        at += (size_t)n;
    }
    if (at + 2 > len)
        return -1;
    out[at++] = ']';
    out[at] = '\0';
    return (int)at;
}
