/* HMAC-SHA256 signatures of Jupyter messages, as jupyter_client's
 * Session.sign computes them: over header, parent_header, metadata and
 * content in that order, written as lowercase hex. OpenSSL 3 EVP_MAC. */
#include "pm_protocol.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

int pm_msg_sign(const void *key, size_t keylen, const pm_buf_t *parts,
                size_t nparts, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[32];
    size_t maclen = 0;
    EVP_MAC *hmac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[2];
    int rc = PM_ESIGN;

    out[0] = '\0';
    if (keylen == 0) {
        return 0; /* unsigned session: jupyter_client sends b"" */
    }
    if (key == NULL || (nparts > 0 && parts == NULL)) {
        return PM_ESIGN;
    }
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac == NULL) {
        goto fail;
    }
    ctx = EVP_MAC_CTX_new(hmac);
    if (ctx == NULL) {
        goto fail;
    }
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_init(ctx, key, keylen, params)) {
        goto fail;
    }
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].len > 0 &&
            !EVP_MAC_update(ctx, parts[i].data, parts[i].len)) {
            goto fail;
        }
    }
    if (!EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) || maclen != 32) {
        goto fail;
    }
    for (size_t i = 0; i < maclen; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 0x0f];
    }
    out[64] = '\0';
    rc = 0;

fail:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    return rc;
}
