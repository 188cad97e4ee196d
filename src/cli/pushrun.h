/*
 * pushrun — one run of `alert push`, `update` or `retract`, shared by the
 * three files that carry it out: push.c (arguments, the item), pushsend.c
 * (key, signature, encoding, the publish and its outcome) and hold.c
 * (embargoed alerts: holding, cancelling, replacing). Private to those.
 */
#ifndef ALERT_PUSHRUN_H
#define ALERT_PUSHRUN_H

#include "cli.h"
#include "embargo.h"
#include "item.h"
#include "options.h"

#include <hiredis.h>
#include <openssl/evp.h>
#include <jansson.h>
#include <stdint.h>

struct push_run {
    struct cli_common common;
    struct options_item opts;
    const char *kind;          /* "alert", "update", "retraction" */
    const char *help;          /* the subcommand's --help text */
    const char *ref;           /* ID of update/retract: the original alert's */
    char root[ITEM_ID_STRLEN]; /* ref, when the ID named was an update, or the
                                  id a pending alert was released as */
    const char *key;           /* --key, or auto_key */
    char auto_key[48];         /* made when --key is not given */
    const char *maxlen_s;      /* --maxlen or ALERT_MAXLEN */
    long maxlen;
    const char *durable_s;         /* --durable's N; NULL: 1 */
    int durable;                   /* --durable given */
    long replicas;                 /* replicas that must confirm */
    const char *durable_timeout_s; /* --durable-timeout */
    long durable_timeout;          /* ms */
    const char *sign_key_path;     /* --sign-key or ALERT_SIGN_KEY */
    EVP_PKEY *sign_key;            /* loaded from it */
    long wait_ms;                  /* --wait: report the receipts after that long; 0: no */
    const char *embargo_s;         /* --embargo-until */
    int64_t due_ms;                /* its time; 0: none */
    char text[ITEM_MAX_BYTES + 1]; /* -f contents */
    long text_len;                 /* -1: no file */
};

/* push.c */
/* Builds the item over `base`; returns -1 to go on (*item set), else an
 * exit status. */
int push_item(struct push_run *run, const json_t *base, json_t **item);

/* pushsend.c */
/* Reports an item error the way every subcommand does; CLI_EXIT_USAGE. */
int pushsend_invalid(const struct item_error *e);
/* The encoding that is published: "version" first, as the script reads
 * it, then the item's members in order. NULL with *err. */
char *pushsend_encode(const json_t *item, size_t *len, struct item_error *err);
/* Gives the run an idempotency key if --key did not; -1 to go on, else an
 * exit status. */
int pushsend_ensure_key(struct push_run *run);
/* With --sign-key: signs the item, which becomes public at public_ms (its
 * published_at must be within readers' freshness window of it). Returns
 * -1 to go on, else an exit status. */
int pushsend_sign(const struct push_run *run, json_t *item, int64_t public_ms);
/* Publishes the item (signed with --sign-key), prints the outcome and
 * waits for --durable's replicas; the exit status. */
int pushsend_publish(struct push_run *run, redisContext *c, const char *where, json_t *item);

/* hold.c */
/* --embargo-until: 0 with run->due_ms set, or -1 with a message in err. */
int hold_parse_time(struct push_run *run, char *err, size_t errlen);
/* Holds the new alert `item` until run->due_ms; the exit status. */
int hold_push(struct push_run *run, redisContext *c, const char *where, json_t *item);
/* update/retract of a handle (run->ref): replaces or cancels the pending
 * alert and returns the exit status, or returns -1 with run->ref now the id
 * it was released as, for the caller to update or retract as usual. */
int hold_change(struct push_run *run, redisContext *c, const char *where);

#endif
