/*
 * The engine: runs a scenario test. It pushes a job under the scenario's
 * fault plan, awaits the outcome within the bound the expectation names,
 * and checks each part of the expectation (retries, outcome, step, version)
 * against its rule, in that order: a SHOULD part warns and the test goes
 * on, a MUST part ends it. It never decides what a fault does; the mock
 * cloud applies the plan at its seams.
 */
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "otareport/report.h"

/* A summary of repeated download requests the cloud counted instead of storing: how many. */
static int repeats_of(const ota_trace_rec *r)
{
    int job = -1;
    if (r->kind == OTA_TR_CLOUD && !strcmp(r->dev, ct.dev.dn) && r->event == OTA_EV_REPEATED &&
        r->of == OTA_EV_HTTP_GET && sscanf(r->topic, "/ota/%d/", &job) == 1 && ct_job_of_test(job))
        return (int)r->count; /* this test's job only: an old job's loop is not this one's */
    return 0;
}

/* A download request of this test (not a late one of an earlier job), or a count of them. */
static int get_or_repeats(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return repeats_of(r) > 0 || ct_is_get(r, i, NULL);
}

int ct_count_requests(size_t from, size_t to, double *min_gap, double *span)
{
    double first = -1, last = -1, last_any = -1;
    int tries = 0;

    *min_gap = 1e9;
    for (long k = ct_scan(from, to, get_or_repeats, NULL); k >= 0;
         k = ct_scan((size_t)k + 1, to, get_or_repeats, NULL)) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)k);
        last_any = r->t; /* a summary closes its counted window: the rate spans it */
        tries += repeats_of(r);
        if (repeats_of(r))
            continue;
        if (last >= 0 && r->t - last < *min_gap)
            *min_gap = r->t - last;
        if (first < 0)
            first = r->t;
        last = r->t;
        tries++;
    }
    *span = first >= 0 ? (last_any > last ? last_any : last) - first : 0;
    return tries;
}

static int step_allowed(const ct_expect *e, int step)
{
    if (!e->nsteps)
        return step < 0;
    for (int i = 0; i < e->nsteps; i++)
        if (e->steps[i] == step)
            return 1;
    return 0;
}

/* The allowed steps for people: "\"-2\"", "\"-2\" or \"-3\"", or "a failure step". */
static const char *steps_text(const ct_expect *e, char *buf, size_t cap)
{
    size_t n = 0;

    snprintf(buf, cap, "a failure step");
    for (int i = 0; i < e->nsteps && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s\"%d\"", i ? " or " : "step ", e->steps[i]);
    return buf;
}

/* Push under the plan and await the outcome; the plan's description for messages. */
static const char *attempt(const ct_expect *e, ct_attempt *a, char *v, size_t cap)
{
    mc_job_spec s;
    const char *about;

    if (e->sc.mqtt)
        return ct_blocks_attempt(a, &s, v, cap, e);
    ct_spec_init(&s, v, cap);
    about = ct_spec_scenario(&s, e->plan);
    s.digest = e->digest;
    ct_upgrade(a, &s, ota_bound_s(e->bound));
    return about;
}

/* The size of a test's job, 0 when it is not one. */
static long long job_size(int job)
{
    mc_job_info ji;
    return ct_job_of_test(job) && mc_job_get(ct.cloud, job, &ji) == MC_OK ? (long long)ji.size : 0;
}

/* A record that ends a complete download of a test's job: the response with its last byte. */
static int download_done(const ota_trace_rec *r, size_t i, void *arg)
{
    int job = -1;
    long long size;
    (void)i;
    (void)arg;

    if (r->kind != OTA_TR_HTTP || strcmp(r->dev, ct.dev.dn) || r->event != OTA_EV_HTTP_DONE ||
        (r->status != 200 && r->status != 206) || sscanf(r->topic, "/ota/%d/", &job) != 1)
        return 0;
    size = job_size(job);
    return size > 0 && r->last + 1 >= size;
}

/* A request for a test's file: an HTTP GET or a block request. */
static int file_request(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_get(r, i, NULL) || ct_is_uplink(r, i, (void *)"/thing/file/download");
}

/* A block request for the file's last bytes: the end of a download by blocks. */
static int last_block(const ota_trace_rec *r, size_t i, void *arg)
{
    ota_block_request q;
    (void)arg;

    if (!ct_is_uplink(r, i, (void *)"/thing/file/download") ||
        ota_block_request_parse((const char *)r->payload, r->payload_len, &q) != OTA_OK)
        return 0;
    for (int k = 0; k < ct.njobs; k++)
        if (ct.streams[k] == q.stream_id)
            return q.offset + q.size >= job_size(ct.jobs[k]);
    return 0;
}

static int download_end(const ota_trace_rec *r, size_t i, void *arg)
{
    return download_done(r, i, arg) || last_block(r, i, arg);
}

