/*
 * reply — see reply.h.
 */
#include "reply.h"

#include "listener.h"
#include "origin.h"
#include "request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int reply_headers(const struct reply *r, const char *cors_origin, const char *hsts,
                  const struct reply_end *end, struct reply_header out[REPLY_MAX_HEADERS])
{
    int n = 0;
    out[n++] = (struct reply_header){"cache-control:", r->cache ? r->cache : "no-store"};
    out[n++] = (struct reply_header){"x-content-type-options:", "nosniff"};
    if (hsts)
        out[n++] = (struct reply_header){"strict-transport-security:", hsts};
    if (end && end->allow)
        out[n++] = (struct reply_header){"allow:", end->allow};
    if (end && end->close)
        out[n++] = (struct reply_header){"connection:", "close"};
    if (r->etag)
        out[n++] = (struct reply_header){"etag:", r->etag};
    if (r->encoding)
        out[n++] = (struct reply_header){"content-encoding:", r->encoding};
    if (r->vary_encoding)
        out[n++] = (struct reply_header){"vary:", "Accept-Encoding"};
    if (cors_origin) {
        out[n++] = (struct reply_header){"access-control-allow-origin:", cors_origin};
        out[n++] = (struct reply_header){"vary:", "Origin"};
    }
    return n;
}

const char *reply_reason(unsigned status)
{
    static const struct {
        unsigned status;
        const char *reason;
    } reasons[] = {
        {200, "OK"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {413, "Content Too Large"},
        {426, "Upgrade Required"},
        {431, "Request Header Fields Too Large"},
        {503, "Service Unavailable"},
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return "";
}

const char *reply_hsts(const struct node *n, struct lws *wsi, char *buf, size_t len)
{
    if (n->cfg->plain || n->cfg->hsts_max_age == 0 || listener_is_admin(wsi))
        return NULL;
    snprintf(buf, len, "max-age=%d", n->cfg->hsts_max_age);
    return buf;
}

const char *reply_cors_origin(const struct node *n, struct lws *wsi, char *buf, size_t len)
{
    if (request_header(wsi, WSI_TOKEN_ORIGIN, buf, len) <= 0)
        return NULL;
    return origin_allowed(n->cfg->origins, n->cfg->norigins, buf) ? buf : NULL;
}

static int reply_add(struct lws *wsi, const struct reply_header *h, unsigned char **p,
                     unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)h->name,
                                       (const unsigned char *)h->value, (int)strlen(h->value), p,
                                       end);
}

int reply_add_shared(const struct node *n, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    char buf[REQUEST_ORIGIN_MAX], hsts[32];
    const char *origin = reply_cors_origin(n, wsi, buf, sizeof(buf));
    struct reply_header shared[] = {
        {"access-control-allow-origin:", origin},
        {"vary:", "Origin"},
        {"strict-transport-security:", reply_hsts(n, wsi, hsts, sizeof(hsts))}};
    for (size_t i = origin ? 0 : 2; i < sizeof(shared) / sizeof(shared[0]); i++)
        if (shared[i].value && reply_add(wsi, &shared[i], p, end))
            return -1;
    return 0;
}

int reply_now(const struct node *n, struct lws *wsi, unsigned status, const char *header,
              const char *text)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE;
    char hsts[32], extra[320] = "";
    const char *sts = reply_hsts(n, wsi, hsts, sizeof(hsts));
    size_t tlen = strlen(text), room = sizeof(buf) - LWS_PRE;
    if (sts)
        snprintf(extra, sizeof(extra), "strict-transport-security: %s\r\n", sts);
    if (header)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s\r\n", header);
    int len = snprintf((char *)start, room,
                       "HTTP/1.1 %u %s\r\nserver: alertd\r\ncontent-type: " REPLY_TEXT
                       "\r\ncontent-length: %zu\r\ncache-control: no-store\r\n"
                       "x-content-type-options: nosniff\r\nconnection: close\r\n%s\r\n%s",
                       status, reply_reason(status), tlen, extra, text);
    if (len < 0 || (size_t)len >= room)
        return -1;
    return lws_write(wsi, start, (size_t)len, LWS_WRITE_HTTP) < len ? -1 : 0;
}

/* reply_send, ending as `how` says (NULL: an ordinary answer). */
static int reply_start(struct node *n, struct conn *c, struct lws *wsi, const struct reply *r,
                       const struct reply_end *how)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    struct reply_header headers[REPLY_MAX_HEADERS];
    char origin[REQUEST_ORIGIN_MAX], hsts[32];
    int nheaders = reply_headers(r, reply_cors_origin(n, wsi, origin, sizeof(origin)),
                                 reply_hsts(n, wsi, hsts, sizeof(hsts)), how, headers);
    /* HEAD: the same headers, the length of the body it does not get. */
    size_t send = request_method(wsi) == 2 ? 0 : r->len;

    c->kind = CONN_HTTP;
    c->wsi = wsi;
    c->close_after = (uint8_t)(how && how->close);
    free(c->body);
    c->body = malloc(LWS_PRE + send + 1);
    if (c->body == NULL)
        return -1;
    memcpy(c->body + LWS_PRE, r->body, send);
    c->body_len = send;
    if (lws_add_http_common_headers(wsi, r->status, r->ctype, (lws_filepos_t)r->len, &p, end))
        return -1;
    for (int i = 0; i < nheaders; i++)
        if (reply_add(wsi, &headers[i], &p, end))
            return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

int reply_send(struct node *n, struct conn *c, struct lws *wsi, const struct reply *r)
{
    return reply_start(n, c, wsi, r, NULL);
}

int reply_text(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *text)
{
    struct reply r = {status, REPLY_TEXT, text, strlen(text), NULL, NULL, NULL, 0};
    return reply_send(n, c, wsi, &r);
}

int reply_refuse(struct node *n, struct conn *c, struct lws *wsi, unsigned status,
                 const struct reply_end *end, const char *text)
{
    struct reply r = {status, REPLY_TEXT, text, strlen(text), NULL, NULL, NULL, 0};
    return reply_start(n, c, wsi, &r, end);
}

int reply_error(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *code,
                const char *message)
{
    json_t *doc = json_pack("{s:s,s:s}", "error", code, "message", message);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL)
        return -1;
    struct reply r = {status, REPLY_JSON, text, strlen(text), NULL, NULL, NULL, 0};
    int rc = reply_send(n, c, wsi, &r);
    free(text);
    return rc;
}

int reply_headers_only(struct conn *c, struct lws *wsi)
{
    c->kind = CONN_HTTP;
    c->wsi = wsi;
    free(c->body);
    if ((c->body = malloc(LWS_PRE + 1)) == NULL)
        return -1;
    c->body_len = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

int reply_writeable(struct conn *c)
{
    if (c->body == NULL)
        return 0;
    size_t len = c->body_len;
    int rc =
        len ? lws_write(c->wsi, (unsigned char *)c->body + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) : 0;
    reply_release(c);
    if (rc < (int)len || c->close_after)
        return -1; /* lws sends what it holds before it closes */
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

void reply_release(struct conn *c)
{
    free(c->body);
    c->body = NULL;
}
