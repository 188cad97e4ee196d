/*
 * ipc — see ipc.h.
 */
#include "ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int ipc_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w, n -= (size_t)w;
    }
    return 0;
}

static int ipc_read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r, n -= (size_t)r;
    }
    return 0;
}

int ipc_send(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
    struct ipc_hdr h = {type, (uint32_t)(alen + blen)};
    if (alen + blen > IPC_MAX_PAYLOAD)
        return -1;
    if (ipc_write_all(fd, &h, sizeof(h)) != 0)
        return -1;
    if (alen && ipc_write_all(fd, a, alen) != 0)
        return -1;
    if (blen && ipc_write_all(fd, b, blen) != 0)
        return -1;
    return 0;
}

int ipc_recv(int fd, struct ipc_hdr *h, void **payload)
{
    *payload = NULL;
    if (ipc_read_all(fd, h, sizeof(*h)) != 0 || h->len > IPC_MAX_PAYLOAD)
        return -1;
    if (h->len == 0)
        return 0;
    if ((*payload = malloc(h->len)) == NULL)
        return -1;
    if (ipc_read_all(fd, *payload, h->len) != 0) {
        free(*payload);
        *payload = NULL;
        return -1;
    }
    return 0;
}
