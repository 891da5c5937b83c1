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

static int add_text(cJSON *root, const char *key, const char *s, size_t n, long *bad);

/* The event and the fields it has; nothing for a plain record. */
static int add_event(cJSON *root, const ota_trace_rec *r, long *bad)
{
    ota_trace_event e = r->event;
    int rc = OTA_OK;

    if (e == OTA_EV_NONE)
        return OTA_OK;
    cJSON_AddStringToObject(root, "event", ota_trace_event_name(e));
    if (r->client)
        rc = add_text(root, "client", r->client, strlen(r->client), bad);
    if (rc == OTA_OK && (e == OTA_EV_FAULT || e == OTA_EV_BLOCK_FAULT) && r->fault[0])
        rc = add_text(root, "fault", r->fault, strlen(r->fault), bad);
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
    return rc;
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

size_t ota_trace_payload_size(const ota_trace_rec *r)
{
    return r->payload_len + (r->ref_read ? r->ref_len : 0);
}

int ota_trace_payload_take(const ota_trace_rec *r, unsigned char **out, size_t *len)
{
    size_t n = ota_trace_payload_size(r),
           at = r->ref_at < r->payload_len ? r->ref_at : r->payload_len;
    unsigned char *p;

    *out = NULL;
    *len = 0;
    if (!r->payload && !n)
        return OTA_OK;
    p = malloc(n + 1);
    if (!p)
        return OTA_ERR_NOMEM;
    if (n == r->payload_len) {
        memcpy(p, r->payload, n);
    } else {
        memcpy(p, r->payload, at);
        r->ref_read(r->ref_key, r->ref_off, p + at, r->ref_len);
        memcpy(p + at + r->ref_len, r->payload + at, r->payload_len - at);
    }
    p[n] = 0;
    *out = p;
    *len = n;
    return OTA_OK;
}

int ota_trace_rec_copy(const ota_trace_rec *src, ota_trace_rec *dst)
{
    *dst = *src;
    dst->payload = NULL;
    dst->client = NULL;
    if (src->payload) {
        dst->payload = malloc(src->payload_len + 1);
        if (!dst->payload)
            goto nomem;
        memcpy(dst->payload, src->payload, src->payload_len);
        dst->payload[src->payload_len] = 0;
    }
    if (src->client && !(dst->client = strdup(src->client)))
        goto nomem;
    return OTA_OK;
nomem:
    ota_trace_rec_clear(dst);
    memset(dst, 0, sizeof(*dst));
    return OTA_ERR_NOMEM;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0; /* no overlong forms */
    else if (c == 0xED)
        hi = 0x9F; /* no surrogates */
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F; /* nothing past U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/*
 * s (n bytes, no NUL) as valid UTF-8: NULL when it is already (use s), else
 * a heap copy with each byte that starts no valid sequence written as U+FFFD
 * (EF BF BD), counted in *bad. On no memory, *nomem is set.
 */
static char *utf8_clean(const char *s, size_t n, long *bad, int *nomem)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0, len;
    char *out;

    while (i < n && (len = utf8_seq(u + i, n - i)) != 0)
        i += len;
    if (i == n)
        return NULL;
    out = malloc(3 * n + 1);
    if (!out) {
        *nomem = 1;
        return NULL;
    }
    for (i = 0; i < n;) {
        len = utf8_seq(u + i, n - i);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            (*bad)++;
        }
    }
    out[o] = '\0';
    return out;
}

/* A string member, made valid UTF-8 first; OTA_ERR_NOMEM when out of memory. */
static int add_text(cJSON *root, const char *key, const char *s, size_t n, long *bad)
{
    int nomem = 0;
    char *clean = utf8_clean(s, n, bad, &nomem);

    if (nomem)
        return OTA_ERR_NOMEM;
    cJSON_AddStringToObject(root, key, clean ? clean : s);
    free(clean);
    return OTA_OK;
}

static int add_payload(cJSON *root, const ota_trace_rec *r, long *bad)
{
    unsigned char *whole = NULL;
    size_t n = 0;
    char *h;
    int rc;

    if (!r->payload)
        return OTA_OK;
    /* cJSON needs a C string: a text payload must hold no NUL, else it goes as hex. */
    if (!r->binary && !r->ref_len && memchr(r->payload, 0, r->payload_len) == NULL)
        return add_text(root, "payload", (const char *)r->payload, r->payload_len, bad);
    rc = ota_trace_payload_take(r, &whole, &n);
    if (rc != OTA_OK)
        return rc;
    h = hex_of(whole, n);
    free(whole);
    if (!h)
        return OTA_ERR_NOMEM;
    cJSON_AddStringToObject(root, "payload_hex", h);
    free(h);
    return OTA_OK;
}

/* The record's texts, each made valid UTF-8 (bad bytes counted in *bad). */
static int add_texts(cJSON *root, const ota_trace_rec *r, long *bad)
{
    int rc = OTA_OK;

    if (r->dev[0])
        rc = add_text(root, "dev", r->dev, strlen(r->dev), bad);
    if (rc == OTA_OK && r->topic[0])
        rc = add_text(root, "topic", r->topic, strlen(r->topic), bad);
    if (rc == OTA_OK)
        rc = add_payload(root, r, bad);
    if (rc == OTA_OK && r->info[0])
        rc = add_text(root, "info", r->info, strlen(r->info), bad);
    return rc;
}

int ota_trace_encode(const ota_trace_rec *r, char **line_out)
{
    cJSON *root;
    long bad = 0;
    int rc;

    if (!r || !line_out)
        return OTA_ERR_ARG;
    *line_out = NULL;
    if (ota_trace_payload_size(r) > OTA_MAX_PAYLOAD)
        return OTA_ERR_TOO_LONG;
    root = cJSON_CreateObject();
    if (!root)
        return OTA_ERR_NOMEM;
    cJSON_AddNumberToObject(root, "t", (double)(long long)(r->t * 1e6) / 1e6);
    cJSON_AddStringToObject(root, "kind", ota_trace_kind_name(r->kind));
    rc = add_texts(root, r, &bad);
    if (rc == OTA_OK)
        rc = add_event(root, r, &bad);
    if (rc == OTA_OK && bad + r->bad_utf8 > 0)
        cJSON_AddNumberToObject(root, "bad_utf8", (double)(bad + r->bad_utf8));
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
    out->bad_utf8 = (long)num_or(root, "bad_utf8", 0);
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
