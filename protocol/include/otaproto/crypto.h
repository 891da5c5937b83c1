/*
 * CRC-16/ARC for block frames, MD5/SHA-256 digests (OpenSSL) and Aliyun
 * MQTT login signing and verification. Pure: no I/O, no global state.
 */
#ifndef OTAPROTO_CRYPTO_H
#define OTAPROTO_CRYPTO_H

#include "otaproto/base.h"

/* CRC-16/ARC: poly 0x8005 reflected, init 0, no final xor. "123456789" -> 0xBB3D. */
uint16_t ota_crc16_arc(const void *data, size_t len);
/* Continue a CRC over more data; start with crc = 0. */
uint16_t ota_crc16_arc_update(uint16_t crc, const void *data, size_t len);

typedef enum { OTA_DIGEST_MD5 = 0, OTA_DIGEST_SHA256, OTA_DIGEST__COUNT } ota_digest_kind;

const char *ota_digest_kind_name(ota_digest_kind k);
/* Hex length of a digest: 32 or 64. */
size_t ota_digest_hex_len(ota_digest_kind k);
/*
 * Map a push's signMethod to a digest, accepting every spelling the cloud or
 * its documentation uses ("Md5", "MD5", "SHA256", "Sha256", any case).
 * Returns OTA_ERR_ARG for anything else.
 */
int ota_sign_method_parse(const char *s, ota_digest_kind *out);
/* The live cloud's spelling: "Md5" or "SHA256". */
const char *ota_sign_method_name(ota_digest_kind k);

/* One-shot digest as lower-case hex into hex (at least 65 bytes). */
int ota_digest_hex(ota_digest_kind k, const void *data, size_t len, char *hex, size_t cap);

/* Streaming digest; the context is heap-allocated, free with ota_digest_free. */
typedef struct ota_digest ota_digest;
int ota_digest_new(ota_digest_kind k, ota_digest **out);
int ota_digest_update(ota_digest *d, const void *data, size_t len);
/* Lower-case hex; the context can not be updated afterwards. */
int ota_digest_final_hex(ota_digest *d, char *hex, size_t cap);
void ota_digest_free(ota_digest *d);
/* Case-insensitive comparison of two hex strings of equal length; 1 if equal. */
int ota_hex_equal(const char *a, const char *b);

/* Login signing (spec section 8). */
typedef enum {
    OTA_SIGNMETHOD_HMACSHA256 = 0,
    OTA_SIGNMETHOD_HMACSHA1,
    OTA_SIGNMETHOD_HMACMD5,
    OTA_SIGNMETHOD__COUNT
} ota_signmethod;

const char *ota_signmethod_name(ota_signmethod m);
int ota_signmethod_parse(const char *s, ota_signmethod *out);

#define OTA_LOGIN_TIMESTAMP "2524608000000" /* the constant both SDKs use */

typedef struct {
    char client_id[OTA_MAX_CLIENTID];
    char username[2 * OTA_MAX_NAME + 2];
    char password[129];
} ota_login;

/*
 * Build the three CONNECT fields for a device. timestamp may be NULL (then the
 * signed text carries no timestamp term). Upper-case hex, as both SDKs send.
 */
int ota_login_build(const char *pk, const char *dn, const char *secret, ota_signmethod m,
                    int securemode, const char *timestamp, ota_login *out);

/* What a clientId says about itself. */
typedef struct {
    int assigned; /* no "pk.dn" before the '|' */
    char pk[OTA_MAX_NAME + 1];
    char dn[OTA_MAX_NAME + 1];
    int has_securemode;
    int securemode;
    ota_signmethod signmethod;
    int has_timestamp;
    char timestamp[32];
} ota_client_id;

/* Parse "pk.dn|k=v,k=v,...|" including the 4.x trailing ",|" and the assigned form. */
int ota_client_id_parse(const char *cid, ota_client_id *out);
/* 1 when clientId cid begins with "pk.dn|" (names that device, whatever follows), else 0. */
int ota_client_id_names(const char *cid, const char *pk, const char *dn);
/*
 * Verify a login against a device secret: OTA_OK, OTA_ERR_SIGN (wrong
 * password, or the username names another device), or a parse error.
 */
int ota_login_verify(const char *client_id, const char *username, const char *password,
                     const char *secret);

#endif
