/*
 * Login and topic decisions of the otaauth plugin. Logins are checked the
 * Aliyun way through libotaproto's verifier; topics against the device's
 * own namespace, level by level.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "otaproto/crypto.h"
#include "policy.h"

#define OA_CLOUD_USER "ota-mock-cloud"
#define OA_MAX_FIELD  512

static const oa_device *find(const oa_device *d, size_t n, const char *pk, const char *dn)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(d[i].pk, pk) && !strcmp(d[i].dn, dn))
            return &d[i];
    return NULL;
}

__attribute__((format(printf, 2, 3))) static void refuse(oa_login *out, const char *fmt, ...)
{
    va_list ap;
    out->kind = OA_LOGIN_REFUSED;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

/* "dn&pk" into its parts; 0 when it is not of that shape. */
static int split_username(const char *u, char *pk, char *dn)
{
    const char *amp = strchr(u, '&');
    size_t dl;

    if (!amp || amp == u || !amp[1] || strchr(amp + 1, '&'))
        return 0;
    dl = (size_t)(amp - u);
    if (dl > OTA_MAX_NAME || strlen(amp + 1) > OTA_MAX_NAME)
        return 0;
    memcpy(dn, u, dl);
    dn[dl] = '\0';
    strcpy(pk, amp + 1);
    return 1;
}

/*
 * A signature that does not verify: the text the broker signed, so that a
 * firmware engineer can compare it with what the device signs; or the two
 * devices when the username names another than the clientId.
 */
static void refuse_sign(oa_login *out, const char *client_id, const char *username)
{
    ota_client_id c;

    if (ota_client_id_parse(client_id, &c) != OTA_OK)
        return refuse(out, "signature does not verify");
    if (!c.assigned && (strcmp(c.pk, out->pk) || strcmp(c.dn, out->dn)))
        return refuse(out, "the username names device '%.64s' but the clientId names '%.64s.%.64s'",
                      username, c.pk, c.dn);
    refuse(out,
           "signature does not verify: the broker signed 'clientId%s%s%sdeviceName%.64s"
           "productKey%.64s%s%.31s' with %s keyed with the device's secret (compare the text "
           "the device signs)",
           c.assigned ? "" : c.pk, c.assigned ? "" : ".", c.assigned ? "" : c.dn, out->dn, out->pk,
           c.has_timestamp ? "timestamp" : "", c.has_timestamp ? c.timestamp : "",
           ota_signmethod_name(c.signmethod));
}

void oa_login_check(const oa_device *devices, size_t n, const char *cloud_password, int auth_off,
                    const char *client_id, const char *username, const char *password,
                    oa_login *out)
{
    const oa_device *d;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!username || !*username)
        return refuse(out, "no username (devices log in as deviceName&productKey)");
    if ((client_id && strlen(client_id) > OA_MAX_FIELD) || strlen(username) > OA_MAX_FIELD ||
        (password && strlen(password) > OA_MAX_FIELD))
        return refuse(out, "a login field is longer than 512 bytes");
    if (!strcmp(username, OA_CLOUD_USER)) {
        if (password && cloud_password && *cloud_password && !strcmp(password, cloud_password)) {
            out->kind = OA_LOGIN_CLOUD;
            return;
        }
        return refuse(out, "the cloud's credential with a wrong password");
    }
    if (!split_username(username, out->pk, out->dn))
        return refuse(out, "username '%.64s' is not deviceName&productKey", username);
    d = find(devices, n, out->pk, out->dn);
    if (!d)
        return refuse(out, "unknown device '%.140s'", username);
    if (auth_off) {
        out->kind = OA_LOGIN_DEVICE;
        return;
    }
    if (!client_id || !password)
        return refuse(out, "no clientId or no password");
    rc = ota_login_verify(client_id, username, password, d->secret);
    if (rc == OTA_OK) {
        out->kind = OA_LOGIN_DEVICE;
        return;
    }
    if (rc == OTA_ERR_SIGN)
        return refuse_sign(out, client_id, username);
    refuse(out, "clientId is not pk.dn|securemode=..,signmethod=..,timestamp=..| (%s)",
           ota_strerror(rc));
}

void oa_token_login_check(const oa_device *devices, size_t n, const char *cloud_password,
                          const char *username, const char *password, oa_login *out)
{
    memset(out, 0, sizeof(*out));
    if (!username || !*username)
        return refuse(out, "no username (devices log in with their access token as username)");
    if (strlen(username) > OA_MAX_FIELD || (password && strlen(password) > OA_MAX_FIELD))
        return refuse(out, "a login field is longer than 512 bytes");
    if (!strcmp(username, OA_CLOUD_USER)) {
        if (password && cloud_password && *cloud_password && !strcmp(password, cloud_password)) {
            out->kind = OA_LOGIN_CLOUD;
            return;
        }
        return refuse(out, "the cloud's credential with a wrong password");
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(devices[i].secret, username))
            continue;
        memcpy(out->pk, devices[i].pk, sizeof(out->pk));
        memcpy(out->dn, devices[i].dn, sizeof(out->dn));
        if (password && *password)
            return refuse(out, "a password with an access token (the voucher is the token alone)");
        out->kind = OA_LOGIN_DEVICE;
        return;
    }
    refuse(out, "unknown access token '%.64s'", username);
}

