/*
 * scriptsha — see scriptsha.h.
 */
#include "scriptsha.h"

#include <openssl/evp.h>
#include <stdio.h>

int scriptsha_hex(const char *script, size_t len, char out[SCRIPTSHA_STRLEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!EVP_Digest(script, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return -1;
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}
