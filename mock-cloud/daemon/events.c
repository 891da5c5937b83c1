/*
 * What the console shows live: a thread reads every trace record as it comes
 * and keeps, per device, whether it is online, its last message and its last
 * progress step and desc; GET /events streams the records themselves as
 * Server-Sent Events (id: the record's index + 1, so Last-Event-ID resumes
 * where a dropped connection stopped). It decides nothing about jobs: the
 * library does.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define BUCKETS    4096
#define SSE_BATCH  200  /* records per write at most */
#define SSE_RECORD 2048 /* a record's JSON is cut here (payloads stay in GET /trace) */

typedef struct dev_state {
    struct dev_state *next;
    char dn[OTA_MAX_NAME + 1];
    int online;
    double last_t;  /* mc_now of its last message; 0: none */
    char last[96];  /* what it was, in a few words */
    size_t step_at; /* trace index of its last progress report */
    int step;
    char desc[160];
} dev_state;

static struct {
    pthread_mutex_t lock;
    dev_state *buckets[BUCKETS];
    mc_cloud *c;
    pthread_t thread;
    int up, stop;
    size_t seen;
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % BUCKETS;
}

/* The device's state (ev.lock held); made when create. NULL when none (or out of memory). */
static dev_state *state_of(const char *dn, int create)
{
    unsigned h = hash(dn);
    dev_state *d;

    for (d = ev.buckets[h]; d; d = d->next)
        if (!strcmp(d->dn, dn))
            return d;
    if (!create || !(d = calloc(1, sizeof(*d))))
        return NULL;
    snprintf(d->dn, sizeof(d->dn), "%s", dn);
    d->next = ev.buckets[h];
    ev.buckets[h] = d;
    return d;
}

/* A progress report's step and desc (Aliyun's params, or the fields at the top). */
static void progress_of(dev_state *d, const ota_trace_rec *r, size_t idx)
{
    cJSON *o = cJSON_ParseWithLength((const char *)r->payload, r->payload_len);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "params");
    const cJSON *step, *desc;

    if (!p)
        p = o;
    step = cJSON_GetObjectItemCaseSensitive(p, "step");
    desc = cJSON_GetObjectItemCaseSensitive(p, "desc");
    if (cJSON_IsString(step) || cJSON_IsNumber(step)) {
        d->step = cJSON_IsString(step) ? atoi(step->valuestring) : (int)step->valuedouble;
        d->step_at = idx;
        snprintf(d->desc, sizeof(d->desc), "%s", cJSON_IsString(desc) ? desc->valuestring : "");
        snprintf(d->last, sizeof(d->last), "progress %d", d->step);
    }
    cJSON_Delete(o);
}

/* What the topic of a message is, in a word: the part after /ota/device/ or thing/. */
static void topic_word(const char *topic, char *out, size_t cap)
{
    const char *p = strstr(topic, "/ota/device/");
    const char *t = p ? p + 12 : strstr(topic, "/thing/") ? strstr(topic, "/thing/") + 7 : topic;
    size_t n = strcspn(t, "/");

    snprintf(out, cap, "%.*s", (int)(n > 60 ? 60 : n), t);
}

static void consume(const ota_trace_rec *r, size_t idx)
{
    dev_state *d;

    if (!r->dev[0])
        return;
    pthread_mutex_lock(&ev.lock);
    d = state_of(r->dev, 1);
    if (d && r->kind == OTA_TR_BROKER && r->event == OTA_EV_CONNECT)
        d->online = 1;
    if (d && r->kind == OTA_TR_BROKER && r->event == OTA_EV_DISCONNECT)
        d->online = 0;
    if (d && r->kind == OTA_TR_MQTT_IN) {
        d->online = 1; /* a message proves it (a connect let go by --trace-keep) */
        d->last_t = r->t;
        topic_word(r->topic, d->last, sizeof(d->last));
        if (strstr(r->topic, "progress") && r->payload)
            progress_of(d, r, idx);
    }
    pthread_mutex_unlock(&ev.lock);
}

static void *reader(void *arg)
{
    (void)arg;
    for (;;) {
        size_t n = mc_trace_wait(ev.c, ev.seen, mc_now(ev.c) + 0.3);
        ota_trace_rec rec;
        int stop;

        pthread_mutex_lock(&ev.lock);
        stop = ev.stop;
        pthread_mutex_unlock(&ev.lock);
        if (stop)
            break;
        if (ev.seen < mc_trace_first(ev.c))
            ev.seen = mc_trace_first(ev.c); /* let go before we came to them */
        for (; ev.seen < n; ev.seen++) {
            if (mc_trace_copy(ev.c, ev.seen, &rec) != MC_OK)
                continue;
            consume(&rec, ev.seen);
            ota_trace_rec_clear(&rec);
        }
    }
    return NULL;
}

int mcd_events_start(mc_cloud *c)
{
    ev.c = c;
    ev.up = pthread_create(&ev.thread, NULL, reader, NULL) == 0;
    return ev.up ? 0 : -1;
}

void mcd_events_quit(void)
{
    pthread_mutex_lock(&ev.lock);
    ev.stop = 1;
    pthread_mutex_unlock(&ev.lock);
}

void mcd_events_stop(void)
{
    mcd_events_quit();
    if (ev.up)
        pthread_join(ev.thread, NULL);
    ev.up = 0;
    for (int i = 0; i < BUCKETS; i++) {
        while (ev.buckets[i]) {
            dev_state *d = ev.buckets[i];
            ev.buckets[i] = d->next;
            free(d);
        }
    }
}

