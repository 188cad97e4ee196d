/*
 * options — the ITEM OPTIONS of `alert push`/`update` (--headline, --topic,
 * --image, --expires, -f FILE, ...) and how they become one item.
 *
 * An item is assembled in layers, each overriding the one before: a base
 * (for an update, the content of the alert it revises; for a retraction,
 * that alert's lang and topics), then the fields of -f FILE, then the
 * options. options_build checks the result with the item module, exactly
 * as it will be published.
 *
 * Ownership: struct options_item holds jansson references; free them with
 * options_free. options_build returns a new reference.
 */
#ifndef ALERT_OPTIONS_H
#define ALERT_OPTIONS_H

#include "item.h"

#include <getopt.h>
#include <jansson.h>
#include <stddef.h>

/* getopt_long codes of the item options (256-299). */
enum {
    OPT_HEADLINE = 256,
    OPT_SUMMARY,
    OPT_URL,
    OPT_URGENCY,
    OPT_LANG,
    OPT_TOPIC,
    OPT_BYLINE,
    OPT_CREDIT,
    OPT_IMAGE,
    OPT_CAPTION,
    OPT_IMAGE_CREDIT,
    OPT_EXPIRES,
    OPT_KEY,
    OPT_MAXLEN,
    OPT_FILE = 'f',
};

/* clang-format off */
#define OPTIONS_ITEM_LONGOPTS \
    {"headline", required_argument, NULL, OPT_HEADLINE}, \
    {"summary", required_argument, NULL, OPT_SUMMARY}, \
    {"url", required_argument, NULL, OPT_URL}, \
    {"urgency", required_argument, NULL, OPT_URGENCY}, \
    {"lang", required_argument, NULL, OPT_LANG}, \
    {"topic", required_argument, NULL, OPT_TOPIC}, \
    {"byline", required_argument, NULL, OPT_BYLINE}, \
    {"credit", required_argument, NULL, OPT_CREDIT}, \
    {"image", required_argument, NULL, OPT_IMAGE}, \
    {"caption", required_argument, NULL, OPT_CAPTION}, \
    {"image-credit", required_argument, NULL, OPT_IMAGE_CREDIT}, \
    {"expires", required_argument, NULL, OPT_EXPIRES}, \
    {"file", required_argument, NULL, OPT_FILE}
/* clang-format on */

#define OPTIONS_MAXLEN_DEFAULT 10000L
#define OPTIONS_MAXLEN_MAX     100000000L
#define OPTIONS_KEY_MAX        128

/* What the options said. */
struct options_item {
    json_t *fields;   /* top-level fields given as options */
    json_t *image;    /* image.* fields given as options, or NULL */
    json_t *topics;   /* --topic values, or NULL when none was given */
    const char *file; /* -f FILE, "-" for stdin, or NULL */
};

void options_init(struct options_item *o);
void options_free(struct options_item *o);

/* Takes one getopt_long result if it is an item option: returns 1 when
 * taken, 0 when `opt` is not an item option, -1 with *err filled when the
 * value cannot become a field (not UTF-8, not a duration). */
int options_take(struct options_item *o, int opt, const char *arg, struct item_error *err);

/* Parses "90s", "30m", "2h", "1d" or a sum such as "1h30m" into seconds
 * (at most 366 days). 0 or -1. */
int options_parse_duration(const char *s, long long *seconds);

/* Reads -f FILE ("-": stdin) into buf (at least ITEM_MAX_BYTES + 1 bytes),
 * reading no more than one byte past the limit. Returns the length, or
 * with a message in err -1 (unreadable) or -2 (larger than ITEM_MAX_BYTES). */
long options_read_file(const char *path, char *buf, size_t buflen, char *err, size_t errlen);

/* Assembles and validates an item: `base` (may be NULL; not changed), the
 * file text `text`/`len` (may be NULL), the options, then `kind` and `ref`
 * (may be NULL: taken from the layers). A file that names another kind or
 * ref is refused. Returns a new reference to the item as item_parse sees
 * its encoding (defaults filled), or NULL with *err filled. */
json_t *options_build(const struct options_item *o, const json_t *base, const char *text,
                      size_t len, const char *kind, const char *ref, struct item_error *err);

#endif
