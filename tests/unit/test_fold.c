/*
 * test_fold — the fold rule (fold.h) and the hub folding what it holds:
 * replays and reads of the history serve each story as its newest version,
 * a retracted story only as its retractions, and the node lets go of the
 * text it no longer serves.
 */
#include "fold.h"
#include "hub.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>

static void on_client(struct hub *hub, struct hub_client *c)
{
    (void)hub;
    (void)c;
}

static void setup(struct hub *hub, size_t capacity)
{
    hub_init(hub, capacity, 1000, NULL);
    hub->wake = hub->lagging = on_client;
}

/* Adds <ms>-0: an alert (ref 0), or an update/retraction of <ref>-0. */
static int add(struct hub *hub, uint64_t ms, const char *kind, uint64_t ref, const char *headline)
{
    char refs[32];
    snprintf(refs, sizeof(refs), "%llu-0", (unsigned long long)ref);
    json_t *item = json_pack("{s:s,s:[s],s:s}", "kind", kind, "topics", "world", "lang", "en");
    if (ref)
        json_object_set_new(item, "ref", json_string(refs));
    if (headline)
        json_object_set_new(item, "headline", json_string(headline));
    int rc = hub_add(hub, (struct item_id){ms, 0}, item);
    json_decref(item);
    return rc;
}

/* What a client resuming after <since>-0 is sent: the ids, "5,7". */
static void replay(struct hub *hub, uint64_t since, char *out, size_t len)
{
    struct hub_client c = {0};
    struct item_id s = {since, 0};
    const struct hub_msg *m;
    enum hub_next_kind k;
    size_t at = 0;
    out[0] = '\0';
    hub_attach(hub, &c, NULL, since ? &s : NULL);
    while ((k = hub_next(hub, &c, &m)) != HUB_NONE && k != HUB_GAPPED) {
        if (k == HUB_MSG)
            at += (size_t)snprintf(out + at, len - at, "%s%llu", at ? "," : "",
                                   (unsigned long long)m->id.ms);
        hub_advance(hub, &c, k);
    }
    hub_detach(hub, &c);
}

/* The ids REST serves, newest first, as "7,5". */
static void served(struct hub *hub, char *out, size_t len)
{
    const struct hub_msg *m;
    size_t at = 0;
    out[0] = '\0';
    for (size_t k = 0; (m = hub_nth_newest(hub, k)) != NULL; k++)
        if (hubfilter_serves(NULL, m))
            at += (size_t)snprintf(out + at, len - at, "%s%llu", at ? "," : "",
                                   (unsigned long long)m->id.ms);
}

static void test_the_rule(void)
{
    ASSERT_EQ(fold_meet(FOLD_UPDATE, FOLD_ALERT), FOLD_DROP_OLDER);
    ASSERT_EQ(fold_meet(FOLD_UPDATE, FOLD_UPDATE), FOLD_DROP_OLDER);
    ASSERT_EQ(fold_meet(FOLD_RETRACTION, FOLD_ALERT), FOLD_DROP_OLDER);
    ASSERT_EQ(fold_meet(FOLD_RETRACTION, FOLD_UPDATE), FOLD_DROP_OLDER);
    ASSERT_EQ(fold_meet(FOLD_UPDATE, FOLD_RETRACTION), FOLD_DROP_NEWER);
    ASSERT_EQ(fold_meet(FOLD_RETRACTION, FOLD_RETRACTION), FOLD_BOTH);

    struct fold_ver v;
    json_t *item = json_pack("{s:s,s:s}", "kind", "update", "ref", "5-0");
    ASSERT_EQ(fold_ver_of(item, (struct item_id){9, 1}, &v), 0);
    ASSERT_EQ(v.kind, FOLD_UPDATE);
    ASSERT_EQ(v.root.ms, 5);
    ASSERT_EQ(v.id.ms, 9);
    json_decref(item);
    item = json_pack("{s:s}", "headline", "no kind: an alert");
    ASSERT_EQ(fold_ver_of(item, (struct item_id){9, 1}, &v), 0);
    ASSERT_EQ(v.kind, FOLD_ALERT);
    ASSERT_EQ(v.root.ms, 9);
    json_decref(item);
    item = json_pack("{s:s}", "kind", "retraction");
    ASSERT_EQ(fold_ver_of(item, (struct item_id){9, 1}, &v), -1);
    json_decref(item);
}

