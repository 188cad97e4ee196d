/*
 * reply — see reply.h.
 */
#include "reply.h"

#include "origin.h"
#include "request.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int reply_headers(const struct reply *r, const char *cors_origin,
                  struct reply_header out[REPLY_MAX_HEADERS])
{
    int n = 0;
    out[n++] = (struct reply_header){"cache-control:", r->cache ? r->cache : "no-store"};
    out[n++] = (struct reply_header){"x-content-type-options:", "nosniff"};
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

int reply_add_cors(const struct node *n, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    char buf[REQUEST_ORIGIN_MAX];
    const char *origin = reply_cors_origin(n, wsi, buf, sizeof(buf));
    struct reply_header cors[] = {{"access-control-allow-origin:", origin}, {"vary:", "Origin"}};
    if (origin == NULL)
        return 0;
    return reply_add(wsi, &cors[0], p, end) || reply_add(wsi, &cors[1], p, end);
}

int reply_send(struct node *n, struct conn *c, struct lws *wsi, const struct reply *r)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    struct reply_header headers[REPLY_MAX_HEADERS];
    char origin[REQUEST_ORIGIN_MAX];
    int nheaders = reply_headers(r, reply_cors_origin(n, wsi, origin, sizeof(origin)), headers);

    c->kind = CONN_HTTP;
    c->wsi = wsi;
    free(c->body);
    c->body = malloc(LWS_PRE + r->len + 1);
    if (c->body == NULL)
        return -1;
    memcpy(c->body + LWS_PRE, r->body, r->len);
    c->body_len = r->len;
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

int reply_text(struct node *n, struct conn *c, struct lws *wsi, unsigned status, const char *text)
{
    struct reply r = {status, REPLY_TEXT, text, strlen(text), NULL, NULL, NULL, 0};
    return reply_send(n, c, wsi, &r);
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

int reply_writeable(struct conn *c)
{
    if (c->body == NULL)
        return 0;
    size_t len = c->body_len;
    int rc = lws_write(c->wsi, (unsigned char *)c->body + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
    reply_release(c);
    if (rc < (int)len)
        return -1;
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

void reply_release(struct conn *c)
{
    free(c->body);
    c->body = NULL;
}
