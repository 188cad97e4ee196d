/*
 * procstat — see procstat.h.
 */
#include "procstat.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROCSTAT_MAX 65536 /* processes on the machine we look at */

struct procstat_entry {
    pid_t pid, ppid, pgrp;
    int64_t ticks;
};

/* pid, ppid, pgrp, utime + stime of /proc/PID/stat; 0 or -1. The command
 * name (field 2) may hold spaces and parentheses: parse after the last ')'. */
static int procstat_stat(pid_t pid, struct procstat_entry *e)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* After ")": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime (fields 3..15). */
    char state;
    int ppid, pgrp;
    unsigned long long ut, st;
    if (sscanf(p + 1, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &ppid, &pgrp,
               &ut, &st) != 5)
        return -1;
    e->pid = pid, e->ppid = ppid, e->pgrp = pgrp;
    e->ticks = (int64_t)(ut + st);
    return 0;
}

/* The value (kB) of the first line starting with `key` in `path`; -1. */
static int64_t procstat_kib(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    size_t kl = strlen(key);
    int64_t v = -1;
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0) {
            v = strtoll(line + kl, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static int procstat_selected(const struct bench_opts *o, const struct procstat_entry *all, int n,
                             int i, int depth)
{
    for (int k = 0; k < o->n_server_pids; k++)
        if (all[i].pid == o->server_pids[k])
            return 1;
    for (int k = 0; k < o->n_server_pgids; k++)
        if (all[i].pgrp == o->server_pgids[k])
            return 1;
    if (depth > 16 || all[i].ppid <= 1)
        return 0;
    for (int j = 0; j < n; j++)
        if (all[j].pid == all[i].ppid)
            return procstat_selected(o, all, n, j, depth + 1);
    return 0;
}

int procstat_read(const struct bench_opts *o, struct procstat *out)
{
    memset(out, 0, sizeof(*out));
    if (o->n_server_pids == 0 && o->n_server_pgids == 0)
        return -1;
    struct procstat_entry *all = calloc(PROCSTAT_MAX, sizeof(*all));
    DIR *d = opendir("/proc");
    if (all == NULL || d == NULL) {
        free(all);
        if (d)
            closedir(d);
        return -1;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < PROCSTAT_MAX)
        if (isdigit((unsigned char)de->d_name[0]) &&
            procstat_stat((pid_t)atoi(de->d_name), &all[n]) == 0)
            n++;
    closedir(d);
    long hz = sysconf(_SC_CLK_TCK);
    int pss_ok = 1;
    for (int i = 0; i < n; i++) {
        if (!procstat_selected(o, all, n, i, 0))
            continue;
        int64_t rss = procstat_kib(all[i].pid, "status", "VmRSS:");
        int64_t pss = procstat_kib(all[i].pid, "smaps_rollup", "Pss:");
        out->procs++;
        out->cpu_us += all[i].ticks * 1000000 / (hz > 0 ? hz : 100);
        out->rss_kib += rss > 0 ? rss : 0;
        if (pss < 0)
            pss_ok = 0;
        out->pss_kib += pss > 0 ? pss : 0;
    }
    if (!pss_ok)
        out->pss_kib = -1;
    free(all);
    return 0;
}
