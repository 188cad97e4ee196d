/*
 * tcprx — how many bytes a TCP socket has received: the kernel's count of
 * payload bytes taken in order (TCP_INFO's tcpi_bytes_received, RFC 4898's
 * tcpEStatsAppHCThruOctetsReceived), i.e. everything the server sent on it:
 * TLS record headers, AEAD tags and content types included, TCP/IP headers
 * not. A module of its own because it needs <linux/tcp.h>, whose struct
 * tcp_info is newer than glibc's and cannot be included beside
 * <netinet/tcp.h>.
 */
#ifndef BENCH_TCPRX_H
#define BENCH_TCPRX_H

#include <stdint.h>

/* The bytes fd has received so far, or -1 (not a TCP socket, or a kernel
 * without the count: before 4.1). */
int64_t tcprx_bytes(int fd);

#endif
