/*
 * cframe — what a client's WebSocket text frame asks for
 * (proto/PROTOCOL.md, section 2, "Client → server"): a ping, or a
 * subscribe with its filter, its `since` and its token; anything else is
 * a bad request with the reason the client is told.
 *
 * ws.c takes the frame's bytes off lws and acts on the answer (grants,
 * the hub, the abuse count); this module only reads the text, so the
 * rules of a client frame are unit-tested and fuzzed without a socket.
 * Pure: no lws, no node, no clock.
 *
 * Ownership: cframe_parse fills a struct cframe that holds the decoded
 * JSON (`token` points into it) and a malloc'd filter; cframe_release
 * frees both, so a caller that keeps the filter takes it (sets it NULL).
 */
#ifndef ALERTD_CFRAME_H
#define ALERTD_CFRAME_H

#include "acks.h"
#include "hubfilter.h"

#include <jansson.h>
#include <stddef.h>

enum cframe_type { CFRAME_BAD, CFRAME_PING, CFRAME_SUBSCRIBE, CFRAME_ACK };

struct cframe {
    enum cframe_type type;
    char err[160];             /* CFRAME_BAD: what is wrong, for the error frame */
    struct hub_filter *filter; /* subscribe: malloc'd; empty lists mean everything */
    int has_since;             /* subscribe: `since` is an id (null or absent: 0) */
    struct item_id since;
    int has_token;                    /* subscribe: a "token" member is present */
    const char *token;                /* its text when it is a string, else NULL */
    struct item_id ids[ACKS_MAX_IDS]; /* ack: the ids acknowledged (acks.h) */
    size_t nids;
    json_t *doc; /* the decoded frame */
};

/* Reads text[0..len) (need not be NUL-terminated) into *f: what the
 * frame asks for, or CFRAME_BAD with f->err set (out of memory included).
 * Call cframe_release after, whatever the answer. */
void cframe_parse(const char *text, size_t len, struct cframe *f);
/* Frees the document and the filter, if still held. */
void cframe_release(struct cframe *f);

#endif
