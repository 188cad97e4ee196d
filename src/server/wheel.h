/*
 * wheel — a timing wheel of one-second slots: the next second at which
 * each client needs a look (a heartbeat due, a silent client to close, a
 * token to expire), so that the once-a-second sweep visits only the
 * clients due, not all of them. A client with a 25 s heartbeat is visited
 * about once per heartbeat, whatever else its neighbours asked for.
 *
 * Entries are intrusive (two pointers in their owner, no allocation per
 * entry). A deadline further than the wheel's span is filed at the end of
 * the span and simply filed again when it comes round. Pure: no clock of
 * its own, no I/O; runs on one thread.
 */
#ifndef ALERTD_WHEEL_H
#define ALERTD_WHEEL_H

#include <stdint.h>

struct wheel_entry {
    struct wheel_entry *next, **pprev; /* pprev NULL: not filed */
};

struct wheel {
    struct wheel_entry **slots; /* second s is slots[s % nslots] */
    uint32_t nslots;
    uint32_t now; /* every entry due at or before this second has been taken */
    /* Seconds of a monotonic clock (the loop's): they never go back, and
     * would wrap only after 136 years. */
};

typedef void (*wheel_fn)(struct wheel_entry *e, void *arg);

/* A wheel whose deadlines lie at most `span` seconds ahead of `now`
 * exactly. 0, or -1 out of memory. */
int wheel_init(struct wheel *w, uint32_t span, uint32_t now);
/* Frees the slots; entries still filed are left as they are. */
void wheel_free(struct wheel *w);

/* Files e (again, if filed) for second `due`, brought within
 * (w->now, w->now + span]. */
void wheel_add(struct wheel *w, struct wheel_entry *e, uint32_t due);
void wheel_del(struct wheel_entry *e);
int wheel_filed(const struct wheel_entry *e);

/* Moves to second `now`: every entry due by then is taken off the wheel
 * and handed to fn, which may file it again (for a later second). Each
 * second passed costs one slot's look, however many entries are filed. */
void wheel_advance(struct wheel *w, uint32_t now, wheel_fn fn, void *arg);

#endif
