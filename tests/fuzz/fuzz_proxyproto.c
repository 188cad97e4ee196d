/*
 * fuzz_proxyproto — the PROXY protocol header parser (proxyproto.c) on the
 * first bytes of a connection, as the listener peeks them (run with
 * -max_len=1100: a little more than PROXYPROTO_MAX).
 *
 * Beyond "no crash, no leak, no UB":
 *   - the answer is a length within the bytes given, 0 (wait) or -1 with
 *     a reason; a wait only ever happens short of PROXYPROTO_MAX bytes;
 *   - a header found names an IPv4, IPv6 or no address, and is
 *     self-delimiting: its own bytes alone give the same length and
 *     address, and any shorter prefix of them asks to wait (the listener
 *     reads a header that arrives in pieces);
 *   - the bytes after a header never change the answer, and a prefix of
 *     bytes that ask to wait asks to wait too.
 */
#include "fuzz.h"
#include "proxyproto.h"

#include <netinet/in.h>

static void same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    FUZZ_CHECK(a->ss_family == b->ss_family);
    if (a->ss_family == AF_INET)
        FUZZ_CHECK(memcmp(a, b, sizeof(struct sockaddr_in)) == 0);
    else if (a->ss_family == AF_INET6)
        FUZZ_CHECK(memcmp(a, b, sizeof(struct sockaddr_in6)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_storage client, again;
    const char *why;
    long n = proxyproto_parse(data, size, &client, &why);
    FUZZ_CHECK(n >= -1 && n <= (long)size);
    if (n < 0) {
        FUZZ_CHECK(why != NULL && why[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(why == NULL);
    if (n == 0) {
        FUZZ_CHECK(size < PROXYPROTO_MAX);
        if (size > 0)
            FUZZ_CHECK(proxyproto_parse(data, size - 1, &again, &why) == 0);
        return 0;
    }
    FUZZ_CHECK(n <= (long)PROXYPROTO_MAX);
    FUZZ_CHECK(client.ss_family == AF_INET || client.ss_family == AF_INET6 ||
               client.ss_family == AF_UNSPEC);
    FUZZ_CHECK(proxyproto_parse(data, (size_t)n, &again, &why) == n);
    same_client(&client, &again);
    FUZZ_CHECK(proxyproto_parse(data, (size_t)n - 1, &again, &why) == 0);
    FUZZ_CHECK(proxyproto_parse(data, (size_t)n / 2, &again, &why) == 0);
    return 0;
}
