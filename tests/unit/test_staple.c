/*
 * test_staple — the OCSP staple (staple.h): when an answer may be stapled
 * (its certificate, its status, its validity window with the clock skew
 * allowed), and the files staple_read refuses, leaving the staple in use
 * as it was. Matching real responses with certificates is in
 * tests/integration/test_tls_ocsp.py.
 */
#include "staple.h"
#include "test.h"

#include <openssl/ocsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOW ((time_t)1800000000)

/* A staple as staple_match leaves one: good, from an hour ago to a day on. */
static struct staple good(void)
{
    struct staple s = {0};
    s.der = malloc(1);
    s.len = 1;
    s.status = V_OCSP_CERTSTATUS_GOOD;
    s.this_update = NOW - 3600;
    s.next_update = NOW + 86400;
    return s;
}

static int says(const char *why, const char *words)
{
    return why != NULL && strstr(why, words) != NULL;
}

static void test_a_current_answer_about_the_certificate_is_stapled(void)
{
    struct staple s = good();
    ASSERT_TRUE(staple_unusable(&s, NOW) == NULL);
    ASSERT_TRUE(staple_unusable(&s, s.next_update) == NULL); /* up to its last second */
    s.status = V_OCSP_CERTSTATUS_REVOKED;                    /* the CA's word: served */
    ASSERT_TRUE(staple_unusable(&s, NOW) == NULL);
    s.next_update = 0; /* none given: the responder always has news */
    ASSERT_TRUE(staple_unusable(&s, NOW + 365 * 86400) == NULL);
    staple_free(&s);
    ASSERT_TRUE(s.der == NULL && s.len == 0);
}

static void test_an_expired_answer_is_not(void)
{
    struct staple s = good();
    ASSERT_TRUE(says(staple_unusable(&s, s.next_update + 1), "expired"));
    staple_free(&s);
}

static void test_an_answer_from_the_future_beyond_the_skew_is_not(void)
{
    struct staple s = good();
    s.this_update = NOW + STAPLE_SKEW_SECONDS;
    ASSERT_TRUE(staple_unusable(&s, NOW) == NULL);
    s.this_update = NOW + STAPLE_SKEW_SECONDS + 1;
    ASSERT_TRUE(says(staple_unusable(&s, NOW), "not valid yet"));
    staple_free(&s);
}

static void test_another_certificate_or_unknown_status_is_not(void)
{
    struct staple s = good();
    s.status = STAPLE_FOREIGN;
    ASSERT_TRUE(says(staple_unusable(&s, NOW), "another certificate"));
    s.status = V_OCSP_CERTSTATUS_UNKNOWN;
    ASSERT_TRUE(says(staple_unusable(&s, NOW), "status unknown"));
    staple_free(&s);
    ASSERT_TRUE(says(staple_unusable(&s, NOW), "no OCSP response"));
}

/* Writes len bytes to a new temporary file; its name in path. */
static int temp_file(char path[64], const void *bytes, size_t len)
{
    snprintf(path, 64, "/tmp/test_staple.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    int ok = write(fd, bytes, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

/* staple_read refuses `bytes` with an error containing `words`, and the
 * staple in use stays. */
static int refused(const void *bytes, size_t len, const char *words)
{
    char path[64], err[256] = "";
    struct staple s = good();
    unsigned char *in_use = s.der;
    int ok = temp_file(path, bytes, len) == 0 && staple_read(&s, path, err, sizeof(err)) == -1 &&
             strstr(err, path) != NULL && strstr(err, words) != NULL && s.der == in_use &&
             s.status == V_OCSP_CERTSTATUS_GOOD;
    if (!ok)
        fprintf(stderr, "  not refused as \"%s\": %s\n", words, err);
    unlink(path);
    staple_free(&s);
    return ok;
}

static void test_files_that_are_not_a_response_are_refused(void)
{
    const unsigned char try_later[] = {0x30, 0x03, 0x0A, 0x01, 0x03};
    const unsigned char trailing[] = {0x30, 0x03, 0x0A, 0x01, 0x00, 0x00};
    const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    ASSERT_TRUE(refused(try_later, sizeof(try_later), "answered \"trylater\""));
    ASSERT_TRUE(refused(trailing, sizeof(trailing), "not a DER OCSP response"));
    ASSERT_TRUE(refused(pem, sizeof(pem) - 1, "not a DER OCSP response"));
    ASSERT_TRUE(refused("", 0, "empty"));
    static unsigned char big[STAPLE_MAX_BYTES + 1];
    ASSERT_TRUE(refused(big, sizeof(big), "over 64 KiB"));

    char err[256] = "";
    struct staple s = {0};
    ASSERT_EQ(staple_read(&s, "/nonexistent/ocsp.der", err, sizeof(err)), -1);
    ASSERT_STR_EQ(err, "--tls-ocsp /nonexistent/ocsp.der: No such file or directory");
    ASSERT_EQ(staple_read(&s, "/tmp", err, sizeof(err)), -1);
    ASSERT_STR_EQ(err, "--tls-ocsp /tmp: not a regular file");
    ASSERT_TRUE(s.der == NULL);
}

TEST_MAIN(TEST_CASE(test_a_current_answer_about_the_certificate_is_stapled),
          TEST_CASE(test_an_expired_answer_is_not),
          TEST_CASE(test_an_answer_from_the_future_beyond_the_skew_is_not),
          TEST_CASE(test_another_certificate_or_unknown_status_is_not),
          TEST_CASE(test_files_that_are_not_a_response_are_refused))
