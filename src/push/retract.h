/*
 * retract — the retraction marks of the alerts this gateway is sending,
 * for deliver. A story's mark, P:push:retracted:<root>, is set by the
 * gateway that read its retraction (fleet's plan script). deliver reads it
 * as each job of an alert starts (with the job's other reads) and judges
 * the answer here; while a job of the alert is here, this module reads it
 * again every RETRACT_WATCH_MS: one read per alert at a time, so a slow
 * Redis makes the reads rarer, never more numerous. An answer that is an
 * error (an ACL without EXISTS, a script-less proxy, ...) is logged once
 * per alert: the alert's sends would otherwise never stop, silently. Once
 * the mark is seen, `seen` runs (once per alert) and the alert is read no
 * more.
 */
#ifndef PUSH_RETRACT_H
#define PUSH_RETRACT_H

#include "gw.h"
#include "itemid.h"

#define RETRACT_WATCH_MS 100 /* a sending alert's mark read this often */

struct retract;

/* One alert's watch. Made by retract_watch_new; its owner gives it up with
 * retract_watch_free (freed at once, or when its read is answered). */
struct retract_watch {
    char key[GW_KEY_MAX];       /* P:push:retracted:<root> */
    char alert[ITEM_ID_STRLEN]; /* for logs */
    struct retract *r;
    void *owner;
    int jobs;    /* jobs of the alert here: read while > 0 */
    int reading; /* a read of this module's outstanding */
    int warned;  /* an error answer logged */
    int seen;    /* retracted */
    int orphan;  /* given up while reading: the answer frees it */
    struct retract_watch *prev, *next;
};

/* The alert's mark was seen (from a read of this module's). */
typedef void (*retract_seen_fn)(void *owner, void *user);

struct retract *retract_new(struct gw *gw, retract_seen_fn seen, void *user);

/* A watch of the alert `alert`, of story `root`; NULL when out of memory. */
struct retract_watch *retract_watch_new(struct retract *r, const char *alert, const char *root,
                                        void *owner);
void retract_watch_free(struct retract *r, struct retract_watch *w);

/* A job of the alert starts sending (read from now on), or ends. */
void retract_hold(struct retract *r, struct retract_watch *w);
void retract_release(struct retract_watch *w);

/* An answer to EXISTS of w->key (deliver's read as a job starts): 1 the
 * first time the alert is seen retracted, else 0 (an error logged, once). */
int retract_answer(struct retract_watch *w, const redisReply *reply);

/* Closes the timer; frees r once the loop has run again. */
void retract_free(struct retract *r);

#endif
