/*
 * item — see item.h. Every rule of proto/alert.schema.json lives here; the
 * schema and proto/examples/ are kept in step with this file.
 */
#include "item.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEM_MAX_DEPTH      8  /* nesting the item may use, the item itself included */
#define ITEM_SCAN_MAX_DEPTH 32 /* refused before decoding: keeps jansson's recursion short */
/* Room kept for the `"id":"<ms>-<seq>",` member the publish script adds, so that
 * an item accepted from a publisher still fits ITEM_MAX_BYTES once it has an id. */
#define ITEM_ID_RESERVE (sizeof("\"id\":\"\",") - 1 + ITEM_ID_STRLEN - 1)

const char *const item_keys[ITEM_NKEYS] = {
    "id",     "kind", "ref",    "version", "urgency",      "headline",   "summary", "url", "byline",
    "credit", "lang", "topics", "image",   "published_at", "expires_at", "ext",     "kid", "sig",
};

enum item_kind { ITEM_ALERT, ITEM_UPDATE, ITEM_RETRACTION };
static const char *const item_kinds[] = {"alert", "update", "retraction"};
static const char *const item_urgencies[] = {"flash", "bulletin", "urgent", "routine"};
static const char *const item_renditions[] = {"xs", "sm", "md", "lg"};
static const char *const item_image_keys[] = {"url", "caption", "credit", "renditions"};

/* What item_validate knows while it walks one item. */
struct item_ctx {
    unsigned mode;
    struct item_error *err;
    enum item_kind kind;
    int has_published; /* published_at present (or about to be filled) */
    int64_t published_ms;
};

/* ========================================================================
 * Small helpers: ASCII classes, UTF-8, errors
 * ====================================================================== */

static int item_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int item_is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The field path prefix + key; item_fail makes it printable. */
static void item_field_name(char *out, size_t outlen, const char *prefix, const char *key)
{
    snprintf(out, outlen, "%s%s", prefix, key);
}

/* Decodes the code point at s[*i] (n bytes in all) and advances *i; -1 on a
 * malformed, overlong or surrogate sequence. */
static long item_utf8_next(const unsigned char *s, size_t n, size_t *i)
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
static int item_is_control(long cp)
{
    if (cp == '\t' || cp == '\n')
        return 0;
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Makes s printable in place: a control character (tab and newline
 * included: messages are one line) or a byte that is not valid UTF-8 becomes
 * '?', so that text quoted from hostile input is safe to print and to log. */
static void item_printable(char *s)
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

static int item_fail(struct item_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills *err (when given) and returns -1, so checks can `return item_fail(...)`. */
static int item_fail(struct item_error *err, const char *field, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    va_list ap;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    item_printable(err->field);
    item_printable(err->message);
    return -1;
}

/* The string's text, or NULL when it is not a string or holds U+0000. */
static const char *item_cstr(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* ========================================================================
 * Times
 * ====================================================================== */

/* published_at: exactly "YYYY-MM-DDTHH:MM:SS.mmmZ", and a real time. */
static int item_published_at_parse(const char *s, int64_t *unix_ms)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(s) != sizeof(shape) - 1)
        return -1;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !item_is_digit((unsigned char)s[i]) : s[i] != shape[i])
            return -1;
    return item_time_parse(s, unix_ms);
}

/* ========================================================================
 * Field checks. Each returns 0, or -1 with the error filled.
 * ====================================================================== */

/* A text field: a string of valid UTF-8, no control character but tab and
 * newline, min..max code points. */
static int item_check_text(const json_t *v, const char *field, size_t min, size_t max,
                           struct item_error *err)
{
    if (!json_is_string(v))
        return item_fail(err, field, "must be a string");
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v), i = 0, count = 0;
    while (i < n) {
        long cp = item_utf8_next(s, n, &i);
        if (cp < 0)
            return item_fail(err, field, "must be valid UTF-8");
        if (item_is_control(cp))
            return item_fail(err, field,
                             "must not contain control characters (found U+%04lX at character "
                             "%zu); only tab and newline are allowed",
                             cp, count + 1);
        count++;
    }
    if (count >= min && count <= max)
        return 0;
    if (min > 0)
        return item_fail(err, field, "must be %zu-%zu characters (got %zu)", min, max, count);
    return item_fail(err, field, "must be at most %zu characters (got %zu)", max, count);
}

