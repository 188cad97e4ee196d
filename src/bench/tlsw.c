/*
 * tlsw — see tlsw.h.
 */
#include "tlsw.h"

#include "clk.h"
#include "tlsc.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TLSW_SETUP_TIMEOUT_MS 10000
#define TLSW_CHECK_EVERY      256 /* writes between clock readings */
#define TLSW_GCM_OVERHEAD     22  /* TLS 1.3 record: 5 header + 1 type + 16 tag */

struct tlsw_result {
    uint64_t records, blocked;
    double wall_s, cpu_s;
};

/* ------------------------------------------------------------------------
 * Setup: a throwaway ECDSA P-256 certificate, both contexts, the reader
 * ---------------------------------------------------------------------- */

static SSL_CTX *tlsw_server_ctx(const struct bench_opts *o)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int ok = key && x && ctx;
    if (ok) {
        X509_NAME *name = X509_get_subject_name(x);
        ok = X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 86400) && X509_set_pubkey(x, key) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        (const unsigned char *)"localhost", -1, -1, 0) &&
             X509_set_issuer_name(x, name) && X509_sign(x, key, EVP_sha256()) &&
             SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
             SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) &&
             SSL_CTX_set_ciphersuites(ctx, o->ciphersuites);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int tlsw_other_cpu(int writer)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (c != writer && CPU_ISSET(c, &set))
            return c;
    return -1;
}

static void tlsw_pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        fprintf(stderr, "alert-bench: pinning to CPU %d: %s\n", cpu, strerror(errno));
}

/* The reader (a forked child): N client connections, handshakes, then
 * reads and throws away raw bytes until every connection ends. Tells the
 * parent it is ready by writing one byte on `ready`. */
static int tlsw_reader(const struct bench_opts *o, int port, int ready, int cpu)
{
    struct bench_opts co = *o;
    char err[256];
    static char sink[1 << 16];
    uint32_t n = o->tls_write_limit, open_fds = 0;
    tlsw_pin(cpu);
    co.insecure = 1, co.ca = NULL, co.resume = 0;
    SSL_CTX *ctx = tlsc_client_ctx(&co, NULL, err, sizeof(err));
    struct pollfd *pfd = calloc(n, sizeof(*pfd));
    SSL **ssl = calloc(n, sizeof(*ssl));
    if (ctx == NULL || pfd == NULL || ssl == NULL)
        goto out;
    struct sockaddr_in dst = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(0x7F000001)};
    for (uint32_t i = 0; i < n; i++) {
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = opts_source(o, i)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
        pfd[i] = (struct pollfd){fd, POLLIN, 0};
        if (fd < 0)
            goto out;
        open_fds++;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
            connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 ||
            (ssl[i] = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl[i], fd) || SSL_connect(ssl[i]) != 1)
            goto out;
    }
    if (write(ready, "r", 1) != 1)
        goto out;
    uint32_t live = n;
    while (live > 0) {
        if (poll(pfd, n, 1000) < 0 && errno != EINTR)
            break;
        for (uint32_t i = 0; i < n; i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            if (read(pfd[i].fd, sink, sizeof(sink)) <= 0) {
                pfd[i].fd = -pfd[i].fd - 1; /* poll skips negative fds; keep it to close */
                live--;
            }
        }
    }
out:
    for (uint32_t i = 0; ssl && i < n; i++)
        SSL_free(ssl[i]);
    for (uint32_t i = 0; pfd && i < open_fds; i++)
        close(pfd[i].fd >= 0 ? pfd[i].fd : -pfd[i].fd - 1);
    free(pfd);
    free(ssl);
    SSL_CTX_free(ctx);
    return 0;
}

/* Accepts and handshakes the N server sides, in the reader's order. */
static int tlsw_accept(int lfd, SSL_CTX *ctx, uint32_t n, SSL **ssl, int *fds)
{
    for (uint32_t i = 0; i < n; i++) {
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, TLSW_SETUP_TIMEOUT_MS) != 1)
            return -1;
        fds[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fds[i] < 0 || (ssl[i] = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl[i], fds[i]) ||
            SSL_accept(ssl[i]) != 1)
            return -1;
    }
    for (uint32_t i = 0; i < n; i++)
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    return 0;
}

/* ------------------------------------------------------------------------
 * Measurements
 * ---------------------------------------------------------------------- */

/* Writes rec round-robin for `duration`: through TLS if ssl, else plain. A
 * connection whose socket is full is skipped (and, for TLS, retried with
 * the same record, as OpenSSL requires); a round where all were full waits
 * a millisecond for the reader. */
