/*
 * proxyproto — see proxyproto.h. The format is HAProxy's "The PROXY
 * protocol", versions 1 (text) and 2 (binary).
 */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static const unsigned char proxyproto_v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
static const char proxyproto_v1_sig[6] = "PROXY ";

#define PROXYPROTO_V2_LOCAL 0x20 /* version 2, command LOCAL */
#define PROXYPROTO_V2_PROXY 0x21 /* version 2, command PROXY */
#define PROXYPROTO_V2_TCP4  0x11 /* AF_INET, SOCK_STREAM */
#define PROXYPROTO_V2_TCP6  0x21 /* AF_INET6, SOCK_STREAM */

static long proxyproto_bad(const char **why, const char *what)
{
    *why = what;
    return -1;
}

static int proxyproto_is_prefix(const unsigned char *buf, size_t len, const void *sig,
                                size_t siglen)
{
    return memcmp(buf, sig, len < siglen ? len : siglen) == 0;
}

static void proxyproto_unspec(struct sockaddr_storage *client)
{
    memset(client, 0, sizeof(*client));
    client->ss_family = AF_UNSPEC;
}

/* ------------------------------------------------------------------------
 * Version 1: "PROXY TCP4 SRC DST SPORT DPORT\r\n", or "PROXY UNKNOWN ...\r\n"
 * ---------------------------------------------------------------------- */

/* Copies the next space-separated field of line into out (NUL-ended);
 * returns 0, or -1 if there is none or it does not fit. */
static int proxyproto_v1_field(const char **line, const char *end, char *out, size_t outlen)
{
    const char *s = *line, *sp = memchr(s, ' ', (size_t)(end - s));
    const char *e = sp ? sp : end;
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    *line = sp ? sp + 1 : end;
    return 0;
}

static int proxyproto_v1_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* The line without its CRLF: s[0..len). */
static long proxyproto_v1_line(const char *s, size_t len, struct sockaddr_storage *client,
                               const char **why)
{
    const char *p = s + sizeof(proxyproto_v1_sig), *end = s + len;
    char proto[8], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], sport[8], dport[8];
    unsigned char addr[16], dst_addr[16];
    uint16_t port, dst_port;

    if (proxyproto_v1_field(&p, end, proto, sizeof(proto)))
        return proxyproto_bad(why, "v1 header without a protocol");
    if (strcmp(proto, "UNKNOWN") == 0) {
        proxyproto_unspec(client);
        return 0;
    }
    int family = strcmp(proto, "TCP4") == 0 ? AF_INET : strcmp(proto, "TCP6") == 0 ? AF_INET6 : 0;
    if (family == 0)
        return proxyproto_bad(why, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
    if (proxyproto_v1_field(&p, end, src, sizeof(src)) ||
        proxyproto_v1_field(&p, end, dst, sizeof(dst)) ||
        proxyproto_v1_field(&p, end, sport, sizeof(sport)) ||
        proxyproto_v1_field(&p, end, dport, sizeof(dport)) || p != end)
        return proxyproto_bad(why, "v1 header is not PROXY PROTO SRC DST SPORT DPORT");
    if (inet_pton(family, src, addr) != 1 || inet_pton(family, dst, dst_addr) != 1)
        return proxyproto_bad(why, "v1 address is not one of its protocol");
    if (proxyproto_v1_port(sport, &port) || proxyproto_v1_port(dport, &dst_port))
        return proxyproto_bad(why, "v1 port is not a number 0-65535");

    memset(client, 0, sizeof(*client));
    if (family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)client;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        memcpy(&v4->sin_addr, addr, 4);
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)client;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        memcpy(&v6->sin6_addr, addr, 16);
    }
    return 0;
}

static long proxyproto_v1(const unsigned char *buf, size_t len, struct sockaddr_storage *client,
                          const char **why)
{
    /* The CR is at most at PROXYPROTO_V1_MAX - 2, its LF right after it. */
    size_t last_cr = PROXYPROTO_V1_MAX - 2;
    size_t scan = len <= last_cr ? len : last_cr + 1;
    for (size_t i = sizeof(proxyproto_v1_sig); i < scan; i++) {
        if (buf[i] == '\r') {
            if (i + 1 == len)
                return 0; /* the LF is still on its way */
            if (buf[i + 1] != '\n')
                return proxyproto_bad(why, "v1 header has a CR without LF");
            if (proxyproto_v1_line((const char *)buf, i, client, why))
                return -1;
            return (long)(i + 2);
        }
        if (buf[i] < 0x20 || buf[i] > 0x7e)
            return proxyproto_bad(why, "v1 header has a byte that is not printable ASCII");
    }
    if (len > last_cr)
        return proxyproto_bad(why, "v1 header longer than 107 bytes");
    return 0;
}

/* ------------------------------------------------------------------------
 * Version 2: signature, version and command, family, length, addresses
 * ---------------------------------------------------------------------- */

static long proxyproto_v2(const unsigned char *buf, size_t len, struct sockaddr_storage *client,
                          const char **why)
{
    if (len < 16)
        return 0;
    unsigned cmd = buf[12], fam = buf[13];
    size_t block = (size_t)buf[14] << 8 | buf[15];
    if (cmd != PROXYPROTO_V2_LOCAL && cmd != PROXYPROTO_V2_PROXY)
        return proxyproto_bad(why, "v2 header with an unknown version or command");
    if (block > PROXYPROTO_V2_MAX_BLOCK)
        return proxyproto_bad(why, "v2 header longer than 1040 bytes");
    if (len < 16 + block)
        return 0;

    const unsigned char *a = buf + 16;
    proxyproto_unspec(client);
    if (cmd == PROXYPROTO_V2_LOCAL)
        return (long)(16 + block);
    if (fam == PROXYPROTO_V2_TCP4) {
        if (block < 12)
            return proxyproto_bad(why, "v2 TCP4 header shorter than its addresses");
        struct sockaddr_in *v4 = (struct sockaddr_in *)client;
        v4->sin_family = AF_INET;
        memcpy(&v4->sin_addr, a, 4);
        memcpy(&v4->sin_port, a + 8, 2);
    } else if (fam == PROXYPROTO_V2_TCP6) {
        if (block < 36)
            return proxyproto_bad(why, "v2 TCP6 header shorter than its addresses");
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)client;
        v6->sin6_family = AF_INET6;
        memcpy(&v6->sin6_addr, a, 16);
        memcpy(&v6->sin6_port, a + 32, 2);
    }
    /* Any other family (UNSPEC, UNIX, datagrams) names no TCP client: the
     * connection's own address stands. TLVs after the addresses are skipped. */
    return (long)(16 + block);
}

long proxyproto_parse(const unsigned char *buf, size_t len, struct sockaddr_storage *client,
                      const char **why)
{
    *why = NULL;
    if (len == 0)
        return 0;
    if (proxyproto_is_prefix(buf, len, proxyproto_v2_sig, sizeof(proxyproto_v2_sig)))
        return len < sizeof(proxyproto_v2_sig) ? 0 : proxyproto_v2(buf, len, client, why);
    if (proxyproto_is_prefix(buf, len, proxyproto_v1_sig, sizeof(proxyproto_v1_sig)))
        return len < sizeof(proxyproto_v1_sig) ? 0 : proxyproto_v1(buf, len, client, why);
    return proxyproto_bad(why, "the connection does not start with a PROXY protocol header");
}
