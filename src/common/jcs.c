/*
 * jcs — see jcs.h. RFC 8785 over jansson values.
 */
#include "jcs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JCS_MAX_DEPTH 64 /* deeper than any item may nest (item.h) */

/* A growing output buffer; `failed` is sticky. */
struct jcs_buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void jcs_put(struct jcs_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void jcs_puts(struct jcs_buf *b, const char *s)
{
    jcs_put(b, s, strlen(s));
}

/* ========================================================================
 * Numbers: ECMAScript's Number::toString
 * ====================================================================== */

/* The shortest decimal digits of d (> 0) that read back as d, and the
 * decimal exponent n such that d = 0.digits x 10^n. */
static void jcs_shortest(double d, char digits[20], int *n)
{
    char tmp[40];
    /* The nearest decimal of p+1 digits is the right one for the smallest
     * p that round-trips: any other of as many digits is farther from d. */
    for (int p = 0; p <= 16; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is D[.DDD]e<sign><digits> */
    size_t k = 0;
    const char *s = tmp;
    for (; *s && *s != 'e'; s++)
        if (*s != '.')
            digits[k++] = *s;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    *n = atoi(s + 1) + 1;
}

int jcs_number(double d, char out[JCS_NUMBER_MAX])
{
    char digits[20];
    int n, k, w = 0;
    if (!isfinite(d))
        return -1;
    if (d == 0) { /* -0 too */
        memcpy(out, "0", 2);
        return 0;
    }
    if (d < 0) {
        out[w++] = '-';
        d = -d;
    }
    jcs_shortest(d, digits, &n);
    k = (int)strlen(digits);
    if (k <= n && n <= 21) { /* 123000 */
        memcpy(out + w, digits, (size_t)k);
        memset(out + w + k, '0', (size_t)(n - k));
        out[w + n] = '\0';
    } else if (0 < n && n <= 21) { /* 12.3 */
        memcpy(out + w, digits, (size_t)n);
        out[w + n] = '.';
        memcpy(out + w + n + 1, digits + n, (size_t)(k - n) + 1);
    } else if (-6 < n && n <= 0) { /* 0.000123 */
        memcpy(out + w, "0.", 2);
        memset(out + w + 2, '0', (size_t)-n);
        memcpy(out + w + 2 - n, digits, (size_t)k + 1);
    } else { /* 1.23e+25, 1e-7 */
        out[w++] = digits[0];
        if (k > 1) {
            out[w++] = '.';
            memcpy(out + w, digits + 1, (size_t)(k - 1));
            w += k - 1;
        }
        snprintf(out + w, (size_t)(JCS_NUMBER_MAX - w), "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    return 0;
}

/* ========================================================================
 * Strings
 * ====================================================================== */

static void jcs_string(struct jcs_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0; /* start of the bytes copied as they are */
    jcs_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7] = {'\\', 0};
        size_t elen = 2;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jcs_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            elen = 6;
        }
        jcs_put(b, esc, elen);
    }
    jcs_put(b, s + run, n - run);
    jcs_put(b, "\"", 1);
}

/* ========================================================================
 * Member order: UTF-16 code units
 * ====================================================================== */

/* The code point at s[*i] (valid UTF-8, n bytes in all), advancing *i. */
static long jcs_utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned c = s[*i];
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    long cp = len == 1 ? (long)c : (long)(c & (0x7F >> len));
    if (*i + len > n)
        len = n - *i;
    for (size_t k = 1; k < len; k++)
        cp = (cp << 6) | (long)(s[*i + k] & 0x3F);
    *i += len;
    return cp;
}

/* A weight that orders code points as their UTF-16 code units do: below
 * U+D800 as they are, then every code point past U+FFFF (a high surrogate
 * first), then U+E000-U+FFFF. */
static long jcs_utf16_weight(long cp)
{
    return cp >= 0xE000 && cp <= 0xFFFF ? cp + 0x200000 : cp;
}

static int jcs_name_cmp(const void *pa, const void *pb)
{
    const unsigned char *a = *(const unsigned char *const *)pa;
    const unsigned char *b = *(const unsigned char *const *)pb;
    size_t na = strlen((const char *)a), nb = strlen((const char *)b), i = 0, j = 0;
    while (i < na && j < nb) {
        long x = jcs_utf16_weight(jcs_utf8_next(a, na, &i));
        long y = jcs_utf16_weight(jcs_utf8_next(b, nb, &j));
        if (x != y)
            return x < y ? -1 : 1;
    }
    return (i < na) - (j < nb);
}

/* ========================================================================
 * Values
 * ====================================================================== */

static void jcs_value(struct jcs_buf *b, const json_t *v, int depth);

static void jcs_object(struct jcs_buf *b, const json_t *o, int depth)
{
    size_t n = json_object_size(o), k = 0;
    const char **names = n ? malloc(n * sizeof(*names)) : NULL;
    const char *key;
    json_t *child;
    if (n && names == NULL) {
        b->failed = 1;
        return;
    }
    json_object_foreach ((json_t *)o, key, child)
        names[k++] = key;
    if (n) /* qsort may not be given NULL, even for nothing */
        qsort(names, n, sizeof(*names), jcs_name_cmp);
    jcs_put(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            jcs_put(b, ",", 1);
        jcs_string(b, names[i], strlen(names[i]));
        jcs_put(b, ":", 1);
        jcs_value(b, json_object_get(o, names[i]), depth + 1);
    }
    jcs_put(b, "}", 1);
    free(names);
}

static void jcs_value(struct jcs_buf *b, const json_t *v, int depth)
{
    char num[JCS_NUMBER_MAX];
    size_t i;
    json_t *child;
    if (depth > JCS_MAX_DEPTH) {
        b->failed = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        jcs_object(b, v, depth);
        break;
    case JSON_ARRAY:
        jcs_put(b, "[", 1);
        json_array_foreach (v, i, child) {
            if (i)
                jcs_put(b, ",", 1);
            jcs_value(b, child, depth + 1);
        }
        jcs_put(b, "]", 1);
        break;
    case JSON_STRING:
        jcs_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        if (jcs_number(json_number_value(v), num) != 0)
            b->failed = 1;
        else
            jcs_puts(b, num);
        break;
    case JSON_TRUE:
        jcs_puts(b, "true");
        break;
    case JSON_FALSE:
        jcs_puts(b, "false");
        break;
    default:
        jcs_puts(b, "null");
    }
}

char *jcs_encode(const json_t *v, size_t *len)
{
    struct jcs_buf b = {0};
    if (v == NULL)
        return NULL;
    jcs_value(&b, v, 0);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
