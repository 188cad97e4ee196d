/*
 * release — the node's part in embargoes: moving embargoed alerts whose
 * time has come from where the publisher held them (embargo.h) into the
 * stream, so that every node delivers them as it delivers any alert.
 *
 * One Lua script does it, atomically for each alert: XADD to the stream
 * (the id is given now, newer than any a client holds, so a client that
 * resumes with `since` cannot skip it), PUBLISH on the live channel,
 * removal from the pending keys, and a note of the id under the handle.
 * Every worker of every node runs it, once a second and as soon as its
 * Redis link is caught up after a (re)start, so a release happens once
 * whatever the number of nodes, and one overdue while no node ran is
 * released by the first to start. The script answers how long until the
 * next alert is due: when that is under a second, the next run waits
 * only that long, so a release is late by the loop's turn, not a second.
 *
 * Commands go on the Redis link's command connection (rsub.h) while it is
 * live; runs on the loop's thread. release_stop begins an asynchronous
 * shutdown; the object frees itself once its timer is closed and no reply
 * is awaited.
 */
#ifndef ALERTD_RELEASE_H
#define ALERTD_RELEASE_H

#include "rsub.h"

#include <uv.h>

#define RELEASE_EVERY_MS 1000 /* the longest wait between two runs */
#define RELEASE_BATCH    100  /* alerts released by one run at most */

struct release;

/* NULL when out of memory. `rsub` must outlive the release object's use
 * of it: stop the release first. */
struct release *release_start(uv_loop_t *loop, struct rsub *rsub, const char *prefix);
void release_stop(struct release *r);

#endif
