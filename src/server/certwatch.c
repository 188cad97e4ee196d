/*
 * certwatch — see certwatch.h.
 */
#include "certwatch.h"

#include "log.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct certwatch_file {
    char path[PATH_MAX];
    struct stat st; /* as last seen; st_ino 0: missing */
};

static struct {
    uv_fs_event_t dirs[CERTWATCH_FILES];
    int ndirs;
    uv_timer_t settle;
    int running;
    struct certwatch_file files[CERTWATCH_FILES];
    int nfiles;
    void (*reload)(void *user);
    void *user;
} certwatch;

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
    int changed = 0;
    (void)t;
    for (int i = 0; i < certwatch.nfiles; i++) {
        struct stat now;
        certwatch_stat(&certwatch.files[i], &now);
        if (!certwatch_same(&now, &certwatch.files[i].st)) {
            changed = 1;
            certwatch.files[i].st = now;
        }
    }
    if (changed) {
        log_info("key files changed on disk: reloading");
        certwatch.reload(certwatch.user);
    }
}

static void certwatch_on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    (void)h, (void)name, (void)events, (void)status;
    /* Restarted by every event: a renewal writes several files. */
    uv_timer_start(&certwatch.settle, certwatch_on_settled, CERTWATCH_SETTLE_MS, 0);
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

static int certwatch_add_dir(uv_loop_t *loop, const char *dir)
{
    for (int i = 0; i < certwatch.ndirs; i++)
        if (strcmp(certwatch.dirs[i].path, dir) == 0)
            return 0;
    uv_fs_event_t *h = &certwatch.dirs[certwatch.ndirs];
    int rc = uv_fs_event_init(loop, h);
    if (rc == 0 && (rc = uv_fs_event_start(h, certwatch_on_event, dir, 0)) != 0)
        uv_close((uv_handle_t *)h, NULL);
    if (rc != 0) {
        log_warn("cannot watch a key file directory: reload with SIGHUP", KV_S("dir", dir),
                 KV_S("error", uv_strerror(rc)));
        return -1;
    }
    certwatch.ndirs++;
    return 0;
}

int certwatch_start(uv_loop_t *loop, const char *const files[CERTWATCH_FILES],
                    void (*reload)(void *user), void *user)
{
    char dir[PATH_MAX];
    memset(&certwatch, 0, sizeof(certwatch));
    certwatch.reload = reload;
    certwatch.user = user;
    uv_timer_init(loop, &certwatch.settle);
    certwatch.running = 1;
    for (int i = 0; i < CERTWATCH_FILES; i++) {
        if (files[i] == NULL)
            continue;
        struct certwatch_file *f = &certwatch.files[certwatch.nfiles++];
        snprintf(f->path, sizeof(f->path), "%s", files[i]);
        certwatch_stat(f, &f->st);
        certwatch_dir(files[i], dir, sizeof(dir));
        certwatch_add_dir(loop, dir);
    }
    return certwatch.ndirs > 0 ? 0 : -1;
}

void certwatch_stop(void)
{
    if (!certwatch.running)
        return;
    certwatch.running = 0;
    for (int i = 0; i < certwatch.ndirs; i++)
        uv_close((uv_handle_t *)&certwatch.dirs[i], NULL);
    uv_close((uv_handle_t *)&certwatch.settle, NULL);
}
