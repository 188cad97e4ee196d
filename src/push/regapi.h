/*
 * regapi — the registration API (PROTOCOL.md, "Push registration"): what
 * POST /v1/push/registrations, DELETE /v1/push/registrations/ID and
 * GET /v1/push/vapid answer, and the registry writes behind them. HTTP
 * itself (methods, bodies, CORS, limits) is api's; a call here gets the
 * request's parts and answers through call->reply with a JSON body.
 */
#ifndef PUSH_REGAPI_H
#define PUSH_REGAPI_H

#include "gw.h"

#include <stddef.h>

struct regapi_call;
typedef void (*regapi_reply_fn)(struct regapi_call *c, int status, const char *json);

struct regapi_call {
    struct gw *gw;
    regapi_reply_fn reply;
    void *user; /* api's; set to NULL by api when the client is gone */
};

/* Each returns 0 when it answered already (api frees the call), or 1 when
 * the answer waits for Redis: regapi then answers (if user is still set)
 * and frees the call with free(). */
int regapi_register(struct regapi_call *c, const char *body, size_t len);
int regapi_unregister(struct regapi_call *c, const char *id);
int regapi_vapid(struct regapi_call *c);

#endif
