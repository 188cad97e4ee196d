/*
 * grant — see grant.h.
 */
#include "grant.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads the key in file into g; on any error the key there stays. */
int grant_load_key(struct grant *g, const char *file, char *err, size_t errlen)
{
    unsigned char key[GRANT_KEY_MAX_BYTES];
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "--jwt-secret %s: %s", file, strerror(errno));
        return -1;
    }
    ssize_t got = read(fd, key, sizeof(key));
    close(fd);
    if (got < 0) {
        snprintf(err, errlen, "--jwt-secret %s: %s", file, strerror(errno));
        return -1;
    }
    while (got > 0 && (key[got - 1] == '\n' || key[got - 1] == '\r'))
        got--; /* a key written with echo */
    if (got < GRANT_KEY_MIN_BYTES || got == (ssize_t)sizeof(key)) {
        snprintf(err, errlen, "--jwt-secret %s: the key must be %d to %d bytes (got %zd)", file,
                 GRANT_KEY_MIN_BYTES, GRANT_KEY_MAX_BYTES - 1, got);
        OPENSSL_cleanse(key, sizeof(key));
        return -1;
    }
    OPENSSL_cleanse(g->key, sizeof(g->key));
    memcpy(g->key, key, (size_t)got);
    g->key_len = (size_t)got;
    OPENSSL_cleanse(key, sizeof(key));
    return 0;
}

static int grant_add_topic(struct grant *g, const char *t, size_t len, char *err, size_t errlen)
{
    if (!item_topic_ok(t, len)) {
        snprintf(err, errlen, "--restricted-topics: \"%.*s\" is not a topic (%s)",
                 (int)(len > 64 ? 64 : len), t, ITEM_TOPIC_RULE);
        return -1;
    }
    if (g->ntopics == GRANT_MAX_TOPICS) {
        snprintf(err, errlen, "--restricted-topics: at most %d topics", GRANT_MAX_TOPICS);
        return -1;
    }
    memcpy(g->topics[g->ntopics], t, len);
    g->topics[g->ntopics++][len] = '\0';
    return 0;
}

int grant_set_topics(struct grant *g, const char *topics, char *err, size_t errlen)
{
    g->ntopics = 0;
    for (const char *t = topics; t && *t;) {
        size_t len = strcspn(t, ",");
        if (grant_add_topic(g, t, len, err, errlen)) {
            g->ntopics = 0;
            return -1;
        }
        t += len + (t[len] == ',');
    }
    return 0;
}

int grant_setup(struct grant *g, const char *topics, const char *key_file, char *err, size_t errlen)
{
    grant_clear(g);
    if (topics && key_file == NULL) {
        snprintf(err, errlen, "--restricted-topics needs --jwt-secret, the key that signs tokens");
        return -1;
    }
    if (grant_set_topics(g, topics, err, errlen))
        return -1;
    return key_file ? grant_load_key(g, key_file, err, errlen) : 0;
}

void grant_clear(struct grant *g)
{
    OPENSSL_cleanse(g->key, sizeof(g->key));
    g->key_len = 0;
    g->ntopics = 0;
}

int grant_enabled(const struct grant *g)
{
    return g->key_len > 0;
}

uint32_t grant_bit(const struct grant *g, const char *topic)
{
    for (int i = 0; i < g->ntopics; i++)
        if (strcmp(g->topics[i], topic) == 0)
            return (uint32_t)1 << i;
    return 0;
}

uint32_t grant_mask_of(const struct grant *g, const char *topics)
{
    uint32_t mask = 0;
    if (g == NULL || g->ntopics == 0)
        return 0;
    for (const char *t = topics; *t; t += strlen(t) + 1)
        mask |= grant_bit(g, t);
    return mask;
}

/* base64url without padding (RFC 7515 section 2) into out; the length, or
 * -1 for a character outside the alphabet, an impossible length or a last
 * character whose unused bits are not zero: each value has one spelling,
 * so a token accepted cannot be altered and still be accepted. */
