/*
 * Push handling and progress: PUSH-1 with PROG-1, PROG-2, PROG-3 and
 * PROG-6, judged message by message over whole upgrade attempts.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"

static int starts_upgrade(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_progress(r, i, NULL) || ct_is_http(r, i, NULL);
}

static void live_push_starts_upgrade(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    long i;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_push(&a, &s);
    i = ct_find(a.push_at, CT_S(REACT), starts_upgrade, NULL);
    if (i < 0)
        ct_check_push_reached(&a);
    ct_check("PUSH-1", i >= 0,
             "a live-cloud push (code \"1000\", numeric id, signMethod Md5) must start the "
             "upgrade: expected a download request or a progress report within %.0f s, got "
             "neither",
             ct_secs(CT_S(REACT)));
    ct_await(&a, CT_S(FINAL));
    ct_final_reported(&a);
    ct_check("PUSH-1", a.outcome == CT_UP_SUCCEEDED, "the upgrade to %s did not complete: got %s",
             v, ct_outcome_text(&a));
}

/* Every progress message of [from, to) passes the format rules. */
static int judge_progress(size_t from, size_t to)
{
    int n = 0;

    for (long i = ct_scan(from, to, ct_is_progress, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, to, ct_is_progress, NULL)) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        char where[400];
        ota_progress p;
        int rc =
            ota_dialect_progress_parse(ct.dialect, (const char *)r->payload, r->payload_len, &p);
        int dflt = !ct.dev.module[0] || !strcmp(ct.dev.module, "default");

        n++;
        ct_describe((size_t)i, where, sizeof(where));
        ct_check("PROG-1", rc == OTA_OK || (rc == OTA_ERR_RANGE && p.step_is_string),
                 "progress must be a JSON object with params.step, got %s in %s", ota_strerror(rc),
                 where);
        ct_check("PROG-1", p.step_is_string, "progress step must be a string, got number %d in %s",
                 p.step, where);
        ct_check("PROG-1", p.step >= -4 && p.step <= 100,
                 "progress step must be in -4..100, got %d in %s", p.step, where);
        ct_check("PROG-2", !p.has_desc || p.desc_chars <= OTA_MAX_DESC,
                 "desc must be at most 128 characters, got %zu in %s", p.desc_chars, where);
        if (dflt)
            ct_check("PROG-3", !p.has_module || !strcmp(p.module, "default"),
                     "progress for the default module must carry no module (or \"default\"), got "
                     "\"%s\" in %s",
                     p.module, where);
        else
            ct_check("PROG-3", p.has_module && !strcmp(p.module, ct.dev.module),
                     "progress module must be \"%s\", got \"%s\" in %s", ct.dev.module, p.module,
                     where);
    }
    return n;
}

static void progress_step_is_a_string(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check("PROG-1", judge_progress(a.push_at, mc_trace_count(ct.cloud)) > 0,
             "an upgrade must report progress on its progress topic, got none");
}

static void progress_desc_at_most_128(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1; /* a failure step carries the longest desc */
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check("PROG-2", judge_progress(a.push_at, mc_trace_count(ct.cloud)) > 0,
             "a failed upgrade must report progress, got none");
}

static void progress_module_matches(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    int dflt = !ct.dev.module[0] || !strcmp(ct.dev.module, "default");
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check("PROG-3", judge_progress(a.push_at, mc_trace_count(ct.cloud)) > 0,
             "an upgrade must report progress, got none");
    if (!dflt || ct_module_switch("MCU") != 0)
        return;
    ct_spec_init(&s, v, sizeof(v)); /* again, as a device of module MCU (OTA_MODULE) */
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check("PROG-3", judge_progress(a.push_at, mc_trace_count(ct.cloud)) > 0,
             "an upgrade of module MCU must report progress, got none%s", ct_module_hint());
}

static int any_step(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_progress(r, i, NULL);
}

