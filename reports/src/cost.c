/*
 * The cost of an update, from a test's slice of the trace: the bytes the
 * device downloaded against the image, its requests and retries and their
 * spacing, and how long it took to report after a fault or a push. It reads
 * typed trace events and message topics only; it judges nothing.
 */
#include <stdio.h>
#include <string.h>

#include "otaproto/otaproto.h"
#include "report_priv.h"

#define MAX_IMAGES 32

/* An image pushed in the test: its URL's path (HTTP) or its stream (blocks). */
typedef struct {
    char path[OTA_MAX_URL + 1];
    long long stream;
    long long size;
    int gets;               /* HTTP GETs for it */
    long long top;          /* the highest block offset asked for; -1: none */
    long long open_from;    /* the Range start of a GET without its end record yet; -1: none */
    long long guessed_from; /* a GET whose bytes were taken from the next one's Range */
    int fetched;            /* bytes of it were sent */
} image;

typedef struct {
    const ota_dialect *d;
    const char *dev;
    rp_cost *c;
    image img[MAX_IMAGES];
    int nimg;
    double t_push, t_fault, t_last_req, gap_sum;
    int ngaps;
    long long block_stream; /* the stream of the last block request; -1: none */
    long long block_want;   /* the size the last block request asked for */
} walk;

static ota_topic_kind topic_kind(const walk *w, const ota_trace_rec *rec)
{
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    ota_topic_kind k;
    int alt = 0;

    if (ota_dialect_topic_parse(w->d, rec->topic, &k, pk, dn, &alt) != OTA_OK)
        return OTA_TOPIC__COUNT;
    return k;
}

/* The path of a URL or request URI, without scheme, host and query, into out. */
static void url_path(const char *url, char *out, size_t cap)
{
    const char *s = strstr(url, "://");

    if (s)
        s = strchr(s + 3, '/');
    else
        s = url;
    if (!s)
        s = "";
    snprintf(out, cap, "%.*s", (int)strcspn(s, "?"), s);
}

/* The image of an HTTP path or a block stream (path NULL); NULL when no push named it. */
static image *image_of(walk *w, const char *path, long long stream)
{
    for (int i = 0; i < w->nimg; i++)
        if (path ? w->img[i].path[0] && !strcmp(w->img[i].path, path)
                 : w->img[i].stream >= 0 && w->img[i].stream == stream)
            return &w->img[i];
    return NULL;
}

/* A push with a job in it; the same job pushed again (a reconnect) is not a new image. */
static void on_push(walk *w, const ota_trace_rec *rec)
{
    ota_push p;
    char path[OTA_MAX_URL + 1] = "";
    image *m;

    if (!rec->payload ||
        ota_dialect_push_parse(w->d, (const char *)rec->payload, rec->payload_len, &p, NULL) !=
            OTA_OK ||
        (!p.has_url && p.stream_id < 0))
        return;
    w->c->pushes++;
    if (w->t_push < 0)
        w->t_push = rec->t;
    if (p.has_url)
        url_path(p.url, path, sizeof(path));
    if ((p.has_url ? image_of(w, path, -1) : image_of(w, NULL, p.stream_id)) ||
        w->nimg >= MAX_IMAGES)
        return;
    m = &w->img[w->nimg++];
    snprintf(m->path, sizeof(m->path), "%s", path);
    m->stream = p.has_url ? -1 : p.stream_id;
    m->size = p.size;
    m->top = m->open_from = m->guessed_from = -1;
}

/* A request: spacing is measured from the request before a retry to the retry. */
static void on_request(walk *w, double t, int retry)
{
    rp_cost *c = w->c;

    c->requests++;
    if (retry) {
        double gap = t - w->t_last_req;
        c->retries++;
        if (c->gap_min < 0 || gap < c->gap_min)
            c->gap_min = gap;
        w->gap_sum += gap;
        w->ngaps++;
    }
    w->t_last_req = t;
}