/* Case-insensitive ASCII prefix test. */
static int item_has_prefix_ci(const char *s, const char *prefix)
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
static int item_url_ok(const char *s)
{
    size_t i;
    if (item_has_prefix_ci(s, "http://"))
        i = 7;
    else if (item_has_prefix_ci(s, "https://"))
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

static int item_check_url(const json_t *v, const char *field, struct item_error *err)
{
    if (item_check_text(v, field, 0, 2048, err) != 0)
        return -1;
    const char *s = item_cstr(v);
    if (s == NULL || !item_url_ok(s))
        return item_fail(err, field, "must be an http or https URL with a host");
    return 0;
}

/* One of a fixed set of words; returns its index or -1 with the error filled. */
static int item_check_enum(const json_t *v, const char *field, const char *const *words, size_t n,
                           const char *list, struct item_error *err)
{
    const char *s = item_cstr(v);
    if (!json_is_string(v))
        return item_fail(err, field, "must be a string, one of %s", list);
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, words[i]) == 0)
            return (int)i;
    return item_fail(err, field, "must be one of %s", list);
}

/* An id-valued field (id, ref). */
static int item_check_id(const json_t *v, const char *field, struct item_error *err)
{
    if (!json_is_string(v))
        return item_fail(err, field, "must be a string");
    if (item_id_parse(item_cstr(v), NULL) != 0)
        return item_fail(err, field, "must be an id of the form <ms>-<seq>, e.g. 1714560000000-0");
    return 0;
}

/* id, kind, ref, version: what the item is and which alert it refers to. */
static int item_check_identity(json_t *item, struct item_ctx *c)
{
    static const char *const kind_names[] = {"an alert", "an update", "a retraction"};
    json_t *id = json_object_get(item, "id"), *kind = json_object_get(item, "kind");
    json_t *ref = json_object_get(item, "ref"), *version = json_object_get(item, "version");
    if (id && (c->mode & ITEM_PUBLISH))
        return item_fail(c->err, "id", "set by the server, a publisher never sets it");
    if (id && item_check_id(id, "id", c->err) != 0)
        return -1;
    c->kind = ITEM_ALERT;
    if (kind) {
        int k = item_check_enum(kind, "kind", item_kinds, 3, "alert, update, retraction", c->err);
        if (k < 0)
            return -1;
        c->kind = (enum item_kind)k;
    }
    const char *what = kind_names[c->kind];
    if (c->kind == ITEM_ALERT && ref)
        return item_fail(c->err, "ref", "not allowed for an alert (only an update or retraction)");
    if (c->kind != ITEM_ALERT && !ref)
        return item_fail(c->err, "ref", "required for %s: the id of the alert it concerns", what);
    if (ref && item_check_id(ref, "ref", c->err) != 0)
        return -1;
    if (version && !json_is_integer(version))
        return item_fail(c->err, "version", "must be an integer");
    long long ver = version ? (long long)json_integer_value(version) : 0;
    if (c->kind == ITEM_ALERT && version && ver != 1)
        return item_fail(c->err, "version", "must be 1 for an alert (got %lld)", ver);
    if (c->kind == ITEM_UPDATE && !version)
        return item_fail(c->err, "version", "required for an update (2 or more)");
    if (c->kind == ITEM_UPDATE && ver < 2)
        return item_fail(c->err, "version", "must be 2 or more for an update (got %lld)", ver);
    if (c->kind == ITEM_RETRACTION && version && ver < 1)
        return item_fail(c->err, "version", "must be 1 or more (got %lld)", ver);
    return 0;
}

int item_lang_ok(const char *s)
{
    size_t n = strlen(s), i = 0;
    if (n > 35)
        return 0;
    while (i < n && item_is_alpha((unsigned char)s[i]))
        i++;
    if (i < 2 || i > 8)
        return 0;
    while (i < n) {
        size_t start = ++i; /* skips the '-' checked below */
        if (s[start - 1] != '-')
            return 0;
        while (i < n && (item_is_alpha((unsigned char)s[i]) || item_is_digit((unsigned char)s[i])))
            i++;
        if (i - start < 1 || i - start > 8)
            return 0;
    }
    return 1;
}

