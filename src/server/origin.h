/*
 * origin — the browser Origins allowed to connect (--allowed-origin).
 *
 * A browser sends Origin with every cross-site WebSocket upgrade and
 * fetch; checking it against a list stops another site's page from
 * opening readers' connections in their name (cross-site WebSocket
 * hijacking) and decides the CORS answer. A request without Origin is not
 * from a browser page and has nothing to protect. Pure: no sockets, no lws.
 */
#ifndef ALERTD_ORIGIN_H
#define ALERTD_ORIGIN_H

/* 1 when `origin` may connect: it is NULL (no Origin header), the list is
 * empty (any origin), or it equals an entry, ignoring case (RFC 6454:
 * scheme and host are case-insensitive). */
int origin_allowed(char *const allowed[], int nallowed, const char *origin);

#endif