/*
 * FAIL-B's tries when a whole image fails its check (judging.md): complete
 * downloads of this test's jobs in [from, to), and the shortest time from
 * the end of one to the next request for the file.
 */
static int count_downloads(size_t from, size_t to, double *min_gap)
{
    int n = 0;

    *min_gap = 1e9;
    for (long i = ct_scan(from, to, download_end, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, to, download_end, NULL)) {
        long next = ct_scan((size_t)i + 1, to, file_request, NULL);
        double t = mc_trace_at(ct.cloud, (size_t)i)->t;
        n++;
        if (next >= 0 && mc_trace_at(ct.cloud, (size_t)next)->t - t < *min_gap)
            *min_gap = mc_trace_at(ct.cloud, (size_t)next)->t - t;
    }
    return n;
}

/* FAIL-B-style: requests for the file, counted until they stop, are few and spaced. */
static void check_retries(const ct_expect *e, const ct_attempt *a)
{
    const ota_bound *gap = ota_bound_at(OTA_BOUND_RETRY_GAP);
    /* Retries after the failure step count too: a device that goes on asking has not stopped. */
    size_t end = ct_quiet(a->end_at >= 0 ? (size_t)a->end_at : a->push_at, CT_S(RETRY_QUIET),
                          ct_is_get, NULL, CT_S(RETRY_WATCH));
    double min_gap, span;
    int tries = e->tries_downloads ? count_downloads(a->push_at, end, &min_gap)
                                   : ct_count_requests(a->push_at, end, &min_gap, &span);

    /*
     * Complete downloads are counted, not spaced: a device may fetch an image
     * twice before it verifies it (a cost, not a retry; download-twice).
     */
    if (e->tries_downloads) {
        ct_check(e->rule_retries, tries <= e->retries,
                 "an image that fails its check may be downloaded again, at most %d times in all; "
                 "the device downloaded it %d times (the closest two %.1f s apart)%s",
                 e->retries, tries, min_gap,
                 a->outcome == CT_UP_FAILED ? "" : " and never reported it");
        return;
    }
    ct_check(e->rule_retries, tries <= e->retries,
             "a failure should be retried at most %d times; got %d tries%s", e->retries, tries,
             a->outcome == CT_UP_FAILED ? "" : " and no end to them");
    ct_check(e->rule_retries, tries < 2 || min_gap >= gap->judged,
             "retries should be at least %.0f s apart (%.1f s allowed); two came %.3f s apart",
             gap->seconds, gap->judged, min_gap);
}

/* The target version reported; with steps listed, a refusal with one of them is allowed too. */
static void check_success(const ct_expect *e, const ct_attempt *a, const char *about,
                          const char *where)
{
    char want[64];

    ct_final_reported(a);
    if (e->nsteps) {
        ct_check(e->rule_outcome,
                 a->outcome == CT_UP_SUCCEEDED ||
                     (a->outcome == CT_UP_FAILED && step_allowed(e, a->step)),
                 "after %s the upgrade to %s must succeed or be refused with %s: got %s %s", about,
                 a->info.version, steps_text(e, want, sizeof(want)), ct_outcome_text(a), where);
        return;
    }
    ct_check(e->rule_outcome, a->outcome == CT_UP_SUCCEEDED,
             "after %s the upgrade to %s must still succeed: got %s %s", about, a->info.version,
             ct_outcome_text(a), where);
}

/* A push the device cannot use: ignored, or answered with an allowed step; never installed. */
static void check_refused(const ct_expect *e, const ct_attempt *a, const char *about,
                          const char *where)
{
    char want[64];

    ct_check(e->rule_outcome, a->outcome != CT_UP_SUCCEEDED,
             "%s: it cannot be installed, yet the device reported %s", about, a->info.version);
    ct_check(e->rule_step, a->outcome != CT_UP_FAILED || step_allowed(e, a->step),
             "%s: must be answered with %s or ignored, got step \"%d\" %s", about,
             steps_text(e, want, sizeof(want)), a->step, where);
}

static void check_failure(const ct_expect *e, const ct_attempt *a, const char *about,
                          const char *where)
{
    int own_step_rule = e->nsteps && strcmp(e->rule_step, e->rule_outcome);
    char want[64], loop[160] = "";
    double gap, span;
    int tries = ct_count_requests(a->push_at, mc_trace_count(ct.cloud), &gap, &span);

    if (tries > 3 && a->outcome != CT_UP_FAILED)
        snprintf(loop, sizeof(loop),
                 "; meanwhile it asked for the file %d times (%.0f a second): "
                 "retrying without end never reports the failure",
                 tries, span > 0 ? tries / span : (double)tries);
    steps_text(e, want, sizeof(want));
    ct_check(e->rule_outcome,
             a->outcome == CT_UP_FAILED && (own_step_rule || step_allowed(e, a->step)),
             "%s: expected %s within %.0f s, got %s%s %s", about, want,
             ct_secs(ota_bound_s(e->bound)), ct_outcome_text(a), loop, where);
    if (own_step_rule)
        ct_check(e->rule_step, a->outcome != CT_UP_FAILED || step_allowed(e, a->step),
                 "%s: the failure should be reported as %s (%s), got \"%d\" %s", about, want,
                 e->nsteps == 1 ? ota_step_name(e->steps[0]) : "one of these", a->step, where);
}

