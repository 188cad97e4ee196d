/*
 * report — the JSON form (--json); see report.h and, for the meaning of
 * each field, bench/README.md.
 */
#include "report.h"

#include "version.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

static const char *const report_json_fail[FAIL_KINDS] = {"socket",  "connect", "tls",
                                                         "upgrade", "timeout", "closed"};

/* A number, or null when negative (unknown). */
static json_t *report_json_num(double v)
{
    return v < 0 ? json_null() : json_real(v);
}

static json_t *report_json_connect(const struct report *r, const struct stats_connect *c,
                                   enum report_mark a, enum report_mark b)
{
    double wall = (double)(c->last_ns - c->first_ns) / 1e9;
    double est = (double)c->established;
    json_t *fails = json_object();
    for (int i = 0; i < FAIL_KINDS; i++)
        json_object_set_new(fails, report_json_fail[i], json_integer((json_int_t)c->fail[i]));
    return json_pack(
        "{sI sI sI so so so so so so sI sI sI ss ss ss}", "attempted", (json_int_t)c->attempted,
        "established", (json_int_t)c->established, "failed", (json_int_t)c->failed, "failures",
        fails, "wall_s", json_real(wall > 0 ? wall : 0), "handshakes_per_s",
        json_real(wall > 0 ? est / wall : 0), "client_cpu_us_per_handshake",
        report_json_num(est > 0 ? (double)c->cpu_us / est : -1), "connect_ms_mean",
        report_json_num(est > 0 ? (double)c->handshake_us / est / 1000 : -1),
        "server_cpu_us_per_handshake",
        report_json_num(report_server_cpu_per(r, a, b, c->established)), "resumed",
        (json_int_t)c->resumed, "tickets", (json_int_t)c->tickets, "deflate", (json_int_t)c->pmd,
        "tls_version", c->tls_version, "cipher", c->cipher, "first_error", c->first_error);
}

static json_t *report_json_hist(const struct hist *h)
{
    if (h->count == 0)
        return json_null();
    return json_pack("{sI sf sf sf sf sf sf sf}", "count", (json_int_t)h->count, "p50",
                     report_ms(hist_quantile(h, 0.5)), "p90", report_ms(hist_quantile(h, 0.9)),
                     "p99", report_ms(hist_quantile(h, 0.99)), "p999",
                     report_ms(hist_quantile(h, 0.999)), "max", report_ms(h->max), "min",
                     report_ms(h->min), "mean", report_ms(h->sum / h->count));
}

static json_t *report_json_delivery(const struct report *r)
{
    static const int codes[] = STATS_CLOSE_CODES;
    const struct stats_deliver *d = &r->del;
    json_t *cc = json_object();
    char name[16];
    for (int i = 0; i <= STATS_N_CLOSE; i++) {
        if (i < STATS_N_CLOSE)
            snprintf(name, sizeof(name), "%d", codes[i]);
        json_object_set_new(cc, i < STATS_N_CLOSE ? name : "other",
                            json_integer((json_int_t)d->close_codes[i]));
    }
    double dn = (double)d->deliveries, wire = report_wire_per_delivery(r);
    return json_pack(
        "{sI sI sI sI sI sI sI sI sI so sI sI sI sI so sI sI so ss}", "expected",
        (json_int_t)r->o->clients * (json_int_t)r->o->alerts, "clients", (json_int_t)d->clients,
        "deliveries", (json_int_t)d->deliveries, "missing", (json_int_t)d->missing, "duplicates",
        (json_int_t)d->duplicates, "complete_clients", (json_int_t)d->complete, "foreign",
        (json_int_t)d->foreign, "other_frames", (json_int_t)d->other_frames, "dropped",
        (json_int_t)d->dropped, "close_codes", cc, "pings", (json_int_t)d->pings, "frame_bytes_min",
        (json_int_t)d->frame_min, "frame_bytes_max", (json_int_t)d->frame_max, "deflated",
        (json_int_t)d->deflated, "ws_bytes_per_delivery",
        report_json_num(dn > 0 ? (double)d->ws_bytes / dn : -1), "wire_bytes",
        (json_int_t)d->wire_bytes, "wire_conns", (json_int_t)d->wire_conns,
        "wire_bytes_per_delivery", report_json_num(wire), "first_error", d->first_error);
}

static json_t *report_json_reach(const struct report *r, const int64_t *sub)
{
    double med, max;
    uint32_t all = 0, n = report_over_alerts(r, r->reach_us, sub, &med, &max);
    for (uint32_t i = 0; i < r->o->alerts; i++)
        all += r->receivers[i] == r->del.clients && r->del.clients > 0;
    if (sub && n == 0)
        return json_null(); /* nothing seen on Redis */
    return json_pack("{sf sf sI sI}", "median", med, "max", max, "alerts", (json_int_t)n,
                     "alerts_reaching_all", (json_int_t)all);
}

static json_t *report_json_publish(const struct report *r)
{
    double med, max;
    uint32_t seen = report_pub_delay(r, &med, &max);
    return json_pack("{sI sI sI so so so ss}", "published", (json_int_t)r->published, "errors",
                     (json_int_t)r->pub_errors, "seen_on_redis", (json_int_t)r->pub_seen,
                     "delay_ms_median", seen ? json_real(med) : json_null(), "delay_ms_max",
                     seen ? json_real(max) : json_null(), "other_subscribers",
                     r->min_receivers < 0 ? json_null() : json_integer(r->min_receivers),
                     "first_error", r->pub_error);
}

