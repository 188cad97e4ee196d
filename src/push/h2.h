/*
 * h2 — HTTPS requests to the push services through libcurl's multi_socket
 * API on the gateway's libuv loop: a uv_poll per socket curl opens and one
 * uv_timer for curl's timeouts, no thread. Requests to one host share one
 * TLS connection as HTTP/2 streams (CURLPIPE_MULTIPLEX, CURLOPT_PIPEWAIT);
 * HTTP/1.1 is the fallback curl negotiates itself. Only https URLs, no
 * redirects. Easy handles are kept for reuse.
 *
 * A request's URL, headers and body belong to the caller and must live
 * until its `done` callback, which runs on the loop exactly once (also
 * for a request h2_free cancels, with status 0 and CURLE_ABORTED_BY_CALLBACK).
 */
#ifndef PUSH_H2_H
#define PUSH_H2_H

#include <curl/curl.h>
#include <stddef.h>
#include <uv.h>

#define H2_TIMEOUT_MS         30000
#define H2_CONNECT_TIMEOUT_MS 10000
#define H2_RETRY_AFTER_MAX    32
#define H2_ANSWER_MAX         16384 /* an answer's body kept for `done`; the rest dropped */

struct h2;
struct h2_req;

/* status: the HTTP status, or 0 when no answer came (code says why,
 * error its text). retry_after: the Retry-After header's value, or "".
 * The answer's body is req->answer (answer_len bytes, NUL-terminated, its
 * first H2_ANSWER_MAX bytes; NULL when empty), freed after `done`. */
typedef void (*h2_done_fn)(struct h2_req *req, long status, const char *retry_after, CURLcode code,
                           const char *error);

struct h2_req {
    const char *url;
    struct curl_slist *headers;
    const void *body;
    size_t len;
    h2_done_fn done;
    void *user;
    /* h2's */
    CURL *easy;
    char retry_after[H2_RETRY_AFTER_MAX];
    char error[CURL_ERROR_SIZE];
    char *answer;
    size_t answer_len;
    struct h2 *h2;
    struct h2_req *prev, *next; /* in flight */
};

/* ca_file: CA bundle to verify the services with, NULL for the system's.
 * NULL on failure, with err set. */
struct h2 *h2_new(uv_loop_t *loop, const char *ca_file, char *err, size_t errlen);

/* Starts a POST; 0, or -1 (the callback will not run). */
int h2_post(struct h2 *h, struct h2_req *req);

/* Requests not yet answered. */
int h2_in_flight(const struct h2 *h);

/* Cancels what is in flight (their callbacks run), closes the loop
 * handles and frees h once they are closed. */
void h2_free(struct h2 *h);

#endif
