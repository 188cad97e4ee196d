/*
 * wsdeflate — permessage-deflate (RFC 7692) negotiated through lws 4.1
 * without lws' own compressor: the one lws extension alertd registers, the
 * offer accepted, and the exact response.
 *
 * alertd writes its frames raw (ARCHITECTURE.md, "Raw frames"), so lws'
 * permessage-deflate, which keeps zlib streams per connection and expects
 * every frame to pass through them, is never used. But lws 4.1 closes a
 * connection (1002, "rsv bits") on any client frame with RSV1 set unless
 * an extension is active on it, so alertd registers an extension of its
 * own under the same name that does nothing to frames: it makes lws let
 * compressed client frames through, and holds nothing per connection. The
 * frames themselves are compressed once per message by the hub (pmd.h) and
 * inflated by ws.c with the worker's one inflater.
 *
 * lws 4.1 writes the response's extension line itself, echoing only the
 * options a client offered; the response alertd needs adds options clients
 * rarely offer (client_no_context_takeover, without which a client may
 * compress against earlier messages and a per-connection window would be
 * needed). So the line lws wrote is replaced, whole, in the upgrade's
 * LWS_CALLBACK_ADD_HEADERS, after checking it is exactly the line expected;
 * if it is not, the upgrade fails rather than mis-negotiate.
 * Runs on the loop's thread, inside lws callbacks.
 */
#ifndef ALERTD_WSDEFLATE_H
#define ALERTD_WSDEFLATE_H

#include "conn.h"

#include <libwebsockets.h>

/* For the readers' vhost (lws_context_creation_info.extensions). */
extern const struct lws_extension wsdeflate_extensions[];

/* LWS_CALLBACK_CONFIRM_EXTENSION_OKAY: 0 to accept permessage-deflate on
 * this upgrade (its offer is one pmd_offer_acceptable takes), 1 to decline
 * (the connection then gets plain frames). */
int wsdeflate_confirm(struct lws *wsi, const char *ext_name);

/* LWS_CALLBACK_ADD_HEADERS: for an upgrade that accepted the extension,
 * the response line becomes PMD_RESPONSE. 0, or -1 to fail the upgrade. */
int wsdeflate_add_headers(const struct conn *c, struct lws_process_html_args *args);

#endif