static void one_failure_step_per_attempt(void **state)
{
    mc_job_spec s;
    char v[32], where[400];
    ct_attempt a;
    size_t end;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1;
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check("PROG-6", a.outcome == CT_UP_FAILED,
             "a failed attempt (wrong digest) must report a negative step; got %s",
             ct_outcome_text(&a));
    /* Everything until the device has been quiet for a moment: nothing positive, no other
     * code may follow the first negative step. */
    end = ct_quiet((size_t)a.end_at + 1, CT_S(AFTER_FAILURE), any_step, NULL, CT_S(QUIET_MAX));
    for (long i = ct_scan((size_t)a.end_at + 1, end, ct_is_progress, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, end, ct_is_progress, NULL)) {
        int step = 0;
        ct_step_of(mc_trace_at(ct.cloud, (size_t)i), &step);
        ct_describe((size_t)i, where, sizeof(where));
        ct_check("PROG-6", step == a.step,
                 "after step %d the attempt is over: expected nothing or the same code again, "
                 "got step %d in %s",
                 a.step, step, where);
    }
}

/* A variant push the device should act on: started within PUSH-1's bound and completed. */
static void acted_on(const char *rule, const mc_job_spec *s, const char *what)
{
    ct_attempt a;

    ct_push(&a, s);
    if (ct_find(a.push_at, CT_S(REACT), starts_upgrade, NULL) < 0) {
        ct_check_push_reached(&a);
        ct_check(rule, 0, "%s must be acted on: no download and no progress within %.0f s", what,
                 ct_secs(CT_S(REACT)));
        return;
    }
    ct_await(&a, CT_S(FINAL));
    ct_final_reported(&a);
    ct_check(rule, a.outcome == CT_UP_SUCCEEDED, "%s must be installed like any other: got %s",
             what, ct_outcome_text(&a));
}

static void doc_style_push_acted_on(void **state)
{
    mc_job_spec s;
    char v[32];
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.envelope = OTA_ENVELOPE_DOC;
    acted_on("PUSH-3", &s,
             "a push in the documented envelope (\"code\":200, string id, no message)");
}

static void sign_method_spellings_accepted(void **state)
{
    mc_job_spec s;
    char v[32], v2[32];
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.sign_method_text = "MD5";
    s.upper_hex = 1;
    acted_on("PUSH-4", &s, "a push with signMethod \"MD5\" and upper-case hex");
    ct_spec_init(&s, v2, sizeof(v2));
    s.digest = OTA_DIGEST_SHA256;
    s.sign_method_text = "Sha256";
    acted_on("PUSH-4", &s, "a push with signMethod \"Sha256\"");
}

/* Anything the device does: a message, a download request, a boot. */
static int device_acts(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ((r->kind == OTA_TR_MQTT_IN || r->kind == OTA_TR_HTTP) && !strcmp(r->dev, ct.dev.dn)) ||
           ct_is_start(r, i, NULL);
}

/* An inform of version arg for the device's own module (none, or "default", for the default). */
static int reports_as_own(const ota_trace_rec *r, size_t i, void *arg)
{
    ota_inform in;
    int dflt = !ct.dev.module[0] || !strcmp(ct.dev.module, "default");

    if (!ct_is_inform(r, i, arg) ||
        ota_inform_parse((const char *)r->payload, r->payload_len, &in) != OTA_OK)
        return 0;
    if (!in.has_module || !strcmp(in.module, "default"))
        return dflt;
    return !strcmp(in.module, ct.dev.module);
}

/*
 * Follow the device until it is done with a push it need not act on: it is
 * watched for PUSH-1's bound; once it reacts, it is followed until it has
 * been quiet that long, and a device that rebooted meanwhile until its boot
 * report (VER-1's bound), all of it within FINAL-1's. A device may act late
 * (a Link SDK build began its download 2 s after the push), and what it does
 * then must be judged here, not land in the next test.
 */
