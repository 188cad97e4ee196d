/*
 * alert-bench — the load generator and measuring instrument of issue 5.
 * See bench/README.md for what it does and what its numbers mean.
 *
 *   opts      the command line            run       the parent's phases
 *   worker    one load process            conn      one client connection
 *   inbox     what a client reads         wsp       WebSocket client protocol
 *   tlsc      client TLS context          msg       the alert message format
 *   pub       publishing the alerts       hpub      ... over HTTP (nchan)
 *   procstat  server CPU and memory       stats     worker counters
 *   ipc       parent <-> worker pipes     hist      latency histograms
 *   report    table and JSON              tlsw      --tls-write-limit
 *   clk       clocks
 */
#include "opts.h"
#include "run.h"
#include "tlsw.h"

#include <signal.h>

int main(int argc, char **argv)
{
    struct bench_opts o;
    int rc = opts_parse(&o, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    /* A peer that goes away must show up as an error, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (o.tls_write_limit)
        return tlsw_run(&o);
    return run_bench(&o);
}
