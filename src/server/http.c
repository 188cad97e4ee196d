/*
 * http — see http.h.
 */
#include "http.h"

#include "listener.h"
#include "metrics.h"
#include "rest.h"
#include "sse.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_TEXT "text/plain; charset=utf-8"

/* ------------------------------------------------------------------------
 * Headers
 * ---------------------------------------------------------------------- */

int http_origin_allowed(const struct node *n, struct lws *wsi, char *origin, size_t len)
{
    char buf[256];
    int olen = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (olen <= 0)
        return 1; /* not a browser: nothing to protect against */
    if (olen >= (int)sizeof(buf) || lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_ORIGIN) < 0)
        return 0;
    if (origin)
        snprintf(origin, len, "%s", buf);
    if (n->cfg->norigins == 0)
        return 1;
    for (int i = 0; i < n->cfg->norigins; i++)
        if (strcasecmp(buf, n->cfg->origins[i]) == 0)
            return 1;
    return 0;
}

static int http_add(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                    unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

int http_add_cors(const struct node *n, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    char origin[256] = "";
    if (!http_origin_allowed(n, wsi, origin, sizeof(origin)) || origin[0] == '\0')
        return 0;
    return http_add(wsi, "access-control-allow-origin:", origin, p, end) ||
           http_add(wsi, "vary:", "Origin", p, end);
}

static int http_header_copy(struct lws *wsi, enum lws_token_indexes h, char *buf, size_t len)
{
    int n = lws_hdr_total_length(wsi, h);
    if (n <= 0 || n >= (int)len)
        return -1;
    return lws_hdr_copy(wsi, buf, (int)len, h) < 0 ? -1 : 0;
}

int http_header_equals(struct lws *wsi, enum lws_token_indexes h, const char *s)
{
    char buf[256];
    return http_header_copy(wsi, h, buf, sizeof(buf)) == 0 && strcmp(buf, s) == 0;
}

int http_header_contains(struct lws *wsi, enum lws_token_indexes h, const char *s)
{
    char buf[512];
    return http_header_copy(wsi, h, buf, sizeof(buf)) == 0 && strstr(buf, s) != NULL;
}

/* ------------------------------------------------------------------------
 * Whole responses
 * ---------------------------------------------------------------------- */

int http_send(struct node *n, struct conn *c, struct lws *wsi, const struct http_reply *r)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;

    c->kind = CONN_HTTP;
    c->wsi = wsi;
    free(c->body);
    c->body = malloc(LWS_PRE + r->len + 1);
    if (c->body == NULL)
        return -1;
    memcpy(c->body + LWS_PRE, r->body, r->len);
    c->body_len = r->len;
    if (lws_add_http_common_headers(wsi, r->status, r->ctype, (lws_filepos_t)r->len, &p, end) ||
        http_add(wsi, "cache-control:", r->cache ? r->cache : "no-store", &p, end) ||
        http_add(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        (r->etag && http_add(wsi, "etag:", r->etag, &p, end)) ||
        (r->encoding && http_add(wsi, "content-encoding:", r->encoding, &p, end)) ||
        (r->vary_encoding && http_add(wsi, "vary:", "Accept-Encoding", &p, end)) ||
        http_add_cors(n, wsi, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

int http_text(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *text)
{
    struct http_reply r = {status, HTTP_TEXT, text, strlen(text), NULL, NULL, NULL, 0};
    return http_send(n, c, wsi, &r);
}

static int http_readyz(struct node *n, struct conn *c, struct lws *wsi)
{
    if (n->draining)
        return http_text(n, c, wsi, 503, "draining\n");
    const char *refusal = rsub_refusal(n->rsub);
    if (refusal) {
        char body[400];
        snprintf(body, sizeof(body), "not ready: Redis refuses this node: %s\n", refusal);
        return http_text(n, c, wsi, 503, body);
    }
    if (!rsub_ready(n->rsub) || !metrics_all_ready())
        return http_text(n, c, wsi, 503, "not ready: Redis not connected or catching up\n");
    return http_text(n, c, wsi, 200, "ready\n");
}

static int http_metrics(struct node *n, struct conn *c, struct lws *wsi)
{
    size_t need = metrics_render(NULL, 0, n->cfg->node) + 1;
    char *text = malloc(need);
    int rc;
    if (text == NULL)
        return -1;
    size_t len = metrics_render(text, need, n->cfg->node);
    struct http_reply r = {
        200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL, NULL, NULL, 0};
    rc = http_send(n, c, wsi, &r);
    free(text);
    return rc;
}

static int http_static(struct node *n, struct conn *c, struct lws *wsi, const struct web_asset *a,
                       int versioned)
{
    const char *cache = versioned ? "public, max-age=31536000, immutable" : "public, max-age=300";
    if (http_header_equals(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, a->etag)) {
        struct http_reply r = {304, a->file->ctype, "", 0, cache, a->etag, NULL, 1};
        return http_send(n, c, wsi, &r);
    }
    int gz = a->gz && http_header_contains(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, "gzip");
    struct http_reply r = {
        200,   a->file->ctype, gz ? a->gz : a->file->data, gz ? a->gz_len : a->file->len,
        cache, a->etag,        gz ? "gzip" : NULL,         a->gz != NULL};
    return http_send(n, c, wsi, &r);
}

int http_request(struct node *n, struct conn *c, struct lws *wsi, const char *uri)
{
    const struct web_asset *asset;
    int versioned;

    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
        /* An answer to HEAD has no body: a keep-alive client would read
         * one as the start of the next answer. */
        int head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
        return http_text(n, c, wsi, 405, head ? "" : "only GET is served here\n");
    }
    if (strcmp(uri, "/healthz") == 0)
        return http_text(n, c, wsi, 200, "ok\n");
    if (strcmp(uri, "/readyz") == 0)
        return http_readyz(n, c, wsi);
    /* With --metrics-listen, /metrics is served there only, and that port
     * serves nothing for readers. */
    int admin = listener_is_admin(wsi);
    if (strcmp(uri, "/metrics") == 0 && (admin || n->admin_vhost == NULL))
        return http_metrics(n, c, wsi);
    if (admin)
        return http_text(n, c, wsi, 404, "this port serves /metrics, /healthz and /readyz only\n");
    if (strcmp(uri, "/v1/alerts") == 0)
        return rest_alerts(n, c, wsi);
    if (strcmp(uri, "/v1/sse") == 0)
        return sse_start(n, c, wsi);
    if (strcmp(uri, "/v1/ws") == 0)
        return http_text(n, c, wsi, 426, "this is a WebSocket endpoint: upgrade required\n");
    if ((asset = web_find(uri, &versioned)) != NULL)
        return http_static(n, c, wsi, asset, versioned);
    return http_text(n, c, wsi, 404, "not found\n");
}

int http_writeable(struct node *n, struct conn *c)
{
    (void)n;
    if (c->body == NULL)
        return 0;
    size_t len = c->body_len;
    int rc = lws_write(c->wsi, (unsigned char *)c->body + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
    http_release(c);
    if (rc < (int)len)
        return -1;
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

void http_release(struct conn *c)
{
    free(c->body);
    c->body = NULL;
}