static void follow_until_done(const ct_attempt *a)
{
    long i = ct_find(a->push_at, CT_S(REACT), device_acts, NULL), boot;
    size_t end;

    if (i < 0)
        return;
    end = ct_quiet((size_t)i + 1, CT_S(REACT), device_acts, NULL, CT_S(FINAL));
    boot = ct_scan(a->push_at, end, ct_is_start, NULL);
    for (long b = boot; b >= 0; b = ct_scan((size_t)b + 1, end, ct_is_start, NULL))
        boot = b; /* the last boot: its report says what runs */
    if (boot >= 0)
        ct_find((size_t)boot, CT_S(INFORM), ct_is_inform, NULL);
}

/*
 * PUSH-5 is judged until the device is done with the push (follow_until_done).
 * Downloading the other module's file is not yet a violation; reporting its
 * version for this device's module, or running it, is.
 */
static void push_for_other_module_ignored(void **state)
{
    mc_job_spec s;
    char v[32], now[OTA_MAX_VERSION + 1], where[400];
    ct_attempt a;
    long i;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.module = strcmp(ct.dev.module, "other-module") ? "other-module" : "second-module";
    ct_push(&a, &s);
    follow_until_done(&a);
    i = ct_scan(a.push_at, mc_trace_count(ct.cloud), reports_as_own, v);
    if (i >= 0) {
        ct_describe((size_t)i, where, sizeof(where));
        ct_fail("PUSH-5",
                "a push for module \"%s\" must never be installed as this device's firmware, nor "
                "its version reported for this device's module; the device reported %s %s",
                s.module, v, where);
    }
    ct_running_version(now, sizeof(now));
    ct_check("PUSH-5", strcmp(now, v) != 0,
             "a push for module \"%s\" must never be installed as this device's firmware: the "
             "device now runs %s, the other module's version",
             s.module, now);
}

/*
 * PUSH-6 is judged until the device is done with the push, as PUSH-5 is: a
 * device that took the push late (downloading it 2 s after) and rebooted
 * would otherwise be judged on that in the next test. Re-reporting the
 * version, staying silent, or even flashing the same version again change
 * nothing; a failure step, or another version running afterwards, does.
 */
static void push_for_running_version_changes_nothing(void **state)
{
    mc_job_spec s;
    char v[32], now[OTA_MAX_VERSION + 1], where[400] = "";
    mc_device_info d;
    ct_attempt a;
    long i;
    (void)state;

    mc_device_get(ct.cloud, ct.dev.dn, &d);
    ct_spec_init(&s, v, sizeof(v));
    snprintf(v, sizeof(v), "%.31s",
             d.reported_version[0] ? d.reported_version : ct.dev.firmware_version);
    ct_push(&a, &s);
    follow_until_done(&a);
    i = ct_scan(a.push_at, mc_trace_count(ct.cloud), ct_is_fail_step, NULL);
    if (i >= 0) {
        ct_describe((size_t)i, where, sizeof(where));
        ct_fail("PUSH-6",
                "a push for the version already running (%s) must change nothing and report no "
                "failure; got a failure step %s",
                v, where);
    }
    ct_running_version(now, sizeof(now));
    ct_check("PUSH-6", !strcmp(now, v),
             "a push for the version already running (%s) must change nothing: the device now "
             "runs %s",
             v, now);
}

static int is_hundred_step(const ota_trace_rec *r, size_t i, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, i, NULL) && ct_step_of(r, &step) == 0 && step == 100;
}

static int is_stop_record(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return r->kind == OTA_TR_DUT && r->event == OTA_EV_EXIT;
}

static void hundred_before_restart(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    long hundred, stop;
    size_t end;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    if (a.outcome != CT_UP_SUCCEEDED)
        ct_fail("FINAL-1", "the upgrade to %s did not succeed: got %s", v, ct_outcome_text(&a));
    end =
        (size_t)a.end_at + 1; /* where "100" alone is success (ThingsPanel) it ended the attempt */
    hundred = ct_scan(a.push_at, end, is_hundred_step, NULL);
    stop = ct_scan(a.push_at, end, is_stop_record, NULL);
    ct_check("PROG-7", hundred >= 0 && (stop < 0 || hundred < stop),
             "a successful upgrade should report \"100\" before the device restarts; %s",
             hundred < 0 ? "it never did" : "it came after the restart");
}

