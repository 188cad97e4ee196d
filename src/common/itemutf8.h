/*
 * itemutf8 — UTF-8 as the item's rules read it: decoding one code point
 * strictly, whole-text validity, the control characters text may not hold,
 * and making hostile text safe to print.
 *
 * Apart from item.c because every check of a text field, the error record
 * (itemcheck.h) and other modules' own text (tail, grants, the hub) all need
 * it, and it needs nothing.
 */
#ifndef ALERT_ITEMUTF8_H
#define ALERT_ITEMUTF8_H

#include <stddef.h>

/* Decodes the code point at s[*i] (n bytes in all) and advances *i; -1 on a
 * malformed, overlong or surrogate sequence, or one cut short by n. */
long item_utf8_next(const unsigned char *s, size_t n, size_t *i);

/* 1 when the `len` bytes at s are valid UTF-8 (no overlong form, no
 * surrogate, nothing past U+10FFFF). */
int item_utf8_valid(const char *s, size_t len);

/* 1 for Unicode category Cc (C0, DEL, C1), except tab and newline. */
int item_utf8_is_control(long cp);

/* Makes the NUL-terminated s printable in place: a control character (tab
 * and newline included: messages are one line) or a byte that is not valid
 * UTF-8 becomes '?'. */
void item_utf8_printable(char *s);

#endif
