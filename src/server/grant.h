/*
 * grant — restricted topics, and the tokens that open them.
 *
 * The operator marks topics restricted (--restricted-topics). An alert that
 * carries one reaches only clients whose token grants at least one of its
 * restricted topics; everyone else never sees it, live, in a replay, over
 * SSE or REST. A token is an HS256 JWT (RFC 7519) signed with the key in
 * --jwt-secret: {"exp": <unix seconds>, "topics": ["premium", ...]}. exp
 * is required; "topics" lists the restricted topics it grants.
 *
 * Restricted topics are bits of a 32-bit mask (their order in the list),
 * so the check per alert and client is one AND. A struct grant is set up
 * by main before the workers fork, and each worker then owns its copy:
 * it reloads the key on SIGHUP or when its file changes (grant_load_key).
 * Nothing here touches sockets or lws.
 */
#ifndef ALERTD_GRANT_H
#define ALERTD_GRANT_H

#include "item.h"

#include <stddef.h>
#include <stdint.h>

#define GRANT_MAX_TOPICS    32
#define GRANT_TOKEN_MAX     2048 /* longer tokens are refused */
#define GRANT_KEY_MIN_BYTES 32
#define GRANT_KEY_MAX_BYTES 1024

struct grant {
    char topics[GRANT_MAX_TOPICS][ITEM_TOPIC_MAX_LEN + 1]; /* restricted, in bit order */
    int ntopics;
    unsigned char key[GRANT_KEY_MAX_BYTES]; /* the HS256 key; key_len 0: no tokens */
    size_t key_len;
};

/* Marks the topics of a comma-separated list restricted (the list before
 * is forgotten); -1 with err set and nothing restricted. */
int grant_set_topics(struct grant *g, const char *topics, char *err, size_t errlen);

/* Both, as configured: topics (may be NULL) need key_file. -1 with err set. */
int grant_setup(struct grant *g, const char *topics, const char *key_file, char *err,
                size_t errlen);
/* Wipes the key and forgets the topics. */
void grant_clear(struct grant *g);

/* Replaces the key with the one key_file holds now. A bad file (missing,
 * too short) leaves the key in use and sets err. Tokens accepted before
 * keep their grants until they expire. */
int grant_load_key(struct grant *g, const char *key_file, char *err, size_t errlen);

/* 1 when tokens are checked (a key is loaded). */
int grant_enabled(const struct grant *g);

/* The restricted topics among a NUL-separated list ending in an empty one;
 * 0 for g NULL (nothing restricted). */
uint32_t grant_mask_of(const struct grant *g, const char *topics);
/* The mask bit of one topic; 0 when it is not restricted. */
uint32_t grant_bit(const struct grant *g, const char *topic);

/* Checks token at wall-clock time `now`: 0 with *grants and *exp set, or
 * -1 with err saying why (bad form, signature, algorithm, expired). */
int grant_verify(const struct grant *g, const char *token, int64_t now, uint32_t *grants,
                 int64_t *exp, char *err, size_t errlen);

#endif
