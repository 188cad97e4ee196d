/*
 * admin — the operator's endpoints: GET /healthz (the process serves),
 * /readyz (subscribed to Redis and caught up, on every worker; 503 while
 * draining or while Redis is away or refuses the node) and /metrics (the
 * Prometheus text of every worker's counters). /healthz and /readyz are
 * served on the readers' port and --metrics-listen's; /metrics on
 * --metrics-listen's, and on the readers' only with --public-metrics.
 * Runs on the loop's thread.
 */
#ifndef ALERTD_ADMIN_H
#define ALERTD_ADMIN_H

#include "conn.h"
#include "node.h"

int admin_healthz(struct node *n, struct conn *c, struct lws *wsi);
int admin_readyz(struct node *n, struct conn *c, struct lws *wsi);
int admin_metrics(struct node *n, struct conn *c, struct lws *wsi);

#endif
