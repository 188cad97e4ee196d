/*
 * uvredis — drives a hiredis 0.14 async context from a libuv loop.
 *
 * hiredis ships such an adapter (adapters/libuv.h), but it drops every
 * poll event that carries an error status: a connection refused or reset
 * is then never reported to hiredis, and the context sits silent until a
 * liveness timer notices. This one hands error events to hiredis as
 * readable and writable, so it finds the socket error itself (SO_ERROR,
 * or a failed read) and runs the connect or disconnect callback at once.
 *
 * The adapter state is freed by hiredis's cleanup hook, after libuv has
 * closed the poll handle.
 */
#ifndef ALERT_UVREDIS_H
#define ALERT_UVREDIS_H

#include <async.h>
#include <uv.h>

/* Returns REDIS_OK or REDIS_ERR (nothing attached). */
int uvredis_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
