/*
 * pub — see pub.h.
 */
#include "pub.h"

#include "clk.h"
#include "item.h"
#include "msg.h"
#include "redisurl.h"
#include "rkeys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PUB_MSG_CAP         (MSG_MAX_SIZE + 1024)
#define PUB_HTTP_TIMEOUT_MS 5000

static void pub_error(struct pub *p, const char *fmt, const char *detail)
{
    p->errors++;
    if (p->first_error[0] == '\0')
        snprintf(p->first_error, sizeof(p->first_error), fmt, detail);
}

/* ------------------------------------------------------------------------
 * alertd mode: `alert push -f -`
 * ---------------------------------------------------------------------- */

/* Starts the `alert push` that will publish the next alert; it waits on
 * its standard input. */
static int pub_spawn(struct pub *p)
{
    const struct bench_opts *o = p->o;
    int in[2];
    posix_spawn_file_actions_t fa;
    char *argv[] = {
        "alert",           "push", "-f", "-", "--redis", (char *)o->redis_url, "--prefix",
        (char *)o->prefix, NULL};
    p->next_in = -1;
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&p->next_pid, o->alert_bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    if (rc != 0) {
        close(in[1]);
        errno = rc;
        return -1;
    }
    p->next_in = in[1];
    return 0;
}

static void pub_fire_alertd(struct pub *p, const char *msg, size_t len)
{
    if (p->next_in < 0) {
        pub_error(p, "could not start %s", p->o->alert_bin);
    } else {
        ssize_t w = write(p->next_in, msg, len); /* fits the pipe: never blocks */
        close(p->next_in);
        p->next_in = -1;
        p->running[p->n_running++] = p->next_pid;
        if (w != (ssize_t)len)
            pub_error(p, "writing to alert push: %s", strerror(errno));
    }
    if (p->published < p->o->alerts && pub_spawn(p) != 0)
        pub_error(p, "starting alert push: %s", strerror(errno));
}

