/*
 * cpus — how many CPUs alertd may use, for the default worker count: the
 * CPUs it may run on (sched_getaffinity: taskset, CPUAffinity=, cpusets)
 * and, if lower, its CPU quota rounded up (cgroup v2 cpu.max, or v1
 * cpu.cfs_quota_us / cpu.cfs_period_us, on its own cgroup and every parent:
 * docker --cpus, systemd CPUQuota=, a Kubernetes CPU limit). More workers
 * than the quota allows would only take turns on it.
 */
#ifndef ALERTD_CPUS_H
#define ALERTD_CPUS_H

/* At least 1. */
int cpus_available(void);

/* The CPUs a cgroup v2 cpu.max ("QUOTA PERIOD" or "max PERIOD") allows,
 * rounded up; 0 for no limit or text that is not one. */
int cpus_from_cpu_max(const char *text);

/* The same for cgroup v1's quota and period (microseconds; quota -1: no
 * limit). */
int cpus_from_cfs(long long quota, long long period);

#endif
