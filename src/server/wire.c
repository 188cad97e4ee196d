/*
 * wire — see wire.h.
 */
#include "wire.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int wire_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int wire_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 9110 tchar */
static int wire_tchar(char c)
{
    return wire_alpha(c) || wire_digit(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static int wire_b64(char c)
{
    return wire_alpha(c) || wire_digit(c) || c == '+' || c == '/';
}

int wire_ws_key_ok(const char *key)
{
    if (strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return 0;
    for (int i = 0; i < 22; i++)
        if (!wire_b64(key[i]))
            return 0;
    return 1;
}

int wire_token_list_ok(const char *list)
{
    const char *p = list;
    if (strlen(list) > WIRE_LIST_MAX)
        return 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *name = p;
        if (!wire_alpha(*p))
            return 0; /* an empty item, or a name lws takes for a number */
        while (wire_tchar(*p))
            p++;
        if (p - name > WIRE_NAME_MAX)
            return 0;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return 1;
        if (*p++ != ',')
            return 0;
    }
}

/* 1 when the comma-separated `list` holds `token`, ignoring case. */
static int wire_list_has(const char *list, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == tlen && strncasecmp(p, token, len) == 0)
            return 1;
        p += len;
    }
    return 0;
}

static void wire_refuse(struct wire_answer *a, unsigned status, const char *header,
                        const char *message)
{
    a->status = status;
    a->header = header;
    snprintf(a->message, sizeof(a->message), "%s", message);
}

void wire_check_upgrade(const struct wire_handshake *h, struct wire_answer *a)
{
    memset(a, 0, sizeof(*a));
    if (!h->get)
        wire_refuse(a, 405, "Allow: " WIRE_ALLOW, "a WebSocket handshake is a GET");
    else if (h->host.len < 0)
        wire_refuse(a, 400, NULL, "Host: required");
    else if (h->connection.len < 0 || !wire_token_list_ok(h->connection.s) ||
             !wire_list_has(h->connection.s, "upgrade"))
        wire_refuse(a, 400, NULL, "Connection: must list upgrade (at most 127 bytes of tokens)");
    else if (h->version.len < 0 || strcmp(h->version.s, WIRE_WS_VERSION) != 0)
        wire_refuse(a, 426, "Sec-WebSocket-Version: " WIRE_WS_VERSION,
                    "Sec-WebSocket-Version: only " WIRE_WS_VERSION " is spoken here");
    else if (h->key.len < 0 || !wire_ws_key_ok(h->key.s))
        wire_refuse(a, 400, NULL, "Sec-WebSocket-Key: must be the base64 of 16 bytes");
    else if (h->protocols.len == WIRE_TOO_LONG ||
             (h->protocols.len >= 0 && !wire_token_list_ok(h->protocols.s)))
        wire_refuse(a, 400, NULL,
                    "Sec-WebSocket-Protocol: a list of tokens, each at most 63 bytes, "
                    "127 in all");
}

void wire_check_body(struct wire_text content_length, int transfer_encoding, struct wire_answer *a)
{
    unsigned long long n = 0;
    memset(a, 0, sizeof(*a));
    if (transfer_encoding) {
        wire_refuse(a, 413, NULL, "Transfer-Encoding: no request body is taken here");
        a->close = 1;
        return;
    }
    if (content_length.len == WIRE_ABSENT)
        return;
    const char *p = content_length.len > 0 ? content_length.s : "";
    size_t digits = strspn(p, "0123456789");
    if (content_length.len == WIRE_TOO_LONG || digits == 0 || p[digits] != '\0') {
        wire_refuse(a, 400, NULL, "Content-Length: must be one decimal number");
        a->close = 1;
        return;
    }
    for (size_t i = 0; i < digits && n <= WIRE_DISCARD_MAX; i++)
        n = n * 10 + (unsigned long long)(p[i] - '0');
    if (n > WIRE_DISCARD_MAX) {
        wire_refuse(a, 413, NULL, "Content-Length: no request body is taken here");
        a->close = 1;
    }
}
