/*
 * itemtime — the item's times: RFC 3339 date-times to and from Unix
 * milliseconds (proleptic Gregorian calendar, leap seconds only where UTC
 * has them). published_at is always written "YYYY-MM-DDTHH:MM:SS.mmmZ".
 *
 * Pure functions on values, but for item_time_now_ms (the wall clock).
 */
#ifndef ALERT_ITEMTIME_H
#define ALERT_ITEMTIME_H

#include <stdint.h>

#define ITEM_TIME_STRLEN 32

/* Accepts any RFC 3339 date-time (fraction optional, Z or ±hh:mm);
 * milliseconds are kept, finer digits truncated. 0, or -1. unix_ms may be
 * NULL to only check. */
int item_time_parse(const char *s, int64_t *unix_ms);
/* UTC with milliseconds: "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void item_time_format(int64_t unix_ms, char out[ITEM_TIME_STRLEN]);
int64_t item_time_now_ms(void);

#endif
