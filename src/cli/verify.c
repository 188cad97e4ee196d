/*
 * verify — see verify.h.
 */
#include "verify.h"

#include "itemsig.h"

#include <stdio.h>
#include <string.h>

int verify_add_key(struct verify *v, const char *path, char *err, size_t errlen)
{
    char kid[ITEM_KID_LEN + 1];
    if (v->nkeys == VERIFY_MAX_KEYS) {
        snprintf(err, errlen, "at most %d --verify keys", VERIFY_MAX_KEYS);
        return -1;
    }
    EVP_PKEY *key = itemsig_load_public(path, err, errlen);
    if (key == NULL)
        return -1;
    if (itemsig_key_id(key, kid) != 0) {
        snprintf(err, errlen, "%s: not an Ed25519 public key", path);
        EVP_PKEY_free(key);
        return -1;
    }
    for (int i = 0; i < v->nkeys; i++)
        if (strcmp(v->kids[i], kid) == 0) {
            snprintf(err, errlen, "%s: the same key (id %s) is given twice", path, kid);
            EVP_PKEY_free(key);
            return -1;
        }
    v->keys[v->nkeys] = key;
    memcpy(v->kids[v->nkeys], kid, sizeof(kid));
    v->nkeys++;
    return 0;
}

void verify_free(struct verify *v)
{
    for (int i = 0; i < v->nkeys; i++)
        EVP_PKEY_free(v->keys[i]);
    v->nkeys = 0;
}

static EVP_PKEY *verify_key(const struct verify *v, const char *kid)
{
    for (int i = 0; kid && i < v->nkeys; i++)
        if (strcmp(v->kids[i], kid) == 0)
            return v->keys[i];
    return NULL;
}

/* 1 with "N s before" / "N s after" in out when `at` is farther than
 * max_age from `ref`; 0 when within. */
static int verify_far(const struct verify *v, int64_t at, int64_t ref, char *out, size_t outlen)
{
    int64_t d = ref - at;
    if (d <= v->max_age_ms && -d <= v->max_age_ms)
        return 0;
    snprintf(out, outlen, "%lld s %s", (long long)((d < 0 ? -d : d) / 1000),
             d < 0 ? "after" : "before");
    return 1;
}

/* Freshness; 0, or -1 with why filled. */
static int verify_fresh(const struct verify *v, const json_t *item, int live, int64_t now_ms,
                        char *why, size_t whylen)
{
    const char *pub = json_string_value(json_object_get(item, "published_at"));
    struct item_id id;
    int64_t at;
    char far[64];
    if (pub == NULL || item_time_parse(pub, &at) != 0) {
        snprintf(why, whylen, "stale: no valid published_at to judge its age by");
        return -1;
    }
    if (item_id_parse(json_string_value(json_object_get(item, "id")), &id) == 0 &&
        verify_far(v, at, (int64_t)id.ms, far, sizeof(far))) {
        snprintf(why, whylen,
                 "stale: published_at %s is %s the time of its id (more than %lld s): a "
                 "genuine alert stored again",
                 pub, far, (long long)(v->max_age_ms / 1000));
        return -1;
    }
    if (live && verify_far(v, at, now_ms, far, sizeof(far))) {
        snprintf(why, whylen, "stale: published_at %s is %s now (more than %lld s): not news", pub,
                 far, (long long)(v->max_age_ms / 1000));
        return -1;
    }
    return 0;
}

/* A replay: this signature was accepted before under another id. */
static const struct verify_seen *verify_replay(const struct verify *v, const char *sig,
                                               const char *id)
{
    for (unsigned i = 0; i < VERIFY_SEEN; i++)
        if (strcmp(v->seen[i].sig, sig) == 0 && strcmp(v->seen[i].id, id) != 0)
            return &v->seen[i];
    return NULL;
}

enum verify_reason verify_item(struct verify *v, const json_t *item, int live, int64_t now_ms,
                               char *why, size_t whylen)
{
    const char *sig = json_string_value(json_object_get(item, "sig"));
    const char *kid = json_string_value(json_object_get(item, "kid"));
    const char *id = json_string_value(json_object_get(item, "id"));
    EVP_PKEY *key;
    const struct verify_seen *earlier;

    if (sig == NULL || kid == NULL) {
        snprintf(why, whylen, "unsigned: it carries no %s", sig ? "kid" : "sig");
        return VERIFY_UNSIGNED;
    }
    if ((key = verify_key(v, kid)) == NULL) {
        snprintf(why, whylen, "unknown key: kid %.40s is not one of the --verify keys", kid);
        return VERIFY_UNKNOWN_KEY;
    }
    if (itemsig_check(item, key) != 1) {
        snprintf(why, whylen,
                 "bad signature: not the signature of key %s over this item (forged, or "
                 "altered after signing)",
                 kid);
        return VERIFY_BAD_SIGNATURE;
    }
    if (verify_fresh(v, item, live, now_ms, why, whylen) != 0)
        return VERIFY_STALE;
    if (id == NULL || strlen(id) >= ITEM_ID_STRLEN)
        id = "";
    if ((earlier = verify_replay(v, sig, id)) != NULL) {
        snprintf(why, whylen, "replayed: the same signed alert came earlier as %s", earlier->id);
        return VERIFY_REPLAYED;
    }
    struct verify_seen *slot = &v->seen[v->next++ % VERIFY_SEEN];
    memcpy(slot->sig, sig, ITEM_SIG_LEN + 1); /* of its shape: itemsig_check read it */
    memcpy(slot->id, id, strlen(id) + 1);
    return VERIFY_OK;
}
