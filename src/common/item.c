/*
 * item — see item.h. Every rule of proto/alert.schema.json lives here; the
 * schema and proto/examples/ are kept in step with this file.
 */
#include "item.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* What item_validate knows while it walks one item. */
struct item_ctx {
    unsigned mode;
    struct item_error *err;
    enum item_kind kind;
    int has_published; /* published_at present (or about to be filled) */
    int64_t published_ms;
};

/* ========================================================================
 * Small helpers: ASCII classes
 * ====================================================================== */

static int item_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int item_is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
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
 * The item's own rules: which fields, in which combinations
 * ====================================================================== */

/* id, kind, ref, version: what the item is and which alert it refers to. */
static int item_validate_identity(json_t *item, struct item_ctx *c)
{
    static const char *const kind_names[] = {"an alert", "an update", "a retraction"};
    json_t *id = json_object_get(item, "id"), *kind = json_object_get(item, "kind");
    json_t *ref = json_object_get(item, "ref"), *version = json_object_get(item, "version");
    if (id && (c->mode & ITEM_PUBLISH))
        return item_check_fail(c->err, "id", "set by the server, a publisher never sets it");
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
        return item_check_fail(c->err, "ref",
                               "not allowed for an alert (only an update or retraction)");
    if (c->kind != ITEM_ALERT && !ref)
        return item_check_fail(c->err, "ref", "required for %s: the id of the alert it concerns",
                               what);
    if (ref && item_check_id(ref, "ref", c->err) != 0)
        return -1;
    if (version && !json_is_integer(version))
        return item_check_fail(c->err, "version", "must be an integer");
    long long ver = version ? (long long)json_integer_value(version) : 0;
    if (c->kind == ITEM_ALERT && version && ver != 1)
        return item_check_fail(c->err, "version", "must be 1 for an alert (got %lld)", ver);
    if (c->kind == ITEM_UPDATE && !version)
        return item_check_fail(c->err, "version", "required for an update (2 or more)");
    if (c->kind == ITEM_UPDATE && ver < 2)
        return item_check_fail(c->err, "version", "must be 2 or more for an update (got %lld)",
                               ver);
    if (c->kind == ITEM_RETRACTION && version && ver < 1)
        return item_check_fail(c->err, "version", "must be 1 or more (got %lld)", ver);
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
static int item_validate_texts(json_t *item, struct item_ctx *c)
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
        return item_check_fail(c->err, "headline", "required for %s (1-280 characters)",
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
            return item_check_fail(c->err, "lang", "must be a string");
        const char *s = item_check_cstr(v);
        if (s == NULL || !item_lang_ok(s))
            return item_check_fail(c->err, "lang",
                                   "must be a BCP 47 language tag such as en or pt-BR");
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

static int item_validate_topics(const json_t *topics, struct item_error *err)
{
    char field[32];
    if (!json_is_array(topics))
        return item_check_fail(err, "topics", "must be an array of strings");
    size_t n = json_array_size(topics);
    if (n > ITEM_MAX_TOPICS)
        return item_check_fail(err, "topics", "must hold at most %d topics (got %zu)",
                               ITEM_MAX_TOPICS, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(topics, i);
        snprintf(field, sizeof(field), "topics[%zu]", i);
        if (!json_is_string(t))
            return item_check_fail(err, field, "must be a string");
        const char *s = item_check_cstr(t);
        if (s == NULL || !item_topic_ok(s, strlen(s)))
            return item_check_fail(err, field, "must match " ITEM_TOPIC_RULE);
        for (size_t j = 0; j < i; j++)
            if (json_equal(t, json_array_get(topics, j)))
                return item_check_fail(err, field, "duplicates topics[%zu]", j);
    }
    return 0;
}

static int item_validate_times(json_t *item, struct item_ctx *c)
{
    json_t *pub = json_object_get(item, "published_at"), *exp = json_object_get(item, "expires_at");
    int64_t exp_ms;
    if (pub) {
        if (!json_is_string(pub))
            return item_check_fail(c->err, "published_at", "must be a string");
        const char *s = item_check_cstr(pub);
        if (s == NULL || item_published_at_parse(s, &c->published_ms) != 0)
            return item_check_fail(c->err, "published_at",
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
        return item_check_fail(c->err, "expires_at", "must be a string");
    if (item_time_parse(item_check_cstr(exp), &exp_ms) != 0)
        return item_check_fail(c->err, "expires_at",
                               "must be an RFC 3339 date-time, e.g. 2024-05-01T18:00:00Z");
    if (c->has_published && exp_ms <= c->published_ms)
        return item_check_fail(c->err, "expires_at", "must be after published_at");
    return 0;
}

/* sig and kid: both or neither, of their exact shape; never from a publisher. */
static int item_validate_signature(json_t *item, struct item_ctx *c)
{
    json_t *sig = json_object_get(item, "sig"), *kid = json_object_get(item, "kid");
    if ((sig || kid) && (c->mode & ITEM_PUBLISH))
        return item_check_fail(c->err, sig ? "sig" : "kid",
                               "set by alert when it signs (--sign-key), never by the item");
    if (sig && !item_check_b64url(sig, ITEM_SIG_LEN, "AQgw"))
        return item_check_fail(c->err, "sig",
                               "must be an Ed25519 signature: %d base64url characters, no padding",
                               ITEM_SIG_LEN);
    if (kid && !item_check_b64url(kid, ITEM_KID_LEN, NULL))
        return item_check_fail(c->err, "kid", "must be a key id: %d base64url characters",
                               ITEM_KID_LEN);
    if (!sig != !kid)
        return item_check_fail(c->err, sig ? "kid" : "sig",
                               "required with %s: a signature names its key", sig ? "sig" : "kid");
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
static int item_validate_unknown(json_t *item, struct item_ctx *c, unsigned *dropped)
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
        item_check_field_name(field, sizeof(field), "", key);
        return item_check_fail(c->err, field, "unknown field \"%s\"", field);
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
        return item_check_fail(err, "", "must be a JSON object");
    if (item_validate_unknown(item, &c, dropped) != 0 || item_validate_identity(item, &c) != 0 ||
        item_validate_texts(item, &c) != 0)
        return -1;
    if ((v = json_object_get(item, "topics")) && item_validate_topics(v, err) != 0)
        return -1;
    if ((v = json_object_get(item, "image")) && item_check_image(v, err) != 0)
        return -1;
    if (item_validate_times(item, &c) != 0)
        return -1;
    if ((v = json_object_get(item, "ext")) && item_check_ext(v, err) != 0)
        return -1;
    if (item_validate_signature(item, &c) != 0)
        return -1;
    if ((mode & ITEM_PUBLISH) && item_fill_defaults(item, &c) != 0)
        return item_check_fail(err, "", "out of memory");
    size_t n = item_size_with_id(item);
    if (n > ITEM_MAX_BYTES)
        return item_check_fail(
            err, "", "must be at most %d bytes encoded, counting %zu for its id (got %zu)",
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
        item_check_fail(err, "", "must be at most %d bytes of JSON text (got %zu)", ITEM_MAX_BYTES,
                        len);
        return NULL;
    }
    if (memchr(text, '\0', len) != NULL) {
        item_check_fail(err, "", "not valid JSON: contains a NUL byte");
        return NULL;
    }
    if (item_scan_depth(text, len, ITEM_SCAN_MAX_DEPTH) > ITEM_SCAN_MAX_DEPTH) {
        item_check_fail(err, "", "nests deeper than %d levels", ITEM_SCAN_MAX_DEPTH);
        return NULL;
    }
    json_t *item = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (item == NULL) {
        item_check_fail(err, "", "not valid JSON: %s at line %d column %d", jerr.text, jerr.line,
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
