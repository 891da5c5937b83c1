/*
 * Images the device checks itself (judging.md: IMG-1, IMG-2, DIFF-1, DIFF-2):
 * variants made from the user's own images, whose bytes match the pushed
 * digest, so that only the device's own check can refuse them. N/A unless
 * the profile's firmware section says the device checks its images and gives
 * the means (a foreign command, a diff command); see firmware.c.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "firmware.h"

static void need_checks(void)
{
    if (!ct_fw_on())
        ct_na("N/A: the device profile has no firmware section, so the suite has none of the "
              "device's own images to make variants from (docs/device-profiles.md, firmware)");
    if (!ct_fw_checks())
        ct_na("N/A: the device profile does not say that the device checks its images "
              "(firmware.checks)");
}

/* A variant of the pushed version's image; inconclusive when the user's command fails. */
static void variant(ct_fw_variant_kind kind, const char *from, const char *v, char *path,
                    size_t cap)
{
    char why[700];

    if (ct_fw_variant(kind, from, v, path, cap, why, sizeof(why)) != 0)
        ct_inconclusive("the image variant for %s could not be made: %s", v, why);
}

/*
 * IMG-1 (and DIFF-2 with rule and codes of its own): the pushed image must
 * end in one of the failure steps, and the old version keeps running.
 */
static void expect_refused(const mc_job_spec *s, const char *rule, const char *what, int allow_m1,
                           int allow_m4)
{
    ct_attempt a;
    char where[400] = "", now[OTA_MAX_VERSION + 1];
    int ok_step;

    ct_upgrade(&a, s, CT_S(FAILURE));
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    if (a.outcome == CT_UP_NOT_STARTED || a.outcome == CT_UP_TIMEOUT)
        ct_check_push_reached(&a);
    ok_step = a.outcome == CT_UP_FAILED &&
              (a.step == -3 || (allow_m1 && a.step == -1) || (allow_m4 && a.step == -4));
    ct_check(rule, ok_step,
             "%s; its bytes match the pushed digest, so only the device's own check can refuse "
             "it: expected step \"-3\"%s%s within %.0f s, got %s %s",
             what, allow_m1 ? " or \"-1\"" : "", allow_m4 ? " or \"-4\"" : "",
             ct_secs(CT_S(FAILURE)), ct_outcome_text(&a), where);
    ct_settle();
    ct_running_version(now, sizeof(now));
    ct_check(rule, !strcmp(now, a.from_version),
             "%s must never be booted: the device must still run %s, it reports \"%s\"", what,
             a.from_version, now);
}

static void header_broken_digest_right(void **state)
{
    mc_job_spec s;
    char v[32], path[PATH_MAX];
    (void)state;

    need_checks();
    ct_spec_init(&s, v, sizeof(v));
    variant(CT_FW_HEADER, NULL, v, path, sizeof(path));
    s.image_path = path;
    expect_refused(&s, "IMG-1",
                   "the image of this version with its first byte (the header) "
                   "flipped",
                   0, 1);
}

static void foreign_image_refused(void **state)
{
    mc_job_spec s;
    char v[32], path[PATH_MAX];
    (void)state;

    need_checks();
    if (!ct_fw_cfg()->foreign[0])
        ct_na("N/A: the profile's firmware section has no foreign command (an image the device "
              "must refuse though its digest is right)");
    ct_spec_init(&s, v, sizeof(v));
    variant(CT_FW_FOREIGN, NULL, v, path, sizeof(path));
    s.image_path = path;
    expect_refused(&s, "IMG-1", "an image the device must refuse (firmware.foreign)", 0, 1);
}

/* IMG-2: push V with the image of W; reporting V is the violation. */
/* What ends an IMG-2 attempt: a failure step, or the device's next version report. */
static int img2_answer(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_fail_step(r, i, NULL) || ct_is_inform(r, i, NULL);
}

