/*
 * fuzz_cframe — the text of a client→server WebSocket frame (cframe.c) as
 * ws.c hands it over: any bytes up to FRAMES_CLIENT_MAX (run with
 * -max_len=4096), read into a ping, a subscribe or a refusal.
 *
 * Beyond "no crash, no leak, no UB":
 *   - a refused frame holds no filter and a reason an error frame can
 *     carry (the client is always told why);
 *   - a subscribe's filter follows the rules and reads back from its own
 *     text to the same filter (filter.h); its since formats back to an id
 *     that parses to the same; its token is a string or absent;
 *   - a subscribe written back as a frame from what was read (topics, lang,
 *     since) reads again to the same filter and since;
 *   - reading the same bytes twice gives the same answer.
 */
#include "cframe.h"
#include "filter.h"

/* The subscribe frame that asks for what f holds. */
static char *rewrite(const struct cframe *f)
{
    json_t *doc = json_pack("{s:s,s:[],s:[]}", "type", "subscribe", "topics", "lang");
    json_t *topics = json_object_get(doc, "topics"), *langs = json_object_get(doc, "lang");
    char id[ITEM_ID_STRLEN];
    FUZZ_CHECK(doc != NULL);
    for (int i = 0; i < f->filter->ntopics; i++)
        json_array_append_new(topics, json_string(f->filter->topics[i]));
    for (int i = 0; i < f->filter->nlangs; i++)
        json_array_append_new(langs, json_string(f->filter->langs[i]));
    if (f->has_since) {
        item_id_format(f->since, id);
        json_object_set_new(doc, "since", json_string(id));
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    FUZZ_CHECK(text != NULL);
    return text;
}

static void check_subscribe(const struct cframe *f)
{
    struct cframe again;
    FUZZ_CHECK(f->filter != NULL && f->filter->grants == 0);
    FUZZ_CHECK(f->token == NULL || f->has_token);
    fuzz_check_filter(f->filter);
    if (f->has_since) {
        char id[ITEM_ID_STRLEN];
        struct item_id back;
        item_id_format(f->since, id);
        FUZZ_CHECK(item_id_parse(id, &back) == 0 && item_id_cmp(back, f->since) == 0);
    }
    char *text = rewrite(f);
    cframe_parse(text, strlen(text), &again);
    FUZZ_CHECK(again.type == CFRAME_SUBSCRIBE && !again.has_token);
    FUZZ_CHECK(again.filter->ntopics == f->filter->ntopics &&
               again.filter->nlangs == f->filter->nlangs);
    FUZZ_CHECK(memcmp(again.filter->topics, f->filter->topics, sizeof(f->filter->topics)) == 0);
    FUZZ_CHECK(memcmp(again.filter->langs, f->filter->langs, sizeof(f->filter->langs)) == 0);
    FUZZ_CHECK(again.has_since == f->has_since &&
               (!f->has_since || item_id_cmp(again.since, f->since) == 0));
    cframe_release(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cframe f, twice;
    if (size > FRAMES_CLIENT_MAX)
        return 0; /* ws.c closes with 1009 before reading it */
    cframe_parse((const char *)data, size, &f);
    cframe_parse((const char *)data, size, &twice);
    FUZZ_CHECK(f.type == twice.type && strcmp(f.err, twice.err) == 0);
    switch (f.type) {
    case CFRAME_BAD:
        FUZZ_CHECK(f.filter == NULL);
        fuzz_check_reason(f.err);
        break;
    case CFRAME_PING:
        FUZZ_CHECK(f.filter == NULL);
        break;
    case CFRAME_SUBSCRIBE:
        check_subscribe(&f);
        break;
    case CFRAME_ACK:
        /* 1-32 ids, each one that formats and parses back to itself. */
        FUZZ_CHECK(f.filter == NULL && f.nids >= 1 && f.nids <= ACKS_MAX_IDS);
        FUZZ_CHECK(f.nids == twice.nids &&
                   memcmp(f.ids, twice.ids, f.nids * sizeof(f.ids[0])) == 0);
        for (size_t i = 0; i < f.nids; i++) {
            char text[ITEM_ID_STRLEN];
            struct item_id back;
            item_id_format(f.ids[i], text);
            FUZZ_CHECK(item_id_parse(text, &back) == 0 && item_id_cmp(back, f.ids[i]) == 0);
        }
        break;
    }
    cframe_release(&twice);
    cframe_release(&f);
    return 0;
}
