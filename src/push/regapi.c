/*
 * regapi — see regapi.h.
 */
#include "regapi.h"

#include "log.h"
#include "pmetrics.h"
#include "rkeys.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGAPI_DAY_MS (86400 * 1000LL)

/* A call waiting for Redis, with what its answer needs. */
struct regapi_wait {
    struct regapi_call *call;
    char id[REG_ID_LEN + 1];
    int64_t expires_ms;
};

static int regapi_json(struct regapi_call *c, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (status == 204)
        c->reply(c, status, "");
    else
        c->reply(c, status, text ? text : "{\"error\":\"out of memory\"}");
    free(text);
    json_decref(body);
    return 0;
}

static int regapi_error(struct regapi_call *c, int status, const char *field, const char *message)
{
    char text[300];
    snprintf(text, sizeof(text), "%s%s%s", field && *field ? field : "",
             field && *field ? ": " : "", message);
    return regapi_json(c, status,
                       field ? json_pack("{s:s,s:s}", "error", text, "field", field)
                             : json_pack("{s:s}", "error", text));
}

static void regapi_finish(struct regapi_wait *w, int status, json_t *body)
{
    if (w->call->user)
        regapi_json(w->call, status, body);
    else
        json_decref(body);
    free(w->call);
    free(w);
}

static void regapi_on_saved(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct regapi_wait *w = priv;
    char at[ITEM_TIME_STRLEN];
    (void)ac;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        log_warn("registration not saved", KV_S("detail", reply ? reply->str : "Redis down"));
        regapi_finish(w, 503, json_pack("{s:s}", "error", "the registry is unavailable: retry"));
        return;
    }
    pmetrics.registrations++;
    item_time_format(w->expires_ms, at);
    regapi_finish(w, reply->integer == 1 ? 201 : 200,
                  json_pack("{s:s,s:s}", "id", w->id, "expires_at", at));
}

static struct regapi_wait *regapi_wait_new(struct regapi_call *c, const char *id)
{
    struct regapi_wait *w = calloc(1, sizeof(*w));
    if (w) {
        w->call = c;
        snprintf(w->id, sizeof(w->id), "%s", id);
    }
    return w;
}

int regapi_register(struct regapi_call *c, const char *body, size_t len)
{
    struct gw *gw = c->gw;
    struct reg r;
    struct item_error err;
    struct regapi_wait *w;
    char key[GW_KEY_MAX], shard[16], *value;
    if (reg_parse_request(body, len, &gw->hosts, gw->providers, &r, &err)) {
        pmetrics.api_invalid++;
        return regapi_error(c, 400, err.field, err.message);
    }
    r.expires_ms = item_time_now_ms() + gw->cfg->registration_days * REGAPI_DAY_MS;
    snprintf(shard, sizeof(shard), "%d", r.shard);
    rkeys_name(key, sizeof(key), gw->cfg->prefix, RKEYS_PUSH_REG, shard);
    if ((value = reg_encode(&r)) == NULL || (w = regapi_wait_new(c, r.id)) == NULL) {
        free(value);
        return regapi_error(c, 500, NULL, "out of memory");
    }
    w->expires_ms = r.expires_ms;
    if (rconn_cmd(&gw->cmd, regapi_on_saved, w, "HSET %s %s %s", key, r.id, value)) {
        free(value);
        free(w);
        return regapi_error(c, 503, NULL, "the registry is unavailable: retry");
    }
    free(value);
    return 1;
}

static void regapi_on_deleted(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    struct regapi_wait *w = priv;
    (void)ac;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        regapi_finish(w, 503, json_pack("{s:s}", "error", "the registry is unavailable: retry"));
        return;
    }
    if (reply->integer == 1) {
        pmetrics.unregistrations++;
        regapi_finish(w, 204, NULL);
        return;
    }
    regapi_finish(w, 404, json_pack("{s:s}", "error", "no such registration"));
}

int regapi_unregister(struct regapi_call *c, const char *id)
{
    struct gw *gw = c->gw;
    struct regapi_wait *w;
    char key[GW_KEY_MAX], shard[16];
    if (!reg_id_ok(id)) {
        pmetrics.api_invalid++;
        return regapi_error(c, 400, "id", "must be the 32 hex digits a registration returned");
    }
    snprintf(shard, sizeof(shard), "%d", reg_shard_of(id));
    rkeys_name(key, sizeof(key), gw->cfg->prefix, RKEYS_PUSH_REG, shard);
    if ((w = regapi_wait_new(c, id)) == NULL)
        return regapi_error(c, 500, NULL, "out of memory");
    if (rconn_cmd(&gw->cmd, regapi_on_deleted, w, "HDEL %s %s", key, id)) {
        free(w);
        return regapi_error(c, 503, NULL, "the registry is unavailable: retry");
    }
    return 1;
}

int regapi_vapid(struct regapi_call *c)
{
    return regapi_json(c, 200, json_pack("{s:s}", "vapid_public_key", c->gw->vapid.public_b64));
}
