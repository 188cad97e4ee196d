/*
 * reg — a push registration: the rules of what a client may register, its
 * id and shard, its compact form in Redis, and whether an alert is for it.
 * Pure: no I/O.
 *
 * Three providers: Web Push (a browser's subscription: its endpoint URL and
 * keys), APNs (an iOS device token, hex) and FCM (an Android registration
 * token); a device token is kept in `endpoint`, lower-cased for APNs.
 * The id is the first 128 bits of SHA-256("<provider>:<endpoint>") in
 * hex, so the same device registering again lands on the same entry; the
 * shard is the id's first 32 bits modulo PUSH_SHARDS.
 */
#ifndef PUSH_REG_H
#define PUSH_REG_H

#include "ece.h"
#include "item.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define PUSH_SHARDS      1024 /* never changed on a live registry: ids would move */
#define REG_ID_LEN       32
#define REG_ENDPOINT_MAX 1024
#define REG_MAX_TOPICS   32
#define REG_MAX_LANGS    8
#define REG_BODY_MAX     8192 /* a registration request's body */
#define REG_MAX_HOSTS    16   /* --webpush-hosts entries */
#define REG_APNS_MIN     64   /* hex digits of an APNs device token (32 bytes today) */
#define REG_APNS_MAX     200  /* Apple may lengthen them: room for 100 bytes */
#define REG_FCM_MAX      1024 /* an FCM registration token (about 160 today) */

enum reg_provider { REG_WEBPUSH, REG_APNS, REG_FCM, REG_NPROVIDERS };
#define REG_BIT(p) (1u << (p))

/* "webpush", "apns", "fcm". */
const char *reg_provider_name(enum reg_provider p);

struct reg {
    char id[REG_ID_LEN + 1];
    int shard;
    enum reg_provider provider;
    char endpoint[REG_ENDPOINT_MAX + 1];
    unsigned char p256dh[ECE_PUBLIC_LEN];
    unsigned char auth[ECE_AUTH_LEN];
    char topics[REG_MAX_TOPICS][ITEM_TOPIC_MAX_LEN + 1];
    int ntopics;
    char langs[REG_MAX_LANGS][ITEM_LANG_MAX + 1]; /* lower case */
    int nlangs;
    int64_t expires_ms;
};

/* Push service hosts an endpoint may name: "host" matches that host,
 * ".domain" any host under it. */
struct reg_hosts {
    char *host[REG_MAX_HOSTS];
    int n;
};

/* A registration request's body (PROTOCOL.md, "Push registration"): 0, or
 * -1 with err naming the field and the rule. `providers` (REG_BIT bits)
 * are those this gateway sends to; another is refused. id and shard are
 * filled; expires_ms is left to the caller. */
int reg_parse_request(const char *body, size_t len, const struct reg_hosts *hosts,
                      unsigned providers, struct reg *r, struct item_error *err);

/* 1 when s is a registration id (32 lower-case hex digits). */
int reg_id_ok(const char *s);
/* The shard of a valid id. */
int reg_shard_of(const char *id);

/* The compact JSON stored in P:push:reg:<shard>; malloc'd, or NULL. */
char *reg_encode(const struct reg *r);
/* Reads what reg_encode wrote (id given, as the hash field): 0 or -1. */
int reg_decode(const char *id, const char *text, size_t len, struct reg *r);

/* 1 when an alert with these topics (a JSON array, or NULL) and language
 * (lower or any case; NULL: "en") is for this registration: no topics or
 * one in common, no languages or the alert's among them. */
int reg_matches(const struct reg *r, const json_t *topics, const char *lang);

/* Adds the hosts of a comma-separated list: 0, or -1 with err set. */
int reg_hosts_parse(struct reg_hosts *h, const char *csv, char *err, size_t errlen);
void reg_hosts_free(struct reg_hosts *h);

#endif
