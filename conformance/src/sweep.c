/*
 * What every test gets after its own checks, over the traffic of its jobs:
 * hot loops (FAIL-B: the same bytes asked for again and again, or too soon
 * after a failed response; PROG-5: intermediate progress too often), the
 * first download request of every job (DL-4); and the image the device runs
 * after every successful upgrade (VER-6, with image-digest: ct_await asks,
 * the sweep judges). A test that
 * judges FAIL-B or PROG-5 itself is not judged on them again here. It never
 * pushes anything; it reads the trace and, for VER-6, asks STATUS.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ct.h"

/* The running test cites rule id, or has a warning for it already. */
static int judged_by_test(const char *id)
{
    char rules[sizeof(ct.cur->rules) + 2];

    snprintf(rules, sizeof(rules), " %s ", ct.cur->rules);
    for (int k = 0; k < ct.cur->nwarnings; k++)
        if (!strcmp(ct.cur->warnings[k].rule, id))
            return 1;
    for (const char *p = strstr(rules, id); p; p = strstr(p + 1, id))
        if (p[-1] == ' ' && p[strlen(id)] == ' ')
            return 1;
    return 0;
}

/* The job an HTTP record names (its URL), -1 for none. */
static int job_of_uri(const ota_trace_rec *r)
{
    int job = -1;
    return sscanf(r->topic, "/ota/%d/", &job) == 1 ? job : -1;
}

static int is_block_request(const ota_trace_rec *r, ota_block_request *q)
{
    return r->kind == OTA_TR_MQTT_IN && !strcmp(r->dev, ct.dev.dn) &&
           strstr(r->topic, "/thing/file/download") &&
           ota_block_request_parse((const char *)r->payload, r->payload_len, q) == OTA_OK;
}

/* A download request of job j (its info ji): 1 with its first byte (0 without Range). */
static int request_of_job(const ota_trace_rec *r, const mc_job_info *ji, long long *start)
{
    ota_block_request q;

    if (r->kind == OTA_TR_HTTP && r->event == OTA_EV_HTTP_GET && !strcmp(r->dev, ct.dev.dn) &&
        job_of_uri(r) == ji->id) {
        *start = r->offset > 0 ? r->offset : 0;
        return 1;
    }
    if (ji->mqtt && is_block_request(r, &q) && q.stream_id == ji->stream_id) {
        *start = q.offset;
        return 1;
    }
    return 0;
}

/* ---- DL-4: the first request of every job ---- */

/*
 * The most bytes of an image like job ji's (same version, size and digest,
 * an earlier job of this device) that ever left the cloud: a partial file
 * the device kept can hold no more (PWR-4). Scans the whole trace.
 */
static long long kept_bound(const mc_job_info *ji)
{
    long long most = 0;
    size_t n = mc_trace_count(ct.cloud);

    for (int id = 1; id < ji->id; id++) {
        mc_job_info e;
        if (mc_job_get(ct.cloud, id, &e) != MC_OK || strcmp(e.dn, ji->dn) ||
            strcmp(e.version, ji->version) || e.size != ji->size ||
            strcasecmp(e.digest_hex, ji->digest_hex))
            continue;
        for (size_t i = 0; i < n; i++) {
            const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
            ota_block_request q;
            if (!r)
                continue;
            if (r->kind == OTA_TR_HTTP && job_of_uri(r) == id && r->last + 1 > most &&
                (r->event == OTA_EV_HTTP_DONE || r->event == OTA_EV_HTTP_ABORTED))
                most = r->last + 1;
            if (e.mqtt && is_block_request(r, &q) && q.stream_id == e.stream_id &&
                q.offset + q.size > most)
                most = q.offset + q.size;
        }
    }
    return most;
}

