/*
 * Failure codes: FAIL-2 (a download that cannot complete), FAIL-3 (a wrong
 * digest), FAIL-4 (an injected flash failure), FAIL-1 (an unusable push) and
 * FAIL-R (a good upgrade after a failed one). Faults come from the cloud
 * side; only FAIL-4 needs the device's inject-flash capability.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"

/* A summary of repeated requests the cloud counted instead of storing ("repeated N times"). */
static int repeats_of(const ota_trace_rec *r)
{
    int n = 0, job = -1;
    if (r->kind == OTA_TR_CLOUD && !strcmp(r->dev, ct.dev.dn) &&
        sscanf(r->info, "repeated %d times", &n) == 1 && strstr(r->info, ": GET ") &&
        sscanf(r->topic, "/ota/%d/", &job) == 1 && ct_job_of_test(job))
        return n; /* requests for this test's job only: an old job's loop is not this one's */
    return 0;
}

/* A download request of this test (not a late one of an earlier job), or a count of them. */
static int get_or_repeats(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return repeats_of(r) > 0 || ct_is_get(r, NULL);
}

/*
 * The download requests since the push: how many (those the cloud counted
 * but did not store included), the shortest gap between stored ones, and
 * their span in seconds.
 */
static int count_requests(size_t from, size_t to, double *min_gap, double *span)
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

/* A persistent fault from a plan: the device must give up with -2 within 60 s. */
static void expect_minus_2(const char *plan, ct_attempt *a)
{
    char where[400], loop[160] = "";
    const char *about = ct_upgrade_plan(a, plan, where, sizeof(where));
    double gap, span;
    int tries = count_requests(a->push_at, mc_trace_count(ct.cloud), &gap, &span);

    if (tries > 3 && a->outcome != CT_UP_FAILED)
        snprintf(loop, sizeof(loop),
                 "; meanwhile it asked for the file %d times (%.0f a second): "
                 "retrying without end never reports the failure",
                 tries, span > 0 ? tries / span : (double)tries);
    ct_check("FAIL-2", a->outcome == CT_UP_FAILED && a->step == -2,
             "%s: expected step \"-2\" within %.0f s, got %s%s %s", about, ct_secs(60),
             ct_outcome_text(a), loop, where);
}

static void plan_reports_minus_2(void **state)
{
    ct_attempt a;
    expect_minus_2(CT_CASE(state)->arg, &a);
}

static void download_404_reports_minus_2(void **state)
{
    ct_attempt a;
    char where[400];
    const char *about = ct_upgrade_plan(&a, "http-status-404", where, sizeof(where));
    /* Retries after the failure step count too: a device that goes on asking has not stopped. */
    size_t end = ct_quiet(a.end_at >= 0 ? (size_t)a.end_at : a.push_at, 1.5, ct_is_get, NULL, 8);
    double gap, span;
    int tries = count_requests(a.push_at, end, &gap, &span);
    (void)state;

    /* FAIL-B (SHOULD, judged first: a looping device also fails FAIL-2 below). */
    ct_check("FAIL-B", tries <= 3, "a failure should be retried at most 3 times; got %d tries%s",
             tries, a.outcome == CT_UP_FAILED ? "" : " and no end to them");
    ct_check("FAIL-B", tries < 2 || gap >= 0.9,
             "retries should be at least 1 s apart (0.9 s allowed); two came %.3f s apart", gap);
    ct_check("FAIL-2", a.outcome == CT_UP_FAILED && a.step == -2,
             "%s: expected step \"-2\" within %.0f s, got %s%s %s", about, ct_secs(60),
             ct_outcome_text(&a),
             tries > 3 && a.outcome != CT_UP_FAILED ? "; the device retried without end" : "",
             where);
}

