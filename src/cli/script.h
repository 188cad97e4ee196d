/*
 * script — running one Lua script in Redis from the CLI: EVALSHA first,
 * the script's text (EVAL) only when Redis has not cached it, and whether
 * a call that got no answer may have run.
 *
 * The scripts themselves belong to their modules (publish.c, pending.c);
 * this one only carries them.
 */
#ifndef ALERT_SCRIPT_H
#define ALERT_SCRIPT_H

#include "scriptsha.h"

#include <hiredis.h>
#include <stddef.h>

#define SCRIPT_MAX_ARGS 16

/* One call: argv[0] and argv[1] (command and script or SHA) are filled by
 * script_run; the caller appends numkeys, the keys and the arguments with
 * script_arg from argc = 2 on. */
struct script_call {
    const char *argv[SCRIPT_MAX_ARGS];
    size_t len[SCRIPT_MAX_ARGS];
    int argc;
};

void script_begin(struct script_call *k);
/* Appends one argument (kept by pointer: it must outlive the call). */
void script_arg(struct script_call *k, const char *s, size_t n);

/* Runs `text` (with its SHA, which may be "" when it could not be hashed).
 * Returns the reply, or NULL when none came: *sent then says whether the
 * command had left whole (and may have run) or not (Redis never runs half
 * a command). */
redisReply *script_run(redisContext *c, const char *text, size_t text_len, const char *sha,
                       struct script_call *k, int *sent);

/* Why no reply came, for a message ("timed out", hiredis' error). */
void script_no_reply(const redisContext *c, char *err, size_t errlen);

#endif
