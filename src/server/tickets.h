/*
 * tickets — the keys that encrypt TLS session tickets, so a reconnecting
 * client resumes its session (no certificate signature, a cheaper
 * handshake) on whichever worker process the kernel hands it to.
 *
 * OpenSSL gives every SSL_CTX random ticket keys of its own: with workers
 * sharing the port, a ticket only worked on the worker that issued it, and
 * none survived a restart. Here the keys are made (or read from
 * --tls-ticket-key) once, before the workers are forked, and every worker
 * encrypts and decrypts with the same table. A file of several keys
 * rotates them: the first issues tickets, every one is accepted. A
 * resumed session always gets a fresh ticket under the first key.
 *
 * A struct tickets is loaded by main before the workers fork; each worker
 * then owns its copy (reloads change only its own) and installs it on its
 * SSL_CTX, where OpenSSL's ticket callback finds it (SSL_CTX ex data).
 * Runs on the worker's loop.
 */
#ifndef ALERTD_TICKETS_H
#define ALERTD_TICKETS_H

#include <openssl/ssl.h>
#include <stddef.h>

#define TICKETS_KEY_BYTES 80 /* 16 name, 32 HMAC-SHA256 key, 32 AES-256 key */
#define TICKETS_MAX_KEYS  8

/* Called as a ticket is about to be written to ssl's connection. */
typedef void (*tickets_issue_fn)(SSL *ssl);

struct tickets_key {
    unsigned char name[16];
    unsigned char hmac[32];
    unsigned char aes[32];
};

struct tickets {
    struct tickets_key keys[TICKETS_MAX_KEYS]; /* the first issues, every one is accepted */
    int nkeys;
    EVP_CIPHER *cipher; /* fetched once: an implicit fetch per ticket is slow */
    tickets_issue_fn on_issue;
};

/* Loads the keys from `file` (1..TICKETS_MAX_KEYS keys of 80 bytes, e.g.
 * `openssl rand 80`), or makes one random key when file is NULL. On error
 * returns -1 with a message naming the file in err; the table is unchanged. */
int tickets_load(struct tickets *t, const char *file, char *err, size_t errlen);

/* Number of keys in the table (0 before tickets_load). */
int tickets_count(const struct tickets *t);

/* Makes ctx issue and accept tickets with t's keys (t must outlive ctx);
 * on_issue (may be NULL) hears of each ticket issued. */
int tickets_install(struct tickets *t, SSL_CTX *ctx, tickets_issue_fn on_issue);

/* Wipes the keys from memory and frees what tickets_load fetched. */
void tickets_clear(struct tickets *t);

#endif
