/*
 * itemtime — see itemtime.h. Days are counted from 1970-01-01.
 */
#include "itemtime.h"

#include <stdio.h>
#include <time.h>

static int item_time_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int item_time_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int item_time_month_days(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && item_time_is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d: years counted from March, in 400-year eras. */
static int64_t item_time_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of item_time_days_from_civil. */
static void item_time_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n decimal digits. Stops at the first non-digit, so it never
 * reads past a string's NUL. */
static int item_time_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!item_time_is_digit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses "Z" or "±hh:mm" at s into minutes east of UTC; s must end there. */
static int item_time_offset(const char *s, int *minutes)
{
    int hh, mm;
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        *minutes = 0;
        return 0;
    }
    if ((s[0] != '+' && s[0] != '-') || item_time_digits(s + 1, 2, &hh) || s[3] != ':' ||
        item_time_digits(s + 4, 2, &mm) || s[6] != '\0' || hh > 23 || mm > 59)
        return -1;
    *minutes = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    return 0;
}

int item_time_parse(const char *s, int64_t *unix_ms)
{
    int y, mo, d, h, mi, sec, ms = 0, off;
    if (s == NULL || item_time_digits(s, 4, &y) || s[4] != '-' || item_time_digits(s + 5, 2, &mo) ||
        s[7] != '-' || item_time_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        item_time_digits(s + 11, 2, &h) || s[13] != ':' || item_time_digits(s + 14, 2, &mi) ||
        s[16] != ':' || item_time_digits(s + 17, 2, &sec))
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        int k = 0;
        for (p++; item_time_is_digit((unsigned char)*p); p++, k++)
            if (k < 3) /* milliseconds kept, finer digits truncated */
                ms = ms * 10 + (*p - '0');
        if (k == 0)
            return -1;
        for (; k < 3; k++)
            ms *= 10;
    }
    if (item_time_offset(p, &off) != 0 || mo < 1 || mo > 12 || d < 1 ||
        d > item_time_month_days(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -1;
    /* A leap second is only ever the last second of a UTC day. */
    if (sec == 60 && ((h * 60 + mi - off) % 1440 + 1440) % 1440 != 1439)
        return -1;
    int64_t t = item_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off * 60;
    if (unix_ms)
        *unix_ms = t * 1000 + ms;
    return 0;
}

void item_time_format(int64_t unix_ms, char out[ITEM_TIME_STRLEN])
{
    int64_t days = unix_ms / 86400000, rem = unix_ms % 86400000, y;
    int m, d;
    if (rem < 0) {
        days--;
        rem += 86400000;
    }
    item_time_civil_from_days(days, &y, &m, &d);
    int secs = (int)(rem / 1000);
    snprintf(out, ITEM_TIME_STRLEN, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
             secs / 3600, secs / 60 % 60, secs % 60, (int)(rem % 1000));
}

int64_t item_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
