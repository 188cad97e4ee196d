/*
 * options — item options and -f FILE into one validated item; see
 * options.h.
 */
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTIONS_DURATION_MAX (366LL * 24 * 3600)

static int options_fail(struct item_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int options_fail(struct item_error *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

void options_init(struct options_item *o)
{
    memset(o, 0, sizeof(*o));
}

void options_free(struct options_item *o)
{
    json_decref(o->fields);
    json_decref(o->image);
    json_decref(o->topics);
    memset(o, 0, sizeof(*o));
}

/* ------------------------------------------------------------------------
 * One option at a time
 * ---------------------------------------------------------------------- */

/* Where each plain text option goes: a top-level field, or one of image. */
struct options_field {
    int opt;
    const char *name; /* key in the item or in its image object */
    int in_image;
};

static const struct options_field options_fields[] = {
    {OPT_HEADLINE, "headline", 0},   {OPT_SUMMARY, "summary", 0}, {OPT_URL, "url", 0},
    {OPT_URGENCY, "urgency", 0},     {OPT_LANG, "lang", 0},       {OPT_BYLINE, "byline", 0},
    {OPT_CREDIT, "credit", 0},       {OPT_IMAGE, "url", 1},       {OPT_CAPTION, "caption", 1},
    {OPT_IMAGE_CREDIT, "credit", 1},
};

/* A JSON string for an option's value; jansson refuses invalid UTF-8. */
static json_t *options_string(const char *field, const char *arg, struct item_error *err)
{
    json_t *s = json_string(arg);
    if (s == NULL)
        options_fail(err, field, "is not valid UTF-8 text");
    return s;
}

/* Sets key in *obj (created on first use). */
static int options_set(json_t **obj, const char *key, json_t *value)
{
    if (*obj == NULL && (*obj = json_object()) == NULL) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new(*obj, key, value);
}

int options_parse_duration(const char *s, long long *seconds)
{
    long long total = 0;
    if (s == NULL || *s == '\0')
        return -1;
    while (*s) {
        long long n = 0, unit;
        if (*s < '0' || *s > '9')
            return -1;
        for (; *s >= '0' && *s <= '9'; s++) {
            n = n * 10 + (*s - '0');
            if (n > OPTIONS_DURATION_MAX)
                return -1;
        }
        switch (*s++) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return -1;
        }
        total += n * unit;
        if (total > OPTIONS_DURATION_MAX)
            return -1;
    }
    if (total == 0)
        return -1;
    *seconds = total;
    return 0;
}

/* --expires: a duration from now, or (for scripts) an RFC 3339 time. */
static json_t *options_expires(const char *arg, struct item_error *err)
{
    long long secs;
    int64_t at_ms;
    char out[ITEM_TIME_STRLEN];

    if (options_parse_duration(arg, &secs) == 0)
        at_ms = item_time_now_ms() + secs * 1000;
    else if (item_time_parse(arg, &at_ms) != 0) {
        options_fail(err, "expires_at",
                     "--expires wants a duration such as 90s, 30m, 2h or 1d (at most 366d), "
                     "or an RFC 3339 time; got \"%.40s\"",
                     arg);
        return NULL;
    }
    item_time_format(at_ms, out);
    return json_string(out);
}

int options_take(struct options_item *o, int opt, const char *arg, struct item_error *err)
{
    json_t *v;
    for (size_t i = 0; i < sizeof(options_fields) / sizeof(options_fields[0]); i++) {
        const struct options_field *f = &options_fields[i];
        if (f->opt != opt)
            continue;
        char path[32];
        snprintf(path, sizeof(path), "%s%s", f->in_image ? "image." : "", f->name);
        if ((v = options_string(path, arg, err)) == NULL)
            return -1;
        if (options_set(f->in_image ? &o->image : &o->fields, f->name, v) != 0)
            return options_fail(err, path, "out of memory");
        return 1;
    }
    switch (opt) {
    case OPT_TOPIC:
        if ((v = options_string("topics", arg, err)) == NULL)
            return -1;
        if (o->topics == NULL && (o->topics = json_array()) == NULL) {
            json_decref(v);
            return options_fail(err, "topics", "out of memory");
        }
        if (json_array_append_new(o->topics, v) != 0)
            return options_fail(err, "topics", "out of memory");
        return 1;
    case OPT_EXPIRES:
        if ((v = options_expires(arg, err)) == NULL)
            return -1;
        if (options_set(&o->fields, "expires_at", v) != 0)
            return options_fail(err, "expires_at", "out of memory");
        return 1;
    case OPT_FILE:
        o->file = arg;
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------------
 * -f FILE
 * ---------------------------------------------------------------------- */

long options_read_file(const char *path, char *buf, size_t buflen, char *err, size_t errlen)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    size_t limit = ITEM_MAX_BYTES + 1, n = 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");

    if (buflen < limit) {
        snprintf(err, errlen, "%s: internal error: buffer too small", name);
        return -1;
    }
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", name, strerror(errno));
        return -1;
    }
    /* At most one byte past the limit: enough to know it is too large,
     * without reading an endless stream. */
    while (n < limit) {
        size_t got = fread(buf + n, 1, limit - n, f);
        if (got == 0)
            break;
        n += got;
    }
    int failed = ferror(f);
    int saved = errno;
    if (!is_stdin)
        fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s: %s", name, strerror(saved));
        return -1;
    }
    if (n > ITEM_MAX_BYTES) {
        snprintf(err, errlen, "must be at most %d bytes of JSON text (%s holds more)",
                 ITEM_MAX_BYTES, name);
        return -2;
    }
    return (long)n;
}

