/*
 * Repetition in the trace, per device. A looping device (one retrying a 404
 * thousands of times a second, forever) must not grow the trace
 * without bound: a record identical to a recent one of the same device is
 * kept MC_TRACE_KEEP_REPEATS times in a burst, then only counted, and one
 * summary record stands for what was counted. This file decides; trace_store.c
 * stores. Everything here runs with the trace lock held.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mock_priv.h"

#define SLOTS                                                                                      \
    32                /* distinct recent records remembered per device (a device retrying          \
                         several cancelled jobs at once interleaves many) */
#define WINDOW   1.0  /* a summary at least once a second while a burst goes on */
#define MAX_DEVS 4096 /* past this many device names, records are kept as they come */
#define ID_MAX   4096 /* same_but_id: the longest payload it parses */
#define ID_SLACK 16   /* ... and how much two may differ in length (their ids) */

typedef struct {
    const ota_trace_rec *rec; /* its stored copy, or own; NULL: free */
    uint64_t key;             /* rec's fingerprint (record_key) */
    size_t idx;               /* the stored copy's record number */
    ota_trace_rec *own;       /* the slot's own copy once the stored one was let go */
    double last_t;            /* when it came last */
    long seen;                /* times in this burst, stored or not */
    long held;                /* left out since the last summary */
} slot;

typedef struct {
    char dev[OTA_MAX_NAME + 1];
    slot s[SLOTS];
    int pending;      /* the slot waiting for mc_repeat_kept; -1: none */
    double win_t0;    /* the summary window began */
    double last_held; /* the last record left out */
    long held;        /* records left out in this window, every slot */
} dev_state;

struct mc_repeat {
    dev_state *devs;
    int n, cap;
    int index[2 * MAX_DEVS]; /* open addressing by device name: devs index + 1, 0 empty */
    dev_state *pend;         /* the device of the record just admitted as new */
    dev_state *last;         /* the device of the record just admitted (mc_repeat_more) */
};

/* Requests, messages and the cloud's direct answers to them; never notes or job changes. */
static int eligible(ota_trace_kind k)
{
    return k == OTA_TR_HTTP || k == OTA_TR_MQTT_IN || k == OTA_TR_MQTT_OUT || k == OTA_TR_ERROR ||
           k == OTA_TR_FAULT;
}

/*
 * Two JSON messages that differ only in their "id" (a device numbers every
 * message, and a looping one reports the same progress thousands of times
 * a second, each with the next id) are the same message repeated.
 */
static int same_but_id(const ota_trace_rec *a, const ota_trace_rec *b)
{
    cJSON *x, *y;
    int eq;
    size_t la = a->payload_len, lb = b->payload_len;

    if (a->kind != OTA_TR_MQTT_IN || a->binary || b->binary || la + ID_SLACK < lb ||
        lb + ID_SLACK < la || la > ID_MAX || !la || !lb)
        return 0;
    x = cJSON_ParseWithLength((const char *)a->payload, la);
    y = cJSON_ParseWithLength((const char *)b->payload, lb);
    cJSON_DeleteItemFromObjectCaseSensitive(x, "id");
    cJSON_DeleteItemFromObjectCaseSensitive(y, "id");
    eq = cJSON_IsObject(x) && cJSON_IsObject(y) && cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return eq;
}

/* FNV-1a over n more bytes. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* A value as cJSON_Compare sees it: an object's members in any order, an array's in order. */
static uint64_t json_key(const cJSON *j)
{
    uint64_t h = mix(1469598103934665603ULL, &(int){j->type & 0xFF}, sizeof(int)), sum = 0;
    double v;

    if (cJSON_IsNumber(j)) {
        v = j->valuedouble == 0 ? 0 : j->valuedouble; /* -0 and 0 are one value */
        return mix(h, &v, sizeof(v));
    }
    if (cJSON_IsString(j))
        return mix(h, j->valuestring, strlen(j->valuestring));
    for (const cJSON *e = j->child; e; e = e->next) {
        uint64_t k = json_key(e);
        if (cJSON_IsArray(j))
            h = mix(h, &k, sizeof(k));
        else if (e->string)
            sum += mix(mix(h, e->string, strlen(e->string)), &k, sizeof(k));
    }
    return cJSON_IsObject(j) ? mix(h, &sum, sizeof(sum)) : h;
}

