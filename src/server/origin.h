/*
 * origin — the browser Origins allowed to connect (--allowed-origin).
 *
 * A browser sends Origin with every cross-site WebSocket upgrade and
 * fetch; checking it against a list stops another site's page from
 * opening readers' connections in their name (cross-site WebSocket
 * hijacking) and decides the CORS answer. A request without Origin is not
 * from a browser page and has nothing to protect. Pure: no sockets, no lws.
 *
 * An entry is an origin, scheme://host[:port], or a pattern: an origin
 * whose host starts with "*.", such as *.example.org after "https://".
 * The scheme and the port must be the same (a port is compared as
 * written: browsers leave the default one out, and so should the entry);
 * scheme and host ignore case (RFC 6454). "*" stands for one or more whole
 * labels: the pattern above allows https://news.example.org and
 * https://a.b.example.org, never the bare https://example.org (list it
 * too) nor https://badexample.org. config.c accepts a pattern only with
 * two labels or more after "*." (no *.org).
 */
#ifndef ALERTD_ORIGIN_H
#define ALERTD_ORIGIN_H

/* 1 when `origin` may connect: it is NULL (no Origin header), the list is
 * empty (any origin), or it equals or matches an entry. */
int origin_allowed(char *const allowed[], int nallowed, const char *origin);

/* 1 when `origin` matches the one entry `entry` (an origin or a pattern). */
int origin_matches(const char *entry, const char *origin);

#endif
