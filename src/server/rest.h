/*
 * rest — GET /v1/alerts: recent history for a page that has just loaded
 * (or a client told to reload after a gap), served from the node's hub.
 */
#ifndef ALERTD_REST_H
#define ALERTD_REST_H

#include "conn.h"
#include "node.h"

#define REST_LIMIT_DEFAULT 20
#define REST_LIMIT_MAX     200

/* ?limit=N&topics=a,b&lang=en&since=ID → {"alerts":[newest first],"last_id":"…"} */
int rest_alerts(struct node *n, struct conn *c, struct lws *wsi);

#endif
