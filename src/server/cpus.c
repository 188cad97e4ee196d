/*
 * cpus — see cpus.h.
 */
#include "cpus.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cpus_from_cfs(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    long long n = (quota + period - 1) / period;
    return n > INT_MAX ? INT_MAX : (int)n;
}

int cpus_from_cpu_max(const char *text)
{
    long long quota, period;
    if (strncmp(text, "max", 3) == 0)
        return 0;
    if (sscanf(text, "%lld %lld", &quota, &period) != 2)
        return 0;
    return cpus_from_cfs(quota, period);
}

static int cpus_read(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    int ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    return ok ? 0 : -1;
}

/* The limit a cgroup directory sets (v2 when v1 is 0), 0 for none. */
static int cpus_dir_limit(const char *dir, int v1)
{
    char path[PATH_MAX + 32], buf[64], buf2[64];
    if (!v1) {
        snprintf(path, sizeof(path), "%s/cpu.max", dir);
        return cpus_read(path, buf, sizeof(buf)) ? 0 : cpus_from_cpu_max(buf);
    }
    snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
    if (cpus_read(path, buf, sizeof(buf)))
        return 0;
    snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
    if (cpus_read(path, buf2, sizeof(buf2)))
        return 0;
    return cpus_from_cfs(atoll(buf), atoll(buf2));
}

/* The lowest limit on the cgroup `rel` under `mount` and its parents. */
static int cpus_walk(const char *mount, const char *rel, int v1)
{
    char dir[PATH_MAX];
    int best = 0;
    if (snprintf(dir, sizeof(dir), "%s%s", mount, rel) >= (int)sizeof(dir))
        return 0;
    size_t floor = strlen(mount);
    for (;;) {
        int n = cpus_dir_limit(dir, v1);
        if (n > 0 && (best == 0 || n < best))
            best = n;
        char *slash = strrchr(dir, '/');
        if (slash == NULL || (size_t)(slash - dir) < floor)
            break;
        *slash = '\0';
    }
    return best;
}

/* 1 when the comma-separated controller list names "cpu". */
static int cpus_has_cpu(const char *list, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && list[j] != ',')
            j++;
        if (j - i == 3 && strncmp(list + i, "cpu", 3) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

/* The CPU quota from /proc/self/cgroup's v2 and v1 "cpu" hierarchies; 0
 * when none is set or readable. */
static int cpus_quota(void)
{
    static const char *const v1_mounts[] = {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"};
    char line[PATH_MAX + 64];
    int best = 0;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        const char *rel = strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1;
        int n = 0;
        if (c2 == c1 + 1 && strncmp(line, "0:", 2) == 0) {
            n = cpus_walk("/sys/fs/cgroup", rel, 0);
        } else if (cpus_has_cpu(c1 + 1, (size_t)(c2 - c1 - 1))) {
            for (size_t i = 0; i < sizeof(v1_mounts) / sizeof(v1_mounts[0]) && n == 0; i++)
                n = cpus_walk(v1_mounts[i], rel, 1);
        }
        if (n > 0 && (best == 0 || n < best))
            best = n;
    }
    fclose(f);
    return best;
}

int cpus_available(void)
{
    cpu_set_t set;
    long cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                             : sysconf(_SC_NPROCESSORS_ONLN);
    int quota = cpus_quota();
    if (quota > 0 && quota < cpus)
        cpus = quota;
    return cpus > 0 ? (int)cpus : 1;
}
