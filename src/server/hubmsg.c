/*
 * hubmsg — see hubmsg.h.
 */
#include "hubmsg.h"

#include "fields.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Field sets
 * ---------------------------------------------------------------------- */

unsigned hubmsg_sets_acquire(struct hubmsg_sets *s, uint32_t fields)
{
    unsigned pick = 0;
    if (fields == FIELDS_ALL)
        return 0;
    for (unsigned i = 0; i < HUBMSG_VARIANTS; i++) {
        if (s->fields[i] == fields) {
            s->refs[i]++;
            return i + 1;
        }
        /* A slot never used, else one no reader holds (its encodings go). */
        if (s->refs[i] == 0 && (pick == 0 || (s->fields[pick - 1] != 0 && s->fields[i] == 0)))
            pick = i + 1;
    }
    if (pick) {
        s->fields[pick - 1] = fields;
        s->refs[pick - 1] = 1;
    }
    return pick;
}

void hubmsg_sets_release(struct hubmsg_sets *s, unsigned variant)
{
    if (variant > 0 && variant <= HUBMSG_VARIANTS && s->refs[variant - 1] > 0)
        s->refs[variant - 1]--;
}

uint32_t hubmsg_sets_fields(const struct hubmsg_sets *s, unsigned variant)
{
    return variant > 0 && variant <= HUBMSG_VARIANTS ? s->fields[variant - 1] : FIELDS_ALL;
}

/* ------------------------------------------------------------------------
 * Encodings
 * ---------------------------------------------------------------------- */

uint64_t hubmsg_topic_bit(const char *topic, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)topic[i];
        h *= 16777619u;
    }
    return (uint64_t)1 << (h & 63);
}

static void hubmsg_enc_clear(struct hubmsg_enc *e)
{
    free(e->buf);
    free(e->z);
    memset(e, 0, sizeof(*e));
}

/* The item with `id` as its first key and only the fields of `fields`
 * (all of them for FIELDS_ALL), encoded compactly. */
static char *hubmsg_encode_item(const char *id_str, const json_t *item, uint32_t fields,
                                size_t *len)
{
    json_t *copy = json_object();
    const char *key;
    json_t *value;
    char *text = NULL;
    if (copy == NULL || json_object_set_new(copy, "id", json_string(id_str)))
        goto out;
    json_object_foreach ((json_t *)item, key, value) {
        if (strcmp(key, "id") == 0 ||
            (fields != FIELDS_ALL && !(fields & fields_bit(key, strlen(key)))))
            continue;
        if (json_object_set(copy, key, value))
            goto out;
    }
    text = item_encode(copy, len);
out:
    json_decref(copy);
    return text;
}

/* RFC 6455 header of an unmasked final text frame carrying `len` bytes,
 * written to end right at `payload`; returns where it starts. */
