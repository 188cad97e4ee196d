/*
 * certwatch — see certwatch.h.
 */
#include "certwatch.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void certwatch_stat(struct certwatch_file *f, struct stat *out)
{
    if (stat(f->path, out) != 0)
        memset(out, 0, sizeof(*out));
}

static int certwatch_same(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The directory events have settled: reload if a watched file changed. */
static void certwatch_on_settled(uv_timer_t *t)
{
    struct certwatch *w = t->data;
    int changed = 0;
    for (int i = 0; i < w->nfiles; i++) {
        struct stat now;
        certwatch_stat(&w->files[i], &now);
        if (!certwatch_same(&now, &w->files[i].st)) {
            changed = 1;
            w->files[i].st = now;
        }
    }
    if (changed) {
        log_info("key files changed on disk: reloading");
        w->reload(w->user);
    }
}

static void certwatch_on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    struct certwatch *w = h->data;
    (void)name, (void)events, (void)status;
    /* Restarted by every event: a renewal writes several files. */
    uv_timer_start(&w->settle, certwatch_on_settled, CERTWATCH_SETTLE_MS, 0);
}

/* The directory part of path ("." for a bare name). */
static void certwatch_dir(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

static int certwatch_add_dir(struct certwatch *w, uv_loop_t *loop, const char *dir)
{
    for (int i = 0; i < w->ndirs; i++)
        if (w->watching[i] && strcmp(w->dirs[i].path, dir) == 0)
            return 0;
    /* A slot is used once initialised, even if the watch fails: its
     * handle is closing then, and must not be initialised again. */
    int i = w->ndirs, rc = uv_fs_event_init(loop, &w->dirs[i]);
    if (rc == 0) {
        w->ndirs++;
        w->dirs[i].data = w;
        if ((rc = uv_fs_event_start(&w->dirs[i], certwatch_on_event, dir, 0)) != 0)
            uv_close((uv_handle_t *)&w->dirs[i], NULL);
    }
    if (rc != 0) {
        log_warn("cannot watch a key file directory: reload with SIGHUP", KV_S("dir", dir),
                 KV_S("error", uv_strerror(rc)));
        return -1;
    }
    w->watching[i] = 1;
    return 0;
}

int certwatch_start(struct certwatch *w, uv_loop_t *loop, const char *const files[CERTWATCH_FILES],
                    void (*reload)(void *user), void *user)
{
    char dir[PATH_MAX];
    memset(w, 0, sizeof(*w));
    w->reload = reload;
    w->user = user;
    uv_timer_init(loop, &w->settle);
    w->settle.data = w;
    w->running = 1;
    for (int i = 0; i < CERTWATCH_FILES; i++) {
        if (files[i] == NULL)
            continue;
        struct certwatch_file *f = &w->files[w->nfiles++];
        snprintf(f->path, sizeof(f->path), "%s", files[i]);
        certwatch_stat(f, &f->st);
        certwatch_dir(files[i], dir, sizeof(dir));
        certwatch_add_dir(w, loop, dir);
    }
    for (int i = 0; i < w->ndirs; i++)
        if (w->watching[i])
            return 0;
    return -1;
}

void certwatch_stop(struct certwatch *w)
{
    if (!w->running)
        return;
    w->running = 0;
    for (int i = 0; i < w->ndirs; i++)
        if (w->watching[i])
            uv_close((uv_handle_t *)&w->dirs[i], NULL);
    uv_close((uv_handle_t *)&w->settle, NULL);
}
