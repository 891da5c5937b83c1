/*
 * MD5 and SHA-256 digests through OpenSSL's EVP interface, as lower-case hex,
 * and the signMethod spellings that name them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "otaproto/crypto.h"

struct ota_digest {
    EVP_MD_CTX *ctx;
};

static const EVP_MD *md_of(ota_digest_kind k)
{
    switch (k) {
    case OTA_DIGEST_MD5:
        return EVP_md5();
    case OTA_DIGEST_SHA256:
        return EVP_sha256();
    default:
        return NULL;
    }
}

const char *ota_digest_kind_name(ota_digest_kind k)
{
    return k == OTA_DIGEST_MD5 ? "MD5" : k == OTA_DIGEST_SHA256 ? "SHA-256" : "unknown";
}

size_t ota_digest_hex_len(ota_digest_kind k)
{
    return k == OTA_DIGEST_SHA256 ? 64 : 32;
}

int ota_sign_method_parse(const char *s, ota_digest_kind *out)
{
    if (!s || !out)
        return OTA_ERR_ARG;
    if (!strcasecmp(s, "md5"))
        *out = OTA_DIGEST_MD5;
    else if (!strcasecmp(s, "sha256"))
        *out = OTA_DIGEST_SHA256;
    else
        return OTA_ERR_ARG;
    return OTA_OK;
}

const char *ota_sign_method_name(ota_digest_kind k)
{
    return k == OTA_DIGEST_SHA256 ? "SHA256" : "Md5";
}

static void to_hex(const unsigned char *b, unsigned n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * n] = '\0';
}

int ota_digest_new(ota_digest_kind k, ota_digest **out)
{
    const EVP_MD *md = md_of(k);
    ota_digest *d;

    if (!md || !out)
        return OTA_ERR_ARG;
    d = calloc(1, sizeof(*d));
    if (!d)
        return OTA_ERR_NOMEM;
    d->ctx = EVP_MD_CTX_new();
    if (!d->ctx || EVP_DigestInit_ex(d->ctx, md, NULL) != 1) {
        ota_digest_free(d);
        return OTA_ERR_CRYPTO;
    }
    *out = d;
    return OTA_OK;
}

int ota_digest_update(ota_digest *d, const void *data, size_t len)
{
    if (!d)
        return OTA_ERR_ARG;
    return EVP_DigestUpdate(d->ctx, data, len) == 1 ? OTA_OK : OTA_ERR_CRYPTO;
}

int ota_digest_final_hex(ota_digest *d, char *hex, size_t cap)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    if (!d || !hex)
        return OTA_ERR_ARG;
    if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1)
        return OTA_ERR_CRYPTO;
    if (cap < 2 * (size_t)n + 1)
        return OTA_ERR_SPACE;
    to_hex(md, n, hex);
    return OTA_OK;
}

void ota_digest_free(ota_digest *d)
{
    if (!d)
        return;
    EVP_MD_CTX_free(d->ctx);
    free(d);
}

int ota_digest_hex(ota_digest_kind k, const void *data, size_t len, char *hex, size_t cap)
{
    ota_digest *d = NULL;
    int rc = ota_digest_new(k, &d);

    if (rc == OTA_OK)
        rc = ota_digest_update(d, data, len);
    if (rc == OTA_OK)
        rc = ota_digest_final_hex(d, hex, cap);
    ota_digest_free(d);
    return rc;
}

int ota_hex_equal(const char *a, const char *b)
{
    if (!a || !b || strlen(a) != strlen(b) || !*a)
        return 0;
    for (; *a; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return 1;
}
