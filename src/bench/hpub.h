/*
 * hpub — publishing over HTTP, for servers whose publishers POST (nginx +
 * nchan: `POST http://127.0.0.1:Q/pub/CHANNEL`, the body delivered to every
 * subscriber verbatim). Built on libwebsockets' HTTP client, so that no
 * HTTP is parsed by hand.
 *
 * One connection per POST: lws 4.1's client ends a connection with its
 * transaction (LWS_CALLBACK_COMPLETED_CLIENT_HTTP). bench_ns is stamped
 * when lws asks for the body, after the connection is up and the headers
 * are out, just before the body is written: the connection set-up is not
 * part of the latency.
 *
 * Runs in the parent only, blocking: the lws loop runs only inside
 * hpub_post, never beside another loop.
 */
#ifndef BENCH_HPUB_H
#define BENCH_HPUB_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>

struct hpub;

/* Parses http://HOST:PORT/PATH (loopback only) and makes the lws context.
 * Returns NULL with the reason in err. */
struct hpub *hpub_open(const char *url, char *err, size_t errlen);

/* POSTs the publish-mode message for `tag` (size bytes), stamping
 * tag->bench_ns just before the body is written. Returns the HTTP status,
 * or -1 (no answer within timeout_ms, connection refused...) with the
 * reason in err. */
int hpub_post(struct hpub *h, struct msg_tag *tag, size_t size, int timeout_ms, char *err,
              size_t errlen);

void hpub_close(struct hpub *h);

#endif
