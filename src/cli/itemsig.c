/*
 * itemsig — see itemsig.h. Ed25519 through OpenSSL 3's EVP interface: one
 * shot, no digest (EVP_DigestSign with a NULL md).
 */
#include "itemsig.h"

#include "jcs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char itemsig_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void itemsig_b64url(const unsigned char *in, size_t n, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        size_t left = n - i;
        if (left > 1)
            v |= (unsigned long)in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        out[w++] = itemsig_alphabet[(v >> 18) & 63];
        out[w++] = itemsig_alphabet[(v >> 12) & 63];
        if (left > 1)
            out[w++] = itemsig_alphabet[(v >> 6) & 63];
        if (left > 2)
            out[w++] = itemsig_alphabet[v & 63];
    }
    out[w] = '\0';
}

/* Decodes exactly ITEM_SIG_BYTES from a `sig` of its shape (item.h); -1
 * when the text is not one. */
static int itemsig_sig_bytes(const char *s, unsigned char out[ITEM_SIG_BYTES])
{
    unsigned long v = 0;
    int bits = 0;
    size_t w = 0;
    if (s == NULL || strlen(s) != ITEM_SIG_LEN)
        return -1;
    for (; *s; s++) {
        const char *p = strchr(itemsig_alphabet, *s);
        if (p == NULL)
            return -1;
        v = (v << 6) | (unsigned long)(p - itemsig_alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[w++] = (unsigned char)(v >> bits);
            v &= (1ul << bits) - 1;
        }
    }
    return w == ITEM_SIG_BYTES && v == 0 ? 0 : -1; /* no stray bits at the end */
}

char *itemsig_message(const json_t *item, size_t *len)
{
    json_t *signed_part = json_copy((json_t *)item); /* shallow: members shared */
    char *msg = NULL;
    if (signed_part == NULL)
        return NULL;
    json_object_del(signed_part, "id");
    json_object_del(signed_part, "sig");
    msg = jcs_encode(signed_part, len);
    json_decref(signed_part);
    return msg;
}

/* ------------------------------------------------------------------------
 * Key files
 * ---------------------------------------------------------------------- */

/* Never asks for a passphrase: an encrypted key fails to load instead. */
static int itemsig_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Reads the whole (small) file into buf; its length, or -1 with err. With
 * `owner_only`, a file that group or others may access is refused. */
static long itemsig_read(const char *path, int owner_only, char *buf, size_t size, char *err,
                         size_t errlen)
{
    struct stat st;
    long n = 0;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (owner_only && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        snprintf(err, errlen,
                 "%s: a private key must be readable by its owner only, not mode %04o "
                 "(chmod 600 %s)",
                 path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -1;
    }
    while ((got = read(fd, buf + n, size - (size_t)n)) > 0 && (size_t)(n += got) < size)
        continue;
    close(fd);
    if (got < 0 || (size_t)n >= size) {
        snprintf(err, errlen, "%s: %s", path,
                 got < 0 ? strerror(errno) : "too large for a key file");
        return -1;
    }
    return n;
}

/* A key of one kind from a PEM file; `private` says which. */
static EVP_PKEY *itemsig_load(const char *path, int private, char *err, size_t errlen)
{
    char buf[ITEMSIG_KEYFILE_MAX];
    EVP_PKEY *key = NULL;
    long n = itemsig_read(path, private, buf, sizeof(buf), err, errlen);
    if (n < 0)
        return NULL;
    BIO *bio = BIO_new_mem_buf(buf, (int)n);
    if (bio != NULL)
        key = private ? PEM_read_bio_PrivateKey(bio, NULL, itemsig_no_passphrase, NULL)
                      : PEM_read_bio_PUBKEY(bio, NULL, itemsig_no_passphrase, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (key == NULL) {
        snprintf(err, errlen, "%s: not a PEM %s", path,
                 private ? "private key (PKCS#8, unencrypted: BEGIN PRIVATE KEY)"
                         : "public key (BEGIN PUBLIC KEY)");
        return NULL;
    }
    if (!EVP_PKEY_is_a(key, "ED25519")) {
        snprintf(err, errlen, "%s: a %s key, not Ed25519", path, EVP_PKEY_get0_type_name(key));
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

EVP_PKEY *itemsig_load_private(const char *path, char *err, size_t errlen)
{
    return itemsig_load(path, 1, err, errlen);
}

EVP_PKEY *itemsig_load_public(const char *path, char *err, size_t errlen)
{
    return itemsig_load(path, 0, err, errlen);
}

static int itemsig_raw(EVP_PKEY *key, unsigned char raw[ITEMSIG_RAW_BYTES])
{
    size_t n = ITEMSIG_RAW_BYTES;
    return EVP_PKEY_get_raw_public_key(key, raw, &n) == 1 && n == ITEMSIG_RAW_BYTES ? 0 : -1;
}

int itemsig_key_id(EVP_PKEY *key, char kid[ITEM_KID_LEN + 1])
{
    unsigned char raw[ITEMSIG_RAW_BYTES], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (itemsig_raw(key, raw) != 0 || !EVP_Digest(raw, sizeof(raw), md, &mdlen, EVP_sha256(), NULL))
        return -1;
    itemsig_b64url(md, ITEM_KID_BYTES, kid);
    return 0;
}

int itemsig_raw_public(EVP_PKEY *key, char out[ITEMSIG_RAW_LEN + 1])
{
    unsigned char raw[ITEMSIG_RAW_BYTES];
    if (itemsig_raw(key, raw) != 0)
        return -1;
    itemsig_b64url(raw, sizeof(raw), out);
    return 0;
}

/* ------------------------------------------------------------------------
 * Signing and checking
 * ---------------------------------------------------------------------- */

int itemsig_sign(json_t *item, EVP_PKEY *key, char *err, size_t errlen)
{
    char kid[ITEM_KID_LEN + 1], text[ITEM_SIG_LEN + 1];
    unsigned char sig[ITEM_SIG_BYTES];
    size_t siglen = sizeof(sig), len;
    char *msg = NULL;
    int ok = 0;

    if (itemsig_key_id(key, kid) != 0) {
        snprintf(err, errlen, "the signing key has no Ed25519 public key");
        return -1;
    }
    json_object_del(item, "sig");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && json_object_set_new(item, "kid", json_string(kid)) == 0 &&
        (msg = itemsig_message(item, &len)) != NULL)
        ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, len) == 1 &&
             siglen == sizeof(sig);
    EVP_MD_CTX_free(ctx);
    free(msg);
    if (!ok) {
        snprintf(err, errlen, "signing failed (out of memory, or not an Ed25519 key)");
        return -1;
    }
    itemsig_b64url(sig, sizeof(sig), text);
    if (json_object_set_new(item, "sig", json_string(text)) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int itemsig_check(const json_t *item, EVP_PKEY *key)
{
    unsigned char sig[ITEM_SIG_BYTES];
    size_t len;
    int rc;
    if (itemsig_sig_bytes(json_string_value(json_object_get(item, "sig")), sig) != 0)
        return 0;
    char *msg = itemsig_message(item, &len);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (msg == NULL || ctx == NULL)
        rc = -1;
    else
        rc = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, sizeof(sig), (const unsigned char *)msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    free(msg);
    return rc;
}
