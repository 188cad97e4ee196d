/*
 * h2 — HTTPS requests to the push services through libcurl's multi_socket
 * API on the gateway's libuv loop: a uv_poll per socket curl opens and one
 * uv_timer for curl's timeouts, no thread. Requests to one host share TLS
 * connections as HTTP/2 streams (CURLPIPE_MULTIPLEX, CURLOPT_PIPEWAIT),
 * each connection carrying at most 1/H2_SPREAD of --concurrency, and
 * enough connections allowed per host for every request the gateway may
 * have in flight: none waits unseen in libcurl's queue. HTTP/1.1 is the
 * fallback curl negotiates itself. Only https URLs, no redirects. Easy
 * handles are kept for reuse.
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
/* The connections one provider's --concurrency requests are spread over.
 * libcurl 7.88 runs every transfer of a connection (a poll() and clock
 * reads each) on every event of its socket, so a connection's streams are
 * capped: CPU per request stays flat however many wait on a slow push
 * service (bench/README.md, "Push"). */
#define H2_SPREAD 8

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
 * concurrency: one provider's bound on requests in flight (--concurrency);
 * a connection carries at most h2_streams_per_connection(concurrency)
 * streams. in_flight_max: the most requests the caller may have in flight
 * at once, all hosts together: as any of them may go to one host, each
 * host gets up to h2_host_connections(concurrency, in_flight_max)
 * connections, room for all of them. NULL on failure, with err set. */
struct h2 *h2_new(uv_loop_t *loop, const char *ca_file, int concurrency, int in_flight_max,
                  char *err, size_t errlen);

/* ceil(concurrency / H2_SPREAD), at least 1. */
long h2_streams_per_connection(int concurrency);

/* ceil(in_flight_max / h2_streams_per_connection(concurrency)), at least 1:
 * the connections to one host that carry in_flight_max requests. */
long h2_host_connections(int concurrency, int in_flight_max);

/* Starts a POST; 0, or -1 (the callback will not run). */
int h2_post(struct h2 *h, struct h2_req *req);

/* Requests not yet answered. */
int h2_in_flight(const struct h2 *h);

/* Cancels what is in flight (their callbacks run), closes the loop
 * handles and frees h once they are closed. Never from a `done` callback:
 * h2 is still reading libcurl's results on the stack below it. */
void h2_free(struct h2 *h);

#endif
