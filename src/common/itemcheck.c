/*
 * itemcheck — see itemcheck.h.
 */
#include "itemcheck.h"

#include "itemid.h"
#include "itemutf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ITEM_MAX_DEPTH 8 /* nesting the item may use, the item itself included */

static const char *const item_renditions[] = {"xs", "sm", "md", "lg"};
static const char *const item_image_keys[] = {"url", "caption", "credit", "renditions"};

/* ========================================================================
 * The error record
 * ====================================================================== */

/* Fills *err (when given) and returns -1, so checks can `return item_check_fail(...)`. */
int item_check_fail(struct item_error *err, const char *field, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    va_list ap;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    item_utf8_printable(err->field);
    item_utf8_printable(err->message);
    return -1;
}

/* The string's text, or NULL when it is not a string or holds U+0000. */
const char *item_check_cstr(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* The field path prefix + key; item_check_fail makes it printable. */
void item_check_field_name(char *out, size_t outlen, const char *prefix, const char *key)
{
    snprintf(out, outlen, "%s%s", prefix, key);
}

/* ========================================================================
 * Field checks. Each returns 0, or -1 with the error filled.
 * ====================================================================== */

/* A text field: a string of valid UTF-8, no control character but tab and
 * newline, min..max code points. */
int item_check_text(const json_t *v, const char *field, size_t min, size_t max,
                    struct item_error *err)
{
    if (!json_is_string(v))
        return item_check_fail(err, field, "must be a string");
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v), i = 0, count = 0;
    while (i < n) {
        long cp = item_utf8_next(s, n, &i);
        if (cp < 0)
            return item_check_fail(err, field, "must be valid UTF-8");
        if (item_utf8_is_control(cp))
            return item_check_fail(
                err, field,
                "must not contain control characters (found U+%04lX at character "
                "%zu); only tab and newline are allowed",
                cp, count + 1);
        count++;
    }
    if (count >= min && count <= max)
        return 0;
    if (min > 0)
        return item_check_fail(err, field, "must be %zu-%zu characters (got %zu)", min, max, count);
    return item_check_fail(err, field, "must be at most %zu characters (got %zu)", max, count);
}

/* Case-insensitive ASCII prefix test. */
static int item_check_prefix_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        int c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != *prefix)
            return 0;
    }
    return 1;
}

/* http(s)://host... with a non-empty host, no userinfo, no space or control
 * byte anywhere. The same rule as $defs/url in the schema. */
static int item_check_url_ok(const char *s)
{
    size_t i;
    if (item_check_prefix_ci(s, "http://"))
        i = 7;
    else if (item_check_prefix_ci(s, "https://"))
        i = 8;
    else
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 0;
    if (s[i] == '\0' || s[i] == ':' || strchr("/?#@", s[i]))
        return 0; /* empty host */
    for (; s[i] && !strchr("/?#", s[i]); i++)
        if (s[i] == '@')
            return 0; /* userinfo: "https://bbc.com@evil.example/" */
    return 1;
}

int item_check_url(const json_t *v, const char *field, struct item_error *err)
{
    if (item_check_text(v, field, 0, 2048, err) != 0)
        return -1;
    const char *s = item_check_cstr(v);
    if (s == NULL || !item_check_url_ok(s))
        return item_check_fail(err, field, "must be an http or https URL with a host");
    return 0;
}

/* One of a fixed set of words; returns its index or -1 with the error filled. */
int item_check_enum(const json_t *v, const char *field, const char *const *words, size_t n,
                    const char *list, struct item_error *err)
{
    const char *s = item_check_cstr(v);
    if (!json_is_string(v))
        return item_check_fail(err, field, "must be a string, one of %s", list);
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, words[i]) == 0)
            return (int)i;
    return item_check_fail(err, field, "must be one of %s", list);
}

/* An id-valued field (id, ref). */
int item_check_id(const json_t *v, const char *field, struct item_error *err)
{
    if (!json_is_string(v))
        return item_check_fail(err, field, "must be a string");
    if (item_id_parse(item_check_cstr(v), NULL) != 0)
        return item_check_fail(err, field,
                               "must be an id of the form <ms>-<seq>, e.g. 1714560000000-0");
    return 0;
}

