/*
 * HTTP downloads: DL-1 (the signed URL verbatim), DL-2 (one transient fault
 * of each kind, and the upgrade still succeeds), DL-3/DL-4 (resume by
 * Range, without overlap; a 200 to a Range taken from byte 0), DL-8 (slow
 * but steady), PROG-1 after a slow resume, DL-9 (chunked and
 * length-less bodies), PROG-4/PROG-5 over a download long enough to see
 * them. Faults come from fixtures/scenarios; each test names its plan, and
 * the rows CT_SCENARIO makes are scenario files the engine runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"

static int uri_refused(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return r->kind == OTA_TR_ERROR && !strcmp(r->dev, ct.dev.dn) && r->event == OTA_EV_URI_REFUSED;
}

static void url_used_verbatim(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    long bad;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    bad = ct_scan(a.push_at, mc_trace_count(ct.cloud), uri_refused, NULL);
    if (bad >= 0) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)bad);
        ct_fail("DL-1",
                "the download must request the pushed URL's path and query exactly (OSS checks "
                "the signature in the query): pushed %s, requested %s",
                a.info.url, r->topic);
    }
    ct_final_reported(&a);
    ct_check("DL-1", a.outcome == CT_UP_SUCCEEDED, "the upgrade to %s did not complete: got %s", v,
             ct_outcome_text(&a));
}

/* The Range start a GET record carries, or -1 without one. */
static long long range_start(const ota_trace_rec *r)
{
    return r->event == OTA_EV_HTTP_GET || r->event == OTA_EV_HTTP_HEAD ? r->offset : -1;
}

/* The attempt's image was whole: the target reported, or at least step "100" after the check. */
static int completed(const ct_attempt *a)
{
    return a->outcome == CT_UP_SUCCEEDED || ct_hundred_since(a->push_at) >= 0;
}

static void resumes_with_range(void **state)
{
    mc_job_spec s;
    char v[32], where[400];
    ct_attempt a;
    const char *about;
    long first, second;
    long long at, start;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    about = ct_spec_scenario(&s, "http-close-once");
    at = s.fault.at;
    ct_upgrade(&a, &s, CT_S(FINAL));
    first = ct_scan(a.push_at, a.end_at >= 0 ? (size_t)a.end_at : mc_trace_count(ct.cloud),
                    ct_is_get, NULL);
    second = first >= 0 ? ct_scan((size_t)first + 1,
                                  a.end_at >= 0 ? (size_t)a.end_at : mc_trace_count(ct.cloud),
                                  ct_is_get, NULL)
                        : -1;
    if (second < 0)
        ct_fail("DL-3", "after %s the device never asked for the rest of the file", about);
    ct_describe((size_t)second, where, sizeof(where));
    start = range_start(mc_trace_at(ct.cloud, (size_t)second));
    ct_check("DL-3", start > 0,
             "after the connection closed at byte %lld the download should resume with "
             "\"Range: bytes=%lld-\", it started over %s",
             at, at, where);
    /*
     * A gap is always wrong. A range that starts before what the server sent
     * is wrong only when the device appended bytes it had (its image then
     * fails): a device that dropped a partial buffer when the connection
     * closed resumes where the data it kept ends.
     */
    ct_check("DL-4", start < 0 || start == at || (start < at && completed(&a)),
             "%lld bytes had been sent: the resumed range must start at byte %lld (or where the "
             "data the device kept ends), it starts at %lld (%s) %s",
             at, at, start,
             start < at ? "overlapping what it has, and the upgrade did not complete"
                        : "leaving a gap",
             where);
    ct_final_reported(&a);
    ct_check("DL-2", a.outcome == CT_UP_SUCCEEDED,
             "after %s the upgrade to %s must still succeed: got %s", about, v,
             ct_outcome_text(&a));
}

