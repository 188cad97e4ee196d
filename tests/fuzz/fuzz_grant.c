/*
 * fuzz_grant — the JWT parser and checker (grant_verify in grant.c), with
 * a 32-byte key and the restricted topics "premium,vip", at a fixed time.
 *
 * A forged signature stops a token before its payload is read, so the
 * first byte of the input chooses what the rest is:
 *   0  the whole token, as a client sends it (cut at a NUL);
 *   1  "header.payload" in base64url: the harness signs it;
 *   2  the payload's JSON bytes: the harness adds an HS256 header, signs.
 * Beyond "no crash, no leak, no UB":
 *   - a refusal says why ("token: ...");
 *   - an accepted token has not expired, grants only restricted topics,
 *     exactly those its payload's "topics" names (mode 2), and its
 *     signature is the one canonical base64url text of the HMAC: no other
 *     spelling of it is accepted (every other last character is tried).
 */
#include "fuzz.h"
#include "grant.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define FUZZ_NOW 1700000000

static const char fuzz_key[] = "fuzz-key-0123456789abcdef-fuzz-k";
static const char fuzz_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* base64url without padding of in[0..n) at out; returns the length written. */
static size_t b64url(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++)
            out[o++] = abc[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return o;
}

/* Appends ".<signature>" to the token's signed part t[0..len). */
static void sign(char *t, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    FUZZ_CHECK(HMAC(EVP_sha256(), fuzz_key, (int)sizeof(fuzz_key) - 1, (const unsigned char *)t,
                    len, mac, &maclen) != NULL);
    t[len] = '.';
    b64url(mac, maclen, t + len + 1);
}

/* The grant mask the payload's topics ask for (restricted ones only). */
static uint32_t wanted(const struct grant *g, const uint8_t *payload, size_t n)
{
    json_t *doc = json_loadb((const char *)payload, n, JSON_REJECT_DUPLICATES, NULL), *t;
    uint32_t mask = 0;
    size_t i;
    json_array_foreach (json_object_get(doc, "topics"), i, t)
        mask |= grant_bit(g, json_string_value(t));
    json_decref(doc);
    return mask;
}

/* An accepted token with any other last character is refused. */
static void check_other_spellings(const struct grant *g, char *token)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char err[256], *last = token + strlen(token) - 1, was = *last;
    uint32_t grants;
    int64_t exp;
    for (const char *c = abc; *c; c++) {
        if (*c == was)
            continue;
        *last = *c;
        FUZZ_CHECK(grant_verify(g, token, FUZZ_NOW, &grants, &exp, err, sizeof(err)) != 0);
    }
    *last = was;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct grant g;
    static char token[4 * GRANT_TOKEN_MAX];
    char err[256];
    uint32_t grants = 0;
    int64_t exp = 0;
    if (size < 1 || size > GRANT_TOKEN_MAX)
        return 0;
    if (g.key_len == 0) {
        FUZZ_CHECK(grant_set_topics(&g, "premium,vip", err, sizeof(err)) == 0);
        memcpy(g.key, fuzz_key, sizeof(fuzz_key) - 1);
        g.key_len = sizeof(fuzz_key) - 1;
    }
    unsigned mode = data[0] % 3;
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    if (mode == 0 || mode == 1) {
        memcpy(token, rest, n);
        token[n] = '\0';
        if (mode == 1)
            sign(token, strlen(token));
    } else {
        size_t at = b64url((const unsigned char *)fuzz_header, sizeof(fuzz_header) - 1, token);
        token[at++] = '.';
        at += b64url(rest, n, token + at);
        sign(token, at);
    }

    char canonical[4 * GRANT_TOKEN_MAX];
    if (grant_verify(&g, token, FUZZ_NOW, &grants, &exp, err, sizeof(err)) != 0) {
        FUZZ_CHECK(strncmp(err, "token: ", 7) == 0);
        return 0;
    }
    FUZZ_CHECK(exp > FUZZ_NOW);
    FUZZ_CHECK((grants & ~(((uint32_t)1 << g.ntopics) - 1)) == 0);
    if (mode == 2)
        FUZZ_CHECK(grants == wanted(&g, rest, n));
    const char *sig = strrchr(token, '.');
    FUZZ_CHECK(sig != NULL);
    memcpy(canonical, token, (size_t)(sig - token));
    sign(canonical, (size_t)(sig - token));
    FUZZ_CHECK(strcmp(canonical, token) == 0);
    check_other_spellings(&g, token);
    return 0;
}
