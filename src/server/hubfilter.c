/*
 * hubfilter — see hubfilter.h.
 */
#include "hubfilter.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Quotes at most 40 bytes of the client's text, each byte that is not
 * printable ASCII as '?': the reason goes into a JSON error (which must be
 * valid UTF-8, and 40 bytes may end inside a character) and into logs. */
static int hubfilter_fail(char *err, size_t errlen, const char *what, const char *s, size_t len)
{
    char quoted[41];
    size_t n = len < sizeof(quoted) - 1 ? len : sizeof(quoted) - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        quoted[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    quoted[n] = '\0';
    snprintf(err, errlen, "%s \"%s\"", what, quoted);
    return -1;
}

int hubfilter_add_topic(struct hub_filter *f, const char *t, size_t len, char *err, size_t errlen)
{
    if (!item_topic_ok(t, len))
        return hubfilter_fail(err, errlen, "topics: each must match " ITEM_TOPIC_RULE ":", t, len);
    for (int i = 0; i < f->ntopics; i++)
        if (strlen(f->topics[i]) == len && memcmp(f->topics[i], t, len) == 0)
            return 0;
    if (f->ntopics == HUBFILTER_MAX_TOPICS) {
        snprintf(err, errlen, "topics: at most %d", HUBFILTER_MAX_TOPICS);
        return -1;
    }
    memcpy(f->topics[f->ntopics], t, len);
    f->topics[f->ntopics][len] = '\0';
    f->ntopics++;
    f->topic_bloom |= hubmsg_topic_bit(t, len);
    return 0;
}

/* Languages compare case-insensitively (BCP 47): both sides are lowered. */
int hubfilter_add_lang(struct hub_filter *f, const char *l, size_t len, char *err, size_t errlen)
{
    char low[36];
    if (len == 0 || len > 35)
        return hubfilter_fail(err, errlen, "lang: not a language tag:", l, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)l[i];
        if (!isalnum(c) && c != '-')
            return hubfilter_fail(err, errlen, "lang: not a language tag:", l, len);
        low[i] = (char)tolower(c);
    }
    low[len] = '\0';
    for (int i = 0; i < f->nlangs; i++)
        if (strcmp(f->langs[i], low) == 0)
            return 0;
    if (f->nlangs == HUBFILTER_MAX_LANGS) {
        snprintf(err, errlen, "lang: at most %d languages", HUBFILTER_MAX_LANGS);
        return -1;
    }
    memcpy(f->langs[f->nlangs++], low, len + 1);
    return 0;
}

typedef int (*hubfilter_add_fn)(struct hub_filter *, const char *, size_t, char *, size_t);

static int hubfilter_set_csv(struct hub_filter *f, const char *csv, hubfilter_add_fn add, char *err,
                             size_t errlen)
{
    const char *p = csv;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0 && add(f, p, n, err, errlen))
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int hubfilter_set_topics(struct hub_filter *f, const char *csv, char *err, size_t errlen)
{
    f->ntopics = 0;
    f->topic_bloom = 0;
    return hubfilter_set_csv(f, csv, hubfilter_add_topic, err, errlen);
}

int hubfilter_set_langs(struct hub_filter *f, const char *csv, char *err, size_t errlen)
{
    f->nlangs = 0;
    return hubfilter_set_csv(f, csv, hubfilter_add_lang, err, errlen);
}

static int hubfilter_has_topic(const struct hub_msg *m, const char *topic)
{
    for (const char *t = m->topics; *t; t += strlen(t) + 1)
        if (strcmp(t, topic) == 0)
            return 1;
    return 0;
}

int hubfilter_match(const struct hub_filter *f, const struct hub_msg *m)
{
    if (m->restricted && (f == NULL || (m->restricted & f->grants) == 0))
        return 0;
    if (f == NULL)
        return 1;
    if (f->nlangs) {
        int found = 0;
        for (int i = 0; i < f->nlangs && !found; i++)
            found = strcmp(f->langs[i], m->lang) == 0;
        if (!found)
            return 0;
    }
    if (f->ntopics) {
        if ((f->topic_bloom & m->topic_bloom) == 0)
            return 0;
        for (int i = 0; i < f->ntopics; i++)
            if (hubfilter_has_topic(m, f->topics[i]))
                return 1;
        return 0;
    }
    return 1;
}

int hubfilter_serves(const struct hub_filter *f, const struct hub_msg *m)
{
    return !m->folded && hubfilter_match(f, m);
}