/*
 * A fingerprint of what same() compares, so that a new record is compared in
 * full only with the slots that may hold its equal: records same() takes as
 * equal have equal keys. A payload same_but_id may read counts as its JSON
 * without "id" (parsed once here rather than once per slot); any other by its
 * length and its first and last bytes. Numbers count by their exact value:
 * two that cJSON_Compare takes as equal within its rounding but that differ
 * in their last bit are told apart (a looping device repeats its own text).
 */
static uint64_t record_key(const ota_trace_rec *r)
{
    uint64_t h = 1469598103934665603ULL;
    size_t n = r->payload_len, edge = n < 128 ? n : 64;
    cJSON *o = NULL;

    h = mix(h, &(int[]){(int)r->kind, (int)r->event, r->binary}, 3 * sizeof(int));
    h = mix(mix(h, r->topic, strlen(r->topic) + 1), r->info, strlen(r->info));
    if (r->kind == OTA_TR_MQTT_IN && !r->binary && n && n <= ID_MAX + ID_SLACK)
        o = cJSON_ParseWithLength((const char *)r->payload, n);
    if (cJSON_IsObject(o)) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "id");
        h = mix(h, &(uint64_t){json_key(o)}, sizeof(uint64_t));
    } else if (n) {
        h = mix(mix(mix(h, &n, sizeof(n)), r->payload, edge), r->payload + n - edge, edge);
    }
    cJSON_Delete(o);
    return h;
}

static int same(const ota_trace_rec *a, const ota_trace_rec *b)
{
    if (a->kind != b->kind || a->event != b->event || strcmp(a->topic, b->topic) ||
        strcmp(a->info, b->info))
        return 0;
    if (a->ref_len != b->ref_len ||
        (a->ref_len && (a->ref_at != b->ref_at || a->ref_off != b->ref_off ||
                        a->ref_key != b->ref_key || a->ref_read != b->ref_read)))
        return 0;
    if (a->binary == b->binary && a->payload_len == b->payload_len &&
        (!a->payload_len || !memcmp(a->payload, b->payload, a->payload_len)))
        return 1;
    return same_but_id(a, b);
}

static void slot_clear(slot *s)
{
    if (s->own) {
        ota_trace_rec_clear(s->own);
        free(s->own);
    }
    memset(s, 0, sizeof(*s));
}

