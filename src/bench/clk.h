/*
 * clk — the clocks alert-bench reads: monotonic time for phases and
 * deadlines, real time for the timestamps alerts carry (the publisher and
 * the clients are on one machine and share CLOCK_REALTIME), and the CPU
 * time this process has used.
 */
#ifndef BENCH_CLK_H
#define BENCH_CLK_H

#include <stdint.h>

#define CLK_NS_PER_S  1000000000LL
#define CLK_NS_PER_MS 1000000LL
#define CLK_NS_PER_US 1000LL

int64_t clk_mono_ns(void); /* CLOCK_MONOTONIC: the same clock in every process */
int64_t clk_real_ns(void); /* CLOCK_REALTIME: what bench_ns in an alert is */
int64_t clk_cpu_us(void);  /* user + system CPU of this process (getrusage) */

/* Sleeps until the monotonic time `deadline_ns` (returns at once if past). */
void clk_sleep_until(int64_t deadline_ns);

#endif
