/*
 * oauth — see oauth.h.
 */
#include "oauth.h"

#include "b64u.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OAUTH_GRANT_TYPE "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

struct oauth_fetch {
    struct h2_req req;
    struct oauth *o;
    unsigned acct_gen;
    char *url, *body;
    int64_t started_ms;
};

static void oauth_account_free(struct oauth_account *a)
{
    EVP_PKEY_free(a->key);
    free(a->email);
    free(a->key_id);
    free(a->token_uri);
    free(a->project);
    memset(a, 0, sizeof(*a));
}

static EVP_PKEY *oauth_rsa_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (key && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    ERR_clear_error();
    return key;
}

static int oauth_account_load(struct oauth_account *a, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    static const char *const fields[] = {"client_email", "private_key_id", "token_uri",
                                         "project_id", "private_key"};
    const char *v[5] = {NULL};
    json_t *pem;
    memset(a, 0, sizeof(*a));
    if (o == NULL) {
        snprintf(err, errlen, "%s: not a readable JSON file (line %d)", path, jerr.line);
        return -1;
    }
    for (int i = 0; i < 5; i++) {
        if ((v[i] = json_string_value(json_object_get(o, fields[i]))) == NULL || !*v[i]) {
            snprintf(err, errlen, "%s: %s must be a string (a service-account key file)", path,
                     fields[i]);
            goto fail;
        }
        if ((i == 0 || i == 1 || i == 3) && strpbrk(v[i], "\"\\/ ")) {
            snprintf(err, errlen, "%s: %s has characters it cannot have", path, fields[i]);
            goto fail;
        }
    }
    if (strncmp(v[2], "https://", 8) != 0 || strpbrk(v[2], "\"\\ ")) {
        snprintf(err, errlen, "%s: token_uri must be an https:// URL", path);
        goto fail;
    }
    if ((a->key = oauth_rsa_key(v[4])) == NULL) {
        snprintf(err, errlen, "%s: private_key is not a PEM RSA private key", path);
        goto fail;
    }
    if ((a->email = strdup(v[0])) == NULL || (a->key_id = strdup(v[1])) == NULL ||
        (a->token_uri = strdup(v[2])) == NULL || (a->project = strdup(v[3])) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    pem = json_object_get(o, "private_key");
    OPENSSL_cleanse((char *)json_string_value(pem), json_string_length(pem));
    json_decref(o);
    return 0;
fail:
    if ((pem = json_object_get(o, "private_key")) != NULL && json_is_string(pem))
        OPENSSL_cleanse((char *)json_string_value(pem), json_string_length(pem));
    json_decref(o);
    oauth_account_free(a);
    return -1;
}

int oauth_load(struct oauth *o, const char *path, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    if (oauth_account_load(&o->acct, path, err, errlen))
        return -1;
    o->acct_gen = 1;
    return 0;
}

int oauth_reload(struct oauth *o, const char *path, char *err, size_t errlen)
{
    struct oauth_account a;
    if (oauth_account_load(&a, path, err, errlen))
        return -1;
    oauth_account_free(&o->acct);
    o->acct = a;
    o->acct_gen++;
    free(o->token);
    o->token = NULL;
    return 0;
}

void oauth_start(struct oauth *o, struct h2 *h2, oauth_ready_fn ready, void *user)
{
    o->h2 = h2;
    o->ready = ready;
    o->user = user;
}

const char *oauth_token(const struct oauth *o, int64_t now_ms, unsigned *gen)
{
    if (o->token == NULL || now_ms + OAUTH_RENEW_MS >= o->token_exp_ms)
        return NULL;
    *gen = o->gen;
    return o->token;
}

void oauth_expired(struct oauth *o, unsigned gen)
{
    if (gen == o->gen) {
        free(o->token);
        o->token = NULL;
    }
}

/* base64url(header).base64url(claims).base64url(RSASSA-PKCS1-v1_5 SHA-256). */
static char *oauth_grant(const struct oauth_account *a, int64_t now_ms)
{
    char header[300], claims[2048];
    unsigned char sig[1024];
    size_t siglen = sizeof(sig), n;
    long long now = now_ms / 1000;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *jwt = NULL;
    snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             a->key_id);
    if (snprintf(claims, sizeof(claims),
                 "{\"iss\":\"%s\",\"scope\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}",
                 a->email, OAUTH_SCOPE, a->token_uri, now,
                 now + OAUTH_GRANT_SECS) >= (int)sizeof(claims) ||
        (size_t)EVP_PKEY_get_size(a->key) > sizeof(sig) || md == NULL ||
        (jwt = malloc(B64U_LEN(strlen(header)) + B64U_LEN(strlen(claims)) + B64U_LEN(sizeof(sig)) +
                      3)) == NULL)
        goto fail;
    n = b64u_encode((const unsigned char *)header, strlen(header), jwt);
    jwt[n++] = '.';
    n += b64u_encode((const unsigned char *)claims, strlen(claims), jwt + n);
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->key) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)jwt, n) != 1)
        goto fail;
    jwt[n++] = '.';
    b64u_encode(sig, siglen, jwt + n);
    EVP_MD_CTX_free(md);
    return jwt;
