/*
 * The daemon's message log: one terminal line per trace record. A device in
 * a loop must not flood the terminal, so a line that repeats is printed a
 * few times per burst and the trace's summary records take over, one
 * "looping: R requests/s" line a second. Lines are judged by their text.
 * A broker event is told in words once (the trace keeps its JSON), and a
 * topic is "(not OTA)" by the daemon's dialect.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"

#define LOG_PAYLOAD_MAX 160
#define LOG_KEEP        3   /* lines of one kind printed per burst */
#define LOG_GAP         1.0 /* seconds of quiet that end a burst */
#define LOG_SLOTS       8   /* distinct recent lines remembered per device */
#define LOG_DEVS        64

typedef struct {
    uint64_t hash;
    double last_t;
    int seen;
} line_slot;

static struct {
    char dev[OTA_MAX_NAME + 1];
    line_slot s[LOG_SLOTS];
} devs[LOG_DEVS];
static int ndevs;
static const ota_dialect *dialect; /* NULL: Aliyun's */

void mcd_log_dialect(const ota_dialect *d)
{
    dialect = d;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The remembered lines of a device; the last entry is shared once the table is full. */
static line_slot *slots_of(const char *dev)
{
    int i;

    for (i = 0; i < ndevs; i++)
        if (!strcmp(devs[i].dev, dev))
            return devs[i].s;
    if (ndevs < LOG_DEVS)
        i = ndevs++;
    else
        i = LOG_DEVS - 1;
    snprintf(devs[i].dev, sizeof(devs[i].dev), "%s", dev);
    memset(devs[i].s, 0, sizeof(devs[i].s));
    return devs[i].s;
}

/* 1: print the line; 0: leave it out; 2: the first one left out (say so once). */
static int worth_printing(const char *dev, const char *text, double t)
{
    line_slot *s = slots_of(dev), *victim = &s[0];
    uint64_t h = fnv1a(text);

    for (int i = 0; i < LOG_SLOTS; i++) {
        if (s[i].seen && s[i].hash == h) {
            if (t - s[i].last_t >= LOG_GAP)
                s[i].seen = 0;
            s[i].last_t = t;
            s[i].seen++;
            return s[i].seen <= LOG_KEEP ? 1 : s[i].seen == LOG_KEEP + 1 ? 2 : 0;
        }
        if (!s[i].seen ? victim->seen != 0 : victim->seen && s[i].last_t < victim->last_t)
            victim = &s[i];
    }
    *victim = (line_slot){.hash = h, .last_t = t, .seen = 1};
    return 1;
}

/* A summary of repeats (trace_repeat.c): "looping: R requests/s: what (N in S s)". */
static int print_summary(const ota_trace_rec *r)
{
    cJSON *o = r->kind == OTA_TR_CLOUD && r->payload
                   ? cJSON_ParseWithLength((const char *)r->payload, r->payload_len)
                   : NULL;
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(o, "rate"),
                *n = cJSON_GetObjectItemCaseSensitive(o, "repeat"),
                *secs = cJSON_GetObjectItemCaseSensitive(o, "seconds"),
                *of = cJSON_GetObjectItemCaseSensitive(o, "of");
    int ok =
        cJSON_IsNumber(rate) && cJSON_IsNumber(n) && cJSON_IsNumber(secs) && cJSON_IsString(of);

    if (ok)
        printf("%9.3f %-6s %s%slooping: %.0f requests/s: %s (%.0f in %.2f s)\n", r->t,
               ota_trace_kind_name(r->kind), r->dev, r->dev[0] ? " " : "", rate->valuedouble,
               of->valuestring, n->valuedouble, secs->valuedouble);
    cJSON_Delete(o);
    return ok;
}

static int outside_ota(const ota_trace_rec *r)
{
    ota_topic_kind k;
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];

    return (r->kind == OTA_TR_MQTT_IN || r->kind == OTA_TR_MQTT_OUT) && r->topic[0] &&
           (dialect ? ota_dialect_topic_parse(dialect, r->topic, &k, pk, dn, NULL)
                    : ota_topic_parse(r->topic, &k, pk, dn)) != OTA_OK;
}

/*
 * A broker event (the plugin's JSON, {"event","client_id","detail",...}) in
 * words: "connect: client 'ID'", "subscribe: TOPIC client 'ID'". Mosquitto
 * 2.0 gives every disconnect (the cloud's own too) the reason -1 (unknown), a clean one 0: neither
 * says anything, so only another reason is shown. 0 when r is not one.
 */
static int broker_event_text(const ota_trace_rec *r, char *buf, size_t cap)
{
    cJSON *o = r->payload && !r->binary && (r->kind == OTA_TR_BROKER || r->kind == OTA_TR_ERROR)
                   ? cJSON_ParseWithLength((const char *)r->payload, r->payload_len)
                   : NULL;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event"),
                *cid = cJSON_GetObjectItemCaseSensitive(o, "client_id"),
                *detail = cJSON_GetObjectItemCaseSensitive(o, "detail");
    const char *d = cJSON_IsString(detail) ? detail->valuestring : "";
    int ok = cJSON_IsString(ev);

    if (ok && strstr(ev->valuestring, "disconnect") &&
        (!strcmp(d, "reason -1") || !strcmp(d, "reason 0")))
        d = "";
    if (ok)
        snprintf(buf, cap, "%s:%s%s%s%s%s", ev->valuestring, d[0] ? " " : "", d,
                 cJSON_IsString(cid) && cid->valuestring[0] ? " client '" : "",
                 cJSON_IsString(cid) ? cid->valuestring : "",
                 cJSON_IsString(cid) && cid->valuestring[0] ? "'" : "");
    cJSON_Delete(o);
    return ok;
}

void mcd_log_record(const ota_trace_rec *r)
{
    char payload[LOG_PAYLOAD_MAX + 8] = "", event[1024], text[2048];

    if (print_summary(r))
        return;
    if (broker_event_text(r, event, sizeof(event))) {
        snprintf(text, sizeof(text), "%-6s %s%s%s", ota_trace_kind_name(r->kind), r->dev,
                 r->dev[0] ? " " : "", event);
        goto print;
    }
    if (r->payload && r->binary)
        snprintf(payload, sizeof(payload), "<%zu bytes>", ota_trace_payload_size(r));
    else if (r->payload)
        snprintf(payload, sizeof(payload), "%.*s%s", LOG_PAYLOAD_MAX, (const char *)r->payload,
                 r->payload_len > LOG_PAYLOAD_MAX ? "…" : "");
    snprintf(text, sizeof(text), "%-6s %s%s%s%s%s%s%s%s", ota_trace_kind_name(r->kind), r->dev,
             r->dev[0] ? " " : "", r->topic, r->topic[0] ? " " : "", payload,
             payload[0] && r->info[0] ? " | " : "", r->info, outside_ota(r) ? " (not OTA)" : "");
print:
    switch (r->kind == OTA_TR_CLOUD ? 1 : worth_printing(r->dev, text, r->t)) {
    case 1:
        printf("%9.3f %s\n", r->t, text);
        break;
    case 2:
        printf("%9.3f %-6s %s%s(the same again: repeats are counted, not printed)\n", r->t,
               ota_trace_kind_name(r->kind), r->dev, r->dev[0] ? " " : "");
        break;
    default:
        break;
    }
}
