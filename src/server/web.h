/*
 * web — the static files alertd serves (the ticker.js widget, the demo
 * page), embedded into the binary from src/web/ at build time.
 *
 * At start each file gets its gzip form, a strong ETag (a SHA-256 prefix)
 * and a versioned path /v/<hash>/<name> that may be cached for a year;
 * the plain path /<name> is cached briefly so pages pick up new versions.
 * A worker makes its struct web once at start; it is read-only afterwards.
 * files.c serves them. No sockets, no lws.
 */
#ifndef ALERTD_WEB_H
#define ALERTD_WEB_H

#include <stddef.h>

/* One embedded file (the generated web_assets.c defines the table). */
struct web_file {
    const char *name;
    const char *ctype;
    const unsigned char *data;
    size_t len;
};
extern const struct web_file web_files[];
extern const size_t web_nfiles;

struct web_asset {
    const struct web_file *file;
    unsigned char *gz; /* gzip of the file, NULL if it does not shrink */
    size_t gz_len;
    char etag[20];  /* "\"<16 hex>\"" */
    char vpath[64]; /* /v/<12 hex>/<name> */
};

struct web {
    struct web_asset *assets; /* one per web_files entry */
};

int web_init(struct web *w);
void web_free(struct web *w);

/* The asset a request path names ("/" is index.html); *versioned is set
 * when the path was the versioned one. NULL if none. */
const struct web_asset *web_find(const struct web *w, const char *path, int *versioned);

#endif