static void tlsw_write_loop(SSL **ssl, const int *fds, uint32_t n, const unsigned char *rec,
                            size_t len, double duration, struct tlsw_result *res)
{
    int64_t t0 = clk_mono_ns(), cpu0 = clk_cpu_us();
    int64_t end = t0 + (int64_t)(duration * CLK_NS_PER_S);
    uint32_t i = 0, since_ok = 0;
    memset(res, 0, sizeof(*res));
    for (uint64_t iter = 1;; iter++) {
        int ok;
        if (ssl) {
            ok = SSL_write(ssl[i], rec, (int)len) > 0;
            if (!ok)
                ERR_clear_error();
        } else {
            ok = write(fds[i], rec, len) == (ssize_t)len;
        }
        if (ok)
            res->records++, since_ok = 0;
        else
            res->blocked++, since_ok++;
        if (since_ok >= n) {
            struct pollfd p = {fds[i], POLLOUT, 0};
            poll(&p, 1, 1);
            since_ok = 0;
        }
        i = i + 1 == n ? 0 : i + 1;
        if (iter % TLSW_CHECK_EVERY == 0 && clk_mono_ns() >= end)
            break;
    }
    res->wall_s = (double)(clk_mono_ns() - t0) / 1e9;
    res->cpu_s = (double)(clk_cpu_us() - cpu0) / 1e6;
}

/* AES-256-GCM sealing of `len` bytes in memory, a fresh nonce each. */
static void tlsw_seal_loop(size_t len, double duration, struct tlsw_result *res)
{
    unsigned char key[32] = {1}, iv[12] = {0}, aad[5] = {23, 3, 3, 0, 0}, tag[16];
    unsigned char *in = calloc(1, len), *out = malloc(len + 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int64_t t0 = clk_mono_ns(), cpu0 = clk_cpu_us();
    int64_t end = t0 + (int64_t)(duration * CLK_NS_PER_S);
    int outl;
    memset(res, 0, sizeof(*res));
    if (in && out && c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv)) {
        for (uint64_t seq = 1;; seq++) {
            memcpy(iv + 4, &seq, sizeof(seq));
            if (!EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) ||
                !EVP_EncryptUpdate(c, NULL, &outl, aad, sizeof(aad)) ||
                !EVP_EncryptUpdate(c, out, &outl, in, (int)len) ||
                !EVP_EncryptFinal_ex(c, out + outl, &outl) ||
                !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag))
                break;
            res->records++;
            if (seq % TLSW_CHECK_EVERY == 0 && clk_mono_ns() >= end)
                break;
        }
    }
    res->wall_s = (double)(clk_mono_ns() - t0) / 1e9;
    res->cpu_s = (double)(clk_cpu_us() - cpu0) / 1e6;
    EVP_CIPHER_CTX_free(c);
    free(in);
    free(out);
}

/* ------------------------------------------------------------------------
 * Report
 * ---------------------------------------------------------------------- */

static json_t *tlsw_json_result(const struct tlsw_result *r)
{
    double n = r->records ? (double)r->records : 1;
    return json_pack("{sI sf sf sf sf sI}", "records", (json_int_t)r->records, "seconds", r->wall_s,
                     "records_per_s", r->wall_s > 0 ? (double)r->records / r->wall_s : 0,
                     "us_per_record", r->wall_s * 1e6 / n, "cpu_us_per_record", r->cpu_s * 1e6 / n,
                     "blocked", (json_int_t)r->blocked);
}

static void tlsw_print(FILE *f, const char *name, const struct tlsw_result *r)
{
    double n = r->records ? (double)r->records : 1;
    fprintf(f, "  %-14s %9.0f records/s  %6.2f us each (CPU %6.2f us)  blocked %llu\n", name,
            r->wall_s > 0 ? (double)r->records / r->wall_s : 0, r->wall_s * 1e6 / n,
            r->cpu_s * 1e6 / n, (unsigned long long)r->blocked);
}

