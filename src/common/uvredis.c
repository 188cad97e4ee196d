/*
 * uvredis — see uvredis.h.
 */
#include "uvredis.h"

#include <stdlib.h>

struct uvredis {
    redisAsyncContext *ac; /* NULL once hiredis let go of the context */
    uv_poll_t poll;
    int events;
};

static void uvredis_on_poll(uv_poll_t *handle, int status, int events)
{
    struct uvredis *u = handle->data;
    if (status < 0) /* an error on the socket: let hiredis find out which */
        events = u->events;
    if (u->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(u->ac);
    /* The read may have ended the context (its cleanup clears u->ac). */
    if (u->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(u->ac);
}

static void uvredis_update(struct uvredis *u, int add, int del)
{
    u->events = (u->events | add) & ~del;
    if (u->events)
        uv_poll_start(&u->poll, u->events, uvredis_on_poll);
    else
        uv_poll_stop(&u->poll);
}

static void uvredis_add_read(void *p)
{
    uvredis_update(p, UV_READABLE, 0);
}

static void uvredis_del_read(void *p)
{
    uvredis_update(p, 0, UV_READABLE);
}

static void uvredis_add_write(void *p)
{
    uvredis_update(p, UV_WRITABLE, 0);
}

static void uvredis_del_write(void *p)
{
    uvredis_update(p, 0, UV_WRITABLE);
}

static void uvredis_on_close(uv_handle_t *handle)
{
    free(handle->data);
}

static void uvredis_cleanup(void *p)
{
    struct uvredis *u = p;
    u->ac = NULL;
    uv_close((uv_handle_t *)&u->poll, uvredis_on_close);
}

int uvredis_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    struct uvredis *u;
    if (ac->ev.data != NULL || (u = calloc(1, sizeof(*u))) == NULL)
        return REDIS_ERR;
    if (uv_poll_init(loop, &u->poll, ac->c.fd) != 0) {
        free(u);
        return REDIS_ERR;
    }
    u->ac = ac;
    u->poll.data = u;
    ac->ev.data = u;
    ac->ev.addRead = uvredis_add_read;
    ac->ev.delRead = uvredis_del_read;
    ac->ev.addWrite = uvredis_add_write;
    ac->ev.delWrite = uvredis_del_write;
    ac->ev.cleanup = uvredis_cleanup;
    return REDIS_OK;
}
