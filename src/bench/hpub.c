/*
 * hpub — see hpub.h.
 */
#include "hpub.h"

#include "clk.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HPUB_BODY_MAX (MSG_MAX_SIZE + 1)

struct hpub {
    struct lws_context *ctx;
    char host[256];
    int port;
    char path[768];
    /* The request in flight. */
    struct msg_tag *tag;
    size_t size;
    int status; /* HTTP status, 0 before the answer, -1 on error */
    int done;   /* the transaction ended (answered, failed or closed) */
    char err[160];
    unsigned char body[LWS_PRE + HPUB_BODY_MAX];
};

static int hpub_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct hpub *h = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    char buf[LWS_PRE + 1024], cl[24];
    if (h == NULL)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        int n = snprintf(cl, sizeof(cl), "%zu", h->size);
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                         (const unsigned char *)"application/json", 16, p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                         (const unsigned char *)cl, n, p, end))
            return -1;
        lws_client_http_body_pending(wsi, 1);
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
        char *body = (char *)h->body + LWS_PRE;
        h->tag->bench_ns = clk_real_ns();
        int n = msg_build(body, HPUB_BODY_MAX, MSG_PUBLISH, h->tag, h->size);
        if (n != (int)h->size) {
            snprintf(h->err, sizeof(h->err), "message does not fit --size");
            return -1;
        }
        if (lws_write(wsi, h->body + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_FINAL) != n)
            return -1;
        lws_client_http_body_pending(wsi, 0);
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        h->status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char *px = buf + LWS_PRE;
        int lenx = (int)sizeof(buf) - LWS_PRE;
        return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ: /* the answer's body: not needed */
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(h->err, sizeof(h->err), "%.*s", in ? (int)len : 0, in ? (const char *)in : "");
        if (h->err[0] == '\0')
            snprintf(h->err, sizeof(h->err), "connection error");
        h->status = -1;
        h->done = 1;
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        h->done = 1;
        lws_set_opaque_user_data(wsi, NULL);
        lws_cancel_service(lws_get_context(wsi));
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols hpub_protocols[] = {
    {"alert-bench-http", hpub_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void hpub_log(int level, const char *line)
{
    if (level & LLL_ERR)
        fprintf(stderr, "alert-bench: lws: %s", line);
}

struct hpub *hpub_open(const char *url, char *err, size_t errlen)
{
    struct lws_context_creation_info info;
    struct in_addr ip;
    struct hpub *h = calloc(1, sizeof(*h));
    const char *p = url + 7;
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t hl = strcspn(p, ":/");
    char *end;
    if (strncmp(url, "http://", 7) != 0 || hl == 0 || hl >= sizeof(h->host) || p[hl] != ':')
        goto bad;
    memcpy(h->host, p, hl);
    h->port = (int)strtol(p + hl + 1, &end, 10);
    if (h->port < 1 || h->port > 65535 || *end != '/' ||
        snprintf(h->path, sizeof(h->path), "%s", end) >= (int)sizeof(h->path))
        goto bad;
    if (strcmp(h->host, "localhost") != 0 &&
        (inet_pton(AF_INET, h->host, &ip) != 1 || (ntohl(ip.s_addr) >> 24) != 127))
        goto bad;
    lws_set_log_level(LLL_ERR, hpub_log);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = hpub_protocols;
    info.timeout_secs = 5;
    info.connect_timeout_secs = 5;
    if ((h->ctx = lws_create_context(&info)) == NULL) {
        snprintf(err, errlen, "lws_create_context failed");
        free(h);
        return NULL;
    }
    return h;
bad:
    snprintf(err, errlen, "--publish-url must be http://HOST:PORT/PATH on loopback");
    free(h);
    return NULL;
}

int hpub_post(struct hpub *h, struct msg_tag *tag, size_t size, int timeout_ms, char *err,
              size_t errlen)
{
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof(i));
    h->tag = tag, h->size = size;
    h->status = 0, h->done = 0, h->err[0] = '\0';
    i.context = h->ctx;
    i.address = strcmp(h->host, "localhost") == 0 ? "127.0.0.1" : h->host;
    i.port = h->port;
    i.path = h->path;
    i.host = h->host;
    i.origin = h->host;
    i.method = "POST";
    i.protocol = hpub_protocols[0].name;
    i.opaque_user_data = h;
    struct lws *wsi = lws_client_connect_via_info(&i);
    if (wsi == NULL && !h->done) {
        snprintf(err, errlen, "cannot start a connection to %s:%d", h->host, h->port);
        return -1;
    }
    /* lws_service sleeps until an event or one of lws's own timers: the
     * connection's timeouts (timeout_secs) bound the wait as well. */
    int64_t deadline = clk_mono_ns() + (int64_t)timeout_ms * CLK_NS_PER_MS;
    while (!h->done && clk_mono_ns() < deadline)
        lws_service(h->ctx, 0);
    if (!h->done) {
        snprintf(err, errlen, "no answer within %d ms", timeout_ms);
        return -1;
    }
    if (h->status <= 0)
        snprintf(err, errlen, "%s", h->err[0] ? h->err : "connection closed without an answer");
    return h->status > 0 ? h->status : -1;
}

void hpub_close(struct hpub *h)
{
    if (h == NULL)
        return;
    lws_context_destroy(h->ctx);
    free(h);
}
