/*
 * origin — see origin.h.
 */
#include "origin.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* The host's labels before a pattern's suffix: one or more, none empty,
 * letters, digits and hyphens (an IP literal never matches a pattern). */
static int origin_labels_ok(const char *s, size_t len)
{
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* entry is a scheme, ":", "//", "*", then ".suffix[:port]"; origin is the
 * scheme, ":", "//", host[:port]. The suffix with its port must end the
 * origin, behind a dot, after the same scheme and at least one label. */
static int origin_pattern_matches(const char *entry, const char *origin)
{
    const char *star = strstr(entry, "://*.");
    size_t scheme = (size_t)(star - entry) + 3, tail = strlen(star + 4), olen = strlen(origin);
    if (olen < scheme + tail + 1 || strncasecmp(entry, origin, scheme) != 0)
        return 0;
    /* tail is ".suffix[:port]": the origin's end, from the dot on */
    if (strcasecmp(origin + olen - tail, star + 4) != 0)
        return 0;
    return origin_labels_ok(origin + scheme, olen - tail - scheme);
}

int origin_matches(const char *entry, const char *origin)
{
    if (strstr(entry, "://*.") != NULL)
        return origin_pattern_matches(entry, origin);
    return strcasecmp(origin, entry) == 0;
}

int origin_allowed(char *const allowed[], int nallowed, const char *origin)
{
    if (origin == NULL || nallowed == 0)
        return 1;
    for (int i = 0; i < nallowed; i++)
        if (origin_matches(allowed[i], origin))
            return 1;
    return 0;
}
