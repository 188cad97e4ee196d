/*
 * report — see report.h. The JSON form is in report_json.c.
 */
#include "report.h"

#include "version.h"

#include <stdlib.h>
#include <string.h>

static const char *const report_fail_names[FAIL_KINDS] = {"socket",  "connect", "tls",
                                                          "upgrade", "timeout", "closed"};

/* ------------------------------------------------------------------------
 * Adding up
 * ---------------------------------------------------------------------- */

int report_init(struct report *r, const struct bench_opts *o)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    r->min_receivers = -1;
    hist_init(&r->e2e);
    hist_init(&r->relay);
    r->reach_us = calloc(o->alerts, sizeof(uint64_t));
    r->receivers = calloc(o->alerts, sizeof(uint64_t));
    r->pub_delay_us = calloc(o->alerts, sizeof(int64_t));
    return r->reach_us && r->receivers && r->pub_delay_us ? 0 : -1;
}

void report_free(struct report *r)
{
    free(r->reach_us);
    free(r->receivers);
    free(r->pub_delay_us);
    r->reach_us = r->receivers = NULL;
    r->pub_delay_us = NULL;
}

void report_add_connect(struct report *r, const struct stats_connect *c, int resumed_phase)
{
    struct stats_connect *t = resumed_phase ? &r->resumed : &r->conn;
    int *n = resumed_phase ? &r->n_resumed : &r->n_conn;
    t->attempted += c->attempted;
    t->established += c->established;
    t->failed += c->failed;
    for (int i = 0; i < FAIL_KINDS; i++)
        t->fail[i] += c->fail[i];
    t->resumed += c->resumed;
    t->tickets += c->tickets;
    t->pmd += c->pmd;
    if (c->first_ns && (t->first_ns == 0 || c->first_ns < t->first_ns))
        t->first_ns = c->first_ns;
    if (c->last_ns > t->last_ns)
        t->last_ns = c->last_ns;
    t->cpu_us += c->cpu_us;
    t->handshake_us += c->handshake_us;
    if (t->tls_version[0] == '\0')
        memcpy(t->tls_version, c->tls_version, sizeof(t->tls_version));
    if (t->cipher[0] == '\0')
        memcpy(t->cipher, c->cipher, sizeof(t->cipher));
    if (t->first_error[0] == '\0')
        memcpy(t->first_error, c->first_error, sizeof(t->first_error));
    (*n)++;
}

int report_add_final(struct report *r, const void *payload, size_t len)
{
    uint32_t k = r->o->alerts;
    size_t want = sizeof(struct stats_deliver) + 2 * sizeof(struct hist) + 2 * (size_t)k * 8;
    if (len != want)
        return -1;
    struct stats_deliver d;
    memcpy(&d, payload, sizeof(d));
    const unsigned char *p = (const unsigned char *)payload + sizeof(d);
    struct hist h;
    memcpy(&h, p, sizeof(h));
    hist_merge(&r->e2e, &h);
    memcpy(&h, p + sizeof(h), sizeof(h));
    hist_merge(&r->relay, &h);
    p += 2 * sizeof(h);
    for (uint32_t i = 0; i < k; i++) {
        uint64_t reach, recv;
        memcpy(&reach, p + 8 * (size_t)i, 8);
        memcpy(&recv, p + 8 * ((size_t)k + i), 8);
        if (reach > r->reach_us[i])
            r->reach_us[i] = reach;
        r->receivers[i] += recv;
    }
    struct stats_deliver *t = &r->del;
    t->clients += d.clients;
    t->deliveries += d.deliveries;
    t->duplicates += d.duplicates;
    t->missing += d.missing;
    t->complete += d.complete;
    t->foreign += d.foreign;
    t->other_frames += d.other_frames;
    t->pings += d.pings;
    t->dropped += d.dropped;
    for (int i = 0; i <= STATS_N_CLOSE; i++)
        t->close_codes[i] += d.close_codes[i];
    if (d.frame_min && (t->frame_min == 0 || d.frame_min < t->frame_min))
        t->frame_min = d.frame_min;
    if (d.frame_max > t->frame_max)
        t->frame_max = d.frame_max;
    t->deflated += d.deflated;
    t->ws_bytes += d.ws_bytes;
    t->wire_bytes += d.wire_bytes;
    t->wire_conns += d.wire_conns;
    t->cpu_us += d.cpu_us;
    if (d.last_rx_ns > t->last_rx_ns)
        t->last_rx_ns = d.last_rx_ns;
    if (t->first_error[0] == '\0')
        memcpy(t->first_error, d.first_error, sizeof(t->first_error));
    r->n_del++;
    return 0;
}