/* ------------------------------------------------------------------------
 * Assembling
 * ---------------------------------------------------------------------- */

/* The file's fields over obj. The text is decoded strictly (valid UTF-8, no
 * NUL, no duplicate keys); item_parse checks the whole again later. */
static int options_merge_file(json_t *obj, const char *text, size_t len, struct item_error *err)
{
    json_error_t jerr;
    if (memchr(text, '\0', len))
        return options_fail(err, "", "the file contains a NUL byte");
    json_t *file = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (file == NULL)
        return options_fail(err, "", "not valid JSON (line %d, column %d): %s", jerr.line,
                            jerr.column, jerr.text);
    if (!json_is_object(file)) {
        json_decref(file);
        return options_fail(err, "", "the item must be a JSON object");
    }
    int rc = json_object_update(obj, file);
    json_decref(file);
    return rc ? options_fail(err, "", "out of memory") : 0;
}

/* The options over obj; image options go into obj's image object. */
static int options_merge_options(json_t *obj, const struct options_item *o, struct item_error *err)
{
    if (o->fields && json_object_update(obj, o->fields) != 0)
        return options_fail(err, "", "out of memory");
    if (o->topics && json_object_set_new(obj, "topics", json_deep_copy(o->topics)) != 0)
        return options_fail(err, "topics", "out of memory");
    if (o->image) {
        json_t *img = json_object_get(obj, "image");
        json_t *merged = json_is_object(img) ? json_deep_copy(img) : json_object();
        if (merged == NULL || json_object_update(merged, o->image) != 0 ||
            json_object_set_new(obj, "image", merged) != 0)
            return options_fail(err, "image", "out of memory");
    }
    return 0;
}

/* Forces a field the subcommand decides (kind, ref); a file that says
 * otherwise is an error rather than silently changed. */
static int options_force(json_t *obj, const char *key, const char *value, struct item_error *err)
{
    json_t *have = json_object_get(obj, key);
    if (value == NULL)
        return 0;
    if (have && (!json_is_string(have) || strcmp(json_string_value(have), value) != 0))
        return options_fail(err, key, "the file says %s%.40s%s but this command publishes \"%s\"",
                            json_is_string(have) ? "\"" : "",
                            json_is_string(have) ? json_string_value(have) : "another value",
                            json_is_string(have) ? "\"" : "", value);
    if (json_object_set_new(obj, key, json_string(value)) != 0)
        return options_fail(err, key, "out of memory");
    return 0;
}

json_t *options_build(const struct options_item *o, const json_t *base, const char *text,
                      size_t len, const char *kind, const char *ref, struct item_error *err)
{
    json_t *obj = base ? json_deep_copy(base) : json_object();
    json_t *item = NULL;
    char *enc = NULL;
    size_t enclen;

    if (obj == NULL) {
        options_fail(err, "", "out of memory");
        goto done;
    }
    /* A file alone is published as written: the item module reads it. */
    if (text && !base && !kind && !ref && !o->fields && !o->image && !o->topics) {
        item = item_parse(text, len, ITEM_PUBLISH, err, NULL);
        goto done;
    }
    if (text && options_merge_file(obj, text, len, err) != 0)
        goto done;
    if (options_merge_options(obj, o, err) != 0 || options_force(obj, "kind", kind, err) != 0 ||
        options_force(obj, "ref", ref, err) != 0)
        goto done;
    /* Validate the encoding itself, as Redis and every node will see it:
     * item_parse applies the rules on text (size, depth) as well. */
    if ((enc = item_encode(obj, &enclen)) == NULL) {
        options_fail(err, "", "out of memory");
        goto done;
    }
    item = item_parse(enc, enclen, ITEM_PUBLISH, err, NULL);
done:
    free(enc);
    json_decref(obj);
    return item;
}