static void failure_step_has_desc(void **state)
{
    mc_job_spec s;
    char v[32], where[400];
    ct_attempt a;
    ota_progress p;
    const ota_trace_rec *r;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1;
    ct_upgrade(&a, &s, CT_S(FINAL));
    if (a.outcome != CT_UP_FAILED)
        ct_fail("PROG-6", "a wrong digest must end in a failure step; got %s", ct_outcome_text(&a));
    r = mc_trace_at(ct.cloud, (size_t)a.end_at);
    ota_dialect_progress_parse(ct.dialect, (const char *)r->payload, r->payload_len, &p);
    ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("PROG-8", p.has_desc && p.desc_chars > 0,
             "a failure step should say why in desc; it %s, in %s",
             p.has_desc ? "came empty" : "has none", where);
}

static void get_reply_starts_upgrade(void **state)
{
    mc_job_spec s;
    char v[32], where[400];
    ct_attempt a;
    ota_fw_get g;
    long st, i;
    int rc;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.no_publish = 1; /* pending, never pushed: only firmware/get finds it */
    ct_push(&a, &s);
    st = ct_reconnect(); /* devices ask for jobs when they (re)connect */
    if (st < 0 && !ct.can_reset)
        ct_na("N/A: the suite can neither reboot this device (adapter %s, no reset) nor make it "
              "reconnect (no broker plugin), and it asks for jobs only then",
              ct.adapter);
    i = ct_find(st >= 0 ? (size_t)st : a.push_at, CT_S(PULL), ct_is_uplink,
                (void *)"/thing/ota/firmware/get");
    if (i < 0)
        ct_na("the device sent no firmware/get within %.0f s of %s: it does not pull jobs",
              ct_secs(CT_S(PULL)), ct.can_reset ? "booting" : "reconnecting");
    const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
    ct_describe((size_t)i, where, sizeof(where));
    rc = ota_fw_get_parse((const char *)r->payload, r->payload_len, &g);
    ct_check("PUSH-2", rc == OTA_OK && g.id.valid && g.has_params,
             "firmware/get must carry an id and a params object, got %s %s",
             rc == OTA_OK ? (g.id.valid ? "no params" : "no valid id") : ota_strerror(rc), where);
    if (ct.dev.module[0] && strcmp(ct.dev.module, "default"))
        ct_check("PUSH-2", g.has_module && !strcmp(g.module, ct.dev.module),
                 "firmware/get of module %s must name it in params.module %s", ct.dev.module,
                 where);
    a.push_at = (size_t)i;
    ct_await(&a, CT_S(FINAL));
    ct_final_reported(&a);
    ct_check("PUSH-2", a.outcome == CT_UP_SUCCEEDED,
             "the get_reply carried a pending job for %s: it must start the upgrade, got %s", v,
             ct_outcome_text(&a));
}

static int ends_or_boots(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_fail_step(r, i, NULL) || ct_is_start(r, i, NULL);
}