static long grant_b64url(const char *in, size_t len, unsigned char *out, size_t cap)
{
    unsigned acc = 0;
    int bits = 0;
    size_t n = 0;
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        int v = ch >= 'A' && ch <= 'Z'   ? ch - 'A'
                : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
                : ch >= '0' && ch <= '9' ? ch - '0' + 52
                : ch == '-'              ? 62
                : ch == '_'              ? 63
                                         : -1;
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return acc == 0 ? (long)n : -1;
}

static json_t *grant_json_part(const char *in, size_t len)
{
    unsigned char buf[GRANT_TOKEN_MAX];
    long n = grant_b64url(in, len, buf, sizeof(buf));
    return n < 0 ? NULL : json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
}

static int grant_fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "token: %s", why);
    return -1;
}

/* The signature over "header.payload", compared in constant time. */
static int grant_signature_ok(const struct grant *g, const char *token, size_t signed_len,
                              const char *sig, size_t sig_len)
{
    unsigned char want[EVP_MAX_MD_SIZE], got[64];
    unsigned int want_len = 0;
    long n = grant_b64url(sig, sig_len, got, sizeof(got));
    if (HMAC(EVP_sha256(), g->key, (int)g->key_len, (const unsigned char *)token, signed_len, want,
             &want_len) == NULL)
        return 0;
    return n == (long)want_len && CRYPTO_memcmp(want, got, want_len) == 0;
}

static int grant_claims(const struct grant *g, json_t *payload, int64_t now, uint32_t *grants,
                        int64_t *exp, char *err, size_t errlen)
{
    json_t *e = json_object_get(payload, "exp"), *topics = json_object_get(payload, "topics");
    json_t *nbf = json_object_get(payload, "nbf"), *t;
    size_t i;
    if (!json_is_integer(e))
        return grant_fail(err, errlen, "exp (a number of seconds) is required");
    if (json_integer_value(e) <= now)
        return grant_fail(err, errlen, "expired");
    if (nbf && (!json_is_integer(nbf) || json_integer_value(nbf) > now))
        return grant_fail(err, errlen, "not valid yet (nbf)");
    if (topics && !json_is_array(topics))
        return grant_fail(err, errlen, "topics must be an array of topics");
    *grants = 0;
    json_array_foreach (topics, i, t) {
        if (!json_is_string(t))
            return grant_fail(err, errlen, "topics must be an array of topics");
        *grants |= grant_bit(g, json_string_value(t));
    }
    *exp = json_integer_value(e);
    return 0;
}

int grant_verify(const struct grant *g, const char *token, int64_t now, uint32_t *grants,
                 int64_t *exp, char *err, size_t errlen)
{
    size_t len = strlen(token);
    const char *dot1 = memchr(token, '.', len), *dot2;
    if (!grant_enabled(g))
        return grant_fail(err, errlen, "this server checks no tokens");
    if (len >= GRANT_TOKEN_MAX || dot1 == NULL ||
        (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) == NULL)
        return grant_fail(err, errlen, "not a JWT (header.payload.signature)");
    json_t *header = grant_json_part(token, (size_t)(dot1 - token));
    const char *alg = json_string_value(json_object_get(header, "alg"));
    int hs256 = alg && strcmp(alg, "HS256") == 0;
    json_decref(header);
    if (!hs256)
        return grant_fail(err, errlen, "the algorithm must be HS256");
    if (!grant_signature_ok(g, token, (size_t)(dot2 - token), dot2 + 1,
                            len - (size_t)(dot2 + 1 - token)))
        return grant_fail(err, errlen, "bad signature");
    json_t *payload = grant_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    int rc = json_is_object(payload) ? grant_claims(g, payload, now, grants, exp, err, errlen)
                                     : grant_fail(err, errlen, "the payload is not a JSON object");
    json_decref(payload);
    return rc;
}