static int item_check_renditions(const json_t *r, struct item_error *err)
{
    char field[64];
    const char *key;
    json_t *v;
    if (!json_is_object(r))
        return item_check_fail(err, "image.renditions", "must be an object");
    json_object_foreach ((json_t *)r, key, v) {
        size_t i = 0;
        while (i < 4 && strcmp(key, item_renditions[i]) != 0)
            i++;
        item_check_field_name(field, sizeof(field), "image.renditions.", key);
        if (i == 4)
            return item_check_fail(err, field, "unknown rendition (allowed: xs, sm, md, lg)");
        if (item_check_url(v, field, err) != 0)
            return -1;
    }
    return 0;
}

/* image: url (required), caption, credit, renditions; nothing else, in any mode. */
int item_check_image(const json_t *image, struct item_error *err)
{
    char field[64];
    const char *key;
    json_t *v;
    if (!json_is_object(image))
        return item_check_fail(err, "image", "must be an object");
    json_object_foreach ((json_t *)image, key, v) {
        size_t i = 0;
        while (i < 4 && strcmp(key, item_image_keys[i]) != 0)
            i++;
        if (i == 4) {
            item_check_field_name(field, sizeof(field), "image.", key);
            return item_check_fail(err, field, "unknown field \"%s\"", field);
        }
    }
    if ((v = json_object_get(image, "url")) == NULL)
        return item_check_fail(err, "image.url", "required: the image's http or https URL");
    if (item_check_url(v, "image.url", err) != 0)
        return -1;
    if ((v = json_object_get(image, "caption")) &&
        item_check_text(v, "image.caption", 0, 500, err) != 0)
        return -1;
    if ((v = json_object_get(image, "credit")) &&
        item_check_text(v, "image.credit", 0, 200, err) != 0)
        return -1;
    if ((v = json_object_get(image, "renditions")) && item_check_renditions(v, err) != 0)
        return -1;
    return 0;
}

/* Nesting depth of v (a scalar is 0), looking no deeper than limit + 1
 * levels; *nul is set when a string below holds U+0000. */
static int item_check_depth(const json_t *v, int limit, int *nul)
{
    int max = 0, d;
    size_t i;
    const char *key;
    json_t *child;
    if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
        *nul = 1;
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (limit <= 0)
        return 1;
    if (json_is_array(v)) {
        json_array_foreach (v, i, child) {
            if ((d = item_check_depth(child, limit - 1, nul)) > max)
                max = d;
        }
    } else {
        json_object_foreach ((json_t *)v, key, child) {
            if ((d = item_check_depth(child, limit - 1, nul)) > max)
                max = d;
        }
    }
    return max + 1;
}

/* ext: any object, relayed verbatim, within its size and the item's depth. */
int item_check_ext(const json_t *ext, struct item_error *err)
{
    int nul = 0, limit = ITEM_MAX_DEPTH - 1; /* the item itself is one level */
    if (!json_is_object(ext))
        return item_check_fail(err, "ext", "must be an object");
    if (item_check_depth(ext, limit, &nul) > limit)
        return item_check_fail(err, "ext", "must not nest deeper than %d levels", limit);
    if (nul)
        return item_check_fail(err, "ext", "must not contain U+0000");
    size_t n = json_dumpb(ext, NULL, 0, JSON_COMPACT);
    if (n > ITEM_EXT_MAX_BYTES)
        return item_check_fail(err, "ext", "must be at most %d bytes encoded (got %zu)",
                               ITEM_EXT_MAX_BYTES, n);
    return 0;
}

/* A base64url string (no padding) of exactly len characters; with `last`,
 * its last one is among those (the ones that carry no stray bits). */
int item_check_b64url(const json_t *v, size_t len, const char *last)
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *s = item_check_cstr(v);
    return s && strlen(s) == len && strspn(s, b64url) == len && (!last || strchr(last, s[len - 1]));
}
