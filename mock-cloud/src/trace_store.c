/*
 * The trace store: events in memory (for the runner to wait on and judge)
 * and, when a path is given, one JSONL line per event, flushed as soon as
 * the cloud's lock is free (at once for a caller without it) so a crash
 * loses next to nothing already recorded. Long runs of identical records
 * are counted instead of kept (trace_repeat.c decides which). A block
 * reply keeps the image bytes it carries by reference (image.c writes them
 * back for the file). With mc_config.trace_keep set (a daemon), only the
 * newest records stay in memory; the file still gets every one.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mock_priv.h"

double mc_now(const mc_cloud *c)
{
    return ota_clock_now() - c->t0;
}

int mc_trace_open(mc_cloud *c, const char *path, size_t keep)
{
    mc_mutex_init(&c->tlock);
    mc_mutex_init(&c->wlock);
    ota_cond_init_mono(&c->tcond);
    c->nwritten = 0;
    c->first = 0;
    c->keep = keep;
    if (path) {
        c->tfile = fopen(path, "w");
        if (!c->tfile)
            return MC_ERR_IO;
    }
    return MC_OK;
}

static void rec_free(ota_trace_rec *r)
{
    ota_trace_rec_clear(r);
    free(r);
}

void mc_trace_close(mc_cloud *c)
{
    mc_trace_flush(c);
    for (size_t i = 0; i < c->nrecs - c->first; i++)
        rec_free(c->recs[i]);
    free(c->recs);
    c->recs = NULL;
    c->nrecs = c->first = 0;
    mc_repeat_free(c);
    if (c->tfile)
        fclose(c->tfile);
    c->tfile = NULL;
    pthread_cond_destroy(&c->tcond);
    mc_mutex_destroy(&c->wlock);
    mc_mutex_destroy(&c->tlock);
}

/* The payload, capped; a frame's image bytes (ref) stay out of it, held by reference. */
static void set_payload(ota_trace_rec *r, const unsigned char *p, size_t len, int binary,
                        const mc_frame_ref *ref)
{
    size_t at = 0, skip = 0;

    if (len > OTA_MAX_PAYLOAD)
        len = OTA_MAX_PAYLOAD;
    if (ref && ref->len && ref->at + ref->len <= len) {
        at = ref->at;
        skip = ref->len;
    }
    r->payload = malloc(len - skip + 1);
    if (!r->payload)
        return;
    memcpy(r->payload, p, at);
    memcpy(r->payload + at, p + at + skip, len - at - skip);
    r->payload[len - skip] = 0;
    r->payload_len = len - skip;
    r->binary = binary;
    if (skip) {
        r->ref_at = at;
        r->ref_len = skip;
        r->ref_off = ref->off;
        r->ref_key = ref->key;
        r->ref_read = mc_image_read_key;
    }
}

static ota_trace_rec *rec_new(ota_trace_kind kind, const char *dev, const char *topic,
                              const void *payload, size_t len, int binary, const mc_frame_ref *ref)
{
    ota_trace_rec *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->kind = kind;
    r->offset = r->last = -1;
    snprintf(r->dev, sizeof(r->dev), "%s", dev ? dev : "");
    snprintf(r->topic, sizeof(r->topic), "%s", topic ? topic : "");
    if (payload)
        set_payload(r, payload, len, binary, ref);
    return r;
}

static int append(mc_cloud *c, ota_trace_rec *r)
{
    size_t held = c->nrecs - c->first;

    if (held == c->caprecs) {
        size_t cap = c->caprecs ? 2 * c->caprecs : 256;
        ota_trace_rec **n = realloc(c->recs, cap * sizeof(*n));
        if (!n)
            return -1;
        c->recs = n;
        c->caprecs = cap;
    }
    c->recs[held] = r;
    c->nrecs++;
    return 0;
}

/*
 * With a cap on the records kept (tlock held): once a quarter more than the
 * cap are held, the oldest go, down to the cap. Only records already in the
 * file go (with a file); a repeat slot that points at one takes a copy first.
 */
static void evict(mc_cloud *c) REQUIRES(c->tlock)
{
    size_t held = c->nrecs - c->first, limit = c->tfile ? c->nwritten : c->nrecs, n;

    assert(mc_mutex_held(&c->tlock));
    if (!c->keep || held <= c->keep + c->keep / 4)
        return;
    n = held - c->keep;
    if (c->first + n > limit)
        n = limit > c->first ? limit - c->first : 0;
    if (!n)
        return;
    mc_repeat_evict(c, c->first + n);
    for (size_t i = 0; i < n; i++)
        rec_free(c->recs[i]);
    memmove(c->recs, c->recs + n, (held - n) * sizeof(*c->recs));
    c->first += n;
}

/* Keep a record in memory (tlock held); mc_trace_flush writes it. On failure it is freed, -1. */
static int store(mc_cloud *c, ota_trace_rec *r) REQUIRES(c->tlock)
{
    assert(mc_mutex_held(&c->tlock));
    if (append(c, r) != 0) {
        rec_free(r);
        return -1;
    }
    evict(c);
    return 0;
}

/*
 * The next record not yet in the file, or NULL (wlock held), after counting
 * the one just written (done). Records at or past nwritten are never
 * evicted, so the pointer stays good while the file is written.
 */
