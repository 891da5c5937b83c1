/*
 * Aliyun MQTT login signing (spec section 8): the clientId with its |k=v|
 * parameters, the dn&pk username and the HMAC password over the sorted
 * parameter text. Verification recomputes the HMAC and compares hex
 * case-insensitively; it does not know about devices, only about one secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "otaproto/crypto.h"

static const struct {
    const char *name;
    const EVP_MD *(*md)(void);
} methods[OTA_SIGNMETHOD__COUNT] = {
    [OTA_SIGNMETHOD_HMACSHA256] = {"hmacsha256", EVP_sha256},
    [OTA_SIGNMETHOD_HMACSHA1] = {"hmacsha1", EVP_sha1},
    [OTA_SIGNMETHOD_HMACMD5] = {"hmacmd5", EVP_md5},
};

const char *ota_signmethod_name(ota_signmethod m)
{
    if ((unsigned)m >= OTA_SIGNMETHOD__COUNT)
        return "unknown";
    return methods[m].name;
}

int ota_signmethod_parse(const char *s, ota_signmethod *out)
{
    for (int i = 0; i < OTA_SIGNMETHOD__COUNT; i++) {
        if (s && !strcmp(s, methods[i].name)) {
            *out = (ota_signmethod)i;
            return OTA_OK;
        }
    }
    return OTA_ERR_ARG;
}

static int valid_name(const char *s)
{
    return s && *s && strlen(s) <= OTA_MAX_NAME && !strpbrk(s, "/+#&|");
}

/* Upper-case hex HMAC of the signed text for clientId pk.dn (or "" when assigned). */
static int password_for(const char *cid_term, const char *pk, const char *dn, const char *secret,
                        ota_signmethod m, const char *timestamp, char *out, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    char text[4 * OTA_MAX_NAME + 128];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    int len;

    if ((unsigned)m >= OTA_SIGNMETHOD__COUNT)
        return OTA_ERR_ARG;
    len = snprintf(text, sizeof(text), "clientId%sdeviceName%sproductKey%s%s%s", cid_term, dn, pk,
                   timestamp ? "timestamp" : "", timestamp ? timestamp : "");
    if (len < 0 || (size_t)len >= sizeof(text))
        return OTA_ERR_TOO_LONG;
    if (!HMAC(methods[m].md(), secret, (int)strlen(secret), (unsigned char *)text, (size_t)len, mac,
              &n))
        return OTA_ERR_CRYPTO;
    if (cap < 2 * (size_t)n + 1)
        return OTA_ERR_SPACE;
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[mac[i] >> 4];
        out[2 * i + 1] = digits[mac[i] & 15];
    }
    out[2 * n] = '\0';
    return OTA_OK;
}

int ota_login_build(const char *pk, const char *dn, const char *secret, ota_signmethod m,
                    int securemode, const char *timestamp, ota_login *out)
{
    char term[2 * OTA_MAX_NAME + 2];
    int len;

    if (!valid_name(pk) || !valid_name(dn) || !secret || !out)
        return OTA_ERR_ARG;
    if (timestamp && (strlen(timestamp) > 20 || strpbrk(timestamp, ",|=")))
        return OTA_ERR_ARG;
    snprintf(term, sizeof(term), "%s.%s", pk, dn);
    if (timestamp)
        len = snprintf(out->client_id, sizeof(out->client_id),
                       "%s|timestamp=%s,_v=ota-ref-1.0,securemode=%d,signmethod=%s|", term,
                       timestamp, securemode, ota_signmethod_name(m));
    else
        len = snprintf(out->client_id, sizeof(out->client_id),
                       "%s|_v=ota-ref-1.0,securemode=%d,signmethod=%s|", term, securemode,
                       ota_signmethod_name(m));
    if (len < 0 || (size_t)len >= sizeof(out->client_id))
        return OTA_ERR_TOO_LONG;
    snprintf(out->username, sizeof(out->username), "%s&%s", dn, pk);
    return password_for(term, pk, dn, secret, m, timestamp, out->password, sizeof(out->password));
}

