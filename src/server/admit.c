/*
 * admit — see admit.h.
 */
#include "admit.h"

#include "origin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Says why; returns the verdict. */
static enum admit_verdict admit_why(struct admission *a, enum admit_verdict v, const char *message)
{
    snprintf(a->message, sizeof(a->message), "%s", message);
    return v;
}

/* Last-Event-ID (EventSource's own resume) wins over ?since=. */
static int admit_since(const struct admit_request *r, struct item_id *since)
{
    if (r->last_event_id)
        return item_id_parse(r->last_event_id, since) ? -1 : 1;
    return query_since(r->query, since);
}

int admit_grants(const struct grant *g, const char *token, int64_t now, struct hub_filter **f,
                 uint32_t *grants, int64_t *exp, char *err, size_t errlen)
{
    if (token && grant_verify(g, token, now, grants, exp, err, errlen))
        goto refuse;
    if (*f == NULL && *grants != 0 && (*f = calloc(1, sizeof(**f))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto refuse;
    }
    if (*f == NULL)
        return 0;
    (*f)->grants = *grants;
    for (int i = 0; i < (*f)->ntopics; i++) {
        uint32_t bit = grant_bit(g, (*f)->topics[i]);
        if (bit && (bit & *grants) == 0) {
            snprintf(err, errlen, "topic %s is restricted: it needs a token that grants it",
                     (*f)->topics[i]);
            goto refuse;
        }
    }
    return 0;
refuse:
    free(*f);
    *f = NULL;
    return -1;
}

int admit_query_token(const struct grant *g, const struct query *q, int64_t now,
                      struct hub_filter **f, uint32_t *grants, int64_t *exp, char *err,
                      size_t errlen)
{
    char token[GRANT_TOKEN_MAX];
    int len = grant_enabled(g) ? query_get(q, "token", token, sizeof(token)) : QUERY_ABSENT;
    if (len == QUERY_INVALID) {
        snprintf(err, errlen, "token: too long or not text");
        free(*f);
        *f = NULL;
        return -1;
    }
    return admit_grants(g, len > 0 ? token : NULL, now, f, grants, exp, err, errlen);
}

static enum admit_verdict admit_decide(const struct admit_node *n, const struct admit_request *r,
                                       struct admission *a)
{
    if (n->draining)
        return admit_why(a, ADMIT_DRAINING, "draining");
    if (r->origin_unreadable || !origin_allowed(n->origins, n->norigins, r->origin))
        return admit_why(a, ADMIT_ORIGIN, "origin not allowed");
    if (n->connections >= n->max_connections)
        return admit_why(a, ADMIT_FULL, "too many connections");
    if (query_filter(r->query, &a->filter, a->message, sizeof(a->message)))
        return ADMIT_BAD_REQUEST;
    if ((a->has_since = admit_since(r, &a->since)) < 0)
        return admit_why(a, ADMIT_BAD_REQUEST, QUERY_SINCE_RULE);
    if (admit_query_token(n->grant, r->query, n->now, &a->filter, &a->grants, &a->token_exp,
                          a->message, sizeof(a->message)))
        return ADMIT_FORBIDDEN;
    a->heartbeat =
        (int)query_clamped(r->query, "heartbeat", n->heartbeat_min, n->heartbeat_max, n->heartbeat);
    if (a->heartbeat < 0) {
        snprintf(a->message, sizeof(a->message),
                 "heartbeat must be a whole number of seconds (this node keeps it within %d-%d)",
                 n->heartbeat_min, n->heartbeat_max);
        return ADMIT_BAD_REQUEST;
    }
    if (query_fields(r->query, &a->fields, a->message, sizeof(a->message)))
        return ADMIT_BAD_REQUEST;
    return ADMIT_OK;
}

void admit_client(const struct admit_node *n, const struct admit_request *r, struct admission *a)
{
    memset(a, 0, sizeof(*a));
    a->verdict = admit_decide(n, r, a);
    if (a->verdict != ADMIT_OK) {
        free(a->filter);
        a->filter = NULL;
        a->has_since = 0;
    }
}