/* urgency, headline, summary, url, byline, credit, lang. */
static int item_check_texts(json_t *item, struct item_ctx *c)
{
    static const struct {
        const char *name;
        size_t min, max;
    } texts[] = {{"summary", 0, 1000}, {"byline", 0, 200}, {"credit", 0, 300}};
    json_t *v;
    if ((v = json_object_get(item, "urgency")) &&
        item_check_enum(v, "urgency", item_urgencies, 4, "flash, bulletin, urgent, routine",
                        c->err) < 0)
        return -1;
    if ((v = json_object_get(item, "headline"))) {
        if (item_check_text(v, "headline", 1, 280, c->err) != 0)
            return -1;
    } else if (c->kind != ITEM_RETRACTION) {
        return item_fail(c->err, "headline", "required for %s (1-280 characters)",
                         c->kind == ITEM_ALERT ? "an alert" : "an update");
    }
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if ((v = json_object_get(item, texts[i].name)) &&
            item_check_text(v, texts[i].name, texts[i].min, texts[i].max, c->err) != 0)
            return -1;
    if ((v = json_object_get(item, "url")) && item_check_url(v, "url", c->err) != 0)
        return -1;
    if ((v = json_object_get(item, "lang"))) {
        if (!json_is_string(v))
            return item_fail(c->err, "lang", "must be a string");
        const char *s = item_cstr(v);
        if (s == NULL || !item_lang_ok(s))
            return item_fail(c->err, "lang", "must be a BCP 47 language tag such as en or pt-BR");
    }
    return 0;
}

int item_topic_ok(const char *s, size_t len)
{
    if (len == 0 || len > ITEM_TOPIC_MAX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || item_is_digit((unsigned char)s[i]) || s[i] == '-'))
            return 0;
    return 1;
}

static int item_check_topics(const json_t *topics, struct item_error *err)
{
    char field[32];
    if (!json_is_array(topics))
        return item_fail(err, "topics", "must be an array of strings");
    size_t n = json_array_size(topics);
    if (n > ITEM_MAX_TOPICS)
        return item_fail(err, "topics", "must hold at most %d topics (got %zu)", ITEM_MAX_TOPICS,
                         n);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(topics, i);
        snprintf(field, sizeof(field), "topics[%zu]", i);
        if (!json_is_string(t))
            return item_fail(err, field, "must be a string");
        const char *s = item_cstr(t);
        if (s == NULL || !item_topic_ok(s, strlen(s)))
            return item_fail(err, field, "must match " ITEM_TOPIC_RULE);
        for (size_t j = 0; j < i; j++)
            if (json_equal(t, json_array_get(topics, j)))
                return item_fail(err, field, "duplicates topics[%zu]", j);
    }
    return 0;
}

static int item_check_renditions(const json_t *r, struct item_error *err)
{
    char field[64];
    const char *key;
    json_t *v;
    if (!json_is_object(r))
        return item_fail(err, "image.renditions", "must be an object");
    json_object_foreach ((json_t *)r, key, v) {
        size_t i = 0;
        while (i < 4 && strcmp(key, item_renditions[i]) != 0)
            i++;
        item_field_name(field, sizeof(field), "image.renditions.", key);
        if (i == 4)
            return item_fail(err, field, "unknown rendition (allowed: xs, sm, md, lg)");
        if (item_check_url(v, field, err) != 0)
            return -1;
    }
    return 0;
}

/* image: url (required), caption, credit, renditions; nothing else, in any mode. */
static int item_check_image(const json_t *image, struct item_error *err)
{
    char field[64];
    const char *key;
    json_t *v;
    if (!json_is_object(image))
        return item_fail(err, "image", "must be an object");
    json_object_foreach ((json_t *)image, key, v) {
        size_t i = 0;
        while (i < 4 && strcmp(key, item_image_keys[i]) != 0)
            i++;
        if (i == 4) {
            item_field_name(field, sizeof(field), "image.", key);
            return item_fail(err, field, "unknown field \"%s\"", field);
        }
    }
    if ((v = json_object_get(image, "url")) == NULL)
        return item_fail(err, "image.url", "required: the image's http or https URL");
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

static int item_check_times(json_t *item, struct item_ctx *c)
{
    json_t *pub = json_object_get(item, "published_at"), *exp = json_object_get(item, "expires_at");
    int64_t exp_ms;
    if (pub) {
        if (!json_is_string(pub))
            return item_fail(c->err, "published_at", "must be a string");
        const char *s = item_cstr(pub);
        if (s == NULL || item_published_at_parse(s, &c->published_ms) != 0)
            return item_fail(c->err, "published_at",
                             "must be an RFC 3339 UTC time with milliseconds, "
                             "YYYY-MM-DDTHH:MM:SS.mmmZ");
        c->has_published = 1;
    } else if (c->mode & ITEM_PUBLISH) {
        c->published_ms = item_time_now_ms(); /* filled in by item_fill_defaults */
        c->has_published = 1;
    }
    if (exp == NULL)
        return 0;
    if (!json_is_string(exp))
        return item_fail(c->err, "expires_at", "must be a string");
    if (item_time_parse(item_cstr(exp), &exp_ms) != 0)
        return item_fail(c->err, "expires_at",
                         "must be an RFC 3339 date-time, e.g. 2024-05-01T18:00:00Z");
    if (c->has_published && exp_ms <= c->published_ms)
        return item_fail(c->err, "expires_at", "must be after published_at");
    return 0;
}

/* Nesting depth of v (a scalar is 0), looking no deeper than limit + 1
 * levels; *nul is set when a string below holds U+0000. */
static int item_depth(const json_t *v, int limit, int *nul)
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
            if ((d = item_depth(child, limit - 1, nul)) > max)
                max = d;
        }
    } else {
        json_object_foreach ((json_t *)v, key, child) {
            if ((d = item_depth(child, limit - 1, nul)) > max)
                max = d;
        }
    }
    return max + 1;
}

