/*
 * fuzz.h — what every libFuzzer harness under tests/fuzz/ shares: the entry
 * point's prototype and FUZZ_CHECK, an invariant that aborts with its text
 * (libFuzzer then keeps the input as a reproducer).
 *
 * A harness is one file, fuzz_<name>.c, linked with the modules it tests
 * (FUZZ_<name> in the Makefile) and run by `make fuzz` (scripts/fuzz.sh).
 */
#ifndef ALERT_FUZZ_H
#define ALERT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a C string: a malloc'd copy cut at its first NUL byte, as
 * the callers of a C-string parser would hold it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