static json_t *report_json_cpu(const struct report *r)
{
    const struct stats_deliver *d = &r->del;
    double wall_us = (double)r->deliver_ns / 1000;
    return json_pack(
        "{so so sf sf sf}", "us_per_delivery",
        report_json_num(d->deliveries ? (double)d->cpu_us / (double)d->deliveries : -1),
        "core_pct_delivering",
        report_json_num(wall_us > 0 ? 100.0 * (double)d->cpu_us / wall_us : -1), "total_s",
        (double)(r->workers_cpu_us + r->parent_cpu_us) / 1e6, "workers_s",
        (double)r->workers_cpu_us / 1e6, "parent_s", (double)r->parent_cpu_us / 1e6);
}

static json_t *report_json_server(const struct report *r)
{
    const struct procstat *s = r->server;
    const struct bench_opts *o = r->o;
    double est = (double)r->conn.established;
    if (!r->has_server)
        return json_null();
    json_t *pids = json_array(), *pgids = json_array();
    for (int i = 0; i < o->n_server_pids; i++)
        json_array_append_new(pids, json_integer(o->server_pids[i]));
    for (int i = 0; i < o->n_server_pgids; i++)
        json_array_append_new(pgids, json_integer(o->server_pgids[i]));
    double cpu = report_server_cpu_per(r, MARK_PUBLISH_0, MARK_PUBLISH_1, r->del.deliveries);
    double wall_us = (double)r->deliver_ns / 1000;
    int pss = s[MARK_IDLE].pss_kib >= 0 && s[MARK_START].pss_kib >= 0;
    return json_pack(
        "{so so si sI sI sI so so so so so so}", "pids", pids, "pgids", pgids, "procs",
        s[MARK_IDLE].procs, "rss_kib_start", (json_int_t)s[MARK_START].rss_kib, "rss_kib_idle",
        (json_int_t)s[MARK_IDLE].rss_kib, "rss_kib_end", (json_int_t)s[MARK_PUBLISH_1].rss_kib,
        "rss_kib_per_connection",
        report_json_num(est > 0 ? (double)(s[MARK_IDLE].rss_kib - s[MARK_START].rss_kib) / est
                                : -1),
        "pss_kib_per_connection",
        report_json_num(
            est > 0 && pss ? (double)(s[MARK_IDLE].pss_kib - s[MARK_START].pss_kib) / est : -1),
        "cpu_us_per_handshake",
        report_json_num(report_server_cpu_per(r, MARK_START, MARK_CONNECTED, r->conn.established)),
        "cpu_us_per_resumed_handshake",
        report_json_num(
            report_server_cpu_per(r, MARK_RESUME_0, MARK_RESUME_1, r->resumed.established)),
        "cpu_us_per_delivery", report_json_num(cpu), "core_pct_delivering",
        report_json_num(
            cpu >= 0 && wall_us > 0
                ? 100.0 * (double)(s[MARK_PUBLISH_1].cpu_us - s[MARK_PUBLISH_0].cpu_us) / wall_us
                : -1));
}

int report_json(const struct report *r, const char *path)
{
    const struct bench_opts *o = r->o;
    char why[512];
    report_problems(r, why, sizeof(why));
    json_t *params = json_pack(
        "{sI sf si sI sf sI sb sI sf sI sI ss ss ss sb so}", "clients", (json_int_t)o->clients,
        "rate", o->rate, "procs", o->procs, "sources", (json_int_t)o->sources, "connect_timeout_s",
        o->connect_timeout, "max_pending", (json_int_t)o->max_pending, "resume", o->resume,
        "alerts", (json_int_t)o->alerts, "alert_rate", o->alert_rate, "size", (json_int_t)o->size,
        "burst", (json_int_t)o->burst, "ciphersuites", o->ciphersuites, "channel",
        o->via == VIA_REDIS ? o->channel : "", "publish_url",
        o->via == VIA_HTTP ? o->publish_url : "", "deflate", o->deflate, "fields",
        o->fields ? json_string(o->fields) : json_null());
    json_t *root = json_pack(
        "{ss ss so ss ss so so so so so so so so so so so si sb ss}", "tool", "alert-bench",
        "version", ALERT_VERSION, "label", o->label ? json_string(o->label) : json_null(), "url",
        o->url, "mode", opts_via_name(o->via), "params", params, "connect",
        report_json_connect(r, &r->conn, MARK_START, MARK_CONNECTED), "resume",
        o->resume ? report_json_connect(r, &r->resumed, MARK_RESUME_0, MARK_RESUME_1) : json_null(),
        "delivery", report_json_delivery(r), "latency_ms", report_json_hist(&r->e2e),
        "relay_latency_ms", report_json_hist(&r->relay), "reach_all_ms", report_json_reach(r, NULL),
        "relay_reach_all_ms", report_json_reach(r, r->pub_delay_us), "publish",
        report_json_publish(r), "client_cpu", report_json_cpu(r), "server", report_json_server(r),
        "workers_failed", r->workers_failed, "ok", report_ok(r), "problems", why);
    if (root == NULL) {
        errno = EINVAL;
        return -1;
    }
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return rc == 0 ? 0 : -1;
}
