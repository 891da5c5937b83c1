/*
 * The trace record as one JSON line: {"t":…,"kind":…,"dev":…,"topic":…,
 * "payload":…,"info":…}. Binary payloads (block frames) travel as hex under
 * "payload_hex". Decoding reverses it; a report can be rebuilt from the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otaproto/trace.h"
#include "proto_priv.h"

static const char *const kinds[OTA_TR__COUNT] = {
    [OTA_TR_MQTT_IN] = "mqtt-in", [OTA_TR_MQTT_OUT] = "mqtt-out", [OTA_TR_HTTP] = "http",
    [OTA_TR_FAULT] = "fault",     [OTA_TR_LOG] = "log",           [OTA_TR_DUT] = "dut",
    [OTA_TR_TEST] = "test",       [OTA_TR_CLOUD] = "cloud",       [OTA_TR_ERROR] = "error",
    [OTA_TR_BROKER] = "broker",
};

const char *ota_trace_kind_name(ota_trace_kind k)
{
    return (unsigned)k < OTA_TR__COUNT ? kinds[k] : "unknown";
}

int ota_trace_kind_parse(const char *s, ota_trace_kind *out)
{
    for (int i = 0; i < OTA_TR__COUNT; i++) {
        if (s && !strcmp(s, kinds[i])) {
            *out = (ota_trace_kind)i;
            return OTA_OK;
        }
    }
    return OTA_ERR_ARG;
}

static char *hex_of(const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *h = malloc(2 * n + 1);

    if (!h)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = digits[p[i] >> 4];
        h[2 * i + 1] = digits[p[i] & 15];
    }
    h[2 * n] = '\0';
    return h;
}

static int add_payload(cJSON *root, const ota_trace_rec *r)
{
    char *h;

    if (!r->payload)
        return OTA_OK;
    if (!r->binary) {
        /* cJSON needs a C string: the payload must hold no NUL, else it goes as hex. */
        if (memchr(r->payload, 0, r->payload_len) == NULL) {
            cJSON_AddStringToObject(root, "payload", (const char *)r->payload);
            return OTA_OK;
        }
    }
    h = hex_of(r->payload, r->payload_len);
    if (!h)
        return OTA_ERR_NOMEM;
    cJSON_AddStringToObject(root, "payload_hex", h);
    free(h);
    return OTA_OK;
}

int ota_trace_encode(const ota_trace_rec *r, char **line_out)
{
    cJSON *root;
    int rc;

    if (!r || !line_out)
        return OTA_ERR_ARG;
    *line_out = NULL;
    if (r->payload_len > OTA_MAX_PAYLOAD)
        return OTA_ERR_TOO_LONG;
    root = cJSON_CreateObject();
    if (!root)
        return OTA_ERR_NOMEM;
    cJSON_AddNumberToObject(root, "t", (double)(long long)(r->t * 1e6) / 1e6);
    cJSON_AddStringToObject(root, "kind", ota_trace_kind_name(r->kind));
    if (r->dev[0])
        cJSON_AddStringToObject(root, "dev", r->dev);
    if (r->topic[0])
        cJSON_AddStringToObject(root, "topic", r->topic);
    rc = add_payload(root, r);
    if (r->info[0])
        cJSON_AddStringToObject(root, "info", r->info);
    if (rc == OTA_OK) {
        *line_out = cJSON_PrintUnformatted(root);
        if (!*line_out)
            rc = OTA_ERR_NOMEM;
    }
    cJSON_Delete(root);
    return rc;
}

static int unhex(const char *h, unsigned char **out, size_t *n)
{
    size_t len = strlen(h);

    if (len % 2)
        return OTA_ERR_TYPE;
    *out = malloc(len / 2 + 1);
    if (!*out)
        return OTA_ERR_NOMEM;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) {
            free(*out);
            *out = NULL;
            return OTA_ERR_TYPE;
        }
        (*out)[i] = (unsigned char)v;
    }
    (*out)[len / 2] = 0;
    *n = len / 2;
    return OTA_OK;
}

static int decode_payload(const cJSON *root, ota_trace_rec *out)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "payload");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "payload_hex");

    if (p) {
        if (!cJSON_IsString(p))
            return OTA_ERR_TYPE;
        out->payload_len = strlen(p->valuestring);
        out->payload = (unsigned char *)strdup(p->valuestring);
        return out->payload ? OTA_OK : OTA_ERR_NOMEM;
    }
    if (h) {
        if (!cJSON_IsString(h))
            return OTA_ERR_TYPE;
        out->binary = 1;
        return unhex(h->valuestring, &out->payload, &out->payload_len);
    }
    return OTA_OK;
}

int ota_trace_decode(const char *line, size_t len, ota_trace_rec *out)
{
    cJSON *root = NULL;
    const cJSON *t, *kind;
    int rc;

    if (!out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof(*out));
    if (len > 4 * (size_t)OTA_MAX_PAYLOAD)
        return OTA_ERR_TOO_LONG;
    rc = pj_parse(line, len, &root, NULL);
    if (rc != OTA_OK)
        return rc;
    t = cJSON_GetObjectItemCaseSensitive(root, "t");
    kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
    if (!t || !kind)
        rc = OTA_ERR_MISSING;
    else if (!cJSON_IsNumber(t) || !cJSON_IsString(kind))
        rc = OTA_ERR_TYPE;
    else if (ota_trace_kind_parse(kind->valuestring, &out->kind) != OTA_OK)
        rc = OTA_ERR_RANGE;
    if (rc == OTA_OK) {
        out->t = t->valuedouble;
        rc = pj_str(root, "dev", out->dev, sizeof(out->dev), NULL);
    }
    if (rc == OTA_OK)
        rc = pj_str(root, "topic", out->topic, sizeof(out->topic), NULL);
    if (rc == OTA_OK)
        rc = pj_str(root, "info", out->info, sizeof(out->info), NULL);
    if (rc == OTA_OK)
        rc = decode_payload(root, out);
    cJSON_Delete(root);
    if (rc != OTA_OK)
        ota_trace_rec_clear(out);
    return rc;
}

void ota_trace_rec_clear(ota_trace_rec *r)
{
    if (!r)
        return;
    free(r->payload);
    r->payload = NULL;
    r->payload_len = 0;
}
