/*
 * test_ipcount — per-address connection counting for --max-per-ip.
 */
#include "ipcount.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return sa;
}

static void test_limit_per_address(void)
{
    struct ipcount t;
    struct sockaddr_in a = v4("127.0.0.1"), b = v4("127.0.0.2");
    ASSERT_EQ(ipcount_init(&t, 16, 2), 0);
    long a1 = ipcount_acquire(&t, (struct sockaddr *)&a);
    long a2 = ipcount_acquire(&t, (struct sockaddr *)&a);
    ASSERT_TRUE(a1 >= 0 && a1 == a2);
    ASSERT_EQ(ipcount_acquire(&t, (struct sockaddr *)&a), -1);
    ASSERT_TRUE(ipcount_acquire(&t, (struct sockaddr *)&b) >= 0);
    ipcount_release(&t, a1);
    ASSERT_EQ(ipcount_acquire(&t, (struct sockaddr *)&a), a1);
    ipcount_free(&t);
}

static void test_ipv4_and_its_mapped_ipv6_form_are_one_address(void)
{
    struct ipcount t;
    struct sockaddr_in a = v4("10.1.2.3");
    struct sockaddr_in6 m = {0};
    m.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &m.sin6_addr);
    ipcount_init(&t, 16, 1);
    ASSERT_TRUE(ipcount_acquire(&t, (struct sockaddr *)&a) >= 0);
    ASSERT_EQ(ipcount_acquire(&t, (struct sockaddr *)&m), -1);
    ipcount_free(&t);
}

static void test_churn_keeps_the_table_usable(void)
{
    struct ipcount t;
    char ip[32];
    ipcount_init(&t, 8, 1); /* 64 slots, room for 32 live addresses */
    /* Many distinct addresses come and go: tombstones must not fill it. */
    for (int round = 0; round < 2000; round++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", round / 250, round % 250);
        struct sockaddr_in a = v4(ip);
        long slot = ipcount_acquire(&t, (struct sockaddr *)&a);
        ASSERT_TRUE(slot >= 0);
        ipcount_release(&t, slot);
    }
    ASSERT_EQ(t.live, 0);
    size_t used = 0;
    for (size_t i = 0; i < t.cap; i++)
        used += t.slots[i].used;
    ASSERT_EQ(used, 0);
    ipcount_free(&t);
}

static void test_full_table_refuses(void)
{
    struct ipcount t;
    char ip[32];
    long slots[64];
    int got = 0;
    ipcount_init(&t, 8, 5);
    for (int i = 0; i < 64; i++) {
        snprintf(ip, sizeof(ip), "10.9.0.%d", i);
        struct sockaddr_in a = v4(ip);
        slots[i] = ipcount_acquire(&t, (struct sockaddr *)&a);
        got += slots[i] >= 0;
    }
    ASSERT_EQ(got, 32); /* half the slots stay free */
    for (int i = 0; i < 64; i++)
        ipcount_release(&t, slots[i]);
    ASSERT_EQ(t.live, 0);
    ipcount_free(&t);
}

TEST_MAIN(TEST_CASE(test_limit_per_address),
          TEST_CASE(test_ipv4_and_its_mapped_ipv6_form_are_one_address),
          TEST_CASE(test_churn_keeps_the_table_usable), TEST_CASE(test_full_table_refuses))
