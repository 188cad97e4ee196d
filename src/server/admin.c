/*
 * admin — see admin.h.
 */
#include "admin.h"

#include "metrics.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>

#define ADMIN_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

int admin_healthz(struct node *n, struct conn *c, struct lws *wsi)
{
    return reply_text(n, c, wsi, 200, "ok\n");
}

int admin_readyz(struct node *n, struct conn *c, struct lws *wsi)
{
    if (n->draining)
        return reply_text(n, c, wsi, 503, "draining\n");
    const char *refusal = rsub_refusal(n->rsub);
    if (refusal) {
        char body[400];
        snprintf(body, sizeof(body), "not ready: Redis refuses this node: %s\n", refusal);
        return reply_text(n, c, wsi, 503, body);
    }
    if (!rsub_ready(n->rsub) || !metrics_all_ready())
        return reply_text(n, c, wsi, 503, "not ready: Redis not connected or catching up\n");
    return reply_text(n, c, wsi, 200, "ready\n");
}

int admin_metrics(struct node *n, struct conn *c, struct lws *wsi)
{
    size_t need = metrics_render(NULL, 0, n->cfg->node) + 1;
    char *text = malloc(need);
    if (text == NULL)
        return -1;
    size_t len = metrics_render(text, need, n->cfg->node);
    struct reply r = {200, ADMIN_METRICS_TYPE, text, len, NULL, NULL, NULL, 0};
    int rc = reply_send(n, c, wsi, &r);
    free(text);
    return rc;
}