static void on_block_request(walk *w, const ota_trace_rec *rec)
{
    ota_block_request q;
    image *m;

    if (!rec->payload ||
        ota_block_request_parse((const char *)rec->payload, rec->payload_len, &q) != OTA_OK)
        return;
    m = image_of(w, NULL, q.stream_id);

    /* A block asked for again (a bad one, or one lost with the connection) is a retry. */
    on_request(w, rec->t, m && m->top >= 0 && q.offset <= m->top);
    w->block_stream = q.stream_id;
    if (m && q.offset > m->top)
        m->top = q.offset;
    w->block_want = q.size;
}

/*
 * A block reply's data bytes: from the frame, else (a trace without it) what
 * was asked. A record read from the mock cloud's memory holds the frame's
 * image bytes by reference (ref_len of them, not in payload); one read from
 * a file holds the frame whole.
 */
static void on_block_reply(walk *w, const ota_trace_rec *rec)
{
    ota_frame fr;
    ota_block_header h;
    long long n = -1;

    if (rec->binary && rec->payload &&
        ota_frame_decode(rec->payload, rec->payload_len, &fr) == OTA_OK) {
        n = (long long)fr.data_len + (rec->ref_read ? (long long)rec->ref_len : 0);
        if (ota_block_header_parse(fr.header, fr.header_len, &h) == OTA_OK && h.code != 200)
            n = 0;
    } else if (!rec->payload) {
        n = w->block_want;
    }
    if (n > 0) {
        image *m = image_of(w, NULL, w->block_stream);
        w->c->bytes += n;
        if (m)
            m->fetched = 1;
    }
}

/* A progress step that ends an attempt (a failure or "100"), or a version report. */
static int final_report(const walk *w, const ota_trace_rec *rec, ota_topic_kind k)
{
    ota_progress p;
    int rc;

    if (k == OTA_TOPIC_INFORM)
        return w->t_push >= 0;
    if (k != OTA_TOPIC_PROGRESS || !rec->payload)
        return 0;
    rc = ota_dialect_progress_parse(w->d, (const char *)rec->payload, rec->payload_len, &p);
    return (rc == OTA_OK || rc == OTA_ERR_RANGE) && (p.step < 0 || p.step == 100);
}

static void on_device_message(walk *w, const ota_trace_rec *rec)
{
    ota_topic_kind k = topic_kind(w, rec);
    rp_cost *c = w->c;

    c->messages++;
    if (k == OTA_TOPIC_FILE_DOWNLOAD)
        on_block_request(w, rec);
    if (!final_report(w, rec, k))
        return;
    if (w->t_fault >= 0 && c->fault_to_report < 0)
        c->fault_to_report = rec->t - w->t_fault;
    if (w->t_push >= 0)
        c->push_to_final = rec->t - w->t_push;
}

/*
 * A response whose end the trace does not hold yet (a stalled one ends only
 * when the server stops) is measured by where the device resumed: the next
 * GET's Range start. Its end record, if it comes, is then not counted again.
 */
static void on_get(walk *w, image *m, const ota_trace_rec *rec)
{
    long long from = rec->offset > 0 ? rec->offset : 0;

    on_request(w, rec->t, m ? m->gets++ > 0 : w->c->requests > 0);
    if (!m)
        return;
    if (m->open_from >= 0 && from > m->open_from) {
        w->c->bytes += from - m->open_from;
        m->fetched = 1;
        m->guessed_from = m->open_from;
    }
    m->open_from = from;
}

