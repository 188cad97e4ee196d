/*
 * tickets — see tickets.h.
 */
#include "tickets.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where OpenSSL keeps a context's struct tickets: an index it hands out
 * once per process (a registration, not state). */
static int tickets_ex_index = -1;

static int tickets_fail(char *err, size_t errlen, const char *file, const char *why)
{
    snprintf(err, errlen, "--tls-ticket-key %s: %s", file, why);
    return -1;
}

/* Reads the whole key file into buf; returns its size or -1. */
static ssize_t tickets_read(const char *file, unsigned char *buf, size_t cap, char *err,
                            size_t errlen)
{
    struct stat st;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tickets_fail(err, errlen, file, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tickets_fail(err, errlen, file, "not a regular file");
    }
    if (st.st_size <= 0 || st.st_size > (off_t)cap || st.st_size % TICKETS_KEY_BYTES != 0) {
        char why[160];
        snprintf(why, sizeof(why),
                 "holds %lld bytes; expected 1 to %d keys of %d bytes each "
                 "(make one with: openssl rand %d)",
                 (long long)st.st_size, TICKETS_MAX_KEYS, TICKETS_KEY_BYTES, TICKETS_KEY_BYTES);
        close(fd);
        return tickets_fail(err, errlen, file, why);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0) {
            close(fd);
            return tickets_fail(err, errlen, file,
                                r < 0 ? strerror(errno) : "shorter than stat says");
        }
        got += (size_t)r;
    }
    close(fd);
    return (ssize_t)got;
}

static void tickets_wipe(struct tickets *t)
{
    OPENSSL_cleanse(t->keys, sizeof(t->keys));
    t->nkeys = 0;
}

int tickets_load(struct tickets *t, const char *file, char *err, size_t errlen)
{
    unsigned char buf[TICKETS_MAX_KEYS * TICKETS_KEY_BYTES];
    ssize_t len = TICKETS_KEY_BYTES;

    if (t->cipher == NULL && (t->cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL) {
        snprintf(err, errlen, "OpenSSL has no AES-256-CBC for session tickets");
        return -1;
    }
    if (file == NULL) {
        if (RAND_priv_bytes(buf, TICKETS_KEY_BYTES) != 1) {
            snprintf(err, errlen, "no random bytes for the session ticket key");
            return -1;
        }
    } else if ((len = tickets_read(file, buf, sizeof(buf), err, errlen)) < 0) {
        return -1;
    }
    tickets_wipe(t);
    t->nkeys = (int)(len / TICKETS_KEY_BYTES);
    for (int i = 0; i < t->nkeys; i++) {
        const unsigned char *k = buf + (size_t)i * TICKETS_KEY_BYTES;
        memcpy(t->keys[i].name, k, 16);
        memcpy(t->keys[i].hmac, k + 16, 32);
        memcpy(t->keys[i].aes, k + 48, 32);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

int tickets_count(const struct tickets *t)
{
    return t->nkeys;
}

static int tickets_set_mac(EVP_MAC_CTX *hctx, const struct tickets_key *k)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params);
}

/* OpenSSL's ticket callback: enc=1 to issue (name, IV, keys for the new
 * ticket), enc=0 to open one: 0 for an unknown key (a full handshake
 * follows), 2 to accept it and issue a fresh ticket under the first key.
 * Always a fresh one: TLS 1.3 clients use a ticket once (RFC 8446 C.4),
 * so a resumption without one would make the next reconnection a full
 * handshake (returning 1 sends none). */
static int tickets_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                      EVP_MAC_CTX *hctx, int enc)
{
    const struct tickets *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tickets_ex_index);
    if (t == NULL || t->nkeys == 0)
        return 0; /* no keys: no ticket issued, none accepted */
    if (enc) {
        const struct tickets_key *k = &t->keys[0];
        if (t->on_issue)
            t->on_issue(ssl);
        if (RAND_bytes(iv, 16) != 1)
            return -1;
        memcpy(key_name, k->name, 16);
        return tickets_set_mac(hctx, k) && EVP_EncryptInit_ex(cctx, t->cipher, NULL, k->aes, iv)
                   ? 1
                   : -1;
    }
    for (int i = 0; i < t->nkeys; i++) {
        const struct tickets_key *k = &t->keys[i];
        if (memcmp(key_name, k->name, 16) != 0)
            continue;
        if (!tickets_set_mac(hctx, k) || !EVP_DecryptInit_ex(cctx, t->cipher, NULL, k->aes, iv))
            return -1;
        return 2;
    }
    return 0;
}

int tickets_install(struct tickets *t, SSL_CTX *ctx, tickets_issue_fn on_issue)
{
    if (tickets_ex_index < 0 &&
        (tickets_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0)
        return -1;
    t->on_issue = on_issue;
    if (!SSL_CTX_set_ex_data(ctx, tickets_ex_index, t))
        return -1;
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tickets_cb) == 1 ? 0 : -1;
}

void tickets_clear(struct tickets *t)
{
    tickets_wipe(t);
    EVP_CIPHER_free(t->cipher);
    t->cipher = NULL;
}
