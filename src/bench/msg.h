/*
 * msg — the benchmark's alert message: built by the publisher, recognised
 * by every client.
 *
 * Every alert carries ext {"bench_ns": <CLOCK_REALTIME ns at publish>,
 * "seq": <0..K-1>, "run": <this run's random id>} (the run id keeps two
 * benchmarks sharing a Redis apart) and is padded so that the WebSocket message a client
 * receives is about `size` bytes, whichever server relays it:
 *
 *   MSG_ALERTD   an item for `alert push -f -`, padded in `summary` (and,
 *                past the 1000 characters a summary may have, in ext.pad);
 *                alertd adds id, kind, version, lang, published_at and the
 *                {"type":"alert","alert":...} frame around it, estimated
 *                as MSG_ALERTD_OVERHEAD bytes. The size clients actually
 *                received is reported, so the estimate is checked each run.
 *   MSG_PUBLISH  the whole frame as alertd would send it, for servers that
 *                relay a Redis PUBLISH verbatim (nchan, the Node server);
 *                exactly `size` bytes.
 */
#ifndef BENCH_MSG_H
#define BENCH_MSG_H

#include <stddef.h>
#include <stdint.h>

enum msg_mode { MSG_ALERTD, MSG_PUBLISH };

#define MSG_MIN_SIZE        256   /* smaller targets cannot hold the fields */
#define MSG_MAX_SIZE        65536 /* publish mode */
#define MSG_ALERTD_MAX_SIZE 3000  /* alertd mode: summary 1000 + ext 2 KiB */
#define MSG_ALERTD_OVERHEAD 129   /* bytes alertd adds to the item (see above) */

/* What identifies one alert of one run. */
struct msg_tag {
    int64_t bench_ns; /* CLOCK_REALTIME at publish */
    int64_t seq;      /* 0 .. K-1 */
    int64_t run;      /* the run's id, 1 .. 2^53 */
};

/* Writes the message for `tag` into out (cap bytes, NUL-terminated).
 * Returns its length, or -1 if size is out of range. */
int msg_build(char *out, size_t cap, enum msg_mode mode, const struct msg_tag *tag, size_t size);

/* Finds "bench_ns", "seq" and "run" in a received text message, in any
 * order, without decoding the JSON. Returns 0 with *tag filled, or -1 when
 * the message is not a benchmark alert (hello, pong, anything else). */
int msg_scan(const char *p, size_t n, struct msg_tag *tag);

/* A fresh run id. */
int64_t msg_run_id(void);

#endif
