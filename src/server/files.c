/*
 * files — see files.h.
 */
#include "files.h"

#include "reply.h"
#include "request.h"

#define FILES_CACHE_VERSIONED "public, max-age=31536000, immutable"
#define FILES_CACHE_PLAIN     "public, max-age=300"

/* 1 when the client takes gzip (Accept-Encoding; x-gzip is its old name,
 * RFC 9110 section 8.4.1.3). */
static int files_gzip_accepted(struct lws *wsi)
{
    char buf[512];
    return request_header(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, buf, sizeof(buf)) > 0 &&
           (request_list_accepts(buf, "gzip") || request_list_accepts(buf, "x-gzip"));
}

int files_serve(struct node *n, struct conn *c, struct lws *wsi, const char *path, int *rc)
{
    int versioned;
    const struct web_asset *a = web_find(&n->web, path, &versioned);
    const char *cache = versioned ? FILES_CACHE_VERSIONED : FILES_CACHE_PLAIN;
    if (a == NULL)
        return 0;
    if (request_header_is(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, a->etag)) {
        struct reply r = {304, a->file->ctype, "", 0, cache, a->etag, NULL, 1};
        *rc = reply_send(n, c, wsi, &r);
        return 1;
    }
    int gz = a->gz && files_gzip_accepted(wsi);
    struct reply r = {
        200,   a->file->ctype, gz ? a->gz : a->file->data, gz ? a->gz_len : a->file->len,
        cache, a->etag,        gz ? "gzip" : NULL,         a->gz != NULL};
    *rc = reply_send(n, c, wsi, &r);
    return 1;
}
