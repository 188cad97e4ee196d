/*
 * stats — `alert stats ID` and the report `push --wait` prints: every
 * node's receipts for an alert (P:rcpt:<id> lists the nodes, each node's
 * hash holds its figures: receipt.h), summed and printed as one line or,
 * with --json, an object.
 */
#ifndef ALERT_STATS_H
#define ALERT_STATS_H

#include <hiredis.h>

/* The longest --wait. */
#define STATS_WAIT_MAX_MS 60000

int stats_cmd(int argc, char **argv);

/* "2s", "500ms" or "3" (seconds) into milliseconds, 1 ms to
 * STATS_WAIT_MAX_MS: 0 or -1. */
int stats_parse_wait(const char *s, long *ms);

/* Waits `wait_ms`, then prints "ID: reached ..." for `id` on stdout:
 * the exit status (CLI_EXIT_OK, or CLI_EXIT_REDIS with a message). */
int stats_after_wait(redisContext *c, const char *prefix, const char *id, long wait_ms,
                     const char *where);

#endif
