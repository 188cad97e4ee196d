/*
 * wsp — see wsp.h.
 */
#include "wsp.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WSP_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ------------------------------------------------------------------------
 * Upgrade
 * ---------------------------------------------------------------------- */

void wsp_accept(const char key[WSP_KEY_LEN], char accept[WSP_ACCEPT_LEN + 1])
{
    char buf[WSP_KEY_LEN + sizeof(WSP_GUID)];
    unsigned char md[SHA_DIGEST_LENGTH];
    memcpy(buf, key, WSP_KEY_LEN);
    memcpy(buf + WSP_KEY_LEN, WSP_GUID, sizeof(WSP_GUID) - 1);
    SHA1((const unsigned char *)buf, WSP_KEY_LEN + sizeof(WSP_GUID) - 1, md);
    EVP_EncodeBlock((unsigned char *)accept, md, SHA_DIGEST_LENGTH);
}

int wsp_request(char *out, size_t cap, const char *host, int port, const char *path,
                const char *subprotocol, const char *extensions, char accept[WSP_ACCEPT_LEN + 1])
{
    unsigned char nonce[16];
    char key[WSP_KEY_LEN + 1];
    if (RAND_bytes(nonce, sizeof(nonce)) != 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
    wsp_accept(key, accept);
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s%s%s"
                     "%s%s%s"
                     "\r\n",
                     path, host, port, key, subprotocol ? "Sec-WebSocket-Protocol: " : "",
                     subprotocol ? subprotocol : "", subprotocol ? "\r\n" : "",
                     extensions ? "Sec-WebSocket-Extensions: " : "", extensions ? extensions : "",
                     extensions ? "\r\n" : "");
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The value of header `name` within head[0..n) (lines end in CRLF), trimmed,
 * into *val / *vlen; returns 0, or -1 if absent. */
static int wsp_header(const char *head, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', n), *end = head + n;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *val = v, *vlen = (size_t)(ve - v);
            return 0;
        }
        p = eol < end ? eol : NULL;
    }
    return -1;
}

int wsp_response(const char *p, size_t n, const char *accept, int *status)
{
    const char *v;
    size_t vlen;
    *status = 0;
    const char *end = memmem(p, n, "\r\n\r\n", 4);
    if (end == NULL)
        return n >= WSP_RESPONSE_MAX ? -1 : 0;
    size_t head = (size_t)(end - p) + 4;
    if (head < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0)
        return -1;
    if (p[9] < '0' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
        return -1;
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (*status != 101)
        return -1;
    if (wsp_header(p, head, "Sec-WebSocket-Accept", &v, &vlen) != 0 || vlen != WSP_ACCEPT_LEN ||
        memcmp(v, accept, WSP_ACCEPT_LEN) != 0)
        return -1;
    return (int)head;
}

/* Whether the `len` bytes at p, up to the next ';' or ',', are the token
 * `tok` (spaces around it allowed). */
static int wsp_token_is(const char *p, size_t len, const char *tok)
{
    size_t tl = strlen(tok);
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    return len == tl && strncasecmp(p, tok, tl) == 0;
}

int wsp_response_pmd(const char *p, size_t n)
{
    const char *v;
    size_t vlen;
    if (wsp_header(p, n, "Sec-WebSocket-Extensions", &v, &vlen) != 0)
        return 0;
    if (memchr(v, ',', vlen)) /* one extension answers one offer */
        return -1;
    const char *end = v + vlen, *semi = memchr(v, ';', vlen);
    if (!wsp_token_is(v, (size_t)((semi ? semi : end) - v), "permessage-deflate"))
        return -1;
    int no_takeover = 0;
    while (semi) {
        const char *q = semi + 1;
        semi = memchr(q, ';', (size_t)(end - q));
        size_t len = (size_t)((semi ? semi : end) - q);
        const char *eq = memchr(q, '=', len);
        if (wsp_token_is(q, len, "server_no_context_takeover"))
            no_takeover = 1;
        else if (eq && wsp_token_is(q, (size_t)(eq - q), "server_max_window_bits"))
            continue; /* a server may say its window; an inflater of 15 bits reads any */
        else if (!wsp_token_is(q, len, "client_no_context_takeover"))
            return -1; /* client_max_window_bits, or anything this client did not offer */
    }
    return no_takeover ? 1 : -1;
}

/* ------------------------------------------------------------------------
 * Frames
 * ---------------------------------------------------------------------- */

int wsp_parse(const unsigned char *p, size_t n, int pmd, struct wsp_frame *f)
{
    if (n < 2)
        return 0;
    f->fin = (p[0] & 0x80) != 0;
    f->rsv1 = (p[0] & 0x40) != 0;
    f->opcode = p[0] & 0x0F;
    if ((p[0] & 0x30) || (p[1] & 0x80)) /* RSV2, RSV3: no such extension; servers never mask */
        return -1;
    if (f->rsv1 && (!pmd || f->opcode == WSP_CONT || f->opcode >= WSP_CLOSE))
        return -1; /* RFC 7692, 6: a message's first frame only, never control frames */
    switch (f->opcode) {
    case WSP_CONT:
    case WSP_TEXT:
    case WSP_BINARY:
    case WSP_CLOSE:
    case WSP_PING:
    case WSP_PONG:
        break;
    default:
        return -1;
    }
    uint64_t len = p[1] & 0x7F;
    size_t hl = 2;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        hl = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | p[i];
        if (len >> 63)
            return -1;
        hl = 10;
    }
    if (f->opcode >= WSP_CLOSE && (len > 125 || !f->fin))
        return -1;
    f->header_len = hl;
    f->payload_len = len;
    return 1;
}

size_t wsp_control(unsigned char out[WSP_CONTROL_MAX], int opcode, const void *payload, size_t len)
{
    unsigned char mask[4] = {0x5a, 0x17, 0xc3, 0x9e};
    if (len > 125)
        len = 125;
    (void)RAND_bytes(mask, sizeof(mask)); /* on failure the fixed mask stays */
    out[0] = (unsigned char)(0x80 | opcode);
    out[1] = (unsigned char)(0x80 | len);
    memcpy(out + 2, mask, 4);
    for (size_t i = 0; i < len; i++)
        out[6 + i] = ((const unsigned char *)payload)[i] ^ mask[i & 3];
    return 6 + len;
}
