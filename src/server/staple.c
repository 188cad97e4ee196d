/*
 * staple — see staple.h.
 */
#include "staple.h"

#include <errno.h>
#include <openssl/ocsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int staple_fail(char *err, size_t errlen, const char *path, const char *why)
{
    snprintf(err, errlen, "--tls-ocsp %s: %s", path, why);
    return -1;
}

/* The whole file, malloc'd, into *out; -1 with err set. */
static int staple_slurp(const char *path, unsigned char **out, size_t *len, char *err,
                        size_t errlen)
{
    struct stat st;
    FILE *f = fopen(path, "rbe");
    if (f == NULL)
        return staple_fail(err, errlen, path, strerror(errno));
    int rc = -1;
    unsigned char *buf = NULL;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        staple_fail(err, errlen, path, "not a regular file");
    else if (st.st_size <= 0 || st.st_size > STAPLE_MAX_BYTES)
        staple_fail(err, errlen, path,
                    st.st_size <= 0 ? "empty: not an OCSP response"
                                    : "over 64 KiB: not an OCSP response");
    else if ((buf = malloc((size_t)st.st_size)) == NULL)
        staple_fail(err, errlen, path, "out of memory");
    else if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        staple_fail(err, errlen, path, "shorter than stat says");
    else
        rc = 0;
    fclose(f);
    if (rc == 0) {
        *out = buf;
        *len = (size_t)st.st_size;
    } else {
        free(buf);
    }
    return rc;
}

/* The response in der, whole and successful, or NULL with err set. */
static OCSP_BASICRESP *staple_parse(const unsigned char *der, size_t len, const char *path,
                                    char *err, size_t errlen)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    OCSP_BASICRESP *basic = NULL;
    char why[160];
    if (resp == NULL || p != der + len) {
        staple_fail(err, errlen, path,
                    "not a DER OCSP response (openssl ocsp -respout writes one; "
                    "PEM is not taken)");
    } else if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        snprintf(why, sizeof(why), "the responder answered \"%s\": no status to staple",
                 OCSP_response_status_str(OCSP_response_status(resp)));
        staple_fail(err, errlen, path, why);
    } else if ((basic = OCSP_response_get1_basic(resp)) == NULL) {
        staple_fail(err, errlen, path, "not a basic OCSP response");
    }
    OCSP_RESPONSE_free(resp);
    return basic;
}

int staple_read(struct staple *s, const char *path, char *err, size_t errlen)
{
    unsigned char *der;
    size_t len;
    if (staple_slurp(path, &der, &len, err, errlen))
        return -1;
    OCSP_BASICRESP *basic = staple_parse(der, len, path, err, errlen);
    if (basic == NULL) {
        free(der);
        return -1;
    }
    OCSP_BASICRESP_free(basic);
    staple_free(s);
    s->der = der;
    s->len = len;
    s->status = STAPLE_FOREIGN;
    return 0;
}

static int staple_same(const ASN1_OCTET_STRING *a, const unsigned char *b, unsigned int blen)
{
    return a != NULL && ASN1_STRING_length(a) == (int)blen &&
           memcmp(ASN1_STRING_get0_data(a), b, blen) == 0;
}

/* 1 when the CertID `id` is leaf's: the serial and the issuer's name, and
 * the issuer's key when the chain has the issuer. */
static int staple_names(const OCSP_CERTID *id, X509 *leaf, X509 *issuer)
{
    ASN1_OCTET_STRING *name_hash, *key_hash;
    ASN1_OBJECT *md_oid;
    ASN1_INTEGER *serial;
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len;
    /* OpenSSL 3.0 takes a non-const CertID here but only reads it. */
    if (!OCSP_id_get0_info(&name_hash, &md_oid, &key_hash, &serial, (OCSP_CERTID *)id) ||
        ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(leaf)) != 0)
        return 0;
    const EVP_MD *md = EVP_get_digestbyobj(md_oid);
    if (md == NULL || !X509_NAME_digest(X509_get_issuer_name(leaf), md, buf, &len) ||
        !staple_same(name_hash, buf, len))
        return 0;
    if (issuer == NULL)
        return 1;
    return X509_pubkey_digest(issuer, md, buf, &len) && staple_same(key_hash, buf, len);
}

static time_t staple_time(const ASN1_GENERALIZEDTIME *t)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    return timegm(&tm);
}

static X509 *staple_issuer(X509 *leaf, STACK_OF(X509) * chain)
{
    for (int i = 0; chain && i < sk_X509_num(chain); i++)
        if (X509_check_issued(sk_X509_value(chain, i), leaf) == X509_V_OK)
            return sk_X509_value(chain, i);
    return NULL;
}

void staple_match(struct staple *s, X509 *leaf, STACK_OF(X509) * chain)
{
    char err[8];
    s->status = STAPLE_FOREIGN;
    s->this_update = s->next_update = 0;
    s->logged = 0;
    if (s->der == NULL || leaf == NULL)
        return;
    OCSP_BASICRESP *basic = staple_parse(s->der, s->len, "", err, sizeof(err));
    if (basic == NULL)
        return; /* not after staple_read */
    X509 *issuer = staple_issuer(leaf, chain);
    for (int i = 0; i < OCSP_resp_count(basic); i++) {
        OCSP_SINGLERESP *one = OCSP_resp_get0(basic, i);
        ASN1_GENERALIZEDTIME *this_update, *next_update;
        int reason;
        if (!staple_names(OCSP_SINGLERESP_get0_id(one), leaf, issuer))
            continue;
        int status = OCSP_single_get0_status(one, &reason, NULL, &this_update, &next_update);
        s->status = status < 0 ? V_OCSP_CERTSTATUS_UNKNOWN : status;
        s->this_update = staple_time(this_update);
        s->next_update = staple_time(next_update);
        break;
    }
    OCSP_BASICRESP_free(basic);
}

const char *staple_unusable(const struct staple *s, time_t now)
{
    if (s->der == NULL)
        return "no OCSP response loaded";
    if (s->status == STAPLE_FOREIGN)
        return "the OCSP response is about another certificate";
    if (s->status != V_OCSP_CERTSTATUS_GOOD && s->status != V_OCSP_CERTSTATUS_REVOKED)
        return "the OCSP responder does not know the certificate (status unknown)";
    if (s->this_update > now + STAPLE_SKEW_SECONDS)
        return "the OCSP response is not valid yet (its thisUpdate is ahead of this clock)";
    if (s->next_update && now > s->next_update)
        return "the OCSP response expired (its nextUpdate has passed)";
    return NULL;
}

void staple_free(struct staple *s)
{
    free(s->der);
    memset(s, 0, sizeof(*s));
}
