/*
 * api — see api.h.
 */
#include "api.h"

#include "fleet.h"
#include "log.h"
#include "pmetrics.h"
#include "regapi.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_JSON    "application/json"
#define API_TEXT    "text/plain; charset=utf-8"
#define API_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define API_PREFIX  "/v1/push/registrations"

struct api {
    struct gw *gw;
    struct lws_context *lws;
};

enum api_method { API_OTHER, API_GET, API_HEAD, API_POST, API_DELETE, API_OPTIONS };

/* One connection's request and its answer (lws' per-session data). */
struct api_sess {
    struct gw *gw;
    enum api_method method;
    int admin;
    char origin[API_ORIGIN_MAX]; /* "" none, or an allowed one, echoed */
    char *body;
    size_t len, expect;
    struct regapi_call *call; /* waiting for regapi's answer */
    /* the answer, once known */
    int status;
    const char *type;
    unsigned char *out; /* LWS_PRE, then the body */
    size_t outlen;
    unsigned retry_after;
    int preflight;
    int close_after; /* a body left unread: the connection cannot be reused */
};

/* ------------------------------------------------------------------------
 * Answers
 * ---------------------------------------------------------------------- */

static int api_answer(struct lws *wsi, struct api_sess *s, int status, const char *type,
                      const char *body)
{
    size_t len = strlen(body);
    free(s->out);
    if ((s->out = malloc(LWS_PRE + len + 1)) == NULL)
        return -1;
    memcpy(s->out + LWS_PRE, body, len);
    s->outlen = len;
    s->status = status;
    s->type = type;
    lws_callback_on_writable(wsi);
    return 0;
}

static int api_json_error(struct lws *wsi, struct api_sess *s, int status, const char *message)
{
    char body[300];
    json_t *o = json_pack("{s:s}", "error", message);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(body, sizeof(body), "%s", text ? text : "{}");
    free(text);
    json_decref(o);
    return api_answer(wsi, s, status, API_JSON, body);
}

static int api_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int api_write(struct lws *wsi, struct api_sess *s)
{
    unsigned char hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    char num[16];
    if (s->out == NULL)
        return 0;
    if (lws_add_http_common_headers(wsi, (unsigned)s->status, s->type,
                                    s->status == 204 ? 0 : s->outlen, &p, end) ||
        api_header(wsi, "cache-control:", "no-store", &p, end) ||
        api_header(wsi, "x-content-type-options:", "nosniff", &p, end))
        return -1;
    if (s->origin[0] && (api_header(wsi, "access-control-allow-origin:", s->origin, &p, end) ||
                         api_header(wsi, "vary:", "Origin", &p, end)))
        return -1;
    if (s->preflight &&
        (api_header(wsi, "access-control-allow-methods:", "GET, POST, DELETE", &p, end) ||
         api_header(wsi, "access-control-allow-headers:", "content-type", &p, end) ||
         api_header(wsi, "access-control-max-age:", "600", &p, end)))
        return -1;
    snprintf(num, sizeof(num), "%u", s->retry_after);
    if (s->retry_after && api_header(wsi, "retry-after:", num, &p, end))
        return -1;
    if (s->close_after && api_header(wsi, "connection:", "close", &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (s->outlen && s->status != 204 && s->method != API_HEAD &&
        lws_write(wsi, s->out + LWS_PRE, s->outlen, LWS_WRITE_HTTP_FINAL) != (int)s->outlen)
        return -1;
    free(s->out);
    s->out = NULL;
    if (s->close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* regapi's answer, maybe after the client left (then call->user is NULL
 * and regapi does not call this). */
static void api_on_reply(struct regapi_call *c, int status, const char *json)
{
    struct lws *wsi = c->user;
    struct api_sess *s = lws_wsi_user(wsi);
    s->call = NULL;
    api_answer(wsi, s, status, API_JSON, json);
}

static int api_call(struct lws *wsi, struct api_sess *s, int (*fn)(struct regapi_call *, void *),
                    void *arg)
{
    struct regapi_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    c->gw = s->gw;
    c->reply = api_on_reply;
    c->user = wsi;
    s->call = c;
    if (fn(c, arg) == 0) { /* answered at once */
        s->call = NULL;
        free(c);
    }
    return 0;
}

static int api_do_register(struct regapi_call *c, void *arg)
{
    struct api_sess *s = arg;
    return regapi_register(c, s->body, s->len);
}

static int api_do_unregister(struct regapi_call *c, void *arg)
{
    return regapi_unregister(c, arg);
}

static int api_do_vapid(struct regapi_call *c, void *arg)
{
    (void)arg;
    return regapi_vapid(c);
}

/* ------------------------------------------------------------------------
 * Requests
 * ---------------------------------------------------------------------- */

static enum api_method api_method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return API_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return API_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return API_DELETE;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI))
        return API_OPTIONS;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
        return API_HEAD;
    return API_OTHER;
}

