/*
 * frames — see frames.h.
 */
#include "frames.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FRAMES_STR_(x) #x
#define FRAMES_STR(x)  FRAMES_STR_(x)

static int frames_printf(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define FRAMES_STR_(x) #x
#define FRAMES_STR(x)  FRAMES_STR_(x)

static int frames_printf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

char *frames_quote_node(const char *node)
{
    json_t *name = json_string(node);
    char *quoted = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
    json_decref(name);
    if (quoted && strlen(quoted) > FRAMES_NODE_MAX) {
        free(quoted);
        return NULL;
    }
    return quoted;
}

int frames_hello(char *out, size_t len, const char *node_json, int heartbeat, const char *last_id,
                 const char *fields_json)
{
    return frames_printf(out, len,
                         "{\"type\":\"hello\",\"v\":1,\"node\":%s,\"heartbeat\":%d,"
                         "\"last_id\":\"%s\"%s%s}",
                         node_json, heartbeat, last_id, fields_json ? ",\"fields\":" : "",
                         fields_json ? fields_json : "");
}

int frames_gap(char *out, size_t len, struct item_id since, const char *oldest)
{
    char s[ITEM_ID_STRLEN];
    item_id_format(since, s);
    return frames_printf(out, len, "{\"type\":\"gap\",\"since\":\"%s\",\"oldest\":\"%s\"}", s,
                         oldest);
}

int frames_shed(char *out, size_t len, struct item_id after, struct item_id through, unsigned count)
{
    char a[ITEM_ID_STRLEN], t[ITEM_ID_STRLEN];
    item_id_format(after, a);
    item_id_format(through, t);
    return frames_printf(out, len,
                         "{\"type\":\"shed\",\"after\":\"%s\",\"through\":\"%s\",\"count\":%u}", a,
                         t, count);
}

int frames_replayed(char *out, size_t len, unsigned count, const char *last_id)
{
    return frames_printf(out, len, "{\"type\":\"replayed\",\"count\":%u,\"last_id\":\"%s\"}", count,
                         last_id);
}

char *frames_error(const char *code, const char *message)
{
    json_t *frame = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
    char *text = frame ? json_dumps(frame, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(frame);
    return text;
}

const char *frames_close_reason(uint16_t code)
{
    switch (code) {
    case 1001:
        return "going away";
    case 1002:
        return "protocol error";
    case 1003:
        return "text frames only";
    case 1007:
        return "invalid UTF-8 or compressed data";
    case 1009:
        return "frame over " FRAMES_STR(FRAMES_CLIENT_MAX) " bytes";
    case 4001:
        return "slow consumer";
    case 4029:
        return "too many connections";
    case 4030:
        return "too many frames";
    case 4031:
        return "too many replays";
    default:
        return "policy violation";
    }
}

size_t frames_close(unsigned char out[FRAMES_CLOSE_MAX], uint16_t code)
{
    const char *why = frames_close_reason(code);
    size_t wlen = strlen(why);
    out[0] = 0x88; /* FIN, close */
    out[1] = (unsigned char)(wlen + 2);
    out[2] = (unsigned char)(code >> 8);
    out[3] = (unsigned char)(code & 0xff);
    memcpy(out + 4, why, wlen);
    return wlen + 4;
}

int frames_client_close_valid(const unsigned char *payload, size_t len)
{
    if (len == 0)
        return 1;
    if (len == 1)
        return 0;
    unsigned code = (unsigned)payload[0] << 8 | payload[1];
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}
