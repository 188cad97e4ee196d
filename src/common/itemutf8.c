/*
 * itemutf8 — see itemutf8.h.
 */
#include "itemutf8.h"

#include <string.h>

/* Decodes the code point at s[*i] (n bytes in all) and advances *i; -1 on a
 * malformed, overlong or surrogate sequence. */
long item_utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned c = s[*i];
    size_t len;
    long cp, min;
    if (c < 0x80) {
        (*i)++;
        return (long)c;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (n - *i < len)
        return -1;
    for (size_t k = 1; k < len; k++) {
        unsigned cc = s[*i + k];
        if ((cc & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (long)(cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += len;
    return cp;
}

int item_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len)
        if (item_utf8_next((const unsigned char *)s, len, &i) < 0)
            return 0;
    return 1;
}

/* Unicode category Cc (C0, DEL, C1), except tab and newline. */
int item_utf8_is_control(long cp)
{
    if (cp == '\t' || cp == '\n')
        return 0;
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Makes s printable in place: a control character (tab and newline
 * included: messages are one line) or a byte that is not valid UTF-8 becomes
 * '?', so that text quoted from hostile input is safe to print and to log. */
void item_utf8_printable(char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t start = i;
        long cp = item_utf8_next((const unsigned char *)s, n, &i);
        if (cp < 0)
            i = start + 1;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            memset(s + start, '?', i - start);
    }
}
