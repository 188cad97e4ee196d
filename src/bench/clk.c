/*
 * clk — see clk.h.
 */
#include "clk.h"

#include <errno.h>
#include <sys/resource.h>
#include <time.h>

static int64_t clk_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * CLK_NS_PER_S + ts.tv_nsec;
}

int64_t clk_mono_ns(void)
{
    return clk_read(CLOCK_MONOTONIC);
}

int64_t clk_real_ns(void)
{
    return clk_read(CLOCK_REALTIME);
}

int64_t clk_cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

void clk_sleep_until(int64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / CLK_NS_PER_S), (long)(deadline_ns % CLK_NS_PER_S)};
    if (deadline_ns <= 0)
        return;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}