static int count_gets(size_t from, size_t to)
{
    int n = 0;
    for (long i = ct_scan(from, to, ct_is_get, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, to, ct_is_get, NULL))
        n++;
    return n;
}

/*
 * A complete response (Content-Length and every byte of it) that is shorter
 * than the pushed size is not a transient fault: the device cannot tell it
 * from a wrong file. It must never be flashed; asking again and succeeding,
 * -2 and -3 are all fine (DL-2, FAIL-3S).
 */
static void short_file_never_flashed(void **state)
{
    char where[400], now[OTA_MAX_VERSION + 1];
    ct_attempt a;
    const char *about = ct_upgrade_plan(&a, "http-truncate-once", where, sizeof(where));
    size_t end = a.end_at >= 0 ? (size_t)a.end_at : mc_trace_count(ct.cloud);
    (void)state;

    if (a.outcome == CT_UP_SUCCEEDED) {
        ct_check("DL-2", count_gets(a.push_at, end) >= 2,
                 "after %s the device reported %s without asking for the rest of the file: it "
                 "flashed the short file %s",
                 about, a.info.version, where);
        return;
    }
    ct_final_reported(&a);
    ct_check("DL-2", a.outcome == CT_UP_FAILED,
             "after %s the device must ask again, or report \"-2\" or \"-3\": got %s %s", about,
             ct_outcome_text(&a), where);
    ct_check("FAIL-3S", a.step == -2 || a.step == -3,
             "a package shorter than the pushed size should be reported as \"-2\" or \"-3\", "
             "got \"%d\" %s",
             a.step, where);
    ct_running_version(now, sizeof(now));
    ct_check("DL-2", !strcmp(now, a.from_version),
             "after %s and step \"%d\" the device must still run %s, it reports \"%s\": the "
             "short file must never be flashed",
             about, a.step, a.from_version, now);
}

/* The done (or aborted) record of the HTTP request at index i, -1 when none came. */
static long response_to(size_t i)
{
    const ota_trace_rec *g = mc_trace_at(ct.cloud, i);

    for (size_t k = i + 1; k < mc_trace_count(ct.cloud); k++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, k);
        if (r->kind != OTA_TR_HTTP || strcmp(r->topic, g->topic))
            continue;
        if (r->event == OTA_EV_HTTP_DONE || r->event == OTA_EV_HTTP_ABORTED)
            return (long)k;
        if (r->event == OTA_EV_HTTP_GET)
            return -1;
    }
    return -1;
}

/* A download request of the test that resumes (a Range past byte 0). */
static int is_resume(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_get(r, i, NULL) && range_start(r) > 0;
}

/* A download request of the test from byte 0 (or without Range). */
static int is_from_zero(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_get(r, i, NULL) && range_start(r) <= 0;
}

/*
 * DL-4's last sentence: the first response is cut, and the resume's Range
 * is answered with 200 and the whole file (fault plan http-ignore-range).
 * The device must take that body from its first byte, or ask again from
 * byte 0; never append it to what it has. Every byte served is right, so a
 * digest mismatch with no new request from byte 0 means it appended.
 */
static void survives_ignored_range(void **state)
{
    char where[400], resume[400] = "";
    ct_attempt a;
    const char *about = ct_upgrade_plan(&a, "http-ignore-range", where, sizeof(where));
    size_t end = a.end_at >= 0 ? (size_t)a.end_at : mc_trace_count(ct.cloud);
    long r = ct_scan(a.push_at, end, is_resume, NULL), done = -1, again = -1;
    (void)state;

    if (r >= 0) {
        done = response_to((size_t)r);
        again = ct_scan((size_t)r + 1, end, is_from_zero, NULL);
        ct_describe((size_t)r, resume, sizeof(resume));
    }
    ct_check("DL-4",
             !(done >= 0 && mc_trace_at(ct.cloud, (size_t)done)->status == 200 && again < 0 &&
               a.outcome == CT_UP_FAILED && a.step == -3),
             "the resume from byte %lld (%s) was answered with 200 and the whole file: every "
             "byte served was right, yet the device reported a digest mismatch without asking "
             "again from byte 0: it appended the whole file to what it had instead of starting "
             "over %s",
             r >= 0 ? range_start(mc_trace_at(ct.cloud, (size_t)r)) : 0LL, resume, where);
    ct_final_reported(&a);
    ct_check("DL-2", a.outcome == CT_UP_SUCCEEDED,
             "after %s the upgrade to %s must still succeed: got %s %s", about, a.info.version,
             ct_outcome_text(&a), where);
}