size_t report_problems(const struct report *r, char *out, size_t outlen)
{
    const struct bench_opts *o = r->o;
    const struct stats_connect *last = o->resume ? &r->resumed : &r->conn;
    uint64_t expected = (uint64_t)o->clients * o->alerts;
    size_t n = 0;
    out[0] = '\0';
#define REPORT_PROBLEM(cond, ...)                                                                  \
    if ((cond) && n < outlen)                                                                      \
        n += (size_t)snprintf(out + n, outlen - n, __VA_ARGS__);
    REPORT_PROBLEM(r->workers_failed, "%d of %d workers failed; ", r->workers_failed, r->workers)
    REPORT_PROBLEM(r->n_del != r->workers, "%d of %d workers reported deliveries; ", r->n_del,
                   r->workers)
    REPORT_PROBLEM(last->established != o->clients, "%llu of %u clients connected; ",
                   (unsigned long long)last->established, o->clients)
    REPORT_PROBLEM(r->del.deliveries != expected, "%llu of %llu deliveries; ",
                   (unsigned long long)r->del.deliveries, (unsigned long long)expected)
    REPORT_PROBLEM(r->del.duplicates, "%llu duplicates; ", (unsigned long long)r->del.duplicates)
    REPORT_PROBLEM(o->deflate && last->pmd != last->established,
                   "%llu of %llu connections without permessage-deflate; ",
                   (unsigned long long)(last->established - last->pmd),
                   (unsigned long long)last->established)
    REPORT_PROBLEM(r->pub_errors || r->published != o->alerts, "%u of %u alerts published; ",
                   r->published - r->pub_errors, o->alerts)
#undef REPORT_PROBLEM
    if (n >= 2 && n < outlen)
        out[n - 2] = '\0';
    return n;
}

int report_ok(const struct report *r)
{
    char buf[8];
    return report_problems(r, buf, sizeof(buf)) == 0;
}

/* ------------------------------------------------------------------------
 * Derived numbers
 * ---------------------------------------------------------------------- */

double report_wire_per_delivery(const struct report *r)
{
    const struct stats_deliver *d = &r->del;
    return d->deliveries && d->wire_conns ? (double)d->wire_bytes / (double)d->deliveries : -1;
}

double report_ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static int report_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint32_t report_over_alerts(const struct report *r, const uint64_t *v, const int64_t *sub,
                            double *median_ms, double *max_ms)
{
    uint32_t k = r->o->alerts, n = 0;
    uint64_t *vals = malloc(sizeof(uint64_t) * (k ? k : 1));
    *median_ms = *max_ms = 0;
    if (vals == NULL)
        return 0;
    for (uint32_t i = 0; i < k; i++) {
        if (r->receivers[i] == 0 || (sub && sub[i] < 0))
            continue;
        uint64_t s = sub ? (uint64_t)sub[i] : 0;
        vals[n++] = v[i] > s ? v[i] - s : 0;
    }
    if (n) {
        qsort(vals, n, sizeof(*vals), report_cmp_u64);
        *median_ms = report_ms(n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2);
        *max_ms = report_ms(vals[n - 1]);
    }
    free(vals);
    return n;
}

uint32_t report_pub_delay(const struct report *r, double *median_ms, double *max_ms)
{
    uint32_t k = r->o->alerts, n;
    uint64_t *delay = calloc(k ? k : 1, sizeof(uint64_t));
    int64_t *sub = calloc(k ? k : 1, sizeof(int64_t));
    *median_ms = *max_ms = 0;
    if (delay == NULL || sub == NULL) {
        free(delay), free(sub);
        return 0;
    }
    for (uint32_t i = 0; i < k; i++) {
        delay[i] = r->pub_delay_us[i] > 0 ? (uint64_t)r->pub_delay_us[i] : 0;
        sub[i] = r->pub_delay_us[i] < 0 ? -1 : 0; /* skips alerts not seen */
    }
    n = report_over_alerts(r, delay, sub, median_ms, max_ms);
    free(delay), free(sub);
    return n;
}

