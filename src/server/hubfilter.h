/*
 * hubfilter — what one reader wants of the hub's alerts (struct
 * hub_filter) and whether it is served an alert: its topics and languages,
 * parsed from the client's text with every refusal naming the entry, and
 * the restricted topics its token opens.
 *
 * A filter is tested against every alert for every client that follows
 * the hub, so matching costs a bloom AND and a language compare in the
 * common case, and nothing is allocated. A module of its own because the
 * readers' parsers (query, cframe) and admission make filters without the
 * hub's ring or clients, and the fuzz harnesses check it alone. Pure: no
 * sockets, no hub state; a filter belongs to whoever made it.
 */
#ifndef ALERTD_HUBFILTER_H
#define ALERTD_HUBFILTER_H

#include "hubmsg.h"
#include "item.h"

#include <stddef.h>
#include <stdint.h>

#define HUBFILTER_MAX_TOPICS 32
#define HUBFILTER_MAX_LANGS  8

/* What a client wants: empty lists mean everything, but an alert with a
 * restricted topic only when `grants` has one of them. */
struct hub_filter {
    int ntopics, nlangs;
    uint64_t topic_bloom;
    uint32_t grants; /* restricted topics the client's token opens (grant.h) */
    char topics[HUBFILTER_MAX_TOPICS][ITEM_TOPIC_MAX_LEN + 1];
    char langs[HUBFILTER_MAX_LANGS][36];
};

/* Parses a comma-separated list ("world,europe") into the filter's topics or
 * languages; returns 0 or -1 with err naming the bad entry. */
int hubfilter_set_topics(struct hub_filter *f, const char *csv, char *err, size_t errlen);
int hubfilter_set_langs(struct hub_filter *f, const char *csv, char *err, size_t errlen);
int hubfilter_add_topic(struct hub_filter *f, const char *topic, size_t len, char *err,
                        size_t errlen);
int hubfilter_add_lang(struct hub_filter *f, const char *lang, size_t len, char *err,
                       size_t errlen);

/* 1 when m is for a reader of f (NULL: everything); a restricted alert
 * only when f's grants open one of its topics. */
int hubfilter_match(const struct hub_filter *f, const struct hub_msg *m);
/* 1 when m is served to a reader of filter f: it matches and is not
 * folded (what replays, SSE and REST send). */
int hubfilter_serves(const struct hub_filter *f, const struct hub_msg *m);

#endif
