/*
 * api — alertd-push's HTTP listener, on the gateway's loop through lws:
 * the registration API over TLS (or plain with --plain) on --listen, with
 * /healthz and /readyz; and, on --metrics-listen, plain HTTP serving
 * /metrics, /healthz and /readyz only. It owns HTTP: methods, request
 * bodies (Content-Length, at most REG_BODY_MAX bytes, JSON), CORS for the
 * --allowed-origin list (preflights included), the per-address rate of
 * registration requests (429 with Retry-After), and writing answers;
 * regapi decides what the registration endpoints answer.
 */
#ifndef PUSH_API_H
#define PUSH_API_H

#include "gw.h"

#define API_TIMEOUT_SECS  10
#define API_HEADER_BYTES  4096
#define API_ORIGIN_MAX    256
#define API_RATELIM_SLOTS 65536

struct api;

/* NULL with the reason logged (a port taken, a certificate that does not
 * load). */
struct api *api_start(struct gw *gw);

/* Starts closing; api_finish frees it once the loop let go of it. */
void api_stop(struct api *a);
void api_finish(struct api *a);

#endif