static void pub_reap(struct pub *p, int block)
{
    for (uint32_t i = 0; i < p->n_running;) {
        int status;
        pid_t r = waitpid(p->running[i], &status, block ? 0 : WNOHANG);
        if (r == 0) {
            i++;
            continue;
        }
        if (r > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            char s[32];
            snprintf(s, sizeof(s), "%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            pub_error(p, "alert push exited with status %s", s);
        }
        p->running[i] = p->running[--p->n_running];
    }
}

/* --burst: B routine alerts written the way the publish script writes
 * them (XADD P:stream, then PUBLISH P:live with the id first), pipelined,
 * so that they reach alertd faster than it can fan them out. They carry no
 * bench tag: clients count them as other frames. */
static void pub_burst(struct pub *p)
{
    const struct bench_opts *o = p->o;
    static char item[PUB_MSG_CAP], live[PUB_MSG_CAP + ITEM_ID_STRLEN + 16];
    char stream[300], when[ITEM_TIME_STRLEN];
    rkeys_name(stream, sizeof(stream), o->prefix, RKEYS_STREAM, NULL);
    item_time_format(clk_real_ns() / 1000000, when);
    int n = snprintf(item, sizeof(item),
                     "{\"version\":1,\"kind\":\"alert\",\"urgency\":\"routine\","
                     "\"headline\":\"alert-bench burst\",\"lang\":\"en\",\"published_at\":\"%s\","
                     "\"summary\":\"",
                     when);
    size_t pad = o->size > (uint32_t)n + MSG_ALERTD_OVERHEAD ? o->size - (size_t)n - 100 : 1;
    pad = pad > 1000 ? 1000 : pad;
    memset(item + n, 'b', pad);
    size_t len = (size_t)n + pad;
    memcpy(item + len, "\"}", 3);
    len += 2;
    for (uint32_t i = 0; i < o->burst; i++)
        redisAppendCommand(p->cmd, "XADD %s * item %b", stream, item, len);
    char(*ids)[ITEM_ID_STRLEN] = calloc(o->burst, ITEM_ID_STRLEN);
    for (uint32_t i = 0; i < o->burst; i++) {
        redisReply *r = NULL;
        if (redisGetReply(p->cmd, (void **)&r) != REDIS_OK || r->type != REDIS_REPLY_STRING ||
            r->len >= ITEM_ID_STRLEN || ids == NULL)
            pub_error(p, "burst XADD: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : "failed");
        else
            memcpy(ids[i], r->str, r->len + 1);
        freeReplyObject(r);
    }
    for (uint32_t i = 0; ids && i < o->burst; i++) {
        int l = snprintf(live, sizeof(live), "{\"id\":\"%s\",%s", ids[i], item + 1);
        redisAppendCommand(p->cmd, "PUBLISH %s %b", p->channel, live, (size_t)l);
    }
    for (uint32_t i = 0; ids && i < o->burst; i++) {
        redisReply *r = NULL;
        if (redisGetReply(p->cmd, (void **)&r) != REDIS_OK)
            pub_error(p, "burst PUBLISH: %s", p->cmd->errstr);
        freeReplyObject(r);
    }
    free(ids);
}

/* ------------------------------------------------------------------------
 * Both modes
 * ---------------------------------------------------------------------- */

int pub_open(struct pub *p, const struct bench_opts *o, int64_t run_id, char *err, size_t errlen)
{
    struct redis_url u;
    struct timeval tv = {5, 0};
    memset(p, 0, sizeof(*p));
    p->o = o;
    p->run_id = run_id;
    p->next_in = -1;
    p->min_receivers = -1;
    p->bench_ns = calloc(o->alerts, sizeof(int64_t));
    p->seen_ns = calloc(o->alerts, sizeof(int64_t));
    p->running = calloc(o->alerts, sizeof(pid_t));
    if (!p->bench_ns || !p->seen_ns || !p->running) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (o->via == VIA_HTTP)
        return (p->http = hpub_open(o->publish_url, err, errlen)) ? 0 : -1;
    if (redisurl_parse(o->redis_url, &u, err, errlen) != 0)
        return -1;
    if (o->via == VIA_ALERT_CLI)
        rkeys_name(p->channel, sizeof(p->channel), o->prefix, RKEYS_LIVE, NULL);
    else
        snprintf(p->channel, sizeof(p->channel), "%s", o->channel);
    if ((p->sub = redisurl_connect(&u, tv, err, errlen)) == NULL)
        return -1;
    if ((o->via == VIA_REDIS || o->burst) &&
        (p->cmd = redisurl_connect(&u, tv, err, errlen)) == NULL)
        return -1;
    redisReply *r = redisCommand(p->sub, "SUBSCRIBE %s", p->channel);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "SUBSCRIBE %s: %s", p->channel,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : p->sub->errstr);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    fcntl(p->sub->fd, F_SETFD, FD_CLOEXEC);
    if (p->cmd)
        fcntl(p->cmd->fd, F_SETFD, FD_CLOEXEC);
    if (o->via == VIA_ALERT_CLI && pub_spawn(p) != 0) {
        snprintf(err, errlen, "cannot run %s: %s", o->alert_bin, strerror(errno));
        return -1;
    }
    return 0;
}

void pub_fire(struct pub *p, uint32_t seq)
{
    static char msg[PUB_MSG_CAP];
    if (p->o->burst)
        pub_burst(p); /* before the alert is stamped: its time starts behind the burst */
    struct msg_tag t = {clk_real_ns(), seq, p->run_id};
    if (p->o->via == VIA_HTTP) {
        char err[200];
        p->published++;
        int status = hpub_post(p->http, &t, p->o->size, PUB_HTTP_TIMEOUT_MS, err, sizeof(err));
        p->bench_ns[seq] = t.bench_ns;
        if (status < 0)
            pub_error(p, "POST: %s", err);
        else if (status != 201 && status != 202) {
            snprintf(err, sizeof(err), "%d", status);
            pub_error(p, "POST answered HTTP %s", err);
        }
        return;
    }
    int len = msg_build(msg, sizeof(msg), p->o->mode, &t, p->o->size);
    p->bench_ns[seq] = t.bench_ns;
    p->published++;
    if (len < 0) {
        pub_error(p, "%s", "message does not fit --size");
        return;
    }
    if (p->o->via == VIA_ALERT_CLI) {
        pub_fire_alertd(p, msg, (size_t)len);
        return;
    }
    redisReply *r = redisCommand(p->cmd, "PUBLISH %s %b", p->channel, msg, (size_t)len);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        pub_error(p, "PUBLISH: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : p->cmd->errstr);
    else if (p->min_receivers < 0 || r->integer - 1 < p->min_receivers)
        p->min_receivers = r->integer - 1; /* our own subscriber is one of them */
    freeReplyObject(r);
}

int pub_fd(const struct pub *p)
{
    return p->sub ? p->sub->fd : -1;
}

void pub_poll(struct pub *p)
{
    struct pollfd pfd = {pub_fd(p), POLLIN, 0};
    if (p->sub && p->sub->err == 0 && poll(&pfd, 1, 0) == 1 &&
        redisBufferRead(p->sub) == REDIS_OK) {
        int64_t now = clk_real_ns();
        void *v;
        while (redisGetReplyFromReader(p->sub, &v) == REDIS_OK && v != NULL) {
            redisReply *r = v;
            struct msg_tag t;
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                r->element[2]->type == REDIS_REPLY_STRING &&
                msg_scan(r->element[2]->str, r->element[2]->len, &t) == 0 && t.run == p->run_id &&
                t.seq < (int64_t)p->o->alerts && p->seen_ns[t.seq] == 0) {
                p->seen_ns[t.seq] = now;
                p->seen++;
            }
            freeReplyObject(r);
        }
    }
    pub_reap(p, 0);
}

void pub_settle(struct pub *p, int64_t deadline)
{
    while (((p->sub && p->seen < p->published) || p->n_running > 0) && clk_mono_ns() < deadline) {
        struct pollfd pfd = {pub_fd(p), POLLIN, 0};
        poll(&pfd, 1, 10);
        pub_poll(p);
    }
    for (uint32_t i = 0; i < p->n_running; i++)
        if (p->running[i] > 0)
            kill(p->running[i], SIGKILL);
    pub_reap(p, 1);
}

void pub_close_fds(struct pub *p)
{
    if (p->sub)
        close(p->sub->fd);
    if (p->cmd)
        close(p->cmd->fd);
    if (p->o && p->next_in >= 0)
        close(p->next_in);
}

void pub_close(struct pub *p)
{
    if (p->o == NULL) /* never opened */
        return;
    if (p->next_in >= 0 && p->next_pid > 0) {
        close(p->next_in);
        kill(p->next_pid, SIGKILL);
        waitpid(p->next_pid, NULL, 0);
    }
    if (p->running)
        pub_settle(p, 0);
    if (p->sub)
        redisFree(p->sub);
    if (p->cmd)
        redisFree(p->cmd);
    hpub_close(p->http);
    free(p->bench_ns);
    free(p->seen_ns);
    free(p->running);
    memset(p, 0, sizeof(*p));
}
