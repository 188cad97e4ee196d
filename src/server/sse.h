/*
 * sse — GET /v1/sse, the Server-Sent Events fallback for browsers and
 * networks where WebSocket fails. The same admission, hub cursor, filter,
 * replay and bounded-queue rule as the WebSocket path; events carry `id:`
 * = the alert id so EventSource resumes by itself with Last-Event-ID.
 * Events waiting for a client go out together in one write.
 * Runs on the loop's thread.
 */
#ifndef ALERTD_SSE_H
#define ALERTD_SSE_H

#include "conn.h"
#include "node.h"

/* Admits the client and starts the stream (headers, hello, attach), or
 * answers the refusal; 0, or -1 to drop the connection. */
int sse_start(struct node *n, struct conn *c, struct lws *wsi);
int sse_writeable(struct node *n, struct conn *c);
/* lws does not read an HTTP connection mid-response: a client that hung
 * up is noticed by a look at least this often (seconds), whatever its
 * heartbeat. */
#define SSE_HANGUP_SECS 2

/* The sweep's look at a client due (sweep.c): ends the stream of a client
 * that hung up, and sends a heartbeat comment every heartbeat seconds.
 * Returns the loop second of its next look, 0 when it is closing. */
uint32_t sse_heartbeat(struct conn *c, uint32_t now);
/* Ends the stream now (drain, slow consumer, expired token). */
void sse_close(struct conn *c);

#endif