void ct_check_first_request(int job)
{
    mc_job_info ji;
    size_t n = mc_trace_count(ct.cloud);
    long long start = 0, kept;
    char where[400];

    if (mc_job_get(ct.cloud, job, &ji) != MC_OK)
        return;
    for (size_t i = ji.trace_at; i < n; i++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        if (!r || !request_of_job(r, &ji, &start))
            continue;
        if (start == 0)
            return;
        kept = kept_bound(&ji);
        ct_describe(i, where, sizeof(where));
        ct_check("DL-4", start <= kept,
                 "the first download request of a new job (version %s, %zu bytes) must start at "
                 "byte 0, or at the end of a kept partial download of the same version, size "
                 "and digest (%s); it starts at byte %lld %s",
                 ji.version, ji.size,
                 kept ? "of which no more was ever sent" : "none was ever downloaded", start,
                 where);
        return;
    }
}

/*
 * A hot loop's verdict. In a test that failed already it is one more
 * warning, whatever the tier: the failure stands, and the loop beside it is
 * what a reader needs to see (ct_check would end a test that has ended).
 */
static void loop_seen_in_test(const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void loop_seen_in_test(const char *rule, const char *fmt, ...)
{
    char text[sizeof(ct.cur->warnings[0].text)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (ct.cur->verdict != RP_FAIL) {
        ct_check(rule, 0, "%s", text);
        return;
    }
    if (ct.cur->nwarnings < RP_MAX_WARNINGS) {
        rp_warning *w = &ct.cur->warnings[ct.cur->nwarnings++];
        snprintf(w->rule, sizeof(w->rule), "%s", rule);
        snprintf(w->text, sizeof(w->text), "%s", text);
    }
}

/* ---- FAIL-B: the same bytes again and again ---- */

/*
 * Did the response to the HTTP request at index i fail: an error status, or
 * the body cut short? Its end is the first done or aborted record of the URL
 * after it (the next request may come before the server notes the end). Not
 * seen: not failed, so that nothing is judged on a guess.
 */
static int response_failed(size_t i)
{
    const ota_trace_rec *g = mc_trace_at(ct.cloud, i);
    size_t n = mc_trace_count(ct.cloud);

    for (size_t k = i + 1; k < n; k++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, k);
        if (!r || r->kind != OTA_TR_HTTP || strcmp(r->topic, g->topic))
            continue;
        if (r->event == OTA_EV_HTTP_DONE || r->event == OTA_EV_HTTP_ABORTED)
            return r->event == OTA_EV_HTTP_ABORTED || (r->status != 200 && r->status != 206);
    }
    return 0;
}

/* What one job's requests showed: the longest run of asks for the same bytes, and spacing. */
typedef struct {
    int tries;        /* the longest run: the first ask and its repeats */
    long counted;     /* repeats the cloud counted instead of storing */
    double gap;       /* the shortest gap before a repeat that followed a failed response */
    size_t gap_at;    /* that repeat */
    size_t first_at;  /* the run's first request */
    double span;      /* seconds from the run's first request to its last */
    double counted_t; /* when the last count of repeats was written */
} loop_seen;

/* Where the walk over a job's requests is: the request before, and the run it belongs to. */
typedef struct {
    long long prev_start; /* the request before: its first byte; -1 before the first */
    double prev_t;
    size_t prev_i;
    int run;       /* asks for the same bytes (or earlier ones) in a row, the first included */
    size_t run_at; /* the run's first request */
} loop_walk;

/*
 * One request of the job, starting at byte `start`. Asking again for bytes
 * it asked for before (a start at or before the last one's) continues a
 * run; moving on starts a new one. A repeat after a response that did not
 * deliver the file is a retry, and its spacing counts.
 */
static void note_request(loop_seen *s, loop_walk *w, size_t i, long long start,
                         const mc_job_info *ji)
{
    const ota_trace_rec *r = mc_trace_at(ct.cloud, i);

    if (w->prev_start < 0 || start > w->prev_start) {
        w->run = 1;
        w->run_at = i;
    } else {
        w->run++;
        /* A new ask after a complete response is a new download, not a retry (download-twice). */
        if (!ji->mqtt && response_failed(w->prev_i) && r->t - w->prev_t < s->gap) {
            s->gap = r->t - w->prev_t;
            s->gap_at = i;
        }
    }
    if (w->run > s->tries) {
        s->tries = w->run;
        s->first_at = w->run_at;
        s->span = r->t - mc_trace_at(ct.cloud, w->run_at)->t;
    }
    w->prev_start = start;
    w->prev_t = r->t;
    w->prev_i = i;
}

static void scan_loops(const mc_job_info *ji, size_t to, loop_seen *s)
{
    loop_walk w = {.prev_start = -1};
    long long start;

    memset(s, 0, sizeof(*s));
    s->gap = 1e9;
    for (size_t i = ji->trace_at; i < to; i++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        if (!r)
            continue;
        if (r->kind == OTA_TR_CLOUD && r->event == OTA_EV_REPEATED && r->of == OTA_EV_HTTP_GET &&
            !strcmp(r->dev, ct.dev.dn) && job_of_uri(r) == ji->id) {
            s->counted += (long)r->count; /* identical requests: asks for the same bytes */
            s->counted_t = r->t;
            continue;
        }
        if (request_of_job(r, ji, &start))
            note_request(s, &w, i, start, ji);
    }
}

static void check_loops(size_t to)
{
    const ota_bound *gap = ota_bound_at(OTA_BOUND_RETRY_GAP);
    char where[400];

    for (int k = 0; k < ct.njobs; k++) {
        mc_job_info ji;
        loop_seen s;
        if (mc_job_get(ct.cloud, ct.jobs[k], &ji) != MC_OK)
            continue;
        scan_loops(&ji, to, &s);
        long tries = s.tries + (s.tries > 1 ? s.counted : 0);
        double t0 = s.tries ? mc_trace_at(ct.cloud, s.first_at)->t : 0;
        if (s.counted && s.tries > 1 && s.counted_t - t0 > s.span)
            s.span = s.counted_t - t0; /* the counted ones came until their last count */
        if (tries > 3) {
            ct_describe(s.first_at, where, sizeof(where));
            loop_seen_in_test(
                "FAIL-B",
                "retries are bounded (at most 3 tries per failure), at least %.0f s apart: "
                "the device asked for the same bytes of version %s %ld times in %.1f s "
                "(%.0f a second) without moving on, the first %s",
                gap->seconds, ji.version, tries, s.span,
                s.span > 0 ? (double)tries / s.span : (double)tries, where);
            continue;
        }
        if (s.gap < gap->judged) {
            ct_describe(s.gap_at, where, sizeof(where));
            loop_seen_in_test(
                "FAIL-B",
                "retries should be at least %.0f s apart (%.1f s allowed): after a failed "
                "response the device asked for the same bytes again %.3f s later %s",
                gap->seconds, gap->judged, s.gap, where);
        }
    }
}

/* ---- PROG-5 over every attempt ---- */

static int progress_or_boot(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_progress(r, i, NULL) || ct_is_start(r, i, NULL);
}

/* A push of this test in (after, upto]: a new attempt began there. */
static int pushed_between(size_t after, size_t upto)
{
    for (int k = 0; k < ct.njobs; k++) {
        mc_job_info ji;
        if (mc_job_get(ct.cloud, ct.jobs[k], &ji) == MC_OK && ji.trace_at > after &&
            ji.trace_at <= upto)
            return 1;
    }
    return 0;
}

/*
 * Intermediate reports at most once per 3 s, within one attempt: a push of
 * this test, a boot of the device and a failure step each begin a new one.
 */
static void check_pace(size_t from, size_t to)
{
    const ota_bound *gap = ota_bound_at(OTA_BOUND_PROGRESS_GAP);
    double prev_t = -1, closest = 1e9;
    int fast = 0, step;
    long first_fast = -1;
    size_t prev_i = from;
    char where[400];

    for (long i = ct_scan(from, to, progress_or_boot, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, to, progress_or_boot, NULL)) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        int ok = ct_is_progress(r, i, NULL) && ct_step_of(r, &step) == 0;
        if (pushed_between(prev_i, (size_t)i) || !ok || step < 0)
            prev_t = -1; /* a new attempt */
        prev_i = (size_t)i;
        if (!ok || step < 0 || step > 99)
            continue; /* "100" and failure steps are exempt */
        if (prev_t >= 0 && r->t - prev_t < gap->judged) {
            if (first_fast < 0)
                first_fast = i;
            fast++;
            closest = r->t - prev_t < closest ? r->t - prev_t : closest;
        }
        prev_t = r->t;
    }
    if (!fast)
        return;
    ct_describe((size_t)first_fast, where, sizeof(where));
    loop_seen_in_test(
        "PROG-5",
        "intermediate progress at most once per %.0f s: %d report%s came sooner than %.1f s "
        "after the one before (the closest %.3f s apart), the first %s",
        gap->seconds, fast, fast == 1 ? "" : "s", gap->judged, closest, where);
}

