/*
 * opts — alert-bench's command line. Every flag is listed, with its default,
 * by `alert-bench --help` and in bench/README.md; keep the three in step
 * (bench/README.md is what scripts/bench.sh is written against).
 */
#ifndef BENCH_OPTS_H
#define BENCH_OPTS_H

#include "msg.h"

#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#define OPTS_MAX_PIDS       64
#define OPTS_MAX_ALERTS     10000
#define OPTS_MAX_BURST      10000 /* --burst */
#define OPTS_MAX_PER_WORKER 19000 /* sockets a worker may hold: open files are 20,000 */

/* How alerts reach the server (--publish-mode). */
enum opts_via {
    VIA_ALERT_CLI, /* alertd: `alert push -f -` (message format MSG_ALERTD) */
    VIA_REDIS,     /* publish: PUBLISH CHANNEL (MSG_PUBLISH) */
    VIA_HTTP,      /* nchan-http: POST --publish-url (MSG_PUBLISH) */
};

struct bench_opts {
    /* Target: wss://HOST:PORT/PATH, loopback only. */
    char url[1024];
    char host[256];          /* as written: sent in Host, and as SNI if a name */
    int port;                /* 443 if the URL has none */
    char path[768];          /* path and query, "/" if the URL has none */
    struct sockaddr_in dst;  /* the resolved address, in 127.0.0.0/8 */
    const char *subprotocol; /* offered in Sec-WebSocket-Protocol, or NULL */
    int deflate;             /* offer permessage-deflate (WSP_PMD_OFFER) and inflate */
    const char *fields;      /* --fields: appended to the path's query as fields=, or NULL */
    /* Connections */
    uint32_t clients;       /* N */
    double rate;            /* connections started per second, all workers */
    int procs;              /* worker processes */
    uint32_t sources;       /* source addresses 127.0.X.Y */
    double connect_timeout; /* seconds for TCP + TLS + upgrade */
    uint32_t max_pending;   /* handshakes in flight per worker */
    int resume;             /* reconnect everyone once with the session tickets */
    /* TLS */
    const char *ca;           /* trust only this file; NULL: see insecure */
    int insecure;             /* no certificate verification */
    const char *ciphersuites; /* TLS 1.3 suites */
    const char *ciphers;      /* TLS 1.2 cipher list, if the server has no 1.3 */
    /* Alerts */
    uint32_t alerts;         /* K */
    double alert_rate;       /* per second */
    uint32_t size;           /* bytes of the message a client receives */
    uint32_t burst;          /* alertd mode: routine alerts written ahead of each alert */
    enum opts_via via;       /* --publish-mode */
    enum msg_mode mode;      /* the message format, which follows from via */
    const char *channel;     /* publish mode: the pub/sub channel */
    const char *publish_url; /* nchan-http mode: where to POST */
    const char *redis_url;
    const char *prefix;    /* alertd mode: key prefix (P:live is watched) */
    const char *alert_bin; /* alertd mode: the `alert` CLI */
    double drain;          /* seconds after the last publish before missing counts */
    double settle;         /* seconds between connected and measuring idle RSS */
    /* Output and measurement */
    const char *json;                 /* --json FILE, or NULL */
    const char *record;               /* --record FILE: client 0's text messages, or NULL */
    const char *label;                /* free text copied into the JSON (e.g. "nchan") */
    pid_t server_pids[OPTS_MAX_PIDS]; /* --server-pid: measured with their descendants */
    int n_server_pids;
    pid_t server_pgids[OPTS_MAX_PIDS]; /* --server-pgid: every process of these groups */
    int n_server_pgids;
    int has_cpus;
    cpu_set_t cpus; /* --cpu: where every alert-bench process runs */
    int quiet;      /* no progress lines */
    /* --tls-write-limit mode */
    uint32_t tls_write_limit; /* connections; 0: the normal mode */
    double duration;          /* seconds per measurement */
};

/* Fills o from argv. Returns 0 to run, 1 when --help or --version printed
 * what was asked, -1 on a usage error (already reported on stderr). */
int opts_parse(struct bench_opts *o, int argc, char **argv);

/* "alertd", "publish" or "nchan-http". */
const char *opts_via_name(enum opts_via via);

/* The source address of the connection with global index i. */
struct in_addr opts_source(const struct bench_opts *o, uint32_t i);

#endif
