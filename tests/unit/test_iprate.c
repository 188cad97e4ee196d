/*
 * test_iprate — new connections per address per second, for
 * --max-rate-per-ip.
 */
#include "iprate.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return sa;
}

static int allowed(struct iprate *r, const char *ip, uint32_t second, int tries)
{
    struct sockaddr_in a = v4(ip);
    int n = 0;
    for (int i = 0; i < tries; i++)
        n += iprate_allow(r, (struct sockaddr *)&a, second);
    return n;
}

static void test_limit_per_address_per_second(void)
{
    struct iprate r;
    ASSERT_EQ(iprate_init(&r, 1024, 3), 0);
    ASSERT_EQ(allowed(&r, "127.0.0.1", 100, 5), 3);
    ASSERT_EQ(allowed(&r, "127.0.0.2", 100, 5), 3); /* another address: its own budget */
    ASSERT_EQ(allowed(&r, "127.0.0.1", 100, 1), 0);
    ASSERT_EQ(allowed(&r, "127.0.0.1", 101, 5), 3); /* the next second: afresh */
    iprate_free(&r);
}

static void test_ipv4_and_its_mapped_ipv6_form_share_a_budget(void)
{
    struct iprate r;
    struct sockaddr_in6 m = {0};
    m.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &m.sin6_addr);
    iprate_init(&r, 64, 2);
    ASSERT_EQ(allowed(&r, "10.1.2.3", 7, 2), 2);
    ASSERT_EQ(iprate_allow(&r, (struct sockaddr *)&m, 7), 0);
    iprate_free(&r);
}

static void test_zero_is_no_limit(void)
{
    struct iprate r;
    ASSERT_EQ(iprate_init(&r, 1024, 0), 0);
    ASSERT_TRUE(r.slots == NULL);
    ASSERT_EQ(allowed(&r, "127.0.0.1", 1, 10000), 10000);
    iprate_free(&r);
}

static void test_many_addresses_are_never_refused_wrongly(void)
{
    struct iprate r;
    char ip[32];
    int refused = 0;
    iprate_init(&r, 64, 1); /* far fewer slots than addresses: collisions */
    for (int i = 0; i < 5000; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
        refused += allowed(&r, ip, 9, 1) == 0;
    }
    ASSERT_EQ(refused, 0);
    iprate_free(&r);
}

TEST_MAIN(TEST_CASE(test_limit_per_address_per_second),
          TEST_CASE(test_ipv4_and_its_mapped_ipv6_form_share_a_budget),
          TEST_CASE(test_zero_is_no_limit),
          TEST_CASE(test_many_addresses_are_never_refused_wrongly))