static void test_an_update_supersedes_every_older_version(void)
{
    struct hub hub;
    char ids[128];
    setup(&hub, 16);
    add(&hub, 5, "alert", 0, "Original");
    add(&hub, 6, "alert", 0, "Other");
    add(&hub, 7, "update", 5, "Second");
    add(&hub, 8, "update", 5, "Third");
    served(&hub, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "8,6");
    replay(&hub, 0, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, ""); /* a live client gets only what comes */
    struct hub_client c = {0};
    struct item_id since = {5, 0};
    ASSERT_EQ(hub_attach(&hub, &c, NULL, &since), HUB_REPLAY); /* 5 is still a place */
    hub_detach(&hub, &c);
    replay(&hub, 5, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "6,8");
    replay(&hub, 7, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "8");
    /* The superseded text is gone from memory. */
    const struct hub_msg *orig = hub_nth_newest(&hub, 3);
    ASSERT_EQ(orig->id.ms, 5);
    ASSERT_TRUE(orig->folded && orig->full.buf == NULL && orig->variants == NULL);
    hub_free(&hub);
}

static void test_a_retraction_leaves_only_its_tombstone(void)
{
    struct hub hub;
    char ids[128];
    setup(&hub, 16);
    add(&hub, 5, "alert", 0, "Secret");
    add(&hub, 6, "update", 5, "Secret again");
    add(&hub, 7, "alert", 0, "Other");
    add(&hub, 8, "retraction", 5, NULL);
    served(&hub, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "8,7");
    replay(&hub, 5, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "7,8");
    for (size_t k = 0; k < 4; k++) {
        const struct hub_msg *m = hub_nth_newest(&hub, k);
        if (m->folded)
            ASSERT_TRUE(m->full.buf == NULL);
        else
            ASSERT_TRUE(m->full.item == NULL || strstr(m->full.item, "Secret") == NULL);
    }
    /* Later versions of a retracted story are never served. */
    add(&hub, 9, "update", 5, "Secret at last");
    served(&hub, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "8,7");
    /* A second retraction is a tombstone too. */
    add(&hub, 10, "retraction", 5, NULL);
    served(&hub, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "10,8,7");
    hub_free(&hub);
}

static void test_a_ref_naming_an_update_means_its_story(void)
{
    struct hub hub;
    char ids[128];
    setup(&hub, 16);
    add(&hub, 5, "alert", 0, "Original");
    add(&hub, 6, "update", 5, "Second");
    add(&hub, 7, "retraction", 6, NULL); /* not from the CLI: it names the root */
    served(&hub, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "7");
    hub_free(&hub);
}

static void test_a_story_older_than_the_ring_still_folds(void)
{
    struct hub hub;
    char ids[128];
    setup(&hub, 3);
    add(&hub, 5, "alert", 0, "Original"); /* evicted below */
    add(&hub, 6, "update", 5, "Second");
    add(&hub, 7, "alert", 0, "Other");
    add(&hub, 8, "alert", 0, "Third");
    add(&hub, 9, "retraction", 5, NULL); /* 5 and 6 left the ring: nothing held */
    served(&hub, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "9,8,7");
    hub_free(&hub);
    setup(&hub, 3);
    add(&hub, 5, "alert", 0, "Original");
    add(&hub, 6, "alert", 0, "Other");
    add(&hub, 7, "update", 5, "Second");
    add(&hub, 8, "alert", 0, "Third"); /* evicts the original */
    add(&hub, 9, "retraction", 5, NULL);
    served(&hub, ids, sizeof(ids));
    ASSERT_STR_EQ(ids, "9,8");
    hub_free(&hub);
}

static void test_a_client_behind_the_original_gets_only_the_newest(void)
{
    struct hub hub;
    struct hub_client c = {0};
    const struct hub_msg *m;
    setup(&hub, 16);
    hub_attach(&hub, &c, NULL, NULL);
    add(&hub, 5, "alert", 0, "Secret");
    add(&hub, 6, "retraction", 5, NULL); /* before the client was written */
    ASSERT_EQ(hub_next(&hub, &c, &m), HUB_MSG);
    ASSERT_EQ(m->id.ms, 6);
    hub_free(&hub);
}

TEST_MAIN(TEST_CASE(test_the_rule), TEST_CASE(test_an_update_supersedes_every_older_version),
          TEST_CASE(test_a_retraction_leaves_only_its_tombstone),
          TEST_CASE(test_a_ref_naming_an_update_means_its_story),
          TEST_CASE(test_a_story_older_than_the_ring_still_folds),
          TEST_CASE(test_a_client_behind_the_original_gets_only_the_newest))
