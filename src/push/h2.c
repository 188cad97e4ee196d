/*
 * h2 — see h2.h.
 */
#include "h2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define H2_POOL_MAX 1024 /* easy handles kept for reuse */

struct h2 {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    char *ca_file;
    CURL *pool[H2_POOL_MAX];
    int npool;
    int in_flight;
    struct h2_req *flying; /* the requests in flight, for h2_free */
    int closing;
};

/* One per socket curl watches. */
struct h2_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct h2 *h2;
};

static void h2_unlink(struct h2 *h, struct h2_req *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else
        h->flying = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
    req->easy = NULL;
    h->in_flight--;
}

/* Runs the callback, then frees the answer (the callback may free req). */
static void h2_finish(struct h2_req *req, long status, CURLcode code)
{
    char *answer = req->answer;
    req->done(req, status, req->retry_after, code, req->error);
    free(answer);
}

static void h2_check_done(struct h2 *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct h2_req *req = NULL;
        long status = 0;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
        if (code == CURLE_OK)
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(h->multi, easy);
        h2_unlink(h, req);
        if (h->npool < H2_POOL_MAX && !h->closing) {
            curl_easy_reset(easy);
            h->pool[h->npool++] = easy;
        } else {
            curl_easy_cleanup(easy);
        }
        h2_finish(req, status, code);
    }
}

static void h2_on_poll(uv_poll_t *poll, int status, int events)
{
    struct h2_sock *s = poll->data;
    struct h2 *h = s->h2;
    int running, flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    h2_check_done(h);
}

static void h2_on_timer(uv_timer_t *timer)
{
    struct h2 *h = timer->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    h2_check_done(h);
}

static int h2_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
    struct h2 *h = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, h2_on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void h2_sock_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static int h2_socket_fn(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    struct h2 *h = userp;
    struct h2_sock *s = socketp;
    int events = 0;
    (void)easy;
    if (action == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, h2_sock_closed);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return -1;
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->h2 = h;
        s->poll.data = s;
        curl_multi_assign(h->multi, fd, s);
    }
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, h2_on_poll);
    return 0;
}

long h2_streams_per_connection(int concurrency)
{
    long n = ((long)concurrency + H2_SPREAD - 1) / H2_SPREAD;
    return n > 0 ? n : 1;
}

long h2_host_connections(int concurrency, int in_flight_max)
{
    long per = h2_streams_per_connection(concurrency);
    long n = ((long)in_flight_max + per - 1) / per;
    return n > 0 ? n : 1;
}

struct h2 *h2_new(uv_loop_t *loop, const char *ca_file, int concurrency, int in_flight_max,
                  char *err, size_t errlen)
{
    struct h2 *h = calloc(1, sizeof(*h));
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (!(v->features & CURL_VERSION_HTTP2)) {
        snprintf(err, errlen, "this libcurl (%s) has no HTTP/2", v->version);
        free(h);
        return NULL;
    }
    if (h == NULL || (h->multi = curl_multi_init()) == NULL ||
        (ca_file && (h->ca_file = strdup(ca_file)) == NULL)) {
        snprintf(err, errlen, "out of memory");
        if (h && h->multi)
            curl_multi_cleanup(h->multi);
        free(h);
        return NULL;
    }
    h->loop = loop;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, h2_socket_fn);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, h2_timer_fn);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      h2_host_connections(concurrency, in_flight_max));
    curl_multi_setopt(h->multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
                      h2_streams_per_connection(concurrency));
    return h;
}

static size_t h2_on_header(char *buf, size_t size, size_t n, void *userp)
{
    struct h2_req *req = userp;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        const char *v = buf + sizeof(name) - 1;
        size_t vlen = len - (sizeof(name) - 1);
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        if (vlen < sizeof(req->retry_after)) {
            memcpy(req->retry_after, v, vlen);
            req->retry_after[vlen] = '\0';
        }
    }
    return len;
}

static size_t h2_on_body(char *buf, size_t size, size_t n, void *userp)
{
    struct h2_req *req = userp;
    size_t len = size * n, keep = H2_ANSWER_MAX - req->answer_len;
    if (keep > len)
        keep = len;
    if (keep == 0)
        return len;
    if (req->answer == NULL && (req->answer = malloc(H2_ANSWER_MAX + 1)) == NULL)
        return len; /* the answer is judged by its status alone */
    memcpy(req->answer + req->answer_len, buf, keep);
    req->answer_len += keep;
    req->answer[req->answer_len] = '\0';
    return len;
}

int h2_post(struct h2 *h, struct h2_req *req)
{
    CURL *e = h->npool ? h->pool[--h->npool] : curl_easy_init();
    if (e == NULL || h->closing) {
        if (e)
            curl_easy_cleanup(e);
        return -1;
    }
    req->retry_after[0] = req->error[0] = '\0';
    req->answer = NULL;
    req->answer_len = 0;
    req->h2 = h;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)H2_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)H2_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, h2_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, h2_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, req);
    if (h->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return -1;
    }
    req->easy = e;
    req->prev = NULL;
    req->next = h->flying;
    if (h->flying)
        h->flying->prev = req;
    h->flying = req;
    h->in_flight++;
    return 0;
}

int h2_in_flight(const struct h2 *h)
{
    return h->in_flight;
}

static void h2_timer_closed(uv_handle_t *handle)
{
    struct h2 *h = handle->data;
    free(h->ca_file);
    free(h);
}

void h2_free(struct h2 *h)
{
    struct h2_req *req;
    if (h == NULL)
        return;
    h->closing = 1;
    while ((req = h->flying) != NULL) {
        CURL *easy = req->easy;
        curl_multi_remove_handle(h->multi, easy);
        curl_easy_cleanup(easy);
        h2_unlink(h, req);
        snprintf(req->error, sizeof(req->error), "cancelled: stopping");
        req->retry_after[0] = '\0';
        h2_finish(req, 0, CURLE_ABORTED_BY_CALLBACK);
    }
    while (h->npool)
        curl_easy_cleanup(h->pool[--h->npool]);
    curl_multi_cleanup(h->multi); /* closes the sockets: CURL_POLL_REMOVE for each */
    uv_close((uv_handle_t *)&h->timer, h2_timer_closed);
}
