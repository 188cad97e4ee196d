/*
 * wsdeflate — see wsdeflate.h.
 */
#include "wsdeflate.h"

#include "pmd.h"
#include "request.h"

#include <string.h>

#define WSDEFLATE_HEADER "Sec-WebSocket-Extensions: "
/* What lws 4.1 writes for an accepted extension with no option echoed
 * (server-ws.c, lws_extension_server_handshake, then the line's end),
 * right before the headers LWS_CALLBACK_ADD_HEADERS may add. */
#define WSDEFLATE_LWS_LINE "\r\n" WSDEFLATE_HEADER PMD_NAME "\r\n"
#define WSDEFLATE_OUR_LINE WSDEFLATE_HEADER PMD_RESPONSE "\r\n"

/* No option for lws to echo: the response is written whole (above). */
static const struct lws_ext_options wsdeflate_no_options[] = {{NULL, EXTARG_NONE}};

/* Nothing is done to frames, and nothing is allocated per connection: the
 * extension only makes lws accept RSV1 (lws_ws_rx_sm checks that an
 * extension is active). Payload callbacks leave the buffers as they are
 * and answer PMDR_UNKNOWN (0): lws then hands the payload on unchanged. */
static int wsdeflate_callback(struct lws_context *context, const struct lws_extension *ext,
                              struct lws *wsi, enum lws_extension_callback_reasons reason,
                              void *user, void *in, size_t len)
{
    (void)context, (void)ext, (void)user, (void)len;
    if (reason == LWS_EXT_CB_CONSTRUCT) {
        struct conn *c = lws_wsi_user(wsi);
        if (c == NULL)
            return -1;
        *(const struct lws_ext_options **)in = wsdeflate_no_options;
        c->deflate = 1;
    }
    return 0;
}

const struct lws_extension wsdeflate_extensions[] = {{PMD_NAME, wsdeflate_callback, NULL},
                                                     {NULL, NULL, NULL}};

int wsdeflate_confirm(struct lws *wsi, const char *ext_name)
{
    /* lws reads at most 255 bytes of the header (and fails the upgrade
     * past that), so this holds any value it accepts. */
    char offer[256];
    int len = request_header(wsi, WSI_TOKEN_EXTENSIONS, offer, sizeof(offer));
    if (ext_name == NULL || strcmp(ext_name, PMD_NAME) != 0 || len <= 0)
        return 1;
    return pmd_offer_acceptable(offer, (size_t)len) ? 0 : 1;
}

int wsdeflate_add_headers(const struct conn *c, struct lws_process_html_args *args)
{
    static const char lws_line[] = WSDEFLATE_LWS_LINE, ours[] = WSDEFLATE_OUR_LINE;
    const size_t lws_len = sizeof(lws_line) - 1, ours_len = sizeof(ours) - 1;
    if (c == NULL || !c->deflate)
        return 0;
    /* c->deflate: lws wrote the line just before args->p, behind the
     * status line and Sec-WebSocket-Accept (well over lws_len bytes). */
    if (memcmp(args->p - lws_len, lws_line, lws_len) != 0)
        return -1;
    char *at = args->p - lws_len + 2; /* keep the previous line's end */
    int room = args->max_len + (int)lws_len - 2;
    if (room < (int)ours_len)
        return -1;
    memcpy(at, ours, ours_len);
    args->p = at + ours_len;
    args->max_len = room - (int)ours_len;
    return 0;
}
