/*
 * request — see request.h.
 */
#include "request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void request_query(struct lws *wsi, struct query *q)
{
    char arg[QUERY_ARG_MAX + 1];
    query_init(q);
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, arg, sizeof(arg), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n >= 0) {
            query_add(q, arg, (size_t)n);
            continue;
        }
        /* The end of the list, or an argument too long to keep: copied
         * whole (lws bounds it) so that its name is known. */
        int len = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (len <= 0)
            return;
        char *whole = malloc((size_t)len + 1);
        n = whole ? lws_hdr_copy_fragment(wsi, whole, len + 1, WSI_TOKEN_HTTP_URI_ARGS, i) : -1;
        query_drop(q, n >= 0 ? whole : NULL, n >= 0 ? (size_t)n : 0);
        free(whole);
    }
}

static int request_copied(int total, int copied, size_t outlen)
{
    if (total <= 0)
        return REQUEST_ABSENT;
    if ((size_t)total >= outlen || copied < 0)
        return REQUEST_TOO_LONG;
    return total;
}

int request_header(struct lws *wsi, enum lws_token_indexes h, char *out, size_t outlen)
{
    int total = lws_hdr_total_length(wsi, h);
    if (total <= 0 || (size_t)total >= outlen)
        return request_copied(total, 0, outlen);
    return request_copied(total, lws_hdr_copy(wsi, out, (int)outlen, h), outlen);
}

int request_custom_header(struct lws *wsi, const char *name, char *out, size_t outlen)
{
    int nlen = (int)strlen(name);
    int total = lws_hdr_custom_length(wsi, name, nlen);
    if (total <= 0 || (size_t)total >= outlen)
        return request_copied(total, 0, outlen);
    return request_copied(total, lws_hdr_custom_copy(wsi, out, (int)outlen, name, nlen), outlen);
}

int request_header_is(struct lws *wsi, enum lws_token_indexes h, const char *value)
{
    char buf[256];
    return request_header(wsi, h, buf, sizeof(buf)) > 0 && strcmp(buf, value) == 0;
}

int request_method(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
        return 1;
    return lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0 ? 2 : 0;
}

size_t request_header_bytes(struct lws *wsi)
{
    size_t bytes = 0;
    for (int h = 0; h < WSI_TOKEN_COUNT; h++) {
        int len = lws_hdr_total_length(wsi, (enum lws_token_indexes)h);
        if (len > 0)
            bytes += (size_t)len;
    }
    return bytes;
}

void request_token_limits(struct lws_token_limits *t, int budget)
{
    for (int h = 0; h < WSI_TOKEN_COUNT; h++)
        t->token_limit[h] = (unsigned short)(budget + 1);
}

/* The next item of a comma-separated list at *p: its start and length
 * (spaces and tabs around it trimmed); advances *p. 0 at the end. */
static int request_list_next(const char **p, const char **item, size_t *len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == ',')
        s++;
    if (*s == '\0')
        return 0;
    const char *end = s + strcspn(s, ",");
    *p = end;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *item = s;
    *len = (size_t)(end - s);
    return 1;
}

int request_list_has(const char *list, const char *token)
{
    const char *item;
    size_t len, tlen = strlen(token);
    while (request_list_next(&list, &item, &len))
        if (len == tlen && memcmp(item, token, len) == 0)
            return 1;
    return 0;
}

/* 1 when a list item's parameters (what follows its name) set q to zero:
 * q=0, q=0., q=0.0... (RFC 9110 qvalue). */
static int request_q_zero(const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end && (p = memchr(p, ';', (size_t)(end - p))) != NULL) {
        for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
            ;
        if (end - p < 2 || (*p != 'q' && *p != 'Q') || p[1] != '=')
            continue;
        p += 2;
        if (p == end || *p != '0')
            return 0;
        for (p++; p < end && (*p == '.' || *p == '0'); p++)
            ;
        return p == end || *p == ' ' || *p == '\t' || *p == ';';
    }
    return 0;
}

int request_list_accepts(const char *list, const char *coding)
{
    const char *item;
    size_t len, clen = strlen(coding);
    while (request_list_next(&list, &item, &len)) {
        size_t name = strcspn(item, ";");
        if (name > len)
            name = len;
        while (name > 0 && (item[name - 1] == ' ' || item[name - 1] == '\t'))
            name--;
        if (name == clen && strncasecmp(item, coding, clen) == 0)
            return !request_q_zero(item + name, len - name);
    }
    return 0;
}
