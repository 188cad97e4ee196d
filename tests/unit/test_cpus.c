/*
 * test_cpus — reading a cgroup CPU quota into a worker count.
 */
#include "cpus.h"
#include "test.h"

static void test_cpu_max(void)
{
    ASSERT_EQ(cpus_from_cpu_max("max 100000\n"), 0);
    ASSERT_EQ(cpus_from_cpu_max("100000 100000\n"), 1);
    ASSERT_EQ(cpus_from_cpu_max("150000 100000\n"), 2); /* 1.5 CPUs: two workers share it */
    ASSERT_EQ(cpus_from_cpu_max("50000 100000"), 1);
    ASSERT_EQ(cpus_from_cpu_max("400000 100000"), 4);
    ASSERT_EQ(cpus_from_cpu_max(""), 0);
    ASSERT_EQ(cpus_from_cpu_max("garbage"), 0);
    ASSERT_EQ(cpus_from_cpu_max("100000 0"), 0);
}

static void test_cfs(void)
{
    ASSERT_EQ(cpus_from_cfs(-1, 100000), 0);
    ASSERT_EQ(cpus_from_cfs(200000, 100000), 2);
    ASSERT_EQ(cpus_from_cfs(250000, 100000), 3);
    ASSERT_EQ(cpus_from_cfs(1, 100000), 1);
    ASSERT_EQ(cpus_from_cfs(100000, -1), 0);
}

static void test_available_is_at_least_one(void)
{
    ASSERT_TRUE(cpus_available() >= 1);
}

TEST_MAIN(TEST_CASE(test_cpu_max), TEST_CASE(test_cfs), TEST_CASE(test_available_is_at_least_one))