static void on_http(walk *w, const ota_trace_rec *rec)
{
    char path[OTA_MAX_URL + 1];
    image *m;
    int sent;

    url_path(rec->topic, path, sizeof(path));
    m = image_of(w, path, -1);
    if (rec->event == OTA_EV_HTTP_GET) {
        on_get(w, m, rec);
        return;
    }
    if (rec->event != OTA_EV_HTTP_DONE && rec->event != OTA_EV_HTTP_ABORTED)
        return;
    sent =
        (rec->status == 200 || rec->status == 206) && rec->last >= rec->offset && rec->offset >= 0;
    if (m && m->guessed_from >= 0 && rec->offset == m->guessed_from) {
        m->guessed_from = -1; /* counted already, from the GET after it */
        return;
    }
    if (m && rec->offset == m->open_from)
        m->open_from = -1;
    if (sent) {
        w->c->bytes += rec->last - rec->offset + 1;
        if (m)
            m->fetched = 1;
    }
}

static void on_record(walk *w, const ota_trace_rec *rec)
{
    ota_topic_kind k;

    if (w->dev[0] && rec->dev[0] && strcmp(rec->dev, w->dev))
        return;
    switch (rec->kind) {
    case OTA_TR_MQTT_IN:
        on_device_message(w, rec);
        break;
    case OTA_TR_MQTT_OUT:
        k = topic_kind(w, rec);
        if (k == OTA_TOPIC_UPGRADE || k == OTA_TOPIC_FW_GET_REPLY)
            on_push(w, rec);
        else if (k == OTA_TOPIC_FILE_DOWNLOAD_REPLY)
            on_block_reply(w, rec);
        break;
    case OTA_TR_HTTP:
        on_http(w, rec);
        break;
    case OTA_TR_FAULT:
        if (!w->c->faults++) {
            w->t_fault = rec->t;
            snprintf(w->c->fault, sizeof(w->c->fault), "%s", rec->fault[0] ? rec->fault : "fault");
        }
        break;
    case OTA_TR_CLOUD:
        /* Requests the trace only counted (a device in a loop). */
        if (rec->event == OTA_EV_REPEATED && rec->of == OTA_EV_HTTP_GET && rec->count > 0) {
            w->c->requests += (int)rec->count;
            w->c->retries += (int)rec->count;
        }
        break;
    default:
        break;
    }
}

void rp_cost_of_records(const char *dialect, const char *dev,
                        const ota_trace_rec *(*at)(void *ctx, size_t i), void *ctx, size_t begin,
                        size_t end, rp_cost *out)
{
    walk w;

    memset(out, 0, sizeof(*out));
    memset(&w, 0, sizeof(w));
    w.d = ota_dialect_find(dialect);
    if (!w.d)
        w.d = ota_dialect_find(NULL);
    w.dev = dev ? dev : "";
    w.c = out;
    w.t_push = w.t_fault = w.t_last_req = -1;
    w.block_stream = -1;
    out->measured = 1;
    out->gap_min = out->gap_mean = -1;
    out->fault_to_report = out->push_to_final = -1;
    for (size_t i = begin; i < end; i++)
        on_record(&w, at(ctx, i));
    for (int k = 0; k < w.nimg; k++)
        if (w.img[k].fetched && w.img[k].size > 0)
            out->image_bytes += w.img[k].size;
    if (out->image_bytes > 0)
        out->amplification = (double)out->bytes / (double)out->image_bytes;
    if (w.ngaps)
        out->gap_mean = w.gap_sum / w.ngaps;
}

static const ota_trace_rec *loaded_at(void *ctx, size_t i)
{
    return &((const rp_report *)ctx)->recs[i];
}

void rp_cost_measure(const rp_report *r, rp_test *t)
{
    memset(&t->cost, 0, sizeof(t->cost));
    if (t->rec_end <= t->rec_begin || t->rec_begin >= r->nrecs)
        return;
    /* The device the test ran on: in a lab run each board has its own (the begin record's). */
    const char *dev = r->recs[t->rec_begin].dev[0] ? r->recs[t->rec_begin].dev : r->info.device;
    rp_cost_of_records(r->info.dialect, dev, loaded_at, (void *)r, t->rec_begin,
                       t->rec_end < r->nrecs ? t->rec_end : r->nrecs, &t->cost);
}