static void wrong_sha256_reports_minus_3(void **state)
{
    mc_job_spec s;
    char v[32], where[400] = "", now[OTA_MAX_VERSION + 1];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.digest = OTA_DIGEST_SHA256;
    s.wrong_digest = 1;
    ct_upgrade(&a, &s, 60);
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("FAIL-3", a.outcome == CT_UP_FAILED && a.step == -3,
             "the pushed SHA-256 did not match the image: expected step \"-3\", got %s %s",
             ct_outcome_text(&a), where);
    ct_running_version(now, sizeof(now));
    ct_check("FAIL-3", strcmp(now, v) != 0,
             "an image that failed SHA-256 verification was flashed: the device runs %s", now);
}

static void wrong_digest_reports_minus_3(void **state)
{
    mc_job_spec s;
    char v[32], where[400] = "", now[OTA_MAX_VERSION + 1];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1;
    ct_upgrade(&a, &s, 60);
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("FAIL-3", a.outcome != CT_UP_SUCCEEDED,
             "the pushed digest was wrong, yet the image was installed: %s", where);
    ct_check("FAIL-3", a.outcome == CT_UP_FAILED && a.step == -3,
             "the pushed MD5 (sign and md5) did not match the image: expected step \"-3\", got "
             "%s %s",
             ct_outcome_text(&a), where);
    ct_running_version(now, sizeof(now));
    ct_check("FAIL-3", strcmp(now, v) != 0,
             "an image that failed verification was flashed: the device runs %s", now);
}

static void flash_failure_reports_minus_4(void **state)
{
    mc_job_spec s;
    char v[32], where[400] = "", reply[DUT_MAX_LINE], now[OTA_MAX_VERSION + 1];
    ct_attempt a;
    int rc;
    (void)state;

    if (!dut_has_cap(ct.dut, "inject-flash"))
        ct_na("N/A: the device lacks the inject-flash capability");
    rc = dut_command(ct.dut, "INJECT fault=flash-write", reply, sizeof(reply), ct_secs(5));
    if (rc != DUT_OK)
        ct_fail("FAIL-4", "INJECT fault=flash-write was not accepted: %s %s", dut_strerror(rc),
                reply);
    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, 60);
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("FAIL-4", a.outcome == CT_UP_FAILED && a.step == -4,
             "the flash write was made to fail: expected step \"-4\", got %s %s",
             ct_outcome_text(&a), where);
    ct_running_version(now, sizeof(now));
    ct_check("FAIL-4", !strcmp(now, a.from_version),
             "after a failed flash write the device must still run %s, it reports \"%s\"",
             a.from_version, now);
}

static void unusable_push_is_refused(void **state)
{
    mc_job_spec s;
    char v[32], where[400] = "";
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.omit_transport = 1;
    ct_push(&a, &s);
    /* Ignoring it is fine: wait a short window for a reaction, not a minute. */
    ct_await(&a, 2);
    ct_check_not_crashed(&a, "FAIL-1", "a push with neither url nor dProtocol");
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("FAIL-1", a.outcome != CT_UP_SUCCEEDED,
             "a push with neither url nor dProtocol can not be installed, yet the device reported "
             "%s",
             v);
    ct_check("FAIL-1", a.outcome != CT_UP_FAILED || a.step == -1,
             "a push with neither url nor dProtocol must be answered with \"-1\" or ignored, got "
             "step \"%d\" %s",
             a.step, where);
}

static void corrupted_download_reports_minus_3(void **state)
{
    char where[400], now[OTA_MAX_VERSION + 1];
    ct_attempt a;
    const char *about = ct_upgrade_plan(&a, "http-corrupt", where, sizeof(where));
    (void)state;

    ct_check("FAIL-3", a.outcome == CT_UP_FAILED && a.step == -3,
             "%s: expected step \"-3\", got %s %s", about, ct_outcome_text(&a), where);
    ct_running_version(now, sizeof(now));
    ct_check("FAIL-3", !strcmp(now, a.from_version),
             "a corrupted image must never be flashed: the device runs \"%s\"", now);
}

