/*
 * scriptsha — the name Redis caches a Lua script under: the SHA-1 of its
 * text in lowercase hex, as EVALSHA wants it. Both programs run scripts
 * with EVALSHA first and send the text (EVAL) only when Redis answers
 * NOSCRIPT.
 */
#ifndef ALERT_SCRIPTSHA_H
#define ALERT_SCRIPTSHA_H

#include <stddef.h>

#define SCRIPTSHA_STRLEN 41

/* 0, or -1 if OpenSSL cannot hash (out then holds ""). */
int scriptsha_hex(const char *script, size_t len, char out[SCRIPTSHA_STRLEN]);

#endif