/* ext: any object, relayed verbatim, within its size and the item's depth. */
static int item_check_ext(const json_t *ext, struct item_error *err)
{
    int nul = 0, limit = ITEM_MAX_DEPTH - 1; /* the item itself is one level */
    if (!json_is_object(ext))
        return item_fail(err, "ext", "must be an object");
    if (item_depth(ext, limit, &nul) > limit)
        return item_fail(err, "ext", "must not nest deeper than %d levels", limit);
    if (nul)
        return item_fail(err, "ext", "must not contain U+0000");
    size_t n = json_dumpb(ext, NULL, 0, JSON_COMPACT);
    if (n > ITEM_EXT_MAX_BYTES)
        return item_fail(err, "ext", "must be at most %d bytes encoded (got %zu)",
                         ITEM_EXT_MAX_BYTES, n);
    return 0;
}

/* A base64url string (no padding) of exactly len characters; with `last`,
 * its last one is among those (the ones that carry no stray bits). */
static int item_b64url_ok(const json_t *v, size_t len, const char *last)
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *s = item_cstr(v);
    return s && strlen(s) == len && strspn(s, b64url) == len && (!last || strchr(last, s[len - 1]));
}

/* sig and kid: both or neither, of their exact shape; never from a publisher. */
static int item_check_signature(json_t *item, struct item_ctx *c)
{
    json_t *sig = json_object_get(item, "sig"), *kid = json_object_get(item, "kid");
    if ((sig || kid) && (c->mode & ITEM_PUBLISH))
        return item_fail(c->err, sig ? "sig" : "kid",
                         "set by alert when it signs (--sign-key), never by the item");
    if (sig && !item_b64url_ok(sig, ITEM_SIG_LEN, "AQgw"))
        return item_fail(c->err, "sig",
                         "must be an Ed25519 signature: %d base64url characters, no padding",
                         ITEM_SIG_LEN);
    if (kid && !item_b64url_ok(kid, ITEM_KID_LEN, NULL))
        return item_fail(c->err, "kid", "must be a key id: %d base64url characters", ITEM_KID_LEN);
    if (!sig != !kid)
        return item_fail(c->err, sig ? "kid" : "sig", "required with %s: a signature names its key",
                         sig ? "sig" : "kid");
    return 0;
}

/* ========================================================================
 * Validation
 * ====================================================================== */

static int item_is_known(const char *key)
{
    for (size_t i = 0; i < ITEM_NKEYS; i++)
        if (strcmp(key, item_keys[i]) == 0)
            return 1;
    return 0;
}

/* Refuses (or, relaying, removes and counts) top-level fields the schema does not know. */
static int item_check_unknown(json_t *item, struct item_ctx *c, unsigned *dropped)
{
    char field[64];
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe (item, tmp, key, v) {
        if (item_is_known(key))
            continue;
        if (!(c->mode & ITEM_PUBLISH) && (c->mode & ITEM_RELAY)) {
            json_object_del(item, key);
            if (dropped)
                (*dropped)++;
            continue;
        }
        item_field_name(field, sizeof(field), "", key);
        return item_fail(c->err, field, "unknown field \"%s\"", field);
    }
    return 0;
}

/* Publishing: fills kind, version (alerts), urgency, lang and published_at,
 * then puts every field in the canonical order of item_keys. */
static int item_fill_defaults(json_t *item, const struct item_ctx *c)
{
    char now[ITEM_TIME_STRLEN];
    json_t *vals[ITEM_NKEYS];
    int rc = 0;
    item_time_format(c->published_ms, now);
    if ((!json_object_get(item, "kind") &&
         json_object_set_new(item, "kind", json_string("alert"))) ||
        (c->kind == ITEM_ALERT && !json_object_get(item, "version") &&
         json_object_set_new(item, "version", json_integer(1))) ||
        (!json_object_get(item, "urgency") &&
         json_object_set_new(item, "urgency", json_string("bulletin"))) ||
        (!json_object_get(item, "lang") && json_object_set_new(item, "lang", json_string("en"))) ||
        (!json_object_get(item, "published_at") &&
         json_object_set_new(item, "published_at", json_string(now))))
        return -1;
    /* jansson keeps insertion order: take every value out, put them back in order. */
    for (size_t i = 0; i < ITEM_NKEYS; i++)
        vals[i] = json_incref(json_object_get(item, item_keys[i]));
    json_object_clear(item);
    for (size_t i = 0; i < ITEM_NKEYS; i++)
        if (vals[i] && json_object_set_new(item, item_keys[i], vals[i]) != 0)
            rc = -1; /* set_new has released vals[i] */
    return rc;
}