static void check_version(const ct_expect *e, const ct_attempt *a, const char *about)
{
    char now[OTA_MAX_VERSION + 1];

    if (e->version == CT_EXPECT_VERSION_ANY)
        return;
    ct_running_version(now, sizeof(now));
    if (e->version == CT_EXPECT_VERSION_OLD)
        ct_check(e->rule_version, !strcmp(now, a->from_version),
                 "after %s (%s) the device must still run %s, it reports \"%s\": the image must "
                 "never be flashed",
                 about, ct_outcome_text(a), a->from_version, now);
    else
        ct_check(e->rule_version, strcmp(now, a->info.version) != 0,
                 "after %s the device runs the pushed version %s: an image that failed its "
                 "check was flashed",
                 about, now);
}

static const ota_trace_rec *live_at(void *ctx, size_t i)
{
    return mc_trace_at(ctx, i);
}

/*
 * "maxAmplification": a team's cost limit, not a rule of the protocol. The
 * bytes the device downloaded from the push on, against the image, as the
 * reports' cost measures them. Exceeding it fails the test under "cost".
 */
static void check_cost(const ct_expect *e, const ct_attempt *a)
{
    rp_cost c;

    if (e->max_amp <= 0)
        return;
    rp_cost_of_records(mc_cloud_dialect(ct.cloud)->name, ct.dev.dn, live_at, ct.cloud, a->push_at,
                       mc_trace_count(ct.cloud), &c);
    if (c.image_bytes > 0 && c.amplification > e->max_amp)
        ct_fail("cost",
                "cost limit exceeded: amplification %.2f (%lld bytes downloaded for an image of "
                "%lld bytes) is over the scenario's maxAmplification %.2f",
                c.amplification, c.bytes, c.image_bytes, e->max_amp);
}

/* The file offset an http-corrupt fault of the attempt names, from its FAULT record. */
static int corrupt_fault(const ota_trace_rec *r, size_t i, void *arg)
{
    const char *p = r->kind == OTA_TR_FAULT && !strcmp(r->dev, ct.dev.dn)
                        ? strstr(r->info, "http-corrupt at=")
                        : NULL;
    (void)i;
    return p && sscanf(p, "http-corrupt at=%lld", (long long *)arg) == 1;
}

/* A response that carried the byte at *arg (a whole file, or a range over it). */
static int carried(const ota_trace_rec *r, size_t i, void *arg)
{
    long long at = *(const long long *)arg;
    (void)i;
    return r->kind == OTA_TR_HTTP && !strcmp(r->dev, ct.dev.dn) &&
           (r->event == OTA_EV_HTTP_DONE || r->event == OTA_EV_HTTP_ABORTED) &&
           (r->offset < 0 ? 0 : r->offset) <= at && r->last >= at;
}

/*
 * A corrupted byte that no response carried (the device resumed a download it
 * kept from before, past that byte, as it may): the fault never reached the
 * device, and the upgrade's success says nothing about it.
 */
static void check_corruption_reached(const ct_case *c, const ct_expect *e, const ct_attempt *a)
{
    size_t end = a->end_at >= 0 ? (size_t)a->end_at + 1 : mc_trace_count(ct.cloud);
    long long at = -1;

    if (e->sc.fault.kind != MC_FAULT_HTTP_CORRUPT || a->outcome != CT_UP_SUCCEEDED ||
        ct_scan(a->push_at, end, corrupt_fault, &at) < 0)
        return;
    if (ct_scan(a->push_at, end, carried, &at) < 0)
        ct_inconclusive("the fault of plan %s never reached the device: no response carried the "
                        "corrupted byte %lld (the device resumed a download it kept from "
                        "before, past it)",
                        c->arg, at);
}

void ct_engine_run(void **state)
{
    const ct_case *c = CT_CASE(state);
    const ct_expect *e = ct_catalogue_expect(c->arg);
    char v[32], where[400] = "";
    ct_attempt a;
    const char *about;

    if (!e)
        fail_msg("scenario %s has no expect block", c->arg);
    about = attempt(e, &a, v, sizeof(v));
    if (e->silence)
        ct_check_not_crashed(&a, e->rule_outcome, about);
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    check_corruption_reached(c, e, &a);
    if (e->retries >= 0)
        check_retries(e, &a);
    if (e->outcome == CT_EXPECT_SUCCESS)
        check_success(e, &a, about, where);
    else if (e->silence)
        check_refused(e, &a, about, where);
    else
        check_failure(e, &a, about, where);
    check_version(e, &a, about);
    check_cost(e, &a);
}
