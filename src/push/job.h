/*
 * job — one alert to the registrations of one shard, as fleet, deliver and
 * feed share it: not a module, a struct with each layer's part, and what
 * the three agree on in Redis (the consumer group, how long the sets of a
 * job live, the ownership check their scripts begin with). Every layer
 * includes this header, so none needs the header of the layer above it.
 */
#ifndef PUSH_JOB_H
#define PUSH_JOB_H

#include "itemid.h"
#include "reg.h"

#include <stddef.h>
#include <stdint.h>

#define JOB_GROUP   "push" /* the consumer group, on P:stream and P:push:jobs */
#define JOB_SET_TTL 86400  /* seconds a job's done and sending sets outlive it */
#define JOB_IDS_MAX 1024   /* registration ids per script (Lua's unpack fails past ~8000) */

/* The start of a script on an entry of the group: KEYS[1] the stream,
 * ARGV[1..3] group, consumer, entry; returns `ret` unless the entry is
 * pending to this consumer. */
#define JOB_LUA_OWNED(ret)                                                                         \
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1) "                     \
    "if #p == 0 or p[1][2] ~= ARGV[2] then return " ret " end "

struct deliver;
struct dalert;
struct dsend;
struct feed;

/* Registration ids, sorted. */
struct job_ids {
    char **ids;
    size_t n;
};

/* feed's part of a job. */
struct feed_job {
    struct feed *fd;
    int64_t lease_ms;            /* requests may start until then (sender_clock_ms) */
    int64_t mark_sent_ms;        /* when the outstanding mark was sent */
    size_t next[REG_NPROVIDERS]; /* index in sends of the next one to mark, per provider */
    int left[REG_NPROVIDERS];    /* sends not marked yet */
    int inhand[REG_NPROVIDERS];  /* marked (or being), without their final answer */
    struct dsend *held;          /* back from the sender: the lease ran out */
    struct dsend **batch;        /* the outstanding mark's sends */
    int nbatch;
    int listed; /* in the feed's list: something to mark */
    struct job *prev, *next_job;
};

struct job {
    /* fleet's */
    char entry[ITEM_ID_STRLEN]; /* its P:push:jobs entry */
    char alert[ITEM_ID_STRLEN];
    int shard;
    struct job *prev, *next;
    /* deliver's */
    struct deliver *deliver;
    struct dalert *dalert;
    struct dsend *sends;
    int nsends;
    int unfinished; /* sends without their final answer */
    int flying;     /* sends in the sender's hands */
    int loading;    /* reads from Redis outstanding */
    int aborted;
    int started;      /* sends queued */
    int watched;      /* counted in its alert's retraction watch */
    const char **rec; /* final answers to record in the done set */
    int nrec;
    struct job *rec_next;   /* in deliver's list of jobs with answers to record */
    struct job_ids done;    /* read from the done set */
    struct job_ids sending; /* read from the sending set */
    struct job *wait_next;  /* waiting for its alert to load */
    /* feed's */
    struct feed_job feed;
};

#endif