/* 0: no Origin, or an allowed one (kept, to be echoed); -1: refused. */
static int api_origin(struct lws *wsi, struct api_sess *s)
{
    const struct pconf *cfg = s->gw->cfg;
    char buf[API_ORIGIN_MAX];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (n <= 0)
        return 0;
    if (n >= (int)sizeof(buf) || lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_ORIGIN) < 0)
        return -1;
    for (int i = 0; i < cfg->norigins; i++)
        if (strcmp(cfg->origins[i], buf) == 0)
            break;
        else if (i == cfg->norigins - 1)
            return -1;
    memcpy(s->origin, buf, strlen(buf) + 1);
    return 0;
}

/* 1 when over the rate (the 429 is set). */
static int api_limited(struct lws *wsi, struct api_sess *s)
{
    char addr[64] = "";
    unsigned wait;
    lws_get_peer_simple(wsi, addr, sizeof(addr));
    wait = ratelim_check(&s->gw->ratelim, addr, uv_hrtime() / 1000);
    if (wait == 0)
        return 0;
    pmetrics.api_rate_limited++;
    s->retry_after = wait;
    s->close_after = s->method == API_POST;
    api_json_error(wsi, s, 429, "too many registration requests from this address: retry later");
    return 1;
}

static int api_admin(struct lws *wsi, struct api_sess *s, const char *uri)
{
    struct gw *gw = s->gw;
    if (strcmp(uri, "/healthz") == 0)
        return api_answer(wsi, s, 200, API_TEXT, "ok\n");
    if (strcmp(uri, "/readyz") == 0) {
        if (gw->stopping)
            return api_answer(wsi, s, 503, API_TEXT, "stopping\n");
        if (!fleet_ready(gw->fleet))
            return api_answer(wsi, s, 503, API_TEXT, "not ready: Redis not connected\n");
        return api_answer(wsi, s, 200, API_TEXT, "ready\n");
    }
    if (strcmp(uri, "/metrics") == 0 && s->admin) {
        size_t need = pmetrics_render(NULL, 0, gw->cfg->name) + 1;
        char *text = malloc(need);
        int rc;
        if (text == NULL)
            return -1;
        pmetrics_render(text, need, gw->cfg->name);
        rc = api_answer(wsi, s, 200, API_METRICS, text);
        free(text);
        return rc;
    }
    return api_answer(wsi, s, 404, API_TEXT,
                      s->admin ? "this port serves /metrics, /healthz and /readyz only\n"
                               : "not found\n");
}

