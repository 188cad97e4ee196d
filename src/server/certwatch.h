/*
 * certwatch — reloads the TLS files when they change on disk, without a
 * signal.
 *
 * SIGHUP reloads the certificate, but on Kubernetes nothing sends one when
 * a renewed Secret appears in the pod, and cert-manager or certbot hooks
 * are easy to forget. Each worker watches the directories holding
 * --tls-cert, --tls-key and --tls-ticket-key (inotify through libuv). Any
 * change there is debounced for CERTWATCH_SETTLE_MS; then the files are
 * stat()ed, following links, and only when one of them is a different file
 * or has a different size or modification time does the reload run, the
 * same as SIGHUP's. Watching directories rather than files catches both a
 * file renamed over the old one and Kubernetes' swap of its ..data link.
 *
 * Runs on the worker's loop; one watcher per process.
 */
#ifndef ALERTD_CERTWATCH_H
#define ALERTD_CERTWATCH_H

#include <uv.h>

#define CERTWATCH_SETTLE_MS 1000

/* Watches the directories of `files` (NULL entries are skipped; at most 3)
 * and calls reload(user) after a change has settled. Returns 0, or -1 if
 * no directory could be watched (logged; the server runs without). */
int certwatch_start(uv_loop_t *loop, const char *const files[3], void (*reload)(void *user),
                    void *user);

/* Closes the watchers (asynchronously, on the loop). */
void certwatch_stop(void);

#endif
