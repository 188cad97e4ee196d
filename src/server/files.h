/*
 * files — GET of the embedded files (web.h): the widget, the demo page and
 * their assets, with a strong ETag answered 304 on If-None-Match, gzip
 * when the client accepts it, and a year's caching on the versioned
 * /v/<hash>/ paths. Runs on the loop's thread.
 */
#ifndef ALERTD_FILES_H
#define ALERTD_FILES_H

#include "conn.h"
#include "node.h"

/* Answers for the asset `path` names: 1 when it names one (answered, or
 * the answer failed: *rc is 0 or -1), 0 when it names none. */
int files_serve(struct node *n, struct conn *c, struct lws *wsi, const char *path, int *rc);

#endif