/* A POST's headers: 0 when its body is to be read. */
static int api_post_head(struct lws *wsi, struct api_sess *s)
{
    char type[128] = "", length[24] = "";
    long n;
    s->close_after = 1; /* until the body is read */
    if (lws_hdr_copy(wsi, type, sizeof(type), WSI_TOKEN_HTTP_CONTENT_TYPE) < 0 ||
        strncmp(type, API_JSON, strlen(API_JSON)) != 0 ||
        (type[strlen(API_JSON)] != '\0' && type[strlen(API_JSON)] != ';')) {
        pmetrics.api_invalid++;
        return api_json_error(wsi, s, 415, "the body must be application/json") ? -1 : 1;
    }
    if (lws_hdr_copy(wsi, length, sizeof(length), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return api_json_error(wsi, s, 411, "Content-Length is required") ? -1 : 1;
    n = strtol(length, NULL, 10);
    if (n <= 0 || n > REG_BODY_MAX) {
        pmetrics.api_invalid++;
        return api_json_error(wsi, s, 413, "the body must be 1 to 8192 bytes") ? -1 : 1;
    }
    if (api_limited(wsi, s))
        return 1;
    if ((s->body = malloc((size_t)n)) == NULL)
        return -1;
    s->expect = (size_t)n;
    s->close_after = 0;
    return 0;
}

/* LWS_CALLBACK_HTTP: 0, or -1 to drop the connection. */
static int api_http(struct lws *wsi, struct api_sess *s, const char *uri)
{
    static const char reg_item[] = API_PREFIX "/";
    s->method = api_method_of(wsi);
    if (strcmp(uri, "/healthz") == 0 || strcmp(uri, "/readyz") == 0 ||
        strcmp(uri, "/metrics") == 0 || s->admin) {
        if (s->method != API_GET && s->method != API_HEAD)
            return api_answer(wsi, s, 405, API_TEXT, "only GET is served here\n");
        return api_admin(wsi, s, uri);
    }
    if (strncmp(uri, "/v1/push/", 9) != 0)
        return api_answer(wsi, s, 404, API_TEXT, "not found\n");
    if (api_origin(wsi, s))
        return api_json_error(wsi, s, 403, "this Origin may not use the push API");
    if (s->method == API_OPTIONS) {
        s->preflight = 1;
        return api_answer(wsi, s, 204, API_TEXT, "");
    }
    if (strcmp(uri, "/v1/push/vapid") == 0 && s->method == API_GET)
        return api_call(wsi, s, api_do_vapid, NULL);
    if (strcmp(uri, API_PREFIX) == 0 && s->method == API_POST) {
        int rc = api_post_head(wsi, s);
        return rc < 0 ? -1 : 0; /* 0: the body comes next */
    }
    if (strncmp(uri, reg_item, sizeof(reg_item) - 1) == 0 && s->method == API_DELETE)
        return api_limited(wsi, s)
                   ? 0
                   : api_call(wsi, s, api_do_unregister, (void *)(uri + sizeof(reg_item) - 1));
    if (strcmp(uri, API_PREFIX) == 0 || strncmp(uri, reg_item, sizeof(reg_item) - 1) == 0 ||
        strcmp(uri, "/v1/push/vapid") == 0)
        return api_json_error(wsi, s, 405, "method not allowed here");
    return api_json_error(wsi, s, 404, "not found");
}

static void api_release(struct api_sess *s)
{
    if (s->call) {
        s->call->user = NULL; /* regapi frees it when Redis answers */
        s->call = NULL;
    }
    free(s->body);
    free(s->out);
    s->body = NULL;
    s->out = NULL;
}

/* ------------------------------------------------------------------------
 * lws
 * ---------------------------------------------------------------------- */

static int api_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct api_sess *s = user;
    struct api *a = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        api_release(s); /* a keep-alive connection's earlier request */
        memset(s, 0, sizeof(*s));
        s->gw = a->gw;
        s->admin = strcmp(lws_get_vhost_name(lws_get_vhost(wsi)), "metrics") == 0;
        return api_http(wsi, s, in);
    case LWS_CALLBACK_HTTP_BODY:
        if (s->body == NULL)
            return 0; /* answered already (413, 415, 429...): dropped, then closed */
        if (len > s->expect - s->len)
            return -1; /* more than Content-Length said */
        memcpy(s->body + s->len, in, len);
        s->len += len;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (s->body == NULL)
            return 0; /* answered already */
        return api_call(wsi, s, api_do_register, s);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return api_write(wsi, s);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s)
            api_release(s);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols api_protocols[] = {
    {"http", api_callback, sizeof(struct api_sess), 0, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

static const lws_retry_bo_t api_no_validity_timers;

static void api_lws_log(int level, const char *line)
{
    size_t len = strlen(line);
    char msg[256];
    snprintf(msg, sizeof(msg), "%.*s", (int)(len && line[len - 1] == '\n' ? len - 1 : len), line);
    if (level & LLL_ERR)
        log_error("lws", KV_S("detail", msg));
    else if (level & LLL_WARN)
        log_warn("lws", KV_S("detail", msg));
    else
        log_debug("lws", KV_S("detail", msg));
}

static int api_vhost(struct api *a, const char *name, const struct settings_addr *addr, int tls)
{
    struct lws_context_creation_info info;
    const struct pconf *cfg = a->gw->cfg;
    memset(&info, 0, sizeof(info));
    info.vhost_name = name;
    info.iface = addr->host;
    info.port = addr->port;
    info.protocols = api_protocols;
    info.server_string = "alertd-push";
    info.timeout_secs = API_TIMEOUT_SECS;
    info.retry_and_idle_policy = &api_no_validity_timers;
    if (tls) {
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_RENEGOTIATION;
        info.alpn = "http/1.1";
    }
    if (lws_create_vhost(a->lws, &info) == NULL) {
        log_error("cannot listen", KV_S("vhost", name), KV_S("host", addr->host),
                  KV_I("port", addr->port),
                  KV_S("hint", tls ? "is the port free, and do the certificate and key load?"
                                   : "is the port free?"));
        return -1;
    }
    return 0;
}

struct api *api_start(struct gw *gw)
{
    struct lws_context_creation_info info;
    void *foreign_loops[1] = {gw->loop};
    struct api *a = calloc(1, sizeof(*a));
    const struct pconf *cfg = gw->cfg;
    if (a == NULL)
        return NULL;
    a->gw = gw;
    lws_set_log_level(LLL_ERR | LLL_WARN | (log_enabled(LOG_DEBUG) ? LLL_NOTICE : 0), api_lws_log);
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   (cfg->plain ? 0 : LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT);
    info.foreign_loops = foreign_loops;
    info.user = a;
    info.max_http_header_data = API_HEADER_BYTES;
    info.timeout_secs = API_TIMEOUT_SECS;
    info.pcontext = &a->lws;
    if ((a->lws = lws_create_context(&info)) == NULL) {
        log_error("cannot start the HTTP listener");
        free(a);
        return NULL;
    }
    if (api_vhost(a, "api", &cfg->listen, !cfg->plain) ||
        (cfg->metrics_listen.host && api_vhost(a, "metrics", &cfg->metrics_listen, 0))) {
        api_stop(a);
        api_finish(a);
        return NULL;
    }
    return a;
}

void api_stop(struct api *a)
{
    if (a && a->lws)
        lws_context_destroy(a->lws);
}

/* On a foreign loop lws frees the context when called again after its
 * handles closed; it then clears a->lws (info.pcontext). */
void api_finish(struct api *a)
{
    if (a == NULL)
        return;
    for (int i = 0; i < 3 && a->lws; i++) {
        lws_context_destroy(a->lws);
        uv_run(a->gw->loop, UV_RUN_NOWAIT);
    }
    free(a);
}
