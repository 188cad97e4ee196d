/*
 * filter.h — the invariants of a client filter (hubfilter.h), shared by the
 * harnesses whose parsers make one (fuzz_query, fuzz_cframe): its lists
 * follow the rules, read back from their own text to the same filter,
 * and an alert on its first topic in its first language matches it.
 */
#ifndef ALERT_FUZZ_FILTER_H
#define ALERT_FUZZ_FILTER_H

#include "frames.h"
#include "fuzz.h"
#include "hubfilter.h"

/* The list as "a,b,c". */
static inline void fuzz_csv(char *out, size_t cap, const char *first, size_t stride, int n)
{
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        at +=
            (size_t)snprintf(out + at, cap - at, "%s%s", i ? "," : "", first + stride * (size_t)i);
    FUZZ_CHECK(at < cap);
}

static inline int fuzz_lang_in(const struct hub_filter *f, const char *lang)
{
    for (int i = 0; i < f->nlangs; i++)
        if (strcmp(f->langs[i], lang) == 0)
            return 1;
    return 0;
}

/* hubfilter_match for an alert on `topic` (NULL: none) in `lang`. */
static inline int fuzz_matches(const struct hub_filter *f, const char *topic, const char *lang)
{
    struct hub_msg m;
    json_t *item = json_pack("{s:s,s:[]}", "lang", lang, "topics");
    FUZZ_CHECK(item != NULL);
    if (topic)
        json_array_append_new(json_object_get(item, "topics"), json_string(topic));
    FUZZ_CHECK(hubmsg_build(&m, NULL, (struct item_id){1, 0}, item) == 0);
    int match = hubfilter_match(f, &m);
    hubmsg_clear(&m);
    json_decref(item);
    return match;
}

static inline void fuzz_check_filter(const struct hub_filter *f)
{
    char csv[HUBFILTER_MAX_TOPICS * (ITEM_TOPIC_MAX_LEN + 1) + 1], err[160];
    struct hub_filter g = {0};
    FUZZ_CHECK(f->ntopics >= 0 && f->ntopics <= HUBFILTER_MAX_TOPICS);
    FUZZ_CHECK(f->nlangs >= 0 && f->nlangs <= HUBFILTER_MAX_LANGS);
    for (int i = 0; i < f->ntopics; i++) {
        FUZZ_CHECK(item_topic_ok(f->topics[i], strlen(f->topics[i])));
        for (int j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(f->topics[i], f->topics[j]) != 0);
    }
    for (int i = 0; i < f->nlangs; i++) {
        size_t n = strlen(f->langs[i]);
        FUZZ_CHECK(n >= 1 && n <= 35 &&
                   strspn(f->langs[i], "abcdefghijklmnopqrstuvwxyz0123456789-") == n);
        for (int j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(f->langs[i], f->langs[j]) != 0);
    }
    fuzz_csv(csv, sizeof(csv), f->topics[0], sizeof(f->topics[0]), f->ntopics);
    FUZZ_CHECK(hubfilter_set_topics(&g, csv, err, sizeof(err)) == 0);
    fuzz_csv(csv, sizeof(csv), f->langs[0], sizeof(f->langs[0]), f->nlangs);
    FUZZ_CHECK(hubfilter_set_langs(&g, csv, err, sizeof(err)) == 0);
    FUZZ_CHECK(g.ntopics == f->ntopics && g.nlangs == f->nlangs && g.topic_bloom == f->topic_bloom);
    FUZZ_CHECK(memcmp(g.topics, f->topics, sizeof(g.topics[0]) * (size_t)f->ntopics) == 0);
    FUZZ_CHECK(memcmp(g.langs, f->langs, sizeof(g.langs[0]) * (size_t)f->nlangs) == 0);

    const char *lang = f->nlangs ? f->langs[0] : "en";
    FUZZ_CHECK(fuzz_matches(f, f->ntopics ? f->topics[0] : NULL, lang));
    if (f->ntopics)
        FUZZ_CHECK(!fuzz_matches(f, NULL, lang));
    if (f->nlangs && !fuzz_lang_in(f, "zz-fuzz"))
        FUZZ_CHECK(!fuzz_matches(f, f->ntopics ? f->topics[0] : NULL, "zz-fuzz"));
}

/* A refusal's reason reaches the client: an error frame can carry it. */
static inline void fuzz_check_reason(const char *err)
{
    FUZZ_CHECK(err[0] != '\0');
    char *frame = frames_error("bad_request", err);
    FUZZ_CHECK(frame != NULL);
    free(frame);
}

#endif