static void version_comes_from_the_image(void **state)
{
    mc_job_spec s, other;
    char v[32], w[32], path[PATH_MAX], why[700], where[400] = "";
    ct_attempt a;
    mc_device_info d;
    long k;
    (void)state;

    need_checks();
    ct_spec_init(&s, v, sizeof(v));
    ct_spec_init(&other, w, sizeof(w));
    mc_device_get(ct.cloud, ct.dev.dn, &d);
    if (!strcmp(v, w) || !strcmp(w, d.reported_version))
        ct_inconclusive("an image whose version is neither the pushed %s nor the running %s is "
                        "needed: give the profile a third firmware file",
                        v, d.reported_version);
    if (ct_fw_image(w, ct.dev.module, ct.image_size, path, sizeof(path), why, sizeof(why)) != 0)
        ct_inconclusive("the image of %s could not be made: %s", w, why);
    s.image_path = path;
    ct_push(&a, &s);
    /*
     * The answer is the first failure step or version report. The job for V is
     * canceled then: a device that rightly booted W would otherwise be pushed V
     * again at every boot (PUSH-8) and install W over and over, a loop of the
     * test's making that FAIL-B must not blame on the device.
     */
    k = ct_find(a.push_at, CT_S(FINAL), img2_answer, NULL);
    mc_job_cancel(ct.cloud, a.job, "the test has its answer: the image holds another version");
    if (k < 0) {
        ct_check_push_reached(&a);
        ct_fail("IMG-2",
                "pushed as %s, the image holds version %s: within %.0f s the device "
                "neither refused it nor reported a version",
                v, w, ct_secs(CT_S(FINAL)));
    }
    ct_describe((size_t)k, where, sizeof(where));
    ct_check("IMG-2", !ct_is_inform(mc_trace_at(ct.cloud, (size_t)k), (size_t)k, v),
             "pushed as %s, the image holds version %s: the device must report %s (or refuse "
             "it), it reported the pushed %s %s",
             v, w, w, v, where);
    ct_settle();
}

static void need_diff(void)
{
    need_checks();
    if (!ct_fw_cfg()->diff[0])
        ct_na("N/A: the profile's firmware section has no diff command: the device takes no "
              "differential packages (isDiff)");
}

/* A full upgrade to a fresh version the diff starts from; its version into v. */
static void full_upgrade(mc_job_spec *s, char *v, size_t cap)
{
    ct_attempt a;

    ct_spec_init(s, v, cap);
    ct_upgrade(&a, s, CT_S(FINAL));
    ct_final_reported(&a);
    if (a.outcome != CT_UP_SUCCEEDED)
        ct_inconclusive("the full upgrade to %s that the diff starts from did not complete: %s", v,
                        ct_outcome_text(&a));
    ct_settle();
}

static void diff_upgrade_completes(void **state)
{
    mc_job_spec s;
    char base[32], v[32], path[PATH_MAX], where[400] = "";
    ct_attempt a;
    (void)state;

    need_diff();
    full_upgrade(&s, base, sizeof(base));
    ct_spec_init(&s, v, sizeof(v));
    variant(CT_FW_DIFF, base, v, path, sizeof(path));
    s.image_path = path;
    s.is_diff = 1;
    ct_upgrade(&a, &s, CT_S(FINAL));
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    if (a.outcome == CT_UP_NOT_STARTED)
        ct_check_push_reached(&a);
    ct_check("DIFF-1", a.outcome == CT_UP_SUCCEEDED,
             "a diff from the running %s to %s (isDiff 1) must rebuild the image and end with "
             "the device reporting %s: got %s %s",
             base, v, v, ct_outcome_text(&a), where);
}

static void diff_for_another_base_refused(void **state)
{
    mc_job_spec s, scratch;
    char base[32], other[32], v[32], path[PATH_MAX], what[200];
    (void)state;

    need_diff();
    full_upgrade(&s, base, sizeof(base));
    ct_spec_init(&scratch, other, sizeof(other)); /* a version the device never ran */
    ct_spec_init(&s, v, sizeof(v));
    if (!strcmp(other, base) || !strcmp(other, v))
        ct_inconclusive("a third version is needed to make a diff against another base: give "
                        "the profile a third firmware file");
    variant(CT_FW_DIFF, other, v, path, sizeof(path));
    s.image_path = path;
    s.is_diff = 1;
    snprintf(what, sizeof(what), "a diff from %s to %s, pushed to a device running %s", other, v,
             base);
    expect_refused(&s, "DIFF-2", what, 1, 0);
}

static const ct_case cases[] = {
    {"header_broken_digest_right", "image", header_broken_digest_right, "IMG-1", NULL},
    {"foreign_image_refused", "image", foreign_image_refused, "IMG-1", NULL},
    {"version_comes_from_the_image", "image", version_comes_from_the_image, "IMG-2", NULL},
    {"diff_upgrade_completes", "image", diff_upgrade_completes, "DIFF-1", NULL},
    {"diff_for_another_base_refused", "image", diff_for_another_base_refused, "DIFF-2", NULL},
};

const ct_group ct_group_image = {"image", cases, sizeof(cases) / sizeof(cases[0])};
