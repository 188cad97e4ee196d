/*
 * embargo — see embargo.h.
 */
#include "embargo.h"

#include <string.h>

int embargo_handle_ok(const char *s)
{
    size_t n = sizeof(EMBARGO_HANDLE_PREFIX) - 1;
    if (strncmp(s, EMBARGO_HANDLE_PREFIX, n) != 0 || strlen(s + n) != EMBARGO_HANDLE_HEX)
        return 0;
    for (s += n; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

int embargo_record_split(const char *rec, size_t len, long *maxlen, const char **item,
                         size_t *item_len)
{
    long n = 0;
    size_t i = 0;
    while (i < len && i < 10 && rec[i] >= '0' && rec[i] <= '9')
        n = n * 10 + (rec[i++] - '0');
    if (i == 0 || i >= len || rec[i] != ' ' || i + 1 >= len || rec[i + 1] != '{')
        return -1;
    *maxlen = n;
    *item = rec + i + 1;
    *item_len = len - i - 1;
    return 0;
}
