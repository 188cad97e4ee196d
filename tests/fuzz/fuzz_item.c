/*
 * fuzz_item — the item's parser and validator (item.c, itemcheck.c, itemutf8.c), with
 * its ids (itemid.c) and times (itemtime.c), on any bytes.
 *
 * Each input is parsed in every mode: a publisher's (ITEM_PUBLISH), a
 * node's (ITEM_RELAY) and neither (0). Beyond "no crash, no leak, no UB":
 *   - a refusal says why, in printable UTF-8 (it is printed and logged);
 *   - what a stricter mode accepts, a laxer one accepts: PUBLISH ⇒ 0 ⇒
 *     RELAY;
 *   - an accepted item, encoded, fits ITEM_MAX_BYTES, parses again in its
 *     own mode and when relayed to an equal item (nothing dropped), and
 *     encodes again to the same bytes;
 *   - its id and ref round-trip through item_id_parse/item_id_format, its
 *     published_at through item_time_parse/item_time_format.
 * The input, cut at a NUL, is also tried as an id and as an RFC 3339 time:
 * an id accepted formats back to the same text; a time accepted (years
 * 0000-9999) formats to a text that parses to the same instant.
 */
#include "fuzz.h"
#include "item.h"

/* 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in Unix milliseconds. */
#define FUZZ_TIME_MIN (-62167219200000LL)
#define FUZZ_TIME_END 253402300800000LL

static void check_error(const struct item_error *err)
{
    FUZZ_CHECK(err->message[0] != '\0');
    for (const char *p = err->field; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    for (const char *p = err->message; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    json_t *f = json_string(err->field), *m = json_string(err->message);
    FUZZ_CHECK(f != NULL && m != NULL); /* valid UTF-8 */
    json_decref(f);
    json_decref(m);
}

static void check_id_text(const char *s)
{
    struct item_id id;
    char back[ITEM_ID_STRLEN];
    if (item_id_parse(s, &id) != 0)
        return;
    item_id_format(id, back);
    FUZZ_CHECK(strcmp(back, s) == 0);
    FUZZ_CHECK(item_id_cmp(id, id) == 0);
}

static void check_time_text(const char *s)
{
    int64_t ms, again;
    char back[ITEM_TIME_STRLEN];
    if (item_time_parse(s, &ms) != 0 || ms < FUZZ_TIME_MIN || ms >= FUZZ_TIME_END)
        return;
    item_time_format(ms, back);
    FUZZ_CHECK(item_time_parse(back, &again) == 0 && again == ms);
}

/* The rules an accepted item keeps. */
static void check_item(json_t *item, unsigned mode, unsigned dropped)
{
    struct item_error err;
    unsigned dropped2 = 0;
    size_t len, len2;
    if (!(mode & ITEM_RELAY))
        FUZZ_CHECK(dropped == 0);
    char *enc = item_encode(item, &len);
    FUZZ_CHECK(enc != NULL && len <= ITEM_MAX_BYTES);

    json_t *again = item_parse(enc, len, mode, &err, &dropped2);
    FUZZ_CHECK(again != NULL && dropped2 == 0 && json_equal(item, again));
    char *enc2 = item_encode(again, &len2);
    FUZZ_CHECK(enc2 != NULL && len2 == len && memcmp(enc, enc2, len) == 0);
    json_t *relayed = item_parse(enc, len, ITEM_RELAY, &err, &dropped2);
    FUZZ_CHECK(relayed != NULL && dropped2 == 0 && json_equal(item, relayed));

    const char *id = json_string_value(json_object_get(item, "id"));
    const char *ref = json_string_value(json_object_get(item, "ref"));
    const char *pub = json_string_value(json_object_get(item, "published_at"));
    FUZZ_CHECK(id == NULL || item_id_parse(id, NULL) == 0);
    FUZZ_CHECK(ref == NULL || item_id_parse(ref, NULL) == 0);
    if (id)
        check_id_text(id);
    if (ref)
        check_id_text(ref);
    FUZZ_CHECK(pub != NULL || !(mode & ITEM_PUBLISH));
    if (pub) {
        int64_t ms;
        FUZZ_CHECK(item_time_parse(pub, &ms) == 0);
        check_time_text(pub);
    }
    json_decref(relayed);
    json_decref(again);
    free(enc2);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned modes[] = {ITEM_PUBLISH, 0, ITEM_RELAY};
    int accepted_before = 0;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        struct item_error err;
        unsigned dropped = 0;
        json_t *item = item_parse((const char *)data, size, modes[i], &err, &dropped);
        if (item == NULL) {
            check_error(&err);
            FUZZ_CHECK(!accepted_before); /* a laxer mode refused what a stricter took */
            continue;
        }
        accepted_before = 1;
        check_item(item, modes[i], dropped);
        json_decref(item);
    }
    if (size < 64) {
        char *s = fuzz_cstr(data, size);
        check_id_text(s);
        check_time_text(s);
        free(s);
    }
    return 0;
}