/* ---- per fault kind ---- */
static rp_cost_kind *kind_slot(rp_cost_kind *out, int *n, int cap, const char *fault)
{
    for (int k = 0; k < *n; k++)
        if (!strcmp(out[k].fault, fault))
            return &out[k];
    if (*n >= cap)
        return NULL;
    memset(&out[*n], 0, sizeof(out[0]));
    snprintf(out[*n].fault, sizeof(out[0].fault), "%s", fault);
    out[*n].amp_min = -1;
    return &out[(*n)++];
}

int rp_cost_kinds(const rp_report *r, rp_cost_kind *out, int cap)
{
    int n = 0;

    for (int i = 0; i < r->ntests; i++) {
        const rp_cost *c = &r->tests[i].cost;
        rp_cost_kind *k;
        if (!c->measured || c->image_bytes <= 0 || !(k = kind_slot(out, &n, cap, c->fault)))
            continue;
        k->tests++;
        k->amp_sum += c->amplification;
        if (k->amp_min < 0 || c->amplification < k->amp_min)
            k->amp_min = c->amplification;
        if (c->amplification > k->amp_max)
            k->amp_max = c->amplification;
        k->retries += c->retries;
        if (c->fault_to_report >= 0) {
            k->report_sum += c->fault_to_report;
            k->reported++;
        }
    }
    return n;
}

void rp_cost_kind_text(const rp_cost_kind *k, char *buf, size_t cap)
{
    char amp[64] = "", rep[64] = "";
    double mean = k->tests ? k->amp_sum / k->tests : 0;

    if (k->amp_max - k->amp_min >= 0.05)
        snprintf(amp, sizeof(amp), " (%.2fx to %.2fx)", k->amp_min, k->amp_max);
    if (k->reported)
        snprintf(rep, sizeof(rep), ", %.1f s from the fault to the device's report",
                 k->report_sum / k->reported);
    snprintf(buf, cap, "%s: %.2fx the image%s, %.1f retries per test%s (%d test%s)",
             k->fault[0] ? k->fault : "no fault", mean, amp,
             k->tests ? (double)k->retries / k->tests : 0, rep, k->tests, k->tests == 1 ? "" : "s");
}

/* A figure with this many decimals. */
static int figure(rp_figure *out, int n, int cap, const char *name, int decimals, double v)
{
    if (n >= cap)
        return n;
    snprintf(out[n].name, sizeof(out[n].name), "%s", name);
    snprintf(out[n].value, sizeof(out[n].value), "%.*f", decimals, v);
    return n + 1;
}

int rp_cost_figures(const rp_cost *c, rp_figure *out, int cap)
{
    int n = 0;

    if (!c->measured)
        return 0;
    n = figure(out, n, cap, "bytes_downloaded", 0, (double)c->bytes);
    n = figure(out, n, cap, "image_bytes", 0, (double)c->image_bytes);
    if (c->image_bytes > 0)
        n = figure(out, n, cap, "amplification", 2, c->amplification);
    n = figure(out, n, cap, "messages_sent", 0, c->messages);
    n = figure(out, n, cap, "requests", 0, c->requests);
    n = figure(out, n, cap, "retries", 0, c->retries);
    if (c->gap_min >= 0) {
        n = figure(out, n, cap, "retry_gap_min_s", 3, c->gap_min);
        n = figure(out, n, cap, "retry_gap_mean_s", 3, c->gap_mean);
    }
    if (c->faults && n < cap) {
        snprintf(out[n].name, sizeof(out[n].name), "fault");
        snprintf(out[n].value, sizeof(out[n].value), "%s", c->fault);
        n++;
    }
    if (c->fault_to_report >= 0)
        n = figure(out, n, cap, "fault_to_report_s", 3, c->fault_to_report);
    if (c->push_to_final >= 0)
        n = figure(out, n, cap, "push_to_final_s", 3, c->push_to_final);
    return n;
}