double report_server_cpu_per(const struct report *r, enum report_mark a, enum report_mark b,
                             uint64_t n)
{
    if (!r->has_server || !r->have_mark[a] || !r->have_mark[b] || n == 0)
        return -1;
    return (double)(r->server[b].cpu_us - r->server[a].cpu_us) / (double)n;
}

/* ------------------------------------------------------------------------
 * The table
 * ---------------------------------------------------------------------- */

static void report_print_connect(const struct report *r, FILE *f, const char *name,
                                 const struct stats_connect *c, enum report_mark a,
                                 enum report_mark b)
{
    double wall = (double)(c->last_ns - c->first_ns) / 1e9;
    uint64_t est = c->established;
    fprintf(f, "%-18s attempted %llu  established %llu  failed %llu", name,
            (unsigned long long)c->attempted, (unsigned long long)est,
            (unsigned long long)c->failed);
    for (int i = 0; i < FAIL_KINDS; i++)
        if (c->fail[i])
            fprintf(f, "  %s %llu", report_fail_names[i], (unsigned long long)c->fail[i]);
    fputc('\n', f);
    if (est == 0)
        return;
    fprintf(f, "%-18s %.0f/s over %.2f s  client CPU %.0f us each  connect-to-101 mean %.1f ms\n",
            "", wall > 0 ? (double)est / wall : 0, wall, (double)c->cpu_us / (double)est,
            (double)c->handshake_us / (double)est / 1000);
    double srv = report_server_cpu_per(r, a, b, est);
    if (srv >= 0)
        fprintf(f, "%-18s server CPU %.0f us each\n", "", srv);
    if (c == &r->resumed)
        fprintf(f, "%-18s resumed %llu of %llu (tickets received %llu)\n", "",
                (unsigned long long)c->resumed, (unsigned long long)est,
                (unsigned long long)c->tickets);
    if (c->first_error[0])
        fprintf(f, "%-18s first error: %s\n", "", c->first_error);
}

static void report_print_latency(FILE *f, const char *name, const struct hist *h)
{
    if (h->count == 0) {
        fprintf(f, "%-18s none\n", name);
        return;
    }
    fprintf(f, "%-18s p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n", name,
            report_ms(hist_quantile(h, 0.5)), report_ms(hist_quantile(h, 0.9)),
            report_ms(hist_quantile(h, 0.99)), report_ms(hist_quantile(h, 0.999)),
            report_ms(h->max), report_ms(h->sum / h->count));
}

static void report_print_server(const struct report *r, FILE *f)
{
    const struct procstat *s = r->server;
    uint64_t est = r->conn.established;
    if (!r->has_server)
        return;
    fprintf(f, "%-18s %d processes  RSS %lld KiB before, %lld KiB idle with %llu clients", "server",
            s[MARK_IDLE].procs, (long long)s[MARK_START].rss_kib, (long long)s[MARK_IDLE].rss_kib,
            (unsigned long long)est);
    if (est)
        fprintf(f, " (+%.1f KiB each",
                (double)(s[MARK_IDLE].rss_kib - s[MARK_START].rss_kib) / (double)est);
    if (est && s[MARK_IDLE].pss_kib >= 0 && s[MARK_START].pss_kib >= 0)
        fprintf(f, ", PSS +%.1f",
                (double)(s[MARK_IDLE].pss_kib - s[MARK_START].pss_kib) / (double)est);
    fprintf(f, "%s\n", est ? ")" : "");
    double per = report_server_cpu_per(r, MARK_PUBLISH_0, MARK_PUBLISH_1, r->del.deliveries);
    if (per >= 0 && r->deliver_ns > 0)
        fprintf(f, "%-18s CPU %.1f us per delivery, %.0f %% of a core while delivering\n", "", per,
                100.0 * (double)(s[MARK_PUBLISH_1].cpu_us - s[MARK_PUBLISH_0].cpu_us) /
                    ((double)r->deliver_ns / 1000));
}