static unsigned char *hubmsg_frame_header(unsigned char *payload, size_t len)
{
    unsigned char *h;
    if (len < 126) {
        h = payload - 2;
        h[1] = (unsigned char)len;
    } else if (len < 65536) {
        h = payload - 4;
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
    } else {
        h = payload - 10;
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    h[0] = 0x81; /* FIN, text */
    return h;
}

#define HUBMSG_FRAME_HEADER_MAX 10

/* An encoding from item text: `pre`, the item, "}", behind a finished
 * WebSocket frame header, in one allocation. 0, or -1 out of memory. */
static int hubmsg_enc_frame(struct hubmsg_enc *e, const char *pre, const char *item,
                            size_t item_len, uint32_t fields)
{
    size_t plen = strlen(pre), len = plen + item_len + 1;
    unsigned char *buf = malloc(HUBMSG_FRAME_HEADER_MAX + len + 1);
    if (buf == NULL)
        return -1;
    char *payload = (char *)buf + HUBMSG_FRAME_HEADER_MAX;
    memcpy(payload, pre, plen);
    memcpy(payload + plen, item, item_len);
    memcpy(payload + plen + item_len, "}", 2);
    hubmsg_enc_clear(e);
    e->fields = fields;
    e->buf = buf;
    e->payload = payload;
    e->payload_len = len;
    e->item = payload + plen;
    e->item_len = item_len;
    e->frame = hubmsg_frame_header((unsigned char *)payload, len);
    e->frame_len = (size_t)((const unsigned char *)payload - e->frame) + len;
    return 0;
}

#define HUBMSG_PRE       "{\"type\":\"alert\",\"alert\":"
#define HUBMSG_PRE_AHEAD "{\"type\":\"alert\",\"ahead\":true,\"alert\":"

/* The one place an alert is encoded, for one field set: the item with
 * `id` first inside {"type":"alert","alert":…}, behind a finished
 * WebSocket frame header, in one allocation. 0, or -1 out of memory. */
static int hubmsg_enc_build(struct hubmsg_enc *e, const char *id_str, const json_t *item,
                            uint32_t fields)
{
    size_t item_len;
    char *text = hubmsg_encode_item(id_str, item, fields, &item_len);
    if (text == NULL)
        return -1;
    int rc = hubmsg_enc_frame(e, HUBMSG_PRE, text, item_len, fields);
    free(text);
    return rc;
}

const struct hubmsg_enc *hubmsg_enc(struct hub_msg *m, const struct hubmsg_sets *s, unsigned v)
{
    uint32_t fields = hubmsg_sets_fields(s, v);
    if (fields == FIELDS_ALL)
        return &m->full;
    if (m->variants == NULL &&
        (m->variants = calloc(HUBMSG_VARIANTS, sizeof(*m->variants))) == NULL)
        return &m->full;
    struct hubmsg_enc *e = &m->variants[v - 1];
    if (e->fields == fields)
        return e;
    /* The item as the node holds it, fields picked from the full form. */
    json_t *item = json_loadb(m->full.item, m->full.item_len, 0, NULL);
    int rc = item ? hubmsg_enc_build(e, m->id_str, item, fields) : -1;
    json_decref(item);
    return rc == 0 ? e : &m->full;
}

const struct hubmsg_enc *hubmsg_ahead(struct hub_msg *m, const struct hubmsg_sets *s, unsigned v)
{
    const struct hubmsg_enc *plain = hubmsg_enc(m, s, v);
    if (m->ahead == NULL && (m->ahead = calloc(1 + HUBMSG_VARIANTS, sizeof(*m->ahead))) == NULL)
        return plain;
    struct hubmsg_enc *e = &m->ahead[plain == &m->full ? 0 : plain - m->variants + 1];
    if (e->buf && e->fields == plain->fields)
        return e;
    if (hubmsg_enc_frame(e, HUBMSG_PRE_AHEAD, plain->item, plain->item_len, plain->fields))
        return plain;
    return e;
}

const unsigned char *hubmsg_deflated(const struct hubmsg_enc *enc, struct pmd_deflater *d,
                                     size_t *len)
{
    struct hubmsg_enc *e = (struct hubmsg_enc *)enc; /* a message's own, writable */
    if (!e->z_tried) {
        e->z_tried = 1;
        e->z = pmd_frame(d, e->frame, e->frame_len, &e->z_len);
        if (e->z && e->z_len >= e->frame_len) {
            free(e->z);
            e->z = NULL;
        }
    }
    if (e->z == NULL) {
        *len = e->frame_len;
        return e->frame;
    }
    *len = e->z_len;
    return e->z;
}

/* ------------------------------------------------------------------------
 * Messages
 * ---------------------------------------------------------------------- */

/* Frees m's encodings, keeping what filters test. */
static void hubmsg_encs_clear(struct hub_msg *m)
{
    hubmsg_enc_clear(&m->full);
    for (unsigned i = 0; m->variants && i < HUBMSG_VARIANTS; i++)
        hubmsg_enc_clear(&m->variants[i]);
    for (unsigned i = 0; m->ahead && i < 1 + HUBMSG_VARIANTS; i++)
        hubmsg_enc_clear(&m->ahead[i]);
    free(m->variants);
    free(m->ahead);
    m->variants = m->ahead = NULL;
}

void hubmsg_clear(struct hub_msg *m)
{
    hubmsg_encs_clear(m);
    free(m->topics);
    free(m->tally);
    memset(m, 0, sizeof(*m));
}

void hubmsg_fold(struct hub_msg *m)
{
    hubmsg_encs_clear(m);
    m->folded = 1;
}

int hubmsg_sheddable(const struct hub_msg *m)
{
    return m->urgency == HUBMSG_ROUTINE && m->ver.kind != FOLD_RETRACTION;
}

static uint8_t hubmsg_urgency_of(const json_t *item)
{
    static const char *const names[] = {"flash", "bulletin", "urgent", "routine"};
    const char *u = json_string_value(json_object_get(item, "urgency"));
    for (uint8_t i = 0; u && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(u, names[i]) == 0)
            return i;
    return HUBMSG_BULLETIN; /* the default (item.h) */
}

static int hubmsg_topics(struct hub_msg *m, const json_t *item)
{
    const json_t *topics = json_object_get(item, "topics");
    size_t total = 1, i;
    const json_t *t;
    json_array_foreach (topics, i, t)
        total += json_string_length(t) + 1;
    if ((m->topics = malloc(total)) == NULL)
        return -1;
    char *p = m->topics;
    json_array_foreach (topics, i, t) {
        size_t n = json_string_length(t);
        memcpy(p, json_string_value(t), n + 1);
        m->topic_bloom |= hubmsg_topic_bit(p, n);
        p += n + 1;
    }
    *p = '\0';
    return 0;
}

int hubmsg_build(struct hub_msg *m, const struct grant *grant, struct item_id id,
                 const json_t *item)
{
    const char *lang = json_string_value(json_object_get(item, "lang"));
    const char *published = json_string_value(json_object_get(item, "published_at"));
    const char *expires = json_string_value(json_object_get(item, "expires_at"));

    memset(m, 0, sizeof(*m));
    m->id = id;
    item_id_format(id, m->id_str);
    snprintf(m->lang, sizeof(m->lang), "%s", lang ? lang : "en");
    for (char *p = m->lang; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (published == NULL || item_time_parse(published, &m->published_ms))
        m->published_ms = 0;
    if (expires == NULL || item_time_parse(expires, &m->expires_ms))
        m->expires_ms = 0;
    m->urgency = hubmsg_urgency_of(item);
    if (fold_ver_of(item, id, &m->ver))
        m->ver = (struct fold_ver){id, id, FOLD_ALERT}; /* validated items have a ref */
    if (hubmsg_topics(m, item) || hubmsg_enc_build(&m->full, m->id_str, item, FIELDS_ALL)) {
        hubmsg_clear(m);
        return -1;
    }
    m->restricted = grant_mask_of(grant, m->topics);
    return 0;
}
