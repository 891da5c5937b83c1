/*
 * The trace record as one JSON line: {"t":…,"kind":…,"dev":…,"topic":…,
 * "payload":…,"info":…}. Binary payloads (block frames) travel as hex under
 * "payload_hex". A record with an event kind adds "event" and that event's
 * fields ("client", "fault", "offset", "last", "status", "of", "count").
 * Decoding reverses it; a report can be rebuilt from the file.
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

static const char *const events[OTA_EV__COUNT] = {
    [OTA_EV_NONE] = "none",
    [OTA_EV_START] = "start",
    [OTA_EV_READY] = "ready",
    [OTA_EV_DUT_EVENT] = "device-event",
    [OTA_EV_EXIT] = "exit",
    [OTA_EV_KILLED] = "killed",
    [OTA_EV_CRASH] = "crash",
    [OTA_EV_CONNECT] = "connect",
    [OTA_EV_DISCONNECT] = "disconnect",
    [OTA_EV_KICK] = "kick",
    [OTA_EV_UNDELIVERED] = "undelivered",
    [OTA_EV_DROPPED] = "dropped",
    [OTA_EV_DELAYED] = "delayed",
    [OTA_EV_AUTH_REFUSED] = "auth-refused",
    [OTA_EV_ACL_DENIED] = "acl-denied",
    [OTA_EV_CLOUD_DISCONNECT] = "cloud-disconnect",
    [OTA_EV_CONTROL_REFUSED] = "control-refused",
    [OTA_EV_FAULT] = "fault",
    [OTA_EV_BLOCK_FAULT] = "block-fault",
    [OTA_EV_SESSION_KICK] = "session-kick",
    [OTA_EV_BROKER_RESTART] = "broker-restart",
    [OTA_EV_HTTP_GET] = "get",
    [OTA_EV_HTTP_HEAD] = "head",
    [OTA_EV_HTTP_DONE] = "done",
    [OTA_EV_HTTP_ABORTED] = "aborted",
    [OTA_EV_URI_REFUSED] = "uri-refused",
    [OTA_EV_REPEATED] = "repeated",
    [OTA_EV_LATE] = "late",
    [OTA_EV_INCONCLUSIVE] = "inconclusive",
    [OTA_EV_RUN_BEGIN] = "run-begin",
    [OTA_EV_RUN_END] = "run-end",
    [OTA_EV_TEST_BEGIN] = "test-begin",
    [OTA_EV_TEST_END] = "test-end",
    [OTA_EV_SUBSCRIBE] = "subscribe",
};

const char *ota_trace_event_name(ota_trace_event e)
{
    return (unsigned)e < OTA_EV__COUNT ? events[e] : "unknown";
}

int ota_trace_event_parse(const char *s, ota_trace_event *out)
{
    for (int i = 0; i < OTA_EV__COUNT; i++) {
        if (s && !strcmp(s, events[i])) {
            *out = (ota_trace_event)i;
            return OTA_OK;
        }
    }
    return OTA_ERR_RANGE;
}

int ota_trace_set_client(ota_trace_rec *r, const char *cid)
{
    free(r->client);
    r->client = cid && *cid ? strdup(cid) : NULL;
    return !cid || !*cid || r->client ? OTA_OK : OTA_ERR_NOMEM;
}

static int has_bytes(ota_trace_event e)
{
    return e == OTA_EV_HTTP_DONE || e == OTA_EV_HTTP_ABORTED;
}

/* The event and the fields it has; nothing for a plain record. */
static void add_event(cJSON *root, const ota_trace_rec *r)
{
    ota_trace_event e = r->event;

    if (e == OTA_EV_NONE)
        return;
    cJSON_AddStringToObject(root, "event", ota_trace_event_name(e));
    if (r->client)
        cJSON_AddStringToObject(root, "client", r->client);
    if ((e == OTA_EV_FAULT || e == OTA_EV_BLOCK_FAULT) && r->fault[0])
        cJSON_AddStringToObject(root, "fault", r->fault);
    if ((e == OTA_EV_FAULT || e == OTA_EV_BLOCK_FAULT || e == OTA_EV_HTTP_GET ||
         e == OTA_EV_HTTP_HEAD || has_bytes(e)) &&
        r->offset >= 0)
        cJSON_AddNumberToObject(root, "offset", (double)r->offset);
    if (has_bytes(e)) {
        cJSON_AddNumberToObject(root, "last", (double)r->last);
        cJSON_AddNumberToObject(root, "status", r->status);
    }
    if (e == OTA_EV_REPEATED) {
        cJSON_AddStringToObject(root, "of", ota_trace_event_name(r->of));
        cJSON_AddNumberToObject(root, "count", (double)r->count);
    }
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
    add_event(root, r);
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

static long long num_or(const cJSON *root, const char *name, long long dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
}

static int event_of(const cJSON *root, const char *name, ota_trace_event *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

    *out = OTA_EV_NONE;
    if (!v)
        return OTA_OK;
    if (!cJSON_IsString(v))
        return OTA_ERR_TYPE;
    return ota_trace_event_parse(v->valuestring, out);
}

static int decode_event(const cJSON *root, ota_trace_rec *out)
{
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(root, "client");
    int rc = event_of(root, "event", &out->event);

    if (rc == OTA_OK)
        rc = event_of(root, "of", &out->of);
    if (rc == OTA_OK)
        rc = pj_str(root, "fault", out->fault, sizeof(out->fault), NULL);
    if (rc == OTA_OK && cid)
        rc = cJSON_IsString(cid) && strlen(cid->valuestring) < OTA_MAX_CLIENTID
                 ? ota_trace_set_client(out, cid->valuestring)
                 : OTA_ERR_TYPE;
    out->offset = num_or(root, "offset", -1);
    out->last = num_or(root, "last", -1);
    out->status = (int)num_or(root, "status", 0);
    out->count = (long)num_or(root, "count", 0);
    return rc;
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
    if (rc == OTA_OK)
        rc = decode_event(root, out);
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
    free(r->client);
    r->client = NULL;
}
