/*
 * admit — whether a node takes a new client, and on what terms: one
 * decision for WebSocket and SSE alike (the transports differ only in how
 * they say no: a close code or an HTTP status).
 *
 * In order: a draining node takes no one; a browser's Origin must be
 * allowed; the worker must have room; the query must be well formed
 * (topics, lang, since or SSE's Last-Event-ID); a token, when tokens are
 * checked, must verify and open every restricted topic the filter names;
 * heartbeat= must be a number (brought within the node's range) and
 * fields= must name known fields.
 * Pure: the caller reads the request (request.h) and the node's state; no
 * sockets, no lws, no counters.
 */
#ifndef ALERTD_ADMIT_H
#define ALERTD_ADMIT_H

#include "grant.h"
#include "hubfilter.h"
#include "query.h"

#include <stddef.h>
#include <stdint.h>

/* What the node says about taking one more client. */
struct admit_node {
    int draining;
    size_t connections; /* open clients in this worker */
    size_t max_connections;
    char *const *origins; /* allowed browser Origins; none: any */
    int norigins;
    const struct grant *grant;
    int64_t now;                      /* wall-clock seconds, for tokens' exp */
    int heartbeat;                    /* for a client that asks for none */
    int heartbeat_min, heartbeat_max; /* what an ask is brought within */
};

/* What the client asked. */
struct admit_request {
    const char *origin;    /* the Origin header; NULL: none */
    int origin_unreadable; /* an Origin header too long to read */
    const struct query *query;
    const char *last_event_id; /* SSE's Last-Event-ID; NULL: none. Wins over since=. */
};

enum admit_verdict {
    ADMIT_OK,
    ADMIT_DRAINING,    /* the node is going away */
    ADMIT_ORIGIN,      /* the Origin is not allowed */
    ADMIT_FULL,        /* the worker is at --max-connections */
    ADMIT_BAD_REQUEST, /* the query is malformed */
    ADMIT_FORBIDDEN,   /* the token, or a restricted topic it does not open */
};

struct admission {
    enum admit_verdict verdict;
    char message[160];         /* why, when refused: for an error frame or an answer */
    struct hub_filter *filter; /* admitted: malloc'd, the caller's; NULL: everything */
    int has_since;
    struct item_id since;
    uint32_t grants;   /* restricted topics its token opens */
    int64_t token_exp; /* wall-clock second its token expires; 0: no token */
    int heartbeat;     /* seconds: heartbeat= brought within the node's range */
    uint32_t fields;   /* the item fields it receives (fields.h); FIELDS_ALL: every one */
};

/* Decides; a refusal leaves nothing allocated. */
void admit_client(const struct admit_node *n, const struct admit_request *r, struct admission *a);

/* Checks `token` (NULL: none given, *grants and *exp stay) against g at
 * `now`, puts the grants into the filter *f (making one when grants open
 * something), and refuses a restricted topic *f names that they do not
 * open. 0, or -1 with err set and *f freed and NULL. */
int admit_grants(const struct grant *g, const char *token, int64_t now, struct hub_filter **f,
                 uint32_t *grants, int64_t *exp, char *err, size_t errlen);

/* The query's token= (only when g checks tokens) through admit_grants:
 * what REST asks of a request it answers at once. 0, or -1 with err set and
 * *f freed and NULL. */
int admit_query_token(const struct grant *g, const struct query *q, int64_t now,
                      struct hub_filter **f, uint32_t *grants, int64_t *exp, char *err,
                      size_t errlen);

#endif
