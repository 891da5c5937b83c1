/*
 * POST /join and DELETE /join/DN of ota-mock-cloud's control API. A
 * conformance run registers its device here, claims it (this daemon stops
 * acting on its messages and cancels its jobs) and gets the broker, the
 * cloud credential and a client id of its own, to log in as a second cloud
 * client. Releasing gives the device back. main.c does the HTTP.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_join.h"

static cJSON *error(unsigned *status, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cJSON *error(unsigned *status, unsigned code, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    cJSON *o = cJSON_CreateObject();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *status = code;
    if (o && !cJSON_AddStringToObject(o, "error", msg)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A string field of at most cap - 1 bytes; dflt when absent (NULL: required). */
static int text_field(const cJSON *o, const char *key, char *dst, size_t cap, const char *dflt)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!j && dflt) {
        snprintf(dst, cap, "%s", dflt);
        return 0;
    }
    if (!cJSON_IsString(j) || !*j->valuestring || strlen(j->valuestring) >= cap)
        return -1;
    memcpy(dst, j->valuestring, strlen(j->valuestring) + 1);
    return 0;
}

/* The body's device, checked as a device profile is. */
static int parse_device(const char *body, size_t len, mc_device_info *d)
{
    cJSON *o = cJSON_ParseWithLength(body ? body : "", len);
    int bad;

    memset(d, 0, sizeof(*d));
    bad =
        !cJSON_IsObject(o) || text_field(o, "productKey", d->pk, sizeof(d->pk), NULL) ||
        text_field(o, "deviceName", d->dn, sizeof(d->dn), NULL) ||
        text_field(o, "deviceSecret", d->secret, sizeof(d->secret), NULL) ||
        text_field(o, "module", d->module, sizeof(d->module), "default") ||
        text_field(o, "firmwareVersion", d->firmware_version, sizeof(d->firmware_version), "1.0.0");
    cJSON_Delete(o);
    return bad || strpbrk(d->pk, "/+#&.") || strpbrk(d->dn, "/+#&") ? -1 : 0;
}

/* A client id no other client of this broker has: pid, a counter and random bits. */
static void fresh_client_id(char *out, size_t cap)
{
    static unsigned serial;
    unsigned r = 0;
    FILE *f = fopen("/dev/urandom", "rb");

    if (f) {
        if (fread(&r, sizeof(r), 1, f) != 1)
            r = 0;
        fclose(f);
    }
    snprintf(out, cap, "ota-mock-cloud-join-%d-%u-%08x", (int)getpid(),
             __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED), r);
}

static cJSON *join_answer(mc_cloud *c, const mcd_site *s, const char *client_id)
{
    int every = !strcmp(s->listen, "0.0.0.0");
    cJSON *o = cJSON_CreateObject();

    /* On every address, "": reach the broker the way you reached this API. */
    cJSON_AddStringToObject(o, "mqttHost", every ? "" : s->listen);
    cJSON_AddNumberToObject(o, "mqttPort", mc_cloud_broker_port(c));
    cJSON_AddNumberToObject(o, "mqttsPort", s->tls ? mc_cloud_mqtts_port(c) : 0);
    cJSON_AddStringToObject(o, "cloudUser", "ota-mock-cloud");
    cJSON_AddStringToObject(o, "cloudPassword", mc_cloud_credential(c));
    cJSON_AddStringToObject(o, "clientId", client_id);
    cJSON_AddStringToObject(o, "listen", s->listen);
    cJSON_AddStringToObject(o, "urlHost",
                            s->url_host ? s->url_host
                            : every     ? "127.0.0.1"
                                        : s->listen);
    cJSON_AddBoolToObject(o, "urlNoPort", s->url_no_port);
    cJSON_AddBoolToObject(o, "tls", s->tls);
    cJSON_AddBoolToObject(o, "authOff", s->auth_off);
    return o;
}

static cJSON *post_join(mc_cloud *c, const mcd_site *s, const char *body, size_t len,
                        unsigned *status)
{
    mc_device_info d, known;
    char holder[128], client_id[96];

    if (parse_device(body, len, &d) != 0)
        return error(status, 400,
                     "the body must be {\"productKey\",\"deviceName\",\"deviceSecret\"} (with "
                     "\"module\", \"firmwareVersion\" optional): non-empty strings without '/', "
                     "'+', '#' or '&'");
    if (!mc_cloud_credential(c))
        return error(status, 500, "this ota-mock-cloud runs no broker plugin to join");
    if (mc_device_get(c, d.dn, &known) == MC_OK && strcmp(known.pk, d.pk))
        return error(status, 409, "device %s belongs to product %s here, not %s", d.dn, known.pk,
                     d.pk);
    if (mc_device_claimed(c, d.dn, holder, sizeof(holder)))
        return error(status, 409,
                     "device %s is claimed by another conformance run (client %s); "
                     "DELETE /join/%s releases it",
                     d.dn, holder, d.dn);
    if (mc_device_add(c, &d) != MC_OK)
        return error(status, 500, "cannot register the device (the broker's devices file)");
    fresh_client_id(client_id, sizeof(client_id));
    if (mc_device_claim(c, d.dn, client_id) != MC_OK) /* claimed in between */
        return error(status, 409, "device %s was claimed by another run meanwhile", d.dn);
    *status = 200;
    return join_answer(c, s, client_id);
}

static cJSON *release(mc_cloud *c, const char *dn, unsigned *status)
{
    cJSON *o;

    if (mc_device_release(c, dn) != MC_OK)
        return error(status, 404, "device %s is not claimed", dn);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "released", dn);
    *status = 200;
    return o;
}

cJSON *mcd_join_handle(mc_cloud *c, const mcd_site *s, const char *method, const char *url,
                       const char *body, size_t len, unsigned *status)
{
    static const char suffix[] = "/release";
    char dn[OTA_MAX_NAME + 1];
    const char *rest = url + 5; /* after "/join" */
    size_t n;

    if (!strcmp(method, "POST") && !strcmp(rest, ""))
        return post_join(c, s, body, len, status);
    n = *rest == '/' ? strcspn(rest + 1, "/") : 0;
    if (n == 0 || n > OTA_MAX_NAME)
        return error(status, 404, "unknown request: POST /join, DELETE /join/DN");
    snprintf(dn, sizeof(dn), "%.*s", (int)n, rest + 1);
    if (!strcmp(method, "DELETE") && rest[1 + n] == '\0')
        return release(c, dn, status);
    if (!strcmp(method, "POST") && !strcmp(rest + 1 + n, suffix))
        return release(c, dn, status);
    return error(status, 404, "unknown request: POST /join, DELETE /join/DN");
}
