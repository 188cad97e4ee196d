/*
 * proxyproto — the PROXY protocol header (versions 1 and 2, as HAProxy
 * specifies them) that a balancer puts in front of a connection to say
 * which client it carries.
 *
 * Behind an L4 balancer every reader seems to come from the balancer's
 * address, and the per-address limits (--max-per-ip, --max-rate-per-ip)
 * would count all of them as one. With --proxy-protocol every connection
 * must begin with this header, and the address it names is the one those
 * limits count. This module only parses bytes, so it is unit-tested alone;
 * the listener peeks at the socket and consumes exactly the header.
 */
#ifndef ALERTD_PROXYPROTO_H
#define ALERTD_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

/* Version 1 is one text line of at most this many bytes, CRLF included. */
#define PROXYPROTO_V1_MAX 107
/* Version 2 is 16 bytes and an address block with optional TLVs; longer
 * blocks than this are refused (HAProxy's own TLVs fit easily). */
#define PROXYPROTO_V2_MAX_BLOCK 1024
/* Enough to hold any header accepted. */
#define PROXYPROTO_MAX (16 + PROXYPROTO_V2_MAX_BLOCK)

/* Parses the header at the start of buf[0..len). Returns:
 *   > 0  its length (the client's data starts after it); *client is the
 *        client's address, or has ss_family AF_UNSPEC when the header
 *        names none (v2 LOCAL, such as a balancer's own health check; v1
 *        UNKNOWN; a v2 address family other than TCP over IPv4 or IPv6):
 *        the connection's own peer address then stands;
 *   0    a valid beginning of a header: wait for more bytes;
 *   -1   not a valid header; *why says what is wrong. */
long proxyproto_parse(const unsigned char *buf, size_t len, struct sockaddr_storage *client,
                      const char **why);

#endif