fail:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(jwt);
    return NULL;
}

static void oauth_fetch_free(struct oauth_fetch *f)
{
    curl_slist_free_all(f->req.headers);
    free(f->url);
    free(f->body);
    free(f);
}

/* 0 with the token taken, or -1 with *why set. */
static int oauth_take(struct oauth *o, long status, const char *answer, size_t len,
                      int64_t started_ms, const char **why)
{
    json_t *j = answer ? json_loadb(answer, len, 0, NULL) : NULL;
    const char *token = json_string_value(json_object_get(j, "access_token"));
    json_int_t secs = json_integer_value(json_object_get(j, "expires_in"));
    int rc = -1;
    if (status != 200)
        *why = json_string_value(json_object_get(j, "error")) ? "the token endpoint refused "
                                                                "the grant"
                                                              : "the token endpoint failed";
    else if (token == NULL || strlen(token) > OAUTH_TOKEN_MAX || strpbrk(token, " \r\n\"") ||
             secs <= 0)
        *why = "the token endpoint's answer holds no access_token and expires_in";
    else if ((token = strdup(token)) == NULL)
        *why = "out of memory";
    else {
        free(o->token);
        o->token = (char *)token;
        o->token_exp_ms = started_ms + (int64_t)secs * 1000;
        o->gen++;
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static void oauth_on_answer(struct h2_req *req, long status, const char *retry_after, CURLcode code,
                            const char *error)
{
    struct oauth_fetch *f = req->user;
    struct oauth *o = f->o;
    const char *why = status ? "" : error;
    int stale = f->acct_gen != o->acct_gen, ok;
    (void)retry_after;
    (void)code;
    o->fetch = NULL;
    ok = !stale && oauth_take(o, status, req->answer, req->answer_len, f->started_ms, &why) == 0;
    if (req->answer)
        OPENSSL_cleanse(req->answer, req->answer_len);
    if (stale && oauth_fetch(o, f->started_ms) == 0) {
        oauth_fetch_free(f);
        return; /* the account changed meanwhile: ask again with the new one */
    }
    oauth_fetch_free(f);
    o->ready(o->user, ok, why);
}

int oauth_fetch(struct oauth *o, int64_t now_ms)
{
    struct oauth_fetch *f;
    char *grant;
    size_t cap;
    if (o->fetch)
        return 0;
    if (o->acct.key == NULL || (f = calloc(1, sizeof(*f))) == NULL)
        return -1;
    if ((grant = oauth_grant(&o->acct, now_ms)) == NULL) {
        free(f);
        return -1;
    }
    cap = sizeof("grant_type=" OAUTH_GRANT_TYPE "&assertion=") + strlen(grant);
    f->o = o;
    f->acct_gen = o->acct_gen;
    f->started_ms = now_ms;
    if ((f->url = strdup(o->acct.token_uri)) == NULL || (f->body = malloc(cap)) == NULL ||
        (f->req.headers =
             curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded")) == NULL) {
        free(grant);
        oauth_fetch_free(f);
        return -1;
    }
    snprintf(f->body, cap, "grant_type=%s&assertion=%s", OAUTH_GRANT_TYPE, grant);
    free(grant);
    f->req.url = f->url;
    f->req.body = f->body;
    f->req.len = strlen(f->body);
    f->req.done = oauth_on_answer;
    f->req.user = f;
    if (h2_post(o->h2, &f->req)) {
        oauth_fetch_free(f);
        return -1;
    }
    o->fetch = f;
    return 0;
}

void oauth_free(struct oauth *o)
{
    oauth_account_free(&o->acct);
    if (o->token)
        OPENSSL_cleanse(o->token, strlen(o->token));
    free(o->token);
    memset(o, 0, sizeof(*o));
}