static const ota_trace_rec *next_unwritten(mc_cloud *c, int done) REQUIRES(c->wlock)
{
    const ota_trace_rec *r = NULL;

    assert(mc_mutex_held(&c->wlock));
    mc_trace_lock(c);
    c->nwritten += done != 0;
    if (c->nwritten < c->nrecs)
        r = c->recs[c->nwritten - c->first];
    else
        evict(c);
    mc_trace_unlock(c);
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

    assert(!mc_cloud_lock_held(c)); /* see mock_priv.h */
    if (!c->tfile)
        return;
    mc_tfile_lock(c);
    for (r = next_unwritten(c, 0); r; r = next_unwritten(c, 1)) {
        line = NULL;
        if (ota_trace_encode(r, &line) == OTA_OK) {
            fputs(line, c->tfile);
            fputc('\n', c->tfile);
        }
        free(line);
        wrote = 1;
    }
    if (wrote)
        fflush(c->tfile);
    mc_tfile_unlock(c);
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
static void put(mc_cloud *c, ota_trace_rec *r, const mc_trace_ev *ev, const char *fmt, va_list ap)
    EXCLUDES(c->tlock, c->wlock, MC_LEAVES(c))
{
    ota_trace_rec *sum = NULL;
    int keep, summed;

    if (!r)
        return;
    if (ev)
        set_event(r, ev);
    if (fmt)
        vsnprintf(r->info, sizeof(r->info), fmt, ap);
    mc_trace_lock(c);
    r->t = mc_now(c);
    if (r->kind == OTA_TR_ERROR)
        c->errors++;
    keep = mc_repeat_admit(c, r, &sum);
    summed = sum != NULL;
    for (; sum; sum = mc_repeat_more(c, r->t)) /* one per repeated request of the device */
        store(c, sum);
    if (!keep) {
        rec_free(r);
    } else {
        size_t at = c->nrecs;
        if (store(c, r) == 0)
            mc_repeat_kept(c, r, at);
    }
    if (keep || summed)
        pthread_cond_broadcast(&c->tcond);
    mc_trace_unlock(c);
    if (!mc_cloud_lock_held(c))
        mc_trace_flush(c);
}

void mc_trace_addv(mc_cloud *c, ota_trace_kind kind, const char *dev, const char *topic,
                   const void *payload, size_t len, int binary, const char *fmt, va_list ap)
{
    put(c, rec_new(kind, dev, topic, payload, len, binary, NULL), NULL, fmt, ap);
}

static void put_frame(mc_cloud *c, ota_trace_rec *r, ...) EXCLUDES(c->tlock, c->wlock, MC_LEAVES(c))
{
    va_list ap;
    va_start(ap, r);
    put(c, r, NULL, NULL, ap);
    va_end(ap);
}

void mc_trace_frame(mc_cloud *c, const char *dev, const char *topic, const void *frame, size_t len,
                    const mc_frame_ref *ref)
{
    put_frame(c, rec_new(OTA_TR_MQTT_OUT, dev, topic, frame, len, 1, ref));
}

void mc_trace_tick(mc_cloud *c)
{
    ota_trace_rec *sum;
    int n = 0;

    mc_trace_lock(c);
    while ((sum = mc_repeat_due(c, mc_now(c))) != NULL)
        n += store(c, sum) == 0;
    if (n)
        pthread_cond_broadcast(&c->tcond);
    mc_trace_unlock(c);
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
    put(c, rec_new(kind, dev, topic, payload, len, 0, NULL), ev, fmt, ap);
    va_end(ap);
}

size_t mc_trace_count(mc_cloud *c)
{
    size_t n;
    mc_trace_lock(c);
    n = c->nrecs;
    mc_trace_unlock(c);
    return n;
}

const ota_trace_rec *mc_trace_at(mc_cloud *c, size_t i)
{
    const ota_trace_rec *r = NULL;
    mc_trace_lock(c);
    if (i >= c->first && i < c->nrecs)
        r = c->recs[i - c->first];
    mc_trace_unlock(c);
    return r;
}

int mc_trace_copy(mc_cloud *c, size_t i, ota_trace_rec *out)
{
    int rc = MC_ERR_NOTFOUND;

    memset(out, 0, sizeof(*out));
    mc_trace_lock(c);
    if (i >= c->first && i < c->nrecs)
        rc = ota_trace_rec_copy(c->recs[i - c->first], out) == OTA_OK ? MC_OK : MC_ERR_NOMEM;
    mc_trace_unlock(c);
    return rc;
}

size_t mc_trace_first(mc_cloud *c)
{
    size_t n;
    mc_trace_lock(c);
    n = c->first;
    mc_trace_unlock(c);
    return n;
}

size_t mc_trace_wait(mc_cloud *c, size_t seen, double deadline)
{
    size_t n;

    mc_trace_lock(c);
    while (c->nrecs <= seen)
        if (mc_cond_wait_until(&c->tcond, &c->tlock, deadline + c->t0) != 0)
            break;
    n = c->nrecs;
    mc_trace_unlock(c);
    return n;
}

int mc_trace_errors(mc_cloud *c)
{
    int n;
    mc_trace_lock(c);
    n = c->errors;
    mc_trace_unlock(c);
    return n;
}