void report_print(const struct report *r, FILE *f)
{
    const struct bench_opts *o = r->o;
    const struct stats_deliver *d = &r->del;
    double med, max;
    fprintf(f, "\nalert-bench %s%s%s  %s  (%s mode)\n", ALERT_VERSION, o->label ? "  " : "",
            o->label ? o->label : "", o->url, opts_via_name(o->via));
    fprintf(f, "%-18s %u clients, %d procs, %u sources; %u alerts at %g/s; %s %s\n", "setup",
            o->clients, o->procs, o->sources, o->alerts, o->alert_rate, r->conn.tls_version,
            r->conn.cipher);
    report_print_connect(r, f, "connections", &r->conn, MARK_START, MARK_CONNECTED);
    if (o->resume)
        report_print_connect(r, f, "reconnections", &r->resumed, MARK_RESUME_0, MARK_RESUME_1);
    fprintf(f,
            "%-18s %llu of %llu  missing %llu  duplicates %llu  dropped %llu  foreign %llu"
            "  frames %llu-%llu B\n",
            "deliveries", (unsigned long long)d->deliveries,
            (unsigned long long)o->clients * o->alerts, (unsigned long long)d->missing,
            (unsigned long long)d->duplicates, (unsigned long long)d->dropped,
            (unsigned long long)d->foreign, (unsigned long long)d->frame_min,
            (unsigned long long)d->frame_max);
    if (d->first_error[0])
        fprintf(f, "%-18s first error: %s\n", "", d->first_error);
    if (d->deliveries)
        fprintf(f,
                "%-18s %.1f B per delivery on TCP (TLS included), frames %.1f B; %llu compressed\n",
                "wire", report_wire_per_delivery(r), (double)d->ws_bytes / (double)d->deliveries,
                (unsigned long long)d->deflated);
    report_print_latency(f, "latency ms", &r->e2e);
    if (r->relay.count)
        report_print_latency(f, " from Redis ms", &r->relay);
    else
        fprintf(f, "%-18s n/a (alert-bench saw no alert on Redis)\n", " from Redis ms");
    uint32_t n = report_over_alerts(r, r->reach_us, NULL, &med, &max);
    uint32_t all = 0;
    for (uint32_t i = 0; i < o->alerts; i++)
        all += r->receivers[i] == d->clients && d->clients > 0;
    fprintf(f, "%-18s median %.2f ms  max %.2f ms over %u alerts (%u reached every client)\n",
            "reach everyone", med, max, n, all);
    if (report_over_alerts(r, r->reach_us, r->pub_delay_us, &med, &max))
        fprintf(f, "%-18s median %.2f ms  max %.2f ms\n", " from Redis", med, max);
    fprintf(f, "%-18s %u published, %u errors", "publish", r->published, r->pub_errors);
    if (report_pub_delay(r, &med, &max))
        fprintf(f, "; %u seen on Redis, delay median %.2f ms max %.2f ms", r->pub_seen, med, max);
    fputc('\n', f);
    if (r->pub_error[0])
        fprintf(f, "%-18s first error: %s\n", "", r->pub_error);
    if (r->deliver_ns > 0)
        fprintf(f,
                "%-18s %.1f us per delivery, %.0f %% of a core while delivering; "
                "total %.2f s (workers %.2f, parent %.2f)\n",
                "client CPU", d->deliveries ? (double)d->cpu_us / (double)d->deliveries : 0,
                100.0 * (double)d->cpu_us / ((double)r->deliver_ns / 1000),
                (double)(r->workers_cpu_us + r->parent_cpu_us) / 1e6,
                (double)r->workers_cpu_us / 1e6, (double)r->parent_cpu_us / 1e6);
    report_print_server(r, f);
    char why[512];
    if (report_problems(r, why, sizeof(why)) == 0)
        fprintf(f, "%-18s OK: every client received every alert exactly once\n\n", "result");
    else
        fprintf(f, "%-18s FAILED: %s\n\n", "result", why);
}