/* Pattern levels: literal, "*" one level (a '+' in a filter too), "**" the rest (>= 0 levels). */
static int match_levels(const char *const *pat, const char *topic, int is_filter)
{
    const char *t = topic;

    for (; *pat; pat++) {
        size_t n = strcspn(t, "/");
        if (!strcmp(*pat, "**"))
            return 1; /* wildcards below the namespace are the device's business */
        if (*t == '\0' && **pat)
            return 0;
        if (!strcmp(*pat, "*")) {
            if (n == 0 || (!is_filter && memchr(t, '+', n)) || (n == 1 && *t == '#'))
                return 0;
        } else if (strlen(*pat) != n || strncmp(*pat, t, n)) {
            return 0; /* literal levels (pk, dn) must be spelled out: no '+' or '#' */
        }
        t += n;
        if (*t == '/')
            t++;
        else if (pat[1] && strcmp(pat[1], "**"))
            return 0;
    }
    return *t == '\0';
}

int oa_acl_allowed(const char *pk, const char *dn, const char *topic, int is_filter)
{
    const char *ota[] = {"", "ota", "device", "*", pk, dn, NULL};
    const char *sys[] = {"", "sys", pk, dn, "**", NULL};
    const char *own[] = {"", pk, dn, "**", NULL};
    const char *shadow[] = {"", "shadow", "*", pk, dn, NULL};
    const char *const *all[] = {ota, sys, own, shadow};

    if (!topic || !*topic || strlen(topic) > OTA_MAX_TOPIC)
        return 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (match_levels(all[i], topic, is_filter))
            return 1;
    return 0;
}

/*
 * ThingsPanel's device topics besides OTA's (thingspanel-ota.md; judging.md,
 * SEC-2): a device publishes telemetry, attributes and events under
 * "devices/" ("devices/attributes/{message_id}" is the suggested version
 * report), never the platform's own "devices/status/"; it subscribes to
 * those that name its device number as a whole level, with '+' allowed only
 * after that level (a message id it does not know yet).
 */
static int tp_device_topic(const char *dn, const char *topic, int is_filter)
{
    const char *p;
    int named = 0;

    if (strncmp(topic, "devices/", 8) || !strncmp(topic, "devices/status/", 15) ||
        strchr(topic, '#'))
        return 0;
    if (!is_filter)
        return !strchr(topic, '+') && topic[8] != '\0';
    for (p = topic + 8; *p;) {
        size_t n = strcspn(p, "/");
        if (n == strlen(dn) && !strncmp(p, dn, n))
            named = 1;
        else if (n == 1 && *p == '+' && !named)
            return 0;
        p += n + (p[n] == '/');
    }
    return named;
}

int oa_dialect_acl_allowed(const ota_dialect *d, const char *pk, const char *dn, const char *topic,
                           int is_filter)
{
    char tpk[OTA_MAX_NAME + 1], tdn[OTA_MAX_NAME + 1];
    ota_topic_kind kind;

    if (!d || d == ota_dialect_get(OTA_DIALECT_ALIYUN))
        return oa_acl_allowed(pk, dn, topic, is_filter);
    if (d == ota_dialect_get(OTA_DIALECT_THINGSPANEL) && topic &&
        tp_device_topic(dn, topic, is_filter))
        return 1;
    if (!topic || strpbrk(topic, "+#") ||
        ota_dialect_topic_parse(d, topic, &kind, tpk, tdn, NULL) != OTA_OK)
        return 0;
    return (!tpk[0] || !strcmp(tpk, pk)) && (!tdn[0] || !strcmp(tdn, dn));
}

int oa_devices_parse(const char *text, oa_device *out, size_t cap)
{
    size_t n = 0;

    while (text && *text) {
        const char *end = strchr(text, '\n');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        char line[3 * OTA_MAX_SECRET];
        oa_device d;
        if (len && len < sizeof(line)) {
            memcpy(line, text, len);
            line[len] = '\0';
            if (sscanf(line, "%64[^\t]\t%64[^\t]\t%128[^\t\n]", d.pk, d.dn, d.secret) == 3) {
                if (n >= cap)
                    return -1;
                out[n++] = d;
            }
        }
        text += len + (end ? 1 : 0);
    }
    return (int)n;
}

/*
 * Fixed one-second windows: a window opens at the first publish after the
 * last one ended. A window that dropped nothing just closes; one that did
 * stays until oa_rate_take reports it, so no flood goes untold.
 */
int oa_rate_admit(oa_rate *r, double now, unsigned long cap)
{
    if (!r->start || (now - r->start >= 1.0 && !r->dropped)) {
        r->start = now;
        r->seen = 0;
    }
    if (++r->seen <= cap)
        return 1;
    r->dropped++;
    return 0;
}

int oa_rate_take(oa_rate *r, double now, unsigned long *seen, unsigned long *dropped)
{
    if (!r->dropped || now - r->start < 1.0)
        return 0;
    *seen = r->seen;
    *dropped = r->dropped;
    r->start = now;
    r->seen = r->dropped = 0;
    return 1;
}
