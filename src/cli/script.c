/*
 * script — see script.h.
 */
#include "script.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void script_begin(struct script_call *k)
{
    k->argc = 2; /* command, script or SHA */
}

void script_arg(struct script_call *k, const char *s, size_t n)
{
    if (k->argc == SCRIPT_MAX_ARGS)
        return; /* the callers' argument counts are fixed and below it */
    k->argv[k->argc] = s;
    k->len[k->argc] = n;
    k->argc++;
}

/* Sends the call and waits for its answer (see script_run). */
static void script_call_once(redisContext *c, struct script_call *k, redisReply **r, int *sent)
{
    void *reply = NULL;
    int done = 0;
    *r = NULL;
    *sent = 0;
    if (redisAppendCommandArgv(c, k->argc, k->argv, k->len) != REDIS_OK)
        return;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return;
    *sent = 1;
    if (redisGetReply(c, &reply) == REDIS_OK)
        *r = reply;
}

redisReply *script_run(redisContext *c, const char *text, size_t text_len, const char *sha,
                       struct script_call *k, int *sent)
{
    redisReply *r = NULL;
    if (sha[0]) {
        k->argv[0] = "EVALSHA", k->len[0] = 7;
        k->argv[1] = sha, k->len[1] = strlen(sha);
        script_call_once(c, k, &r, sent);
        if (r == NULL || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8) != 0)
            return r;
        freeReplyObject(r);
    }
    k->argv[0] = "EVAL", k->len[0] = 4;
    k->argv[1] = text, k->len[1] = text_len;
    script_call_once(c, k, &r, sent);
    return r;
}

void script_no_reply(const redisContext *c, char *err, size_t errlen)
{
    /* A blocking hiredis read that times out says only EAGAIN's text. */
    int timed_out = c->err == REDIS_ERR_IO && strcmp(c->errstr, strerror(EAGAIN)) == 0;
    snprintf(err, errlen, "%s", timed_out ? "timed out" : c->errstr[0] ? c->errstr : "no reply");
}
