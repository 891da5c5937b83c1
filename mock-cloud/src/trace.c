/*
 * The trace store: every event in memory (for the runner to wait on and
 * judge) and, when a path is given, one JSONL line per event, flushed as
 * soon as the cloud's lock is free (at once for a caller without it) so a
 * crash loses next to nothing already recorded. Long runs of identical
 * records are counted instead of kept (trace_repeat.c decides which).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mock_priv.h"

double mc_now(const mc_cloud *c)
{
    return ota_clock_now() - c->t0;
}

int mc_trace_open(mc_cloud *c, const char *path)
{
    pthread_mutex_init(&c->tlock, NULL);
    pthread_mutex_init(&c->wlock, NULL);
    ota_cond_init_mono(&c->tcond);
    c->nwritten = 0;
    if (path) {
        c->tfile = fopen(path, "w");
        if (!c->tfile)
            return MC_ERR_IO;
    }
    return MC_OK;
}

void mc_trace_close(mc_cloud *c)
{
    mc_trace_flush(c);
    for (size_t i = 0; i < c->nrecs; i++) {
        ota_trace_rec_clear(c->recs[i]);
        free(c->recs[i]);
    }
    free(c->recs);
    c->recs = NULL;
    c->nrecs = 0;
    mc_repeat_free(c);
    if (c->tfile)
        fclose(c->tfile);
    c->tfile = NULL;
    pthread_cond_destroy(&c->tcond);
    pthread_mutex_destroy(&c->wlock);
    pthread_mutex_destroy(&c->tlock);
}

static ota_trace_rec *rec_new(ota_trace_kind kind, const char *dev, const char *topic,
                              const void *payload, size_t len, int binary)
{
    ota_trace_rec *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->kind = kind;
    r->offset = r->last = -1;
    snprintf(r->dev, sizeof(r->dev), "%s", dev ? dev : "");
    snprintf(r->topic, sizeof(r->topic), "%s", topic ? topic : "");
    if (payload) {
        if (len > OTA_MAX_PAYLOAD)
            len = OTA_MAX_PAYLOAD;
        r->payload = malloc(len + 1);
        if (r->payload) {
            memcpy(r->payload, payload, len);
            r->payload[len] = 0;
            r->payload_len = len;
            r->binary = binary;
        }
    }
    return r;
}

static int append(mc_cloud *c, ota_trace_rec *r)
{
    if (c->nrecs == c->caprecs) {
        size_t cap = c->caprecs ? 2 * c->caprecs : 256;
        ota_trace_rec **n = realloc(c->recs, cap * sizeof(*n));
        if (!n)
            return -1;
        c->recs = n;
        c->caprecs = cap;
    }
    c->recs[c->nrecs++] = r;
    return 0;
}

/* Keep a record in memory (tlock held); mc_trace_flush writes it. On failure it is freed, -1. */
static int store(mc_cloud *c, ota_trace_rec *r)
{
    if (append(c, r) != 0) {
        ota_trace_rec_clear(r);
        free(r);
        return -1;
    }
    return 0;
}

/* The next record not yet in the file, or NULL (wlock held). Stored records never change. */
static const ota_trace_rec *next_unwritten(mc_cloud *c)
{
    const ota_trace_rec *r = NULL;

    pthread_mutex_lock(&c->tlock);
    if (c->nwritten < c->nrecs)
        r = c->recs[c->nwritten];
    pthread_mutex_unlock(&c->tlock);
    return r;
}

/*
 * The file is written under its own lock, not the trace's: a thread adding a
 * record (perhaps holding the cloud's lock) never waits for the disk.
 */
void mc_trace_flush(mc_cloud *c)
{
    const ota_trace_rec *r;
    char *line;
    int wrote = 0;

    if (!c->tfile)
        return;
    pthread_mutex_lock(&c->wlock);
    while ((r = next_unwritten(c)) != NULL) {
        line = NULL;
        if (ota_trace_encode(r, &line) == OTA_OK) {
            fputs(line, c->tfile);
            fputc('\n', c->tfile);
        }
        free(line);
        c->nwritten++;
        wrote = 1;
    }
    if (wrote)
        fflush(c->tfile);
    pthread_mutex_unlock(&c->wlock);
}

