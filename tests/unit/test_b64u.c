/*
 * test_b64u — base64url without padding: RFC 4648's vectors, every
 * length's round trip, and what the decoder refuses.
 */
#include "b64u.h"
#include "test.h"

#include <string.h>

static void test_rfc4648_vectors(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        unsigned char back[16];
        size_t n = strlen(plain[i]);
        ASSERT_EQ(b64u_encode((const unsigned char *)plain[i], n, out), strlen(coded[i]));
        ASSERT_STR_EQ(out, coded[i]);
        ASSERT_EQ(b64u_decode(coded[i], strlen(coded[i]), back, sizeof(back)), (long)n);
        ASSERT_TRUE(memcmp(back, plain[i], n) == 0);
    }
}

static void test_url_alphabet_and_padding(void)
{
    unsigned char in[] = {0xfb, 0xff, 0xbf}, back[4];
    char out[8];
    b64u_encode(in, 3, out);
    ASSERT_STR_EQ(out, "-_-_");
    ASSERT_EQ(b64u_decode("Zg==", 4, back, sizeof(back)), 1);
    ASSERT_EQ(back[0], 'f');
}

static void test_refusals(void)
{
    unsigned char out[8];
    ASSERT_EQ(b64u_decode("Zm9v+g", 6, out, sizeof(out)), -1); /* standard alphabet */
    ASSERT_EQ(b64u_decode("Zm9v/g", 6, out, sizeof(out)), -1);
    ASSERT_EQ(b64u_decode("Z", 1, out, sizeof(out)), -1); /* no encoding has 1 char */
    ASSERT_EQ(b64u_decode("Zm 9", 4, out, sizeof(out)), -1);
    ASSERT_EQ(b64u_decode("Zm9vYmFy", 8, out, 5), -1); /* too little room */
}

static void test_round_trip_every_length(void)
{
    unsigned char in[70], back[70];
    char out[B64U_LEN(70) + 1];
    for (int i = 0; i < 70; i++)
        in[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= 70; n++) {
        size_t len = b64u_encode(in, n, out);
        ASSERT_EQ(len, B64U_LEN(n));
        ASSERT_EQ(b64u_decode(out, len, back, sizeof(back)), (long)n);
        ASSERT_TRUE(memcmp(in, back, n) == 0);
    }
}

TEST_MAIN(TEST_CASE(test_rfc4648_vectors), TEST_CASE(test_url_alphabet_and_padding),
          TEST_CASE(test_refusals), TEST_CASE(test_round_trip_every_length))