static void wrong_size_reports_failure(void **state)
{
    char where[400];
    ct_attempt a;
    const char *about = ct_upgrade_plan(&a, "push-wrong-size", where, sizeof(where));
    (void)state;

    ct_check("FAIL-3S", a.outcome == CT_UP_FAILED && (a.step == -2 || a.step == -3),
             "%s: the file has one byte more than pushed, expected step \"-2\" or \"-3\", got "
             "%s %s",
             about, ct_outcome_text(&a), where);
}

/* An unusable push from a plan: -1 or ignored, never -2/-3/-4, never installed. */
static void unusable_plan_is_refused(void **state)
{
    const ct_case *c = CT_CASE(state);
    mc_job_spec s;
    char v[32], where[400] = "";
    ct_attempt a;
    const char *about;

    ct_spec_init(&s, v, sizeof(v));
    about = ct_spec_scenario(&s, c->arg);
    ct_push(&a, &s);
    ct_await(&a, 2);
    ct_check_not_crashed(&a, "FAIL-1", about);
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("FAIL-1", a.outcome != CT_UP_SUCCEEDED,
             "%s: it cannot be installed, yet the device "
             "reported %s",
             about, v);
    ct_check("FAIL-1", a.outcome != CT_UP_FAILED || a.step == -1,
             "%s: must be answered with \"-1\" or ignored, got step \"%d\" %s", about, a.step,
             where);
}

static void upgrade_succeeds_after_failure(void **state)
{
    mc_job_spec s;
    char v[32], v2[32];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1;
    ct_upgrade(&a, &s, 60);
    ct_check("FAIL-R", a.outcome == CT_UP_FAILED,
             "setting up: the upgrade with a wrong digest should fail, got %s",
             ct_outcome_text(&a));
    ct_spec_init(&s, v2, sizeof(v2));
    ct_upgrade(&a, &s, 60);
    ct_final_reported(&a);
    ct_check("FAIL-R", a.outcome == CT_UP_SUCCEEDED,
             "after a failed upgrade the next good one (to %s) must succeed, got %s", v2,
             ct_outcome_text(&a));
}

static const ct_case cases[] = {
    {"download_404_reports_minus_2", "failure", download_404_reports_minus_2, "FAIL-2 FAIL-B",
     NULL},
    {"download_403_reports_minus_2", "failure", plan_reports_minus_2, "FAIL-2", "http-status-403"},
    {"download_500_reports_minus_2", "failure", plan_reports_minus_2, "FAIL-2", "http-status-500"},
    {"download_503_reports_minus_2", "failure", plan_reports_minus_2, "FAIL-2", "http-status-503"},
    {"wrong_sha256_reports_minus_3", "failure", wrong_sha256_reports_minus_3, "FAIL-3", NULL},
    {"wrong_digest_reports_minus_3", "failure", wrong_digest_reports_minus_3, "FAIL-3", NULL},
    {"flash_failure_reports_minus_4", "failure", flash_failure_reports_minus_4, "FAIL-4", NULL},
    {"unusable_push_is_refused", "failure", unusable_push_is_refused, "FAIL-1", NULL},
    {"push_missing_fields_refused", "failure", unusable_plan_is_refused, "FAIL-1", "push-missing"},
    {"push_wrong_types_refused", "failure", unusable_plan_is_refused, "FAIL-1", "push-wrong-types"},
    {"push_malformed_refused", "failure", unusable_plan_is_refused, "FAIL-1", "push-malformed"},
    {"reset_every_try_reports_minus_2", "failure", plan_reports_minus_2, "FAIL-2",
     "http-reset-always"},
    {"expired_url_reports_minus_2", "failure", plan_reports_minus_2, "FAIL-2", "http-expired"},
    {"corrupted_download_reports_minus_3", "failure", corrupted_download_reports_minus_3, "FAIL-3",
     NULL},
    {"wrong_size_reports_failure", "failure", wrong_size_reports_failure, "FAIL-3S", NULL},
    {"upgrade_succeeds_after_failure", "failure", upgrade_succeeds_after_failure, "FAIL-R", NULL},
};

const ct_group ct_group_failure = {"failure", cases, sizeof(cases) / sizeof(cases[0])};
