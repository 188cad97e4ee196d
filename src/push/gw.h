/*
 * gw — everything one alertd-push process keeps for its lifetime: not a
 * module, a struct. Each member names the module that writes it; main
 * makes it and frees it.
 */
#ifndef PUSH_GW_H
#define PUSH_GW_H

#include "apns.h"
#include "fcm.h"
#include "pconf.h"
#include "ratelim.h"
#include "rconn.h"
#include "redisurl.h"
#include "reg.h"
#include "vapid.h"

#include <uv.h>

#define GW_KEY_MAX 300

struct h2;
struct fleet;
struct deliver;
struct api;
struct ece;

struct gw {
    uv_loop_t *loop;                     /* main */
    const struct pconf *cfg;             /* main */
    struct redis_url url;                /* main */
    unsigned urgencies;                  /* main: NOTIF_* bits */
    struct reg_hosts hosts;              /* main: --webpush-hosts */
    struct vapid vapid;                  /* main (loaded), webpush (its JWT cache) */
    struct ece *ece;                     /* main (made); webpush encrypts with it */
    struct apns apns;                    /* main (loaded), apns (its token) */
    struct fcm fcm;                      /* main (loaded), oauth (its token) */
    unsigned providers;                  /* main: REG_BIT of the providers on */
    struct ratelim ratelim;              /* main (made), regapi */
    struct rconn cmd;                    /* main (started); commands of every module */
    struct rconn blk;                    /* main (started); fleet's blocking reads */
    struct h2 *h2;                       /* main */
    struct deliver *deliver;             /* main */
    struct fleet *fleet;                 /* main */
    struct api *api;                     /* main */
    char stream_key[GW_KEY_MAX];         /* main: P:stream */
    char jobs_key[GW_KEY_MAX];           /* main: P:push:jobs */
    uv_signal_t sigterm, sigint, sighup; /* main */
    uv_idle_t teardown;                  /* main: the stop's last step, off h2's stack */
    int stopping;                        /* main */
};

#endif
