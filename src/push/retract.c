/*
 * retract — see retract.h.
 */
#include "retract.h"

#include "log.h"
#include "rkeys.h"

#include <stdlib.h>
#include <string.h>

struct retract {
    struct gw *gw;
    retract_seen_fn seen;
    void *user;
    struct retract_watch *watches;
    uv_timer_t timer;
};

struct retract *retract_new(struct gw *gw, retract_seen_fn seen, void *user)
{
    struct retract *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->gw = gw;
    r->seen = seen;
    r->user = user;
    uv_timer_init(gw->loop, &r->timer);
    uv_unref((uv_handle_t *)&r->timer); /* never what keeps the loop running */
    r->timer.data = r;
    return r;
}

struct retract_watch *retract_watch_new(struct retract *r, const char *alert, const char *root,
                                        void *owner)
{
    struct retract_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    rkeys_name(w->key, sizeof(w->key), r->gw->cfg->prefix, RKEYS_PUSH_RETRACTED, root);
    snprintf(w->alert, sizeof(w->alert), "%s", alert);
    w->r = r;
    w->owner = owner;
    w->next = r->watches;
    if (r->watches)
        r->watches->prev = w;
    r->watches = w;
    return w;
}

void retract_watch_free(struct retract *r, struct retract_watch *w)
{
    if (w == NULL)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        r->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    if (w->reading)
        w->orphan = 1;
    else
        free(w);
}

int retract_answer(struct retract_watch *w, const redisReply *reply)
{
    if (reply && reply->type == REDIS_REPLY_ERROR && !w->warned) {
        w->warned = 1;
        log_error("cannot read a retraction mark: the alert's sends would not stop if its story "
                  "were retracted",
                  KV_S("alert", w->alert), KV_S("key", w->key), KV_S("detail", reply->str));
    }
    if (w->seen || reply == NULL || reply->type != REDIS_REPLY_INTEGER || reply->integer != 1)
        return 0;
    w->seen = 1;
    return 1;
}

static void retract_on_read(redisAsyncContext *ac, void *reply, void *priv)
{
    struct retract_watch *w = priv;
    (void)ac;
    w->reading = 0;
    if (w->orphan) {
        free(w);
        return;
    }
    if (retract_answer(w, reply))
        w->r->seen(w->owner, w->r->user); /* may free w */
}

/* Each watch with jobs here, not seen retracted and not being read, is
 * read; none with jobs left: the timer stops. */
static void retract_on_timer(uv_timer_t *t)
{
    struct retract *r = t->data;
    int watched = 0;
    for (struct retract_watch *w = r->watches; w; w = w->next) {
        if (w->jobs == 0 || w->seen)
            continue;
        watched++;
        if (!w->reading && rconn_cmd(&r->gw->cmd, retract_on_read, w, "EXISTS %s", w->key) == 0)
            w->reading = 1;
    }
    if (watched == 0)
        uv_timer_stop(t);
}

void retract_hold(struct retract *r, struct retract_watch *w)
{
    w->jobs++;
    if (!w->seen && !uv_is_active((uv_handle_t *)&r->timer))
        uv_timer_start(&r->timer, retract_on_timer, RETRACT_WATCH_MS, RETRACT_WATCH_MS);
}

void retract_release(struct retract_watch *w)
{
    w->jobs--;
}

static void retract_closed(uv_handle_t *h)
{
    free(h->data);
}

void retract_free(struct retract *r)
{
    while (r->watches)
        retract_watch_free(r, r->watches);
    uv_close((uv_handle_t *)&r->timer, retract_closed);
}