static void second_push_during_download(void **state)
{
    mc_job_spec s, s2;
    char v[32], v2[32], where[400] = "", now[OTA_MAX_VERSION + 1] = "";
    ct_attempt a, a2;
    long i;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_spec_scenario(&s, "http-throttle"); /* a download of a few seconds */
    ct_push(&a, &s);
    if (ct_find(a.push_at, CT_S(REACT), ct_is_http, NULL) < 0) {
        ct_check_push_reached(&a);
        ct_fail("PUSH-1", "the push to %s started no download within %.0f s", v,
                ct_secs(CT_S(REACT)));
    }
    ct_spec_init(&s2, v2, sizeof(v2));
    ct_push(&a2, &s2); /* while the first download runs */
    i = ct_find(a2.push_at, CT_S(FINAL), ends_or_boots, NULL);
    if (i < 0 && ct_hundred_since(a.push_at) >= 0)
        ct_fail("FINAL-1",
                "a download finished (step \"100\") after the second push, but the device "
                "reported neither %s nor %s within %.0f s: progress 100 alone is not success",
                v, v2, ct_secs(CT_S(FINAL)));
    if (i < 0)
        ct_fail("PUSH-7",
                "a second push (%s) came during the download of %s: the device must end on a "
                "target version, or on %s with one failure step; within %.0f s it did neither",
                v2, v, a.from_version, ct_secs(CT_S(FINAL)));
    ct_describe((size_t)i, where, sizeof(where));
    if (ct_is_fail_step(mc_trace_at(ct.cloud, (size_t)i), (size_t)i, NULL)) {
        ct_running_version(now, sizeof(now));
        ct_check("PUSH-7", !strcmp(now, a.from_version),
                 "after a failure step %s the device must still run %s, it reports \"%s\"", where,
                 a.from_version, now);
        return;
    }
    long j = ct_find((size_t)i + 1, CT_S(INFORM), ct_is_inform, NULL);
    ota_inform in = {0};
    if (j >= 0) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)j);
        ota_inform_parse((const char *)r->payload, r->payload_len, &in);
        ct_describe((size_t)j, where, sizeof(where));
    }
    if (j >= 0 && !strcmp(in.version, a.from_version) && ct_hundred_since(a.push_at) >= 0)
        ct_fail("FINAL-1",
                "a download finished (step \"100\"), then the device rebooted and reported %s "
                "again %s: after a successful download it must report the new version",
                in.version, where);
    ct_check("PUSH-7", j >= 0 && (!strcmp(in.version, v) || !strcmp(in.version, v2)),
             "after a second push during the download the device rebooted; it must run %s or "
             "%s, it reports \"%s\" %s",
             v, v2, in.version, where);
    /*
     * A device that pulls the still-open second job after its reboot
     * (firmware/get) is right to; let that upgrade end here, not in the next test.
     */
    if (strcmp(in.version, v2) && ct_find((size_t)j + 1, CT_S(FOLLOW), starts_upgrade, NULL) >= 0) {
        a2.push_at = (size_t)j + 1;
        ct_await(&a2, CT_S(FINAL));
    }
}

static const ct_case cases[] = {
    {"live_push_starts_upgrade", "push", live_push_starts_upgrade, "PUSH-1", NULL},
    {"get_reply_starts_upgrade", "push", get_reply_starts_upgrade, "PUSH-2", NULL},
    {"second_push_during_download", "push", second_push_during_download, "PUSH-7", NULL},
    CT_SCENARIO("push-files-one"),
    CT_SCENARIO("push-files-two"),
    {"progress_step_is_a_string", "push", progress_step_is_a_string, "PROG-1", NULL},
    {"progress_desc_at_most_128", "push", progress_desc_at_most_128, "PROG-2", NULL},
    {"progress_module_matches", "push", progress_module_matches, "PROG-3", NULL},
    {"one_failure_step_per_attempt", "push", one_failure_step_per_attempt, "PROG-6", NULL},
    {"doc_style_push_acted_on", "push", doc_style_push_acted_on, "PUSH-3", NULL},
    {"sign_method_spellings_accepted", "push", sign_method_spellings_accepted, "PUSH-4", NULL},
    {"push_for_other_module_ignored", "push", push_for_other_module_ignored, "PUSH-5", NULL},
    {"push_for_running_version_changes_nothing", "push", push_for_running_version_changes_nothing,
     "PUSH-6", NULL},
    {"hundred_before_restart", "push", hundred_before_restart, "PROG-7", NULL},
    {"failure_step_has_desc", "push", failure_step_has_desc, "PROG-8", NULL},
};

const ct_group ct_group_push = {"push", cases, sizeof(cases) / sizeof(cases[0])};