/* Apply one "key=value" parameter of the clientId. */
static int client_param(ota_client_id *o, const char *kv, size_t n)
{
    const char *eq = memchr(kv, '=', n);
    size_t klen, vlen;
    char val[64];

    if (!eq)
        return n == 0 ? OTA_OK : OTA_ERR_ARG;
    klen = (size_t)(eq - kv);
    vlen = n - klen - 1;
    if (vlen >= sizeof(val))
        return OTA_ERR_TOO_LONG;
    memcpy(val, eq + 1, vlen);
    val[vlen] = '\0';
    if (klen == 10 && !memcmp(kv, "securemode", 10)) {
        char *end;
        o->securemode = (int)strtol(val, &end, 10);
        if (!*val || *end)
            return OTA_ERR_ARG;
        o->has_securemode = 1;
    } else if (klen == 10 && !memcmp(kv, "signmethod", 10)) {
        return ota_signmethod_parse(val, &o->signmethod);
    } else if (klen == 9 && !memcmp(kv, "timestamp", 9)) {
        if (vlen >= sizeof(o->timestamp))
            return OTA_ERR_TOO_LONG;
        memcpy(o->timestamp, val, vlen + 1);
        o->has_timestamp = 1;
    }
    return OTA_OK;
}

int ota_client_id_parse(const char *cid, ota_client_id *out)
{
    const char *bar, *end, *p, *dot;
    int rc;

    if (!cid || !out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof(*out));
    out->signmethod = OTA_SIGNMETHOD__COUNT;
    if (strlen(cid) >= OTA_MAX_CLIENTID)
        return OTA_ERR_TOO_LONG;
    bar = strchr(cid, '|');
    end = bar ? strchr(bar + 1, '|') : NULL;
    if (!bar || !end || end[1] != '\0')
        return OTA_ERR_ARG;
    dot = memchr(cid, '.', (size_t)(bar - cid));
    if (bar == cid) {
        out->assigned = 1;
    } else if (dot && dot > cid && dot + 1 < bar && (size_t)(dot - cid) <= OTA_MAX_NAME &&
               (size_t)(bar - dot - 1) <= OTA_MAX_NAME) {
        memcpy(out->pk, cid, (size_t)(dot - cid));
        memcpy(out->dn, dot + 1, (size_t)(bar - dot - 1));
    } else {
        out->assigned = 1;
    }
    for (p = bar + 1; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        rc = client_param(out, p, (size_t)(stop - p));
        if (rc != OTA_OK)
            return rc;
        p = stop + (comma ? 1 : 0);
    }
    if (out->signmethod == OTA_SIGNMETHOD__COUNT)
        return OTA_ERR_MISSING;
    return OTA_OK;
}

int ota_client_id_names(const char *cid, const char *pk, const char *dn)
{
    size_t lp, ld;

    if (!cid || !pk || !dn || !*pk || !*dn)
        return 0;
    lp = strlen(pk);
    ld = strlen(dn);
    return !strncmp(cid, pk, lp) && cid[lp] == '.' && !strncmp(cid + lp + 1, dn, ld) &&
           cid[lp + 1 + ld] == '|';
}

int ota_login_verify(const char *client_id, const char *username, const char *password,
                     const char *secret)
{
    ota_client_id c;
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1], term[2 * OTA_MAX_NAME + 2], want[129];
    const char *amp;
    int rc;

    if (!client_id || !username || !password || !secret)
        return OTA_ERR_ARG;
    rc = ota_client_id_parse(client_id, &c);
    if (rc != OTA_OK)
        return rc;
    amp = strchr(username, '&');
    if (!amp || amp == username || (size_t)(amp - username) > OTA_MAX_NAME ||
        strlen(amp + 1) > OTA_MAX_NAME || !amp[1])
        return OTA_ERR_ARG;
    memcpy(dn, username, (size_t)(amp - username));
    dn[amp - username] = '\0';
    strcpy(pk, amp + 1);
    if (!c.assigned && (strcmp(c.pk, pk) || strcmp(c.dn, dn)))
        return OTA_ERR_SIGN;
    if (c.assigned)
        term[0] = '\0';
    else
        snprintf(term, sizeof(term), "%s.%s", pk, dn);
    rc = password_for(term, pk, dn, secret, c.signmethod, c.has_timestamp ? c.timestamp : NULL,
                      want, sizeof(want));
    if (rc != OTA_OK)
        return rc;
    return ota_hex_equal(want, password) ? OTA_OK : OTA_ERR_SIGN;
}