int mcd_device_online(const char *dn)
{
    dev_state *d;
    int on;

    pthread_mutex_lock(&ev.lock);
    d = state_of(dn, 0);
    on = d && d->online;
    pthread_mutex_unlock(&ev.lock);
    return on;
}

int mcd_device_desc(const char *dn, size_t since, char *out, size_t cap)
{
    dev_state *d;
    int found;

    pthread_mutex_lock(&ev.lock);
    d = state_of(dn, 0);
    found = d && d->step_at >= since && d->step_at > 0;
    if (found)
        snprintf(out, cap, "%s", d->desc);
    pthread_mutex_unlock(&ev.lock);
    return found;
}

void mcd_device_state_add(cJSON *o, const char *dn)
{
    dev_state *d;

    pthread_mutex_lock(&ev.lock);
    d = state_of(dn, 0);
    cJSON_AddBoolToObject(o, "online", d && d->online);
    if (d && d->last_t > 0) {
        cJSON_AddNumberToObject(o, "lastAt", d->last_t);
        cJSON_AddStringToObject(o, "lastMessage", d->last);
    }
    pthread_mutex_unlock(&ev.lock);
}

/* ---- GET /events ---- */
typedef struct {
    mc_cloud *c;
    size_t next; /* the next record to send */
    char *buf;   /* encoded, not yet sent */
    size_t len, off;
    double quiet_t; /* when the last bytes went out */
    int brief;      /* time, kind and device only: what a page needs to know to refresh */
} sse;

/* A record as the brief stream sends it (heap, or NULL). */
static char *brief_line(const ota_trace_rec *r)
{
    cJSON *o = cJSON_CreateObject();
    char *line;

    cJSON_AddNumberToObject(o, "t", r->t);
    cJSON_AddStringToObject(o, "kind", ota_trace_kind_name(r->kind));
    if (r->dev[0])
        cJSON_AddStringToObject(o, "dev", r->dev);
    line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return line;
}

/* Up to SSE_BATCH records from s->next into s->buf as events. */
static void sse_fill(sse *s, size_t n)
{
    size_t cap = 0;

    s->len = s->off = 0;
    if (s->next < mc_trace_first(s->c))
        s->next = mc_trace_first(s->c);
    for (size_t k = 0; s->next < n && k < SSE_BATCH; s->next++, k++) {
        ota_trace_rec rec;
        char *line = NULL;
        if (mc_trace_copy(s->c, s->next, &rec) != MC_OK)
            continue;
        if (rec.payload_len > SSE_RECORD) { /* the page shows a summary; GET /trace has it all */
            rec.payload_len = SSE_RECORD;
            rec.payload[SSE_RECORD] = '\0';
            rec.ref_len = 0;
            rec.ref_read = NULL;
        }
        if (s->brief ? (line = brief_line(&rec)) != NULL
                     : ota_trace_encode(&rec, &line) == OTA_OK) {
            size_t need = strlen(line) + 64;
            if (s->len + need > cap) {
                char *grown = realloc(s->buf, (s->len + need) * 2);
                if (!grown) {
                    free(line);
                    ota_trace_rec_clear(&rec);
                    break;
                }
                s->buf = grown;
                cap = (s->len + need) * 2;
            }
            s->len += (size_t)sprintf(s->buf + s->len, "id: %zu\ndata: %s\n\n", s->next + 1, line);
        }
        free(line);
        ota_trace_rec_clear(&rec);
    }
}

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    sse *s = cls;
    (void)pos;

    while (s->off == s->len) {
        int stop;
        pthread_mutex_lock(&ev.lock);
        stop = ev.stop;
        pthread_mutex_unlock(&ev.lock);
        if (stop)
            return MHD_CONTENT_READER_END_OF_STREAM;
        size_t n = mc_trace_wait(s->c, s->next, mc_now(s->c) + 1.0);
        if (n > s->next) {
            sse_fill(s, n);
        } else if (mc_now(s->c) - s->quiet_t >= 10) { /* a comment keeps proxies and us alive */
            char *grown = realloc(s->buf, 4);
            if (!grown)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            s->buf = grown;
            memcpy(s->buf, ":\n\n", 3);
            s->len = 3;
            s->off = 0;
        }
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    s->quiet_t = mc_now(s->c);
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    sse *s = cls;
    free(s->buf);
    free(s);
}

struct MHD_Response *mcd_events_response(mc_cloud *c, const char *from, const char *last_id,
                                         int brief)
{
    sse *s = calloc(1, sizeof(*s));
    struct MHD_Response *r;

    if (!s)
        return NULL;
    s->c = c;
    s->brief = brief;
    if (last_id && *last_id)
        s->next = strtoull(last_id, NULL, 10); /* ids are index + 1: resume after it */
    else if (from && !strcmp(from, "end"))
        s->next = mc_trace_count(c);
    else if (from)
        s->next = strtoull(from, NULL, 10);
    s->quiet_t = mc_now(c);
    s->buf = strdup("retry: 2000\n\n"); /* the headers go out with it, at once */
    s->len = s->buf ? strlen(s->buf) : 0;
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, sse_read, s, sse_free);
    if (!r) {
        free(s);
        return NULL;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    return r;
}
