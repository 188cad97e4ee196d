/*
 * sdnotify — see sdnotify.h.
 */
#include "sdnotify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static int sdnotify_fail(char *err, size_t errlen, const char *what, const char *value)
{
    snprintf(err, errlen, "%s", what);
    if (value)
        snprintf(err + strlen(err), errlen - strlen(err), ": \"%.200s\"", value);
    return -1;
}

/* NOTIFY_SOCKET's address: an absolute path, or '@' and an abstract name. */
static int sdnotify_address(struct sdnotify *s, const char *name, char *err, size_t errlen)
{
    size_t len = strlen(name);
    memset(&s->addr, 0, sizeof(s->addr));
    s->addr.sun_family = AF_UNIX;
    if (name[0] != '/' && name[0] != '@')
        return sdnotify_fail(err, errlen, "NOTIFY_SOCKET must be an absolute path or start with @",
                             name);
    if (len < 2 || len >= sizeof(s->addr.sun_path))
        return sdnotify_fail(err, errlen, "NOTIFY_SOCKET: empty or longer than a socket address",
                             name);
    memcpy(s->addr.sun_path, name, len);
    if (name[0] == '@') {
        s->addr.sun_path[0] = '\0'; /* abstract: the length bounds the name, no NUL */
        s->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        s->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    return 0;
}

/* WATCHDOG_USEC, for this process only (WATCHDOG_PID, when set, names it). */
static int sdnotify_watchdog(struct sdnotify *s, char *err, size_t errlen)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    s->watchdog_usec = 0;
    if (usec == NULL)
        return 0;
    if (pid != NULL) {
        errno = 0;
        unsigned long long p = strtoull(pid, &end, 10);
        if (errno || end == pid || *end != '\0' || p == 0)
            return sdnotify_fail(err, errlen, "WATCHDOG_PID is not a process id", pid);
        if (p != (unsigned long long)getpid())
            return 0; /* meant for another process */
    }
    errno = 0;
    unsigned long long v = strtoull(usec, &end, 10);
    if (errno || end == usec || *end != '\0' || v == 0 || usec[0] == '-')
        return sdnotify_fail(err, errlen, "WATCHDOG_USEC is not a positive number of microseconds",
                             usec);
    s->watchdog_usec = (uint64_t)v;
    return 0;
}

int sdnotify_open(struct sdnotify *s, char *err, size_t errlen)
{
    const char *name = getenv("NOTIFY_SOCKET");
    s->fd = -1;
    s->watchdog_usec = 0;
    if (name == NULL)
        return 0;
    if (sdnotify_address(s, name, err, errlen) || sdnotify_watchdog(s, err, errlen))
        return -1;
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0) {
        snprintf(err, errlen, "NOTIFY_SOCKET: cannot make a socket: %s", strerror(errno));
        return -1;
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return 0;
}

int sdnotify_active(const struct sdnotify *s)
{
    return s->fd >= 0;
}

int sdnotify_send(const struct sdnotify *s, const char *msg, char *err, size_t errlen)
{
    struct iovec iov = {(void *)msg, strlen(msg)};
    struct msghdr mh;
    if (s->fd < 0)
        return 0;
    memset(&mh, 0, sizeof(mh));
    mh.msg_name = (void *)&s->addr;
    mh.msg_namelen = s->addrlen;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n;
    do
        n = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        snprintf(err, errlen, "cannot notify the service manager at %s%.100s: %s",
                 s->addr.sun_path[0] ? "" : "@", s->addr.sun_path + !s->addr.sun_path[0],
                 strerror(errno));
        return -1;
    }
    return 0;
}

void sdnotify_close(struct sdnotify *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}