/*
 * A download cut once, then resumed slowly enough for intermediate progress
 * after the resume (fault plan http-throttle-resume): every step stays in
 * -4..100, a percentage of the whole image and not of what was left at the
 * resume (PROG-1); spaced and never decreasing (PROG-4, PROG-5); and the
 * upgrade completes (DL-2).
 */
static void progress_after_slow_resume(void **state)
{
    char where[400], at[400];
    ct_attempt a;
    const char *about = ct_upgrade_plan(&a, "http-throttle-resume", where, sizeof(where));
    size_t end = a.end_at >= 0 ? (size_t)a.end_at + 1 : mc_trace_count(ct.cloud);
    int step;
    (void)state;

    for (long i = ct_scan(a.push_at, end, ct_is_progress, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, end, ct_is_progress, NULL)) {
        if (ct_step_of(mc_trace_at(ct.cloud, (size_t)i), &step) != 0)
            continue;
        ct_describe((size_t)i, at, sizeof(at));
        ct_check("PROG-1", step >= -4 && step <= 100,
                 "progress step must be in -4..100 (a percentage of the whole image, also after "
                 "a resume), got \"%d\" %s",
                 step, at);
    }
    ct_check_progress_pace(a.push_at, end);
    ct_final_reported(&a);
    ct_check("DL-2", a.outcome == CT_UP_SUCCEEDED,
             "after %s the upgrade to %s must still succeed: got %s %s", about, a.info.version,
             ct_outcome_text(&a), where);
}

static void throttled_download_paces_progress(void **state)
{
    char where[400];
    ct_attempt a;
    const char *about = ct_upgrade_plan(&a, "http-throttle", where, sizeof(where));
    (void)state;

    /* The pace first: its SHOULD warnings must not be lost to a failure below. */
    ct_check_progress_pace(a.push_at, a.end_at >= 0 ? (size_t)a.end_at : mc_trace_count(ct.cloud));
    ct_final_reported(&a);
    ct_check("DL-8", a.outcome == CT_UP_SUCCEEDED,
             "a slow but steady download (%s) must complete: got %s %s", about, ct_outcome_text(&a),
             where);
}

static const ct_case cases[] = {
    {"url_used_verbatim", "download", url_used_verbatim, "DL-1", NULL},
    {"resumes_with_range", "download", resumes_with_range, "DL-2 DL-3 DL-4", NULL},
    CT_SCENARIO("http-reset-once"),
    {"survives_short_file", "download", short_file_never_flashed, "DL-2 FAIL-3S", NULL},
    CT_SCENARIO("http-stall-once"),
    {"survives_ignored_range", "download", survives_ignored_range, "DL-2 DL-4", NULL},
    CT_SCENARIO("session-kick-http"),
    CT_SCENARIO("session-broker-restart"),
    {"slow_download_completes", "download", throttled_download_paces_progress, "DL-8 PROG-4 PROG-5",
     NULL},
    {"progress_after_slow_resume", "download", progress_after_slow_resume,
     "PROG-1 PROG-4 PROG-5 DL-2", NULL},
    CT_SCENARIO("http-pause"),
    CT_SCENARIO("http-no-length"),
    CT_SCENARIO("http-chunked"),
};

const ct_group ct_group_download = {"download", cases, sizeof(cases) / sizeof(cases[0])};
