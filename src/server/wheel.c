/*
 * wheel — see wheel.h.
 */
#include "wheel.h"

#include <stdlib.h>

int wheel_init(struct wheel *w, uint32_t span, uint32_t now)
{
    w->nslots = span + 1;
    w->now = now;
    w->slots = calloc(w->nslots, sizeof(*w->slots));
    return w->slots ? 0 : -1;
}

void wheel_free(struct wheel *w)
{
    free(w->slots); /* entries are their owners' */
    w->slots = NULL;
}

int wheel_filed(const struct wheel_entry *e)
{
    return e->pprev != NULL;
}

void wheel_del(struct wheel_entry *e)
{
    if (e->pprev == NULL)
        return;
    *e->pprev = e->next;
    if (e->next)
        e->next->pprev = e->pprev;
    e->next = NULL;
    e->pprev = NULL;
}

void wheel_add(struct wheel *w, struct wheel_entry *e, uint32_t due)
{
    uint32_t span = w->nslots - 1;
    if ((int32_t)(due - w->now) < 1)
        due = w->now + 1;
    else if (due - w->now > span)
        due = w->now + span;
    wheel_del(e);
    struct wheel_entry **head = &w->slots[due % w->nslots];
    e->next = *head;
    e->pprev = head;
    if (*head)
        (*head)->pprev = &e->next;
    *head = e;
}

void wheel_advance(struct wheel *w, uint32_t now, wheel_fn fn, void *arg)
{
    if ((int32_t)(now - w->now) <= 0)
        return;
    /* After a stall longer than the span, every slot is due: once each. */
    if (now - w->now > w->nslots)
        w->now = now - w->nslots;
    while (w->now != now) {
        w->now++;
        struct wheel_entry **head = &w->slots[w->now % w->nslots];
        /* fn files an entry again at a later second: never this slot. */
        while (*head) {
            struct wheel_entry *e = *head;
            wheel_del(e);
            fn(e, arg);
        }
    }
}