static size_t name_hash(const char *s)
{
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/*
 * The state of a device, made at its first record; NULL past MAX_DEVS
 * devices. Found by its name's index: a fleet of thousands adds a record
 * for every message.
 */
static dev_state *dev_get(mc_cloud *c, const char *name)
{
    struct mc_repeat *rp = c->repeat;
    size_t mask = 2 * MAX_DEVS - 1, k;

    if (!rp && !(rp = c->repeat = calloc(1, sizeof(*rp))))
        return NULL;
    for (k = name_hash(name) & mask; rp->index[k]; k = (k + 1) & mask)
        if (!strcmp(rp->devs[rp->index[k] - 1].dev, name))
            return &rp->devs[rp->index[k] - 1];
    if (rp->n == rp->cap) {
        int cap = rp->cap ? 2 * rp->cap : 8;
        dev_state *n = cap <= MAX_DEVS ? realloc(rp->devs, (size_t)cap * sizeof(*n)) : NULL;
        if (!n)
            return NULL;
        rp->devs = n;
        rp->cap = cap;
    }
    memset(&rp->devs[rp->n], 0, sizeof(rp->devs[0]));
    snprintf(rp->devs[rp->n].dev, sizeof(rp->devs[0].dev), "%s", name);
    rp->index[k] = rp->n + 1; /* k: the empty slot the search ended on */
    return &rp->devs[rp->n++];
}

static int match(const dev_state *d, const ota_trace_rec *r, uint64_t key)
{
    for (int i = 0; i < SLOTS; i++)
        if (d->s[i].rec && d->s[i].key == key && same(d->s[i].rec, r))
            return i;
    return -1;
}

/* A free slot, else the one that came least recently. */
static int free_slot(const dev_state *d)
{
    int best = 0;

    for (int i = 0; i < SLOTS; i++) {
        if (!d->s[i].rec)
            return i;
        if (d->s[i].last_t < d->s[best].last_t)
            best = i;
    }
    return best;
}

static int is_request(const ota_trace_rec *r)
{
    return r->kind == OTA_TR_MQTT_IN || (r->kind == OTA_TR_HTTP && r->event != OTA_EV_HTTP_DONE &&
                                         r->event != OTA_EV_HTTP_ABORTED);
}

/* The slot the summary is about: a request before a reply, then the most left out. */
static const slot *lead_of(const dev_state *d)
{
    const slot *best = NULL;

    for (int i = 0; i < SLOTS; i++) {
        const slot *s = &d->s[i];
        if (!s->held)
            continue;
        if (!best || is_request(s->rec) > is_request(best->rec) ||
            (is_request(s->rec) == is_request(best->rec) && s->held > best->held))
            best = s;
    }
    return best;
}

/* "GET /ota/1/fw-1.bin -> 404": the request, its path without the query, and its answer. */
static void describe(const dev_state *d, const ota_trace_rec *r, char *out, size_t cap)
{
    int status = 0;

    if (r->kind != OTA_TR_HTTP) {
        if (snprintf(out, cap, "%s %s%s%s", ota_trace_kind_name(r->kind), r->topic,
                     r->topic[0] && r->info[0] ? " " : "", r->info) >= (int)cap)
            out[cap - 1] = '\0'; /* cut: a summary names the record, it need not hold it */
        return;
    }
    for (int i = 0; i < SLOTS; i++) {
        const ota_trace_rec *o = d->s[i].rec;
        if (o && o->kind == OTA_TR_HTTP && !strcmp(o->topic, r->topic) &&
            (o->event == OTA_EV_HTTP_DONE || o->event == OTA_EV_HTTP_ABORTED))
            status = o->status;
    }
    snprintf(out, cap, "%.*s %.*s", (int)strcspn(r->info, " "), r->info,
             (int)strcspn(r->topic, "?"), r->topic);
    if (status)
        snprintf(out + strlen(out), cap - strlen(out), " -> %d", status);
}

static char *summary_json(long repeat, double seconds, double rate, const char *of, long records)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    cJSON_AddNumberToObject(o, "repeat", (double)repeat);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddNumberToObject(o, "rate", rate);
    cJSON_AddStringToObject(o, "of", of);
    cJSON_AddNumberToObject(o, "records", (double)records);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/*
 * Clear what one summary covers: the lead's count, and the replies and
 * faults of the same topic (a request's answers). Returns the records.
 */
static long take_held(dev_state *d, slot *lead)
{
    long n = 0;

    for (int i = 0; i < SLOTS; i++) {
        slot *s = &d->s[i];
        if (s->held && (s == lead || (!is_request(s->rec) && is_request(lead->rec) &&
                                      !strcmp(s->rec->topic, lead->rec->topic)))) {
            n += s->held;
            s->held = 0;
        }
    }
    d->held -= n;
    return n;
}

/*
 * The summary of one subject of the device's window (heap, the caller
 * stores it), or NULL when none is due. A device looping on several
 * requests at once gets one summary per request, each with its own count;
 * the others follow on the next calls.
 */
static ota_trace_rec *take_summary(dev_state *d, double now)
{
    slot *lead = (slot *)lead_of(d);
    double secs = d->last_held - d->win_t0, rate;
    char of[OTA_TRACE_MAX_INFO / 2];
    long count, records;
    ota_trace_rec *r;

    if (!lead)
        return NULL;
    if (secs < 0.001)
        secs = 0.001;
    secs = (double)(long long)(secs * 100 + 0.5) / 100;
    rate = (double)(long long)((double)lead->held / (secs > 0 ? secs : 0.01) + 0.5);
    describe(d, lead->rec, of, sizeof(of));
    count = lead->held;
    records = take_held(d, lead);
    r = calloc(1, sizeof(*r));
    if (r) {
        r->t = now;
        r->kind = OTA_TR_CLOUD;
        r->event = OTA_EV_REPEATED;
        r->of = lead->rec->event;
        r->count = count;
        r->offset = r->last = -1;
        snprintf(r->dev, sizeof(r->dev), "%s", d->dev);
        snprintf(r->topic, sizeof(r->topic), "%s", lead->rec->topic);
        snprintf(r->info, sizeof(r->info), "repeated %ld times in %.2f s (%.0f/s): %s", count, secs,
                 rate, of);
        r->payload = (unsigned char *)summary_json(count, secs, rate, of, records);
        r->payload_len = r->payload ? strlen((char *)r->payload) : 0;
    }
    return r;
}

int mc_repeat_admit(mc_cloud *c, const ota_trace_rec *r, ota_trace_rec **summary)
{
    dev_state *d;
    slot *s;
    double prev;
    uint64_t key;
    int i;

    assert(mc_mutex_held(&c->tlock));
    *summary = NULL;
    if (c->repeat)
        c->repeat->pend = c->repeat->last = NULL;
    if (!eligible(r->kind) || !(d = dev_get(c, r->dev)))
        return 1;
    c->repeat->last = d;
    d->pending = -1;
    key = record_key(r);
    i = match(d, r, key);
    if (i < 0) { /* a different record: what was counted ends here */
        *summary = take_summary(d, r->t);
        i = free_slot(d);
        slot_clear(&d->s[i]);
        d->s[i] = (slot){.rec = NULL, .key = key, .last_t = r->t, .seen = 1};
        d->pending = i;
        c->repeat->pend = d;
        return 1;
    }
    s = &d->s[i];
    prev = s->last_t;
    s->last_t = r->t;
    if (r->t - prev >= MC_TRACE_REPEAT_GAP) { /* it paused: a new burst */
        *summary = take_summary(d, r->t);
        s->seen = 0;
    }
    if (++s->seen <= MC_TRACE_KEEP_REPEATS)
        return 1;
    if (!d->held)
        d->win_t0 = prev;
    s->held++;
    d->held++;
    d->last_held = r->t;
    if (!*summary && r->t - d->win_t0 >= WINDOW)
        *summary = take_summary(d, r->t);
    return 0;
}

void mc_repeat_kept(mc_cloud *c, const ota_trace_rec *r, size_t idx)
{
    dev_state *d = c->repeat ? c->repeat->pend : NULL;

    assert(mc_mutex_held(&c->tlock));
    if (d && d->pending >= 0) {
        d->s[d->pending].rec = r;
        d->s[d->pending].idx = idx;
    }
    if (d)
        d->pending = -1;
}

ota_trace_rec *mc_repeat_more(mc_cloud *c, double now)
{
    dev_state *d = c->repeat ? c->repeat->last : NULL;

    assert(mc_mutex_held(&c->tlock));
    return d && d->held ? take_summary(d, now) : NULL;
}

ota_trace_rec *mc_repeat_due(mc_cloud *c, double now)
{
    struct mc_repeat *rp = c->repeat;

    assert(mc_mutex_held(&c->tlock));
    for (int i = 0; rp && i < rp->n; i++) {
        dev_state *d = &rp->devs[i];
        if (d->held && now - d->win_t0 >= WINDOW)
            return take_summary(d, now);
    }
    return NULL;
}

/*
 * A slot compares new records with the record it stands for: when the trace
 * lets that record go (mc_config.trace_keep), the slot keeps a copy. Out of
 * memory, the slot is forgotten with what it counted.
 */
void mc_repeat_evict(mc_cloud *c, size_t below)
{
    struct mc_repeat *rp = c->repeat;

    assert(mc_mutex_held(&c->tlock));
    for (int i = 0; rp && i < rp->n; i++) {
        for (int k = 0; k < SLOTS; k++) {
            slot *s = &rp->devs[i].s[k];
            if (!s->rec || s->own || s->idx >= below)
                continue;
            s->own = malloc(sizeof(*s->own));
            if (s->own && ota_trace_rec_copy(s->rec, s->own) == OTA_OK) {
                s->rec = s->own;
                continue;
            }
            free(s->own);
            s->own = NULL;
            rp->devs[i].held -= s->held;
            slot_clear(s);
        }
    }
}

void mc_repeat_free(mc_cloud *c)
{
    for (int i = 0; c->repeat && i < c->repeat->n; i++)
        for (int k = 0; k < SLOTS; k++)
            slot_clear(&c->repeat->devs[i].s[k]);
    if (c->repeat)
        free(c->repeat->devs);
    free(c->repeat);
    c->repeat = NULL;
}
