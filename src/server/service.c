/*
 * service — see service.h.
 */
#include "service.h"

#include "log.h"
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SERVICE_RELOAD_STATUS "STATUS=reloading the TLS certificate and keys"

int service_open(struct service *s, int nworkers, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->nworkers = nworkers;
    if (sdnotify_open(&s->sd, err, errlen))
        return -1;
    s->ping_ms = s->sd.watchdog_usec / 2000;
    if (s->sd.watchdog_usec && s->ping_ms == 0)
        s->ping_ms = 1;
    s->next_ping = metrics_now_ms() + s->ping_ms;
    return 0;
}

int service_active(const struct service *s)
{
    return sdnotify_active(&s->sd);
}

void service_close(struct service *s)
{
    sdnotify_close(&s->sd);
}

/* One notification; a failure is logged when it starts, not every time. */
static void service_send(struct service *s, const char *msg)
{
    char err[256];
    if (sdnotify_send(&s->sd, msg, err, sizeof(err)) == 0) {
        if (s->failing)
            log_info("service manager notified again", KV_I("pid", getpid()));
        s->failing = 0;
    } else if (!s->failing) {
        log_warn("cannot notify the service manager", KV_S("error", err));
        s->failing = 1;
    }
}

/* Worker i's slot when the process pids[i] has claimed it; else NULL. */
static const struct metrics_slot *service_slot(const pid_t *pids, int i)
{
    const struct metrics_slot *m = metrics_peek(i);
    return pids[i] > 0 && m && m->pid == (int64_t)pids[i] ? m : NULL;
}

/* What the workers are doing, summed from their slots. */
struct service_view {
    int serving, redis_ready, alive;
    long long clients;
};

static void service_look(const struct service *s, const pid_t *pids, uint64_t now,
                         struct service_view *v)
{
    memset(v, 0, sizeof(*v));
    v->alive = 1;
    v->redis_ready = 1;
    for (int i = 0; i < s->nworkers; i++) {
        const struct metrics_slot *m = service_slot(pids, i);
        if (m == NULL) /* being started (again): not stuck */
            continue;
        if (now > (uint64_t)m->beat_ms + SERVICE_BEAT_STALE_MS)
            v->alive = 0;
        if (!m->serving)
            continue;
        v->serving++;
        v->clients += m->connections;
        v->redis_ready &= m->ready != 0;
    }
    if (v->serving < s->nworkers)
        v->redis_ready = 0;
}

static void service_status_text(const struct service *s, const struct service_view *v, char *buf,
                                size_t len)
{
    if (s->stopping)
        snprintf(buf, len, "STATUS=draining: workers %d/%d, readers %lld left", v->serving,
                 s->nworkers, v->clients);
    else if (s->reloading)
        snprintf(buf, len, "%s", SERVICE_RELOAD_STATUS);
    else if (!s->ready)
        snprintf(buf, len, "STATUS=starting: workers %d/%d serving", v->serving, s->nworkers);
    else
        snprintf(buf, len, "STATUS=serving: workers %d/%d, readers %lld, Redis %s", v->serving,
                 s->nworkers, v->clients,
                 v->redis_ready ? "caught up" : "not connected or catching up");
}

/* Sends `head` (may be empty) with the STATUS line when either is news. */
static void service_say(struct service *s, const struct service_view *v, const char *head)
{
    char status[SDNOTIFY_MAX], msg[SDNOTIFY_MAX + 64];
    service_status_text(s, v, status, sizeof(status));
    if (head[0] == '\0' && strcmp(status, s->status) == 0)
        return;
    snprintf(msg, sizeof(msg), "%s%s", head, status);
    memcpy(s->status, status, sizeof(status));
    service_send(s, msg);
}

/* 1 once every worker signalled for a reload has counted it, or is gone. */
static int service_reloaded(const struct service *s, const pid_t *pids)
{
    for (int i = 0; i < s->nworkers; i++) {
        const struct metrics_slot *m = service_slot(pids, i);
        if (s->reload_pid[i] == 0 || m == NULL || m->pid != s->reload_pid[i])
            continue; /* a worker started since loads the files itself */
        if (m->reloads <= s->reload_mark[i])
            return 0;
    }
    return 1;
}

uint64_t service_tick(struct service *s, const pid_t *pids)
{
    struct service_view v;
    uint64_t now = metrics_now_ms(), wait = SERVICE_TICK_MS;
    if (!service_active(s))
        return UINT64_MAX;
    service_look(s, pids, now, &v);
    if (!s->ready && !s->stopping && v.serving == s->nworkers) {
        s->ready = 1;
        service_say(s, &v, "READY=1\n");
    } else if (s->reloading && service_reloaded(s, pids)) {
        s->reloading = 0;
        service_say(s, &v, "READY=1\n");
    } else {
        service_say(s, &v, "");
    }
    if ((!s->ready && !s->stopping) || s->reloading)
        wait = SERVICE_POLL_MS;
    if (s->ping_ms) {
        if (now >= s->next_ping && v.alive) {
            service_send(s, "WATCHDOG=1");
            s->next_ping = now + s->ping_ms;
        }
        uint64_t due = s->next_ping > now ? s->next_ping - now : SERVICE_POLL_MS;
        if (due < wait)
            wait = due;
    }
    return wait;
}

void service_stopping(struct service *s, const pid_t *pids)
{
    struct service_view v;
    if (!service_active(s) || s->stopping)
        return;
    s->stopping = 1;
    s->reloading = 0;
    service_look(s, pids, metrics_now_ms(), &v);
    service_say(s, &v, "STOPPING=1\n");
}

void service_reloading(struct service *s, const pid_t *pids)
{
    struct timespec ts;
    char msg[128];
    if (!service_active(s) || !s->ready || s->stopping)
        return; /* before READY=1 there is nothing to re-announce */
    for (int i = 0; i < s->nworkers; i++) {
        const struct metrics_slot *m = service_slot(pids, i);
        s->reload_pid[i] = m ? m->pid : 0;
        s->reload_mark[i] = m ? m->reloads : 0;
    }
    s->reloading = 1;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\n" SERVICE_RELOAD_STATUS,
             (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
    snprintf(s->status, sizeof(s->status), "%s", SERVICE_RELOAD_STATUS); /* sent with it */
    service_send(s, msg);
}
