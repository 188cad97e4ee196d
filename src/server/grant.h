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
 * so the check per alert and client is one AND. The table and key
 * are process-global, set at start before the workers fork; each worker
 * reloads the key on SIGHUP or when its file changes (grant_reload_key).
 */
#ifndef ALERTD_GRANT_H
#define ALERTD_GRANT_H

#include <stddef.h>
#include <stdint.h>

#define GRANT_MAX_TOPICS    32
#define GRANT_TOKEN_MAX     2048 /* longer tokens are refused */
#define GRANT_KEY_MIN_BYTES 32

/* Marks the topics of a comma-separated list restricted and reads the
 * HS256 key from key_file (both NULL: nothing restricted, no tokens).
 * -1 with err set. */
int grant_setup(const char *topics, const char *key_file, char *err, size_t errlen);
void grant_clear(void);

/* Replaces the key with the one key_file holds now. A bad file (missing,
 * too short) leaves the key in use and sets err. Tokens accepted before
 * keep their grants until they expire. */
int grant_reload_key(const char *key_file, char *err, size_t errlen);

/* 1 when tokens are checked (a key is loaded). */
int grant_enabled(void);

/* The restricted topics among a NUL-separated list ending in an empty one. */
uint32_t grant_mask_of(const char *topics);
/* The mask bit of one topic; 0 when it is not restricted. */
uint32_t grant_bit(const char *topic);

/* Checks token at wall-clock time `now`: 0 with *grants and *exp set, or
 * -1 with err saying why (bad form, signature, algorithm, expired). */
int grant_verify(const char *token, int64_t now, uint32_t *grants, int64_t *exp, char *err,
                 size_t errlen);

#endif
