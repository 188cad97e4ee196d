/*
 * metrics — see metrics.h.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct metrics_slot *metrics;

static struct metrics_slot *metrics_slots;
static int metrics_nslots;

/* Bucket upper bounds in microseconds: 1 ms to 10 s. */
static const uint64_t metrics_bounds_us[METRICS_LATENCY_BUCKETS] = {
    1000,   2500,   5000,    10000,   25000,   50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000};

int metrics_init(int nslots)
{
    size_t size = (size_t)nslots * sizeof(struct metrics_slot);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    metrics_slots = p;
    metrics_nslots = nslots;
    metrics_use_slot(0);
    return 0;
}

void metrics_use_slot(int slot)
{
    metrics = &metrics_slots[slot];
    memset(metrics, 0, sizeof(*metrics));
    metrics->pid = getpid();
    metrics_beat(); /* a worker starting is alive */
}

void metrics_release(void)
{
    if (metrics_slots)
        munmap(metrics_slots, (size_t)metrics_nslots * sizeof(struct metrics_slot));
    metrics_slots = metrics = NULL;
    metrics_nslots = 0;
}

void metrics_observe_latency(uint64_t us)
{
    metrics->latency_count++;
    metrics->latency_sum_us += us;
    for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
        if (us <= metrics_bounds_us[i]) {
            metrics->latency_buckets[i]++;
            return;
        }
    }
}

int metrics_all_ready(void)
{
    int any = 0;
    for (int i = 0; i < metrics_nslots; i++) {
        if (metrics_slots[i].pid == 0)
            continue;
        any = 1;
        if (!metrics_slots[i].ready)
            return 0;
    }
    return any;
}

uint64_t metrics_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void metrics_beat(void)
{
    metrics->beat_ms = (int64_t)metrics_now_ms();
}

const struct metrics_slot *metrics_peek(int i)
{
    return i >= 0 && i < metrics_nslots ? &metrics_slots[i] : NULL;
}

/* Sums one 64-bit field, at `offset` in the slot, over every live slot. */
static uint64_t metrics_sum_at(size_t offset)
{
    uint64_t sum = 0;
    for (int i = 0; i < metrics_nslots; i++) {
        uint64_t v;
        if (metrics_slots[i].pid == 0)
            continue;
        memcpy(&v, (const char *)&metrics_slots[i] + offset, sizeof(v));
        sum += v;
    }
    return sum;
}
#define METRICS_SUM(field) metrics_sum_at(offsetof(struct metrics_slot, field))

/* The metrics that are one field summed over the workers' slots. */
struct metrics_sum {
    const char *name;
    int counter; /* else a gauge */
    size_t offset;
    const char *help;
};

