/*
 * test.h — the unit-test runner: a handful of macros, no framework.
 *
 * A test is a void function; a failed assertion prints both values and
 * returns from it. TEST_MAIN runs the listed tests, prints one line per
 * failure and a final "N passed, N failed" line, and exits non-zero on any
 * failure.
 */
#ifndef ALERT_TEST_H
#define ALERT_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_now;

#define TEST_FAIL_(fmt, ...)                                                                       \
    do {                                                                                           \
        fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);                    \
        test_failed_now = 1;                                                                       \
        return;                                                                                    \
    } while (0)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c))                                                                                  \
            TEST_FAIL_("expected true: %s", #c);                                                   \
    } while (0)

#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);                                  \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                                       \
            TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",                   \
                       b_ ? b_ : "(null)");                                                        \
    } while (0)

#define ASSERT_CONTAINS(haystack, needle)                                                          \
    do {                                                                                           \
        const char *h_ = (haystack), *n_ = (needle);                                               \
        if (h_ == NULL || strstr(h_, n_) == NULL)                                                  \
            TEST_FAIL_("%s contains \"%s\": got \"%s\"", #haystack, n_, h_ ? h_ : "(null)");       \
    } while (0)

typedef void (*test_fn)(void);
struct test_case {
    const char *name;
    test_fn fn;
};
#define TEST_CASE(fn)                                                                              \
    {                                                                                              \
#fn, fn                                                                                    \
    }

#define TEST_MAIN(...)                                                                             \
    int main(void)                                                                                 \
    {                                                                                              \
        static const struct test_case cases[] = {__VA_ARGS__};                                     \
        int passed = 0, failed = 0;                                                                \
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {                            \
            test_failed_now = 0;                                                                   \
            cases[i].fn();                                                                         \
            if (test_failed_now) {                                                                 \
                fprintf(stderr, "FAIL %s\n", cases[i].name);                                       \
                failed++;                                                                          \
            } else {                                                                               \
                passed++;                                                                          \
            }                                                                                      \
        }                                                                                          \
        printf("%d passed, %d failed\n", passed, failed);                                          \
        return failed ? 1 : 0;                                                                     \
    }

#endif