/* The item's encoded size as it will travel with its id: the id member
 * itself is replaced by room for the longest one. */
static size_t item_size_with_id(const json_t *item)
{
    size_t n = json_dumpb(item, NULL, 0, JSON_COMPACT);
    const char *id = json_string_value(json_object_get(item, "id"));
    if (id && n > strlen(id) + 8)
        n -= strlen(id) + 8; /* `"id":"…",` */
    return n + ITEM_ID_RESERVE;
}

int item_validate(json_t *item, unsigned mode, struct item_error *err, unsigned *dropped)
{
    struct item_ctx c = {.mode = mode, .err = err, .kind = ITEM_ALERT};
    json_t *v;
    if (err)
        err->field[0] = err->message[0] = '\0';
    if (dropped)
        *dropped = 0;
    if (!json_is_object(item))
        return item_fail(err, "", "must be a JSON object");
    if (item_check_unknown(item, &c, dropped) != 0 || item_check_identity(item, &c) != 0 ||
        item_check_texts(item, &c) != 0)
        return -1;
    if ((v = json_object_get(item, "topics")) && item_check_topics(v, err) != 0)
        return -1;
    if ((v = json_object_get(item, "image")) && item_check_image(v, err) != 0)
        return -1;
    if (item_check_times(item, &c) != 0)
        return -1;
    if ((v = json_object_get(item, "ext")) && item_check_ext(v, err) != 0)
        return -1;
    if (item_check_signature(item, &c) != 0)
        return -1;
    if ((mode & ITEM_PUBLISH) && item_fill_defaults(item, &c) != 0)
        return item_fail(err, "", "out of memory");
    size_t n = item_size_with_id(item);
    if (n > ITEM_MAX_BYTES)
        return item_fail(err, "",
                         "must be at most %d bytes encoded, counting %zu for its id (got %zu)",
                         ITEM_MAX_BYTES, (size_t)ITEM_ID_RESERVE, n);
    return 0;
}

/* ========================================================================
 * Parse and encode
 * ====================================================================== */

/* The deepest bracket nesting in JSON text, strings skipped; stops counting
 * past limit. Lets item_parse refuse hostile nesting before jansson recurses. */
static int item_scan_depth(const char *text, size_t len, int limit)
{
    int depth = 0, max = 0, in_string = 0;
    for (size_t i = 0; i < len && max <= limit; i++) {
        char ch = text[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max)
                max = depth;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return max;
}

json_t *item_parse(const char *text, size_t len, unsigned mode, struct item_error *err,
                   unsigned *dropped)
{
    json_error_t jerr;
    if (err)
        err->field[0] = err->message[0] = '\0';
    if (dropped)
        *dropped = 0;
    if (text == NULL)
        text = "", len = 0;
    if (len > ITEM_MAX_BYTES) {
        item_fail(err, "", "must be at most %d bytes of JSON text (got %zu)", ITEM_MAX_BYTES, len);
        return NULL;
    }
    if (memchr(text, '\0', len) != NULL) {
        item_fail(err, "", "not valid JSON: contains a NUL byte");
        return NULL;
    }
    if (item_scan_depth(text, len, ITEM_SCAN_MAX_DEPTH) > ITEM_SCAN_MAX_DEPTH) {
        item_fail(err, "", "nests deeper than %d levels", ITEM_SCAN_MAX_DEPTH);
        return NULL;
    }
    json_t *item = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (item == NULL) {
        item_fail(err, "", "not valid JSON: %s at line %d column %d", jerr.text, jerr.line,
                  jerr.column);
        return NULL;
    }
    if (item_validate(item, mode, err, dropped) != 0) {
        json_decref(item);
        return NULL;
    }
    return item;
}

char *item_encode(const json_t *item, size_t *len)
{
    size_t n = json_dumpb(item, NULL, 0, JSON_COMPACT);
    char *buf = n ? malloc(n + 1) : NULL;
    if (buf == NULL)
        return NULL;
    if (json_dumpb(item, buf, n, JSON_COMPACT) != n) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
