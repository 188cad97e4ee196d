/*
 * http — see http.h.
 */
#include "http.h"

#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_TEXT "text/plain; charset=utf-8"

int http_respond(struct conn *c, struct lws *wsi, unsigned status, const char *ctype,
                 const char *body, size_t len)
{
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;

    c->kind = CONN_HTTP;
    c->wsi = wsi;
    free(c->body);
    c->body = malloc(LWS_PRE + len + 1);
    if (c->body == NULL)
        return -1;
    memcpy(c->body + LWS_PRE, body, len);
    c->body_len = len;
    if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_text(struct conn *c, struct lws *wsi, unsigned status, const char *text)
{
    return http_respond(c, wsi, status, HTTP_TEXT, text, strlen(text));
}

static int http_readyz(struct node *n, struct conn *c, struct lws *wsi)
{
    if (n->draining)
        return http_text(c, wsi, 503, "draining\n");
    if (!rsub_ready(n->rsub) || !metrics_all_ready())
        return http_text(c, wsi, 503, "not ready: Redis not connected or catching up\n");
    return http_text(c, wsi, 200, "ready\n");
}

static int http_metrics(struct node *n, struct conn *c, struct lws *wsi)
{
    size_t need = metrics_render(NULL, 0, n->cfg->node) + 1;
    char *text = malloc(need);
    int rc;
    if (text == NULL)
        return -1;
    size_t len = metrics_render(text, need, n->cfg->node);
    rc = http_respond(c, wsi, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return rc;
}

int http_request(struct node *n, struct conn *c, struct lws *wsi, const char *uri)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return http_text(c, wsi, 405, "only GET is served here\n");
    if (strcmp(uri, "/healthz") == 0)
        return http_text(c, wsi, 200, "ok\n");
    if (strcmp(uri, "/readyz") == 0)
        return http_readyz(n, c, wsi);
    if (strcmp(uri, "/metrics") == 0)
        return http_metrics(n, c, wsi);
    if (strcmp(uri, "/v1/ws") == 0)
        return http_text(c, wsi, 426, "this is a WebSocket endpoint: upgrade required\n");
    return http_text(c, wsi, 404, "not found\n");
}

int http_writeable(struct node *n, struct conn *c)
{
    (void)n;
    if (c->body == NULL)
        return 0;
    int rc =
        lws_write(c->wsi, (unsigned char *)c->body + LWS_PRE, c->body_len, LWS_WRITE_HTTP_FINAL);
    http_release(c);
    if (rc < (int)c->body_len)
        return -1;
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

void http_release(struct conn *c)
{
    free(c->body);
    c->body = NULL;
}
