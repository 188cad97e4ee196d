/*
 * tailconn — the WebSocket connection behind `alert tail`: one lws client
 * context on lws's default (poll) loop, one connection at a time to
 * /v1/ws with subprotocol alert.v1, reconnection with exponential backoff
 * and full jitter, the close codes, --timeout and Ctrl-C.
 *
 * It knows nothing of the frames: each whole text message goes to
 * on_message, which keeps `resume` up to date; every new connection asks
 * for `since=<resume>` when has_resume is set.
 *
 * Ownership: the caller owns the struct and the strings it points to; the
 * lws context and the receive buffer live only inside tailconn_run. Every
 * function here, on_message included, runs on the calling thread.
 */
#ifndef ALERT_TAILCONN_H
#define ALERT_TAILCONN_H

#include "item.h"

#include <libwebsockets.h>
#include <stddef.h>

#define TAILCONN_SUBPROTOCOL "alert.v1"
#define TAILCONN_PATH_MAX    4096 /* the filter and a token of up to 2047 bytes */
#define TAILCONN_ERR_MAX     256

struct tailconn {
    /* Set by the caller before tailconn_run. */
    const char *server;           /* the URL as given, for messages */
    char host[256];               /* name or address, IPv6 without brackets */
    char host_header[300];        /* Host: value, with the port if not the default */
    int port;                     /* TCP port */
    int tls;                      /* wss:// */
    int host_is_ip6;              /* host is an IPv6 address */
    char path[TAILCONN_PATH_MAX]; /* /v1/ws with the filter query, without since */
    const char *ca;               /* extra CA file to trust, or NULL */
    int insecure;                 /* skip certificate verification */
    long timeout;                 /* seconds before the run ends; 0: none */
    void (*on_message)(struct tailconn *c, const char *msg, size_t len);

    /* Kept by on_message: resume is sent as since= on every (re)connection;
     * hello is set when this connection's hello came (0 at each connect). */
    struct item_id resume;
    int has_resume;
    int hello;

    /* Private to tailconn.c. */
    struct lws_context *ctx;
    struct lws *wsi; /* the connection, NULL between connections */
    lws_sorted_usec_list_t retry_sul, timeout_sul, grace_sul;
    lws_usec_t up_since;
    unsigned attempt; /* failed or short connections since the last healthy one */
    int slow_before;  /* a 4001 came since the last healthy connection */
    int connecting;   /* a connect call is under way: no callback reported it yet */
    int up, ever_up;  /* WebSocket established now / at least once in this run */
    int close_code;   /* from the server's close frame, 0 if none came */
    char close_reason[124];
    char last_error[TAILCONN_ERR_MAX];
    char cert_error[160];   /* why this attempt's server certificate was refused */
    int cert_name_mismatch; /* ... because it names other hosts */
    char *rx;               /* fragments of a message too big for one callback */
    size_t rx_len, rx_cap;
    int rx_skip;
    int done, gave_up, status;
};

/* Connects and serves until tailconn_finish, --timeout or SIGINT/SIGTERM;
 * reports each failure on stderr. Returns the exit status. */
int tailconn_run(struct tailconn *c);

/* Ends the run (from on_message): closes the connection with 1000, and
 * tailconn_run returns `status`. Later calls change nothing. */
void tailconn_finish(struct tailconn *c, int status);

/* Copies untrusted text for a terminal: control characters become spaces;
 * always NUL-terminated. */
void tailconn_text(char *out, size_t outlen, const char *in, size_t len);

#endif
