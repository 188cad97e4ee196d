/*
 * acks — see acks.h.
 */
#include "acks.h"

#include <stdio.h>

#define ACKS_RULE "id must be an alert id or an array of 1-32 of them"

static int acks_id(const json_t *v, struct item_id *out)
{
    return json_is_string(v) && item_id_parse(json_string_value(v), out) == 0 ? 0 : -1;
}

int acks_parse(const json_t *frame, struct item_id ids[ACKS_MAX_IDS], size_t *n, char *err,
               size_t errlen)
{
    const json_t *v = json_object_get(frame, "id");
    size_t i;
    json_t *e;
    *n = 0;
    if (json_is_string(v)) {
        if (acks_id(v, &ids[0]))
            return snprintf(err, errlen, ACKS_RULE), -1;
        *n = 1;
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > ACKS_MAX_IDS)
        return snprintf(err, errlen, ACKS_RULE), -1;
    json_array_foreach (v, i, e) {
        if (acks_id(e, &ids[i]))
            return snprintf(err, errlen, ACKS_RULE), -1;
    }
    *n = i;
    return 0;
}

int acks_take(struct acks_window *w, uint64_t seq)
{
    if (seq < w->base)
        return 0;
    if (seq - w->base >= ACKS_WINDOW) {
        uint64_t shift = seq - (ACKS_WINDOW - 1) - w->base;
        w->bits = shift >= ACKS_WINDOW ? 0 : w->bits >> shift;
        w->base += shift;
    }
    uint64_t bit = 1ULL << (seq - w->base);
    if (w->bits & bit)
        return 0;
    w->bits |= bit;
    return 1;
}
