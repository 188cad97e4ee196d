/*
 * Unit tests for sdnotify.c: NOTIFY_SOCKET and the watchdog variables read
 * from the environment, and datagrams received on real unix sockets bound
 * here (a path and an abstract name).
 */
#include "sdnotify.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void clear_env(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

/* A datagram socket bound to `name` (a path, or @ and an abstract name). */
static int bind_receiver(const char *name)
{
    struct sockaddr_un a;
    size_t len = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, name, len);
    if (name[0] == '@')
        a.sun_path[0] = '\0';
    else
        unlink(name);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] != '@'));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, alen) < 0) {
        perror("bind");
        return -1;
    }
    return fd;
}

/* Opens from NOTIFY_SOCKET=name, sends `msg`, and returns what arrived. */
static void round_trip(const char *name, const char *msg, char *got, size_t gotlen)
{
    struct sdnotify s;
    char err[256];
    int fd = bind_receiver(name);
    got[0] = '\0';
    clear_env();
    setenv("NOTIFY_SOCKET", name, 1);
    if (fd < 0 || sdnotify_open(&s, err, sizeof(err)) != 0)
        return;
    if (sdnotify_send(&s, msg, err, sizeof(err)) == 0) {
        ssize_t n = recv(fd, got, gotlen - 1, MSG_DONTWAIT);
        got[n > 0 ? n : 0] = '\0';
    }
    sdnotify_close(&s);
    close(fd);
    if (name[0] == '/')
        unlink(name);
}

static void test_a_path_socket_gets_the_datagram(void)
{
    char path[64], got[128];
    snprintf(path, sizeof(path), "/tmp/alertd-sdnotify-%d.sock", (int)getpid());
    round_trip(path, "READY=1\nSTATUS=serving", got, sizeof(got));
    ASSERT_STR_EQ(got, "READY=1\nSTATUS=serving");
}

static void test_an_abstract_socket_gets_the_datagram(void)
{
    char name[64], got[128];
    snprintf(name, sizeof(name), "@alertd-sdnotify-%d", (int)getpid());
    round_trip(name, "WATCHDOG=1", got, sizeof(got));
    ASSERT_STR_EQ(got, "WATCHDOG=1");
}

static void test_the_environment_is_taken_once(void)
{
    struct sdnotify s;
    char err[256], name[64];
    snprintf(name, sizeof(name), "@alertd-sdnotify-env-%d", (int)getpid());
    clear_env();
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "3000000", 1);
    ASSERT_EQ(sdnotify_open(&s, err, sizeof(err)), 0);
    ASSERT_TRUE(sdnotify_active(&s));
    ASSERT_EQ(s.watchdog_usec, 3000000);
    ASSERT_TRUE(getenv("NOTIFY_SOCKET") == NULL);
    ASSERT_TRUE(getenv("WATCHDOG_USEC") == NULL);
    sdnotify_close(&s);
    ASSERT_TRUE(!sdnotify_active(&s));
}

static void test_without_notify_socket_sends_do_nothing(void)
{
    struct sdnotify s;
    char err[256];
    clear_env();
    ASSERT_EQ(sdnotify_open(&s, err, sizeof(err)), 0);
    ASSERT_TRUE(!sdnotify_active(&s));
    ASSERT_EQ(sdnotify_send(&s, "READY=1", err, sizeof(err)), 0);
}

static void test_the_watchdog_is_for_the_process_it_names(void)
{
    struct sdnotify s;
    char err[256], pid[32];
    clear_env();
    setenv("NOTIFY_SOCKET", "@alertd-sdnotify-unused", 1);
    setenv("WATCHDOG_USEC", "500000", 1);
    setenv("WATCHDOG_PID", "1", 1);
    ASSERT_EQ(sdnotify_open(&s, err, sizeof(err)), 0);
    ASSERT_EQ(s.watchdog_usec, 0);
    sdnotify_close(&s);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("NOTIFY_SOCKET", "@alertd-sdnotify-unused", 1);
    setenv("WATCHDOG_USEC", "500000", 1);
    setenv("WATCHDOG_PID", pid, 1);
    ASSERT_EQ(sdnotify_open(&s, err, sizeof(err)), 0);
    ASSERT_EQ(s.watchdog_usec, 500000);
    sdnotify_close(&s);
}

/* Each bad value is refused with a message naming the variable. */
static void expect_refused(const char *sock, const char *usec, const char *pid, const char *why)
{
    struct sdnotify s;
    char err[256] = "";
    clear_env();
    setenv("NOTIFY_SOCKET", sock, 1);
    if (usec)
        setenv("WATCHDOG_USEC", usec, 1);
    if (pid)
        setenv("WATCHDOG_PID", pid, 1);
    ASSERT_EQ(sdnotify_open(&s, err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, why);
    ASSERT_TRUE(!sdnotify_active(&s));
}

static void test_bad_values_are_refused(void)
{
    char longpath[200];
    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    expect_refused("run/notify", NULL, NULL, "NOTIFY_SOCKET must be an absolute path");
    expect_refused("", NULL, NULL, "NOTIFY_SOCKET must be an absolute path");
    expect_refused("@", NULL, NULL, "NOTIFY_SOCKET: empty or longer");
    expect_refused(longpath, NULL, NULL, "NOTIFY_SOCKET: empty or longer");
    expect_refused("@ok", "0", NULL, "WATCHDOG_USEC is not a positive number");
    expect_refused("@ok", "-5", NULL, "WATCHDOG_USEC is not a positive number");
    expect_refused("@ok", "10s", NULL, "WATCHDOG_USEC is not a positive number");
    expect_refused("@ok", "100", "me", "WATCHDOG_PID is not a process id");
}

static void test_a_socket_nobody_listens_on_is_an_error(void)
{
    struct sdnotify s;
    char err[256] = "";
    clear_env();
    setenv("NOTIFY_SOCKET", "/nonexistent/alertd-notify.sock", 1);
    ASSERT_EQ(sdnotify_open(&s, err, sizeof(err)), 0);
    ASSERT_EQ(sdnotify_send(&s, "READY=1", err, sizeof(err)), -1);
    ASSERT_CONTAINS(err, "/nonexistent/alertd-notify.sock");
    sdnotify_close(&s);
}

TEST_MAIN(TEST_CASE(test_a_path_socket_gets_the_datagram),
          TEST_CASE(test_an_abstract_socket_gets_the_datagram),
          TEST_CASE(test_the_environment_is_taken_once),
          TEST_CASE(test_without_notify_socket_sends_do_nothing),
          TEST_CASE(test_the_watchdog_is_for_the_process_it_names),
          TEST_CASE(test_bad_values_are_refused),
          TEST_CASE(test_a_socket_nobody_listens_on_is_an_error))