#define METRICS_FIELD(f) offsetof(struct metrics_slot, f)
static const struct metrics_sum metrics_sums[] = {
    {"redis_connected", 0, METRICS_FIELD(redis_connected), "Workers connected to Redis."},
    {"redis_reconnects_total", 1, METRICS_FIELD(redis_reconnects),
     "Redis connections re-established."},
    {"connections", 0, METRICS_FIELD(connections), "Open WebSocket and SSE clients."},
    {"connections_total", 1, METRICS_FIELD(connections_total),
     "WebSocket and SSE clients accepted."},
    {"history_alerts", 0, METRICS_FIELD(history), "Alerts held in memory (summed over workers)."},
    {"alerts_in_total", 1, METRICS_FIELD(alerts_in), "Alerts received from Redis."},
    {"alerts_invalid_total", 1, METRICS_FIELD(alerts_invalid), "Relayed items dropped as invalid."},
    {"fields_dropped_total", 1, METRICS_FIELD(fields_dropped), "Unknown item fields removed."},
    {"embargoes_released_total", 1, METRICS_FIELD(embargoes_released),
     "Embargoed alerts this node released into the stream."},
    {"deliveries_total", 1, METRICS_FIELD(deliveries), "Alert frames written to clients."},
    {"replayed_deliveries_total", 1, METRICS_FIELD(replayed),
     "Of the deliveries, alerts replayed after since: not in the latency histogram."},
    {"alert_writes_total", 1, METRICS_FIELD(alert_writes),
     "WebSocket writes carrying alerts: fewer than deliveries when batched."},
    {"ws_deflate_clients", 0, METRICS_FIELD(deflate_clients),
     "Open WebSocket clients that negotiated permessage-deflate."},
    {"ws_deflate_bytes_saved_total", 1, METRICS_FIELD(deflate_bytes_saved),
     "Alert frame bytes not written thanks to permessage-deflate (compressed vs plain)."},
    {"slow_consumer_closes_total", 1, METRICS_FIELD(slow_closes), "Clients closed with 4001."},
    {"shed_alerts_total", 1, METRICS_FIELD(shed),
     "Routine alerts not sent to WebSocket clients that fell behind (told by a shed frame)."},
    {"flash_ahead_total", 1, METRICS_FIELD(ahead),
     "Flash alerts written ahead of older alerts still waiting for a client."},
    {"too_many_connections_total", 1, METRICS_FIELD(too_many), "Clients closed with 4029."},
    {"frame_rate_closes_total", 1, METRICS_FIELD(frame_rate_closes),
     "WebSocket clients closed with 4030: frames over --max-frames-per-sec."},
    {"replay_rate_closes_total", 1, METRICS_FIELD(replay_rate_closes),
     "WebSocket clients closed with 4031: replays over --max-replays-per-min."},
    {"per_ip_refused_total", 1, METRICS_FIELD(per_ip_refused),
     "Connections refused at accept: over --max-per-ip."},
    {"per_ip_rate_refused_total", 1, METRICS_FIELD(rate_refused),
     "Connections refused at accept: over --max-rate-per-ip."},
    {"proxy_header_refused_total", 1, METRICS_FIELD(proxy_refused),
     "Connections closed for a missing, invalid or late PROXY protocol header."},
    {"replays_total", 1, METRICS_FIELD(replays), "Replays after since."},
    {"gaps_total", 1, METRICS_FIELD(gaps), "since older than the history: gap frames."},
    {"bad_requests_total", 1, METRICS_FIELD(bad_requests), "Client frames answered bad_request."},
    {"tls_handshake_failures_total", 1, METRICS_FIELD(tls_failures), "TLS handshakes that failed."},
    {"fields_full_total", 1, METRICS_FIELD(fields_full),
     "Clients that asked for fields= but get the full item: every compact set was in use."},
    {"heartbeats_total", 1, METRICS_FIELD(heartbeats),
     "Heartbeats sent: WebSocket pings and SSE comments."},
    {"sweep_visits_total", 1, METRICS_FIELD(sweep_visits),
     "Clients looked at by the heartbeat sweep (each when it is due, not every second)."},
    {"acks_total", 1, METRICS_FIELD(acks),
     "Readers' acks counted: an alert on screen, once per alert per connection."},
    {"acks_refused_total", 1, METRICS_FIELD(acks_refused),
     "Acks not counted: an alert not sent on that connection, acknowledged already, or too old."},
    {"receipt_flushes_total", 1, METRICS_FIELD(receipt_flushes),
     "Alerts' receipts added into Redis (one per alert with new figures, about each second)."},
    {"receipt_flush_errors_total", 1, METRICS_FIELD(receipt_flush_errors),
     "Receipt writes Redis refused or a lost connection dropped: those figures are lost."},
};

struct metrics_out {
    char *buf;
    size_t len, used;
};

static void metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = o->used < o->len ? o->len - o->used : 0;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + (room ? o->used : 0), room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used += (size_t)n;
}

static void metrics_one(struct metrics_out *o, const char *name, const char *type, const char *help,
                        uint64_t value)
{
    metrics_printf(o, "# HELP alertd_%s %s\n# TYPE alertd_%s %s\nalertd_%s %llu\n", name, help,
                   name, type, name, (unsigned long long)value);
}

size_t metrics_render(char *buf, size_t len, const char *node)
{
    struct metrics_out o = {buf, len, 0};
    uint64_t workers = 0;
    for (int i = 0; i < metrics_nslots; i++)
        workers += metrics_slots[i].pid != 0;

    metrics_printf(&o,
                   "# HELP alertd_info Build and node information.\n"
                   "# TYPE alertd_info gauge\nalertd_info{node=\"%s\"} 1\n",
                   node);
    metrics_one(&o, "workers", "gauge", "Worker processes serving.", workers);
    metrics_one(&o, "ready", "gauge", "1 when every worker is subscribed and caught up.",
                (uint64_t)metrics_all_ready());
    for (size_t i = 0; i < sizeof(metrics_sums) / sizeof(metrics_sums[0]); i++) {
        const struct metrics_sum *m = &metrics_sums[i];
        metrics_one(&o, m->name, m->counter ? "counter" : "gauge", m->help,
                    metrics_sum_at(m->offset));
    }

    metrics_printf(&o, "# HELP alertd_delivery_latency_seconds Publish to write latency of live "
                       "alerts (replays are counted apart).\n"
                       "# TYPE alertd_delivery_latency_seconds histogram\n");
    uint64_t cumulative = 0;
    for (int b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
        cumulative += METRICS_SUM(latency_buckets[b]);
        metrics_printf(&o, "alertd_delivery_latency_seconds_bucket{le=\"%g\"} %llu\n",
                       (double)metrics_bounds_us[b] / 1e6, (unsigned long long)cumulative);
    }
    metrics_printf(&o,
                   "alertd_delivery_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
                   "alertd_delivery_latency_seconds_sum %.6f\n"
                   "alertd_delivery_latency_seconds_count %llu\n",
                   (unsigned long long)METRICS_SUM(latency_count),
                   (double)METRICS_SUM(latency_sum_us) / 1e6,
                   (unsigned long long)METRICS_SUM(latency_count));
    return o.used;
}