static int tlsw_report(const struct bench_opts *o, int wcpu, int rcpu, SSL *s,
                       const struct tlsw_result res[3])
{
    fprintf(stderr,
            "\nalert-bench %s --tls-write-limit: %u connections, %u-byte records, writer on CPU "
            "%d, reader on CPU %d, %s %s\n",
            ALERT_VERSION, o->tls_write_limit, o->size, wcpu, rcpu, SSL_get_version(s),
            SSL_get_cipher_name(s));
    tlsw_print(stderr, "TLS SSL_write", &res[0]);
    tlsw_print(stderr, "plain write()", &res[1]);
    tlsw_print(stderr, "seal only", &res[2]);
    fputc('\n', stderr);
    if (o->json == NULL)
        return 0;
    json_t *root = json_pack("{ss ss ss so sI sI sf si si ss ss so so so}", "tool", "alert-bench",
                             "version", ALERT_VERSION, "mode", "tls-write-limit", "label",
                             o->label ? json_string(o->label) : json_null(), "connections",
                             (json_int_t)o->tls_write_limit, "record_bytes", (json_int_t)o->size,
                             "duration_s", o->duration, "writer_cpu", wcpu, "reader_cpu", rcpu,
                             "tls_version", SSL_get_version(s), "cipher", SSL_get_cipher_name(s),
                             "tls", tlsw_json_result(&res[0]), "plain_write",
                             tlsw_json_result(&res[1]), "seal_only", tlsw_json_result(&res[2]));
    int rc = root ? json_dump_file(root, o->json, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
    json_decref(root);
    if (rc != 0)
        fprintf(stderr, "alert-bench: writing %s failed\n", o->json);
    return rc;
}

int tlsw_run(const struct bench_opts *o)
{
    uint32_t n = o->tls_write_limit;
    int wcpu = 0, rc = 3, ready[2] = {-1, -1}, lfd = -1;
    pid_t reader = -1;
    struct tlsw_result res[3];
    SSL_CTX *ctx = tlsw_server_ctx(o);
    SSL **ssl = calloc(n, sizeof(*ssl));
    int *fds = malloc(n * sizeof(*fds));
    unsigned char *rec = calloc(1, o->size + TLSW_GCM_OVERHEAD);
    if (o->has_cpus)
        while (wcpu < CPU_SETSIZE && !CPU_ISSET(wcpu, &o->cpus))
            wcpu++;
    int rcpu = tlsw_other_cpu(wcpu);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7F000001)};
    socklen_t alen = sizeof(addr);
    if (!ctx || !ssl || !fds || !rec || pipe2(ready, O_CLOEXEC) != 0 ||
        (lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(lfd, n < 4096 ? (int)n + 16 : 4096) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        fprintf(stderr, "alert-bench: --tls-write-limit setup: %s\n", strerror(errno));
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        fds[i] = -1;
    fflush(NULL);
    if ((reader = fork()) == 0) {
        close(lfd), close(ready[0]);
        int r = tlsw_reader(o, ntohs(addr.sin_port), ready[1], rcpu);
        free(ssl), free(fds), free(rec), SSL_CTX_free(ctx);
        exit(r);
    }
    close(ready[1]);
    ready[1] = -1;
    char byte;
    struct pollfd p = {ready[0], POLLIN, 0};
    if (reader < 0 || tlsw_accept(lfd, ctx, n, ssl, fds) != 0 ||
        poll(&p, 1, TLSW_SETUP_TIMEOUT_MS) != 1 || read(ready[0], &byte, 1) != 1) {
        fprintf(stderr, "alert-bench: --tls-write-limit: could not set up %u connections\n", n);
        goto out;
    }
    tlsw_pin(wcpu);
    tlsw_write_loop(ssl, fds, n, rec, o->size, o->duration, &res[0]);
    tlsw_write_loop(NULL, fds, n, rec, o->size + TLSW_GCM_OVERHEAD, o->duration, &res[1]);
    tlsw_seal_loop(o->size, o->duration, &res[2]);
    rc = tlsw_report(o, wcpu, rcpu, ssl[0], res) == 0 && res[0].records > 0 ? 0 : 1;
out:
    for (uint32_t i = 0; ssl && fds && i < n; i++) {
        SSL_free(ssl[i]);
        if (fds[i] >= 0)
            close(fds[i]);
    }
    if (lfd >= 0)
        close(lfd);
    if (reader > 0) {
        int64_t deadline = clk_mono_ns() + 10 * CLK_NS_PER_S;
        while (waitpid(reader, NULL, WNOHANG) == 0) {
            if (clk_mono_ns() > deadline) {
                kill(reader, SIGKILL);
                waitpid(reader, NULL, 0);
                break;
            }
            clk_sleep_until(clk_mono_ns() + 10 * CLK_NS_PER_MS);
        }
    }
    if (ready[0] >= 0)
        close(ready[0]);
    free(ssl), free(fds), free(rec);
    SSL_CTX_free(ctx);
    return rc;
}
