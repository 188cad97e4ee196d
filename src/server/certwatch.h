/*
 * certwatch — reloads the TLS files and the token key when they change on
 * disk, without a signal.
 *
 * SIGHUP reloads them, but on Kubernetes nothing sends one when a renewed
 * Secret appears in the pod, and cert-manager or certbot hooks are easy to
 * forget. Each worker watches the directories holding --tls-cert,
 * --tls-key, --tls-ticket-key, --tls-ocsp and --jwt-secret (inotify through
 * libuv). Any change there is debounced for CERTWATCH_SETTLE_MS; then the files are
 * stat()ed, following links, and only when one of them is a different file
 * or has a different size or modification time does the reload run, the
 * same as SIGHUP's. Watching directories rather than files catches both a
 * file renamed over the old one and Kubernetes' swap of its ..data link.
 *
 * Runs on the worker's loop; the worker's node holds its struct.
 */
#ifndef ALERTD_CERTWATCH_H
#define ALERTD_CERTWATCH_H

#include <limits.h>
#include <sys/stat.h>
#include <uv.h>

#define CERTWATCH_SETTLE_MS 1000
#define CERTWATCH_FILES     5

struct certwatch_file {
    char path[PATH_MAX];
    struct stat st; /* as last seen; st_ino 0: missing */
};

struct certwatch {
    uv_fs_event_t dirs[CERTWATCH_FILES];
    unsigned char watching[CERTWATCH_FILES]; /* dirs[i] is open and watching */
    int ndirs;                               /* slots of dirs used, watching or not */
    uv_timer_t settle;                       /* restarted by each event; fires once they stop */
    int running;
    struct certwatch_file files[CERTWATCH_FILES];
    int nfiles;
    void (*reload)(void *user);
    void *user;
};

/* Watches the directories of `files` (NULL entries are skipped) and calls
 * reload(user) after a change has settled. Returns 0, or -1 if no
 * directory could be watched (logged; the server runs without). */
int certwatch_start(struct certwatch *w, uv_loop_t *loop, const char *const files[CERTWATCH_FILES],
                    void (*reload)(void *user), void *user);

/* Closes the watchers (asynchronously, on the loop). */
void certwatch_stop(struct certwatch *w);

#endif
