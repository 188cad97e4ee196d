/*
 * query — see query.h.
 */
#include "query.h"

#include <string.h>

#define QUERY_FRAGMENT_MAX 2048

int query_get(struct lws *wsi, const char *name, char *out, size_t outlen)
{
    char frag[QUERY_FRAGMENT_MAX];
    size_t nlen = strlen(name);
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) {
            /* The end of the list, or a fragment too long to inspect. */
            int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
            return flen >= (int)sizeof(frag) ? QUERY_INVALID : QUERY_ABSENT;
        }
        if ((size_t)n <= nlen || memcmp(frag, name, nlen) != 0 || frag[nlen] != '=')
            continue;
        size_t vlen = (size_t)n - nlen - 1;
        if (vlen >= outlen || memchr(frag + nlen + 1, '\0', vlen))
            return QUERY_INVALID;
        memcpy(out, frag + nlen + 1, vlen);
        out[vlen] = '\0';
        return (int)vlen;
    }
}