/* ---- VER-6: the image after a successful upgrade ---- */

/*
 * A successful upgrade whose image was not the one reported, seen by
 * ct_check_image_after: judged in ct_sweep, after the test's own rules (a
 * device that reports the target before it has the image breaks FINAL-2
 * first, one that flashes a short file DL-2).
 */
static struct {
    size_t begin; /* the test it belongs to (its t_begin) */
    char text[600];
} wrong_image;

void ct_check_image_after(const ct_attempt *a)
{
    char image[DUT_MAX_LINE];

    /* Without a version report (ThingsPanel) success is step "100", before the reboot. */
    if (a->outcome != CT_UP_SUCCEEDED || !ct.cur || !dut_has_cap(ct.dut, "image-digest") ||
        !dut_has_channel(ct.dut) || !strcmp(ct.cur->group, "power") ||
        !ota_dialect_has(ct.dialect, OTA_TOPIC_INFORM) ||
        /* A diff's digest is the package's, not the image rebuilt from it (DIFF-1 judges it). */
        a->info.is_diff || (wrong_image.begin == ct.t_begin && wrong_image.text[0]) ||
        ct_status_image(image, sizeof(image)) != 0 || !strcasecmp(image, a->info.sha256_hex))
        return;
    wrong_image.begin = ct.t_begin;
    snprintf(wrong_image.text, sizeof(wrong_image.text),
             "after the upgrade to %s the device reports that version, so it must run its image "
             "(SHA-256 %s), but STATUS says image=%s: the reported version is not the one running",
             a->info.version, a->info.sha256_hex, image[0] ? image : "(none)");
}

void ct_sweep_failed(void)
{
    size_t to = mc_trace_count(ct.cloud);

    if (!ct.cur || ct.cur->verdict != RP_FAIL)
        return;
    if (!judged_by_test("FAIL-B"))
        check_loops(to);
    if (!judged_by_test("PROG-5"))
        check_pace(ct.t_begin, to);
}

void ct_sweep(void)
{
    size_t to = mc_trace_count(ct.cloud);

    if (!ct.cur || ct.cur->verdict != RP_PASS)
        return;
    for (int k = 0; k < ct.njobs; k++)
        ct_check_first_request(ct.jobs[k]);
    if (!judged_by_test("FAIL-B"))
        check_loops(to);
    if (!judged_by_test("PROG-5"))
        check_pace(ct.t_begin, to);
    if (wrong_image.begin == ct.t_begin && wrong_image.text[0]) {
        char text[sizeof(wrong_image.text)];

        snprintf(text, sizeof(text), "%s", wrong_image.text);
        wrong_image.text[0] = '\0';
        ct_check("VER-6", 0, "%s", text);
    }
}
