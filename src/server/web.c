/*
 * web — see web.h.
 */
#include "web.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* gzip (not zlib) framing at the best compression: done once per file. */
static int web_gzip(const unsigned char *in, size_t len, unsigned char **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&zs, (uLong)len);
    unsigned char *buf = malloc(cap);
    if (buf == NULL) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

static int web_hash(const unsigned char *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
        return -1;
    for (unsigned i = 0; i < 32 && i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int web_init(struct web *w)
{
    w->assets = calloc(web_nfiles ? web_nfiles : 1, sizeof(*w->assets));
    if (w->assets == NULL)
        return -1;
    for (size_t i = 0; i < web_nfiles; i++) {
        struct web_asset *a = &w->assets[i];
        char hex[65];
        a->file = &web_files[i];
        if (web_hash(a->file->data, a->file->len, hex))
            return -1;
        snprintf(a->etag, sizeof(a->etag), "\"%.16s\"", hex);
        snprintf(a->vpath, sizeof(a->vpath), "/v/%.12s/%s", hex, a->file->name);
        if (web_gzip(a->file->data, a->file->len, &a->gz, &a->gz_len) == 0 &&
            a->gz_len >= a->file->len) {
            free(a->gz);
            a->gz = NULL;
        }
    }
    return 0;
}

void web_free(struct web *w)
{
    for (size_t i = 0; w->assets && i < web_nfiles; i++)
        free(w->assets[i].gz);
    free(w->assets);
    w->assets = NULL;
}

const struct web_asset *web_find(const struct web *w, const char *path, int *versioned)
{
    *versioned = strncmp(path, "/v/", 3) == 0;
    for (size_t i = 0; w->assets && i < web_nfiles; i++) {
        const struct web_asset *a = &w->assets[i];
        if (*versioned ? strcmp(path, a->vpath) == 0
                       : (path[0] == '/' && strcmp(path + 1, a->file->name) == 0) ||
                             (strcmp(path, "/") == 0 && strcmp(a->file->name, "index.html") == 0))
            return a;
    }
    return NULL;
}
