/*
 * itemcheck — the rules of one field of an item, each checked alone: text
 * (UTF-8, no control characters, a length in characters), http(s) URLs,
 * one of a set of words, ids, the image object, `ext`, base64url; and the
 * error record that names the field and the rule it broke.
 *
 * Apart from item.c, which applies them to a whole item in its modes
 * (which field is required, defaults, unknown fields, the size): these
 * checks need no knowledge of the item around the field. item.h includes
 * this header, as every user of an item needs struct item_error.
 *
 * Every check returns 0, or -1 with *err filled (err may be NULL).
 */
#ifndef ALERT_ITEMCHECK_H
#define ALERT_ITEMCHECK_H

#include <jansson.h>
#include <stddef.h>

#define ITEM_EXT_MAX_BYTES 2048 /* encoded `ext` object */

/* What went wrong: the field's path ("headline", "image.url", "topics[3]",
 * "" for the item as a whole) and the rule it broke, in plain words. */
struct item_error {
    char field[64];
    char message[192];
};

/* Fills *err (when given), made printable, and returns -1, so that checks
 * can `return item_check_fail(...)`. */
int item_check_fail(struct item_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* out = prefix + key: a field's path. */
void item_check_field_name(char *out, size_t outlen, const char *prefix, const char *key);

/* The string's text, or NULL when it is not a string or holds U+0000. */
const char *item_check_cstr(const json_t *v);

/* A text field: a string of valid UTF-8, no control character but tab and
 * newline, min..max code points. */
int item_check_text(const json_t *v, const char *field, size_t min, size_t max,
                    struct item_error *err);

/* A text of at most 2048 characters that is an http or https URL with a
 * host and no userinfo. */
int item_check_url(const json_t *v, const char *field, struct item_error *err);

/* One of n words (`list` names them for the message); returns its index,
 * or -1 with the error filled. */
int item_check_enum(const json_t *v, const char *field, const char *const *words, size_t n,
                    const char *list, struct item_error *err);

/* An id-valued field (id, ref): <ms>-<seq>. */
int item_check_id(const json_t *v, const char *field, struct item_error *err);

/* image: url (required), caption, credit, renditions; nothing else. */
int item_check_image(const json_t *image, struct item_error *err);

/* ext: any object, within ITEM_EXT_MAX_BYTES and the item's depth. */
int item_check_ext(const json_t *ext, struct item_error *err);

/* 1 when v is a base64url string (no padding) of exactly len characters;
 * with `last`, its last one is among those. */
int item_check_b64url(const json_t *v, size_t len, const char *last);

#endif