static void set_event(ota_trace_rec *r, const mc_trace_ev *ev)
{
    r->event = ev->event;
    ota_trace_set_client(r, ev->client); /* out of memory: the record goes without it */
    snprintf(r->fault, sizeof(r->fault), "%s", ev->fault ? ev->fault : "");
    r->offset = ev->offset;
    r->last = ev->last;
    r->status = ev->status;
}

/*
 * A record identical to many just before it is counted rather than kept
 * (trace_repeat.c): a summary record may go in first, and the record itself
 * may be left out. Waiters wake for whatever was stored.
 */
static void put(mc_cloud *c, ota_trace_kind kind, const mc_trace_ev *ev, const char *dev,
                const char *topic, const void *payload, size_t len, int binary, const char *fmt,
                va_list ap)
{
    ota_trace_rec *r = rec_new(kind, dev, topic, payload, len, binary), *sum = NULL;
    int keep, summed;

    if (!r)
        return;
    if (ev)
        set_event(r, ev);
    if (fmt)
        vsnprintf(r->info, sizeof(r->info), fmt, ap);
    pthread_mutex_lock(&c->tlock);
    r->t = mc_now(c);
    if (kind == OTA_TR_ERROR)
        c->errors++;
    keep = mc_repeat_admit(c, r, &sum);
    summed = sum != NULL;
    for (; sum; sum = mc_repeat_more(c, r->t)) /* one per repeated request of the device */
        store(c, sum);
    if (!keep) {
        ota_trace_rec_clear(r);
        free(r);
    } else if (store(c, r) == 0) {
        mc_repeat_kept(c, r);
    }
    if (keep || summed)
        pthread_cond_broadcast(&c->tcond);
    pthread_mutex_unlock(&c->tlock);
    if (!mc_cloud_lock_held(c))
        mc_trace_flush(c);
}

void mc_trace_addv(mc_cloud *c, ota_trace_kind kind, const char *dev, const char *topic,
                   const void *payload, size_t len, int binary, const char *fmt, va_list ap)
{
    put(c, kind, NULL, dev, topic, payload, len, binary, fmt, ap);
}

void mc_trace_tick(mc_cloud *c)
{
    ota_trace_rec *sum;
    int n = 0;

    pthread_mutex_lock(&c->tlock);
    while ((sum = mc_repeat_due(c, mc_now(c))) != NULL)
        n += store(c, sum) == 0;
    if (n)
        pthread_cond_broadcast(&c->tcond);
    pthread_mutex_unlock(&c->tlock);
    mc_trace_flush(c);
}

void mc_trace_add(mc_cloud *c, ota_trace_kind kind, const char *dev, const char *topic,
                  const void *payload, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mc_trace_addv(c, kind, dev, topic, payload, len, 0, fmt, ap);
    va_end(ap);
}

void mc_trace_event(mc_cloud *c, ota_trace_kind kind, const mc_trace_ev *ev, const char *dev,
                    const char *topic, const void *payload, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put(c, kind, ev, dev, topic, payload, len, 0, fmt, ap);
    va_end(ap);
}

size_t mc_trace_count(mc_cloud *c)
{
    size_t n;
    pthread_mutex_lock(&c->tlock);
    n = c->nrecs;
    pthread_mutex_unlock(&c->tlock);
    return n;
}

const ota_trace_rec *mc_trace_at(mc_cloud *c, size_t i)
{
    const ota_trace_rec *r = NULL;
    pthread_mutex_lock(&c->tlock);
    if (i < c->nrecs)
        r = c->recs[i];
    pthread_mutex_unlock(&c->tlock);
    return r;
}

size_t mc_trace_wait(mc_cloud *c, size_t seen, double deadline)
{
    size_t n;

    pthread_mutex_lock(&c->tlock);
    while (c->nrecs <= seen)
        if (ota_cond_wait_until(&c->tcond, &c->tlock, deadline + c->t0) != 0)
            break;
    n = c->nrecs;
    pthread_mutex_unlock(&c->tlock);
    return n;
}

int mc_trace_errors(mc_cloud *c)
{
    int n;
    pthread_mutex_lock(&c->tlock);
    n = c->errors;
    pthread_mutex_unlock(&c->tlock);
    return n;
}
