/*
 * The upgrade attempt: a job spec for the device, the push, the wait for its
 * outcome (a failure step, the target version, a reboot into another version
 * or into silence), and what the tests judge around it (progress pace, a
 * push that never reached the device, a crash on it, the version it runs).
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "firmware.h"
#include "harness_int.h"

/* The next target among the user's files (ct_fw_pick) for the version the device runs. */
static int pick_file(char *version, size_t cap, char *why, size_t whycap)
{
    mc_device_info d;
    int rc;

    why[0] = '\0';
    if (mc_device_get(ct.cloud, ct.dev.dn, &d) != MC_OK)
        return 0;
    rc = ct_fw_pick(version, cap,
                    d.reported_version[0] ? d.reported_version : ct.dev.firmware_version, why,
                    whycap);
    if (rc < 0)
        version[0] = '\0';
    return rc;
}

void ct_spec_init(mc_job_spec *s, char *version, size_t cap)
{
    char why[300];

    memset(s, 0, sizeof(*s));
    snprintf(version, cap, "%d.0.%d", ct.version_major ? ct.version_major : 9, ++ct.version_seq);
    /*
     * With the user's own files the target is one of theirs (firmware.c). When none is left
     * above the running version, flashCommand puts the board back on its first version.
     */
    if (ct_fw_on() && pick_file(version, cap, why, sizeof(why)) < 0 &&
        (ct_fw_recover("no firmware file is left above the running version") != 0 ||
         ct_reboot() < 0 || ct_settle() != 0 || pick_file(version, cap, why, sizeof(why)) < 0))
        ct_na("N/A: %s", why);
    s->dn = ct.dev.dn;
    s->version = version;
    s->module = ct.dev.module;
    s->image_size = ct.image_size;
    s->digest = OTA_DIGEST_MD5;
    s->envelope = OTA_ENVELOPE_LIVE;
    /* A test that needs a digest or a size the dialect's stock server never sends. */
    s->documented = ct.cur && ct_test_documented(ct.cur->group, ct.cur->name) != NULL;
}

const char *ct_spec_scenario(mc_job_spec *s, const char *name)
{
    static char about[sizeof(((mc_scenario *)0)->about) + 80];
    mc_scenario sc;
    char err[256] = "";

    if (mc_scenario_load(ct.scenarios, name, &sc, err, sizeof(err)) != MC_OK)
        fail_msg("fault plan %s: %s", name, err);
    for (int i = 0; i <= sc.nthen; i++) /* the fault, and those of a sequence after it */
        if ((i ? sc.then[i - 1] : sc.fault).kind == MC_FAULT_SESSION_RESTART &&
            !mc_cloud_broker_embedded(ct.cloud))
            ct_na("N/A: fault plan %s restarts the broker, which only the suite's own embedded "
                  "broker can do (not with --broker or --cloud)",
                  name);
    s->fault = sc.fault;
    memcpy(s->then, sc.then, sizeof(s->then));
    s->nthen = sc.nthen;
    s->mqtt = sc.mqtt;
    snprintf(about, sizeof(about), "%s (fault plan %s)", sc.about, name);
    return about;
}

const char *ct_upgrade_plan(ct_attempt *a, const char *plan, char *where, size_t cap)
{
    mc_job_spec s;
    char v[32];
    const char *about;

    ct_spec_init(&s, v, sizeof(v));
    about = ct_spec_scenario(&s, plan);
    ct_upgrade(a, &s, CT_S(FINAL));
    where[0] = '\0';
    if (a->end_at >= 0)
        ct_describe((size_t)a->end_at, where, cap);
    return about;
}

void ct_check_progress_pace(size_t from, size_t to)
{
    const ota_bound *gap = ota_bound_at(OTA_BOUND_PROGRESS_GAP);
    int prev = -100, step;
    double prev_t = -1;
    char where[400];

    for (long i = ct_scan(from, to, ct_is_progress, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, to, ct_is_progress, NULL)) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        if (ct_step_of(r, &step) != 0 || step < 0 || step > 99)
            continue; /* "100" and failure steps are exempt */
        ct_describe((size_t)i, where, sizeof(where));
        if (step == 0)
            prev = -100; /* a new request or a resume may start again at "0" */
        ct_check("PROG-4", step >= prev,
                 "within one download the step must not decrease: \"%d\" came after \"%d\" %s",
                 step, prev, where);
        ct_check("PROG-5", prev_t < 0 || r->t - prev_t >= gap->judged,
                 "intermediate progress at most once per %.0f s: \"%d\" came %.2f s after the "
                 "last one %s",
                 gap->seconds, step, r->t - prev_t, where);
        prev = step;
        prev_t = r->t;
    }
}

/* A failure step, or "100": the device's last word on an attempt. */
static int is_terminal_step(const ota_trace_rec *r, size_t i, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, i, NULL) && ct_step_of(r, &step) == 0 && (step < 0 || step == 100);
}

/*
 * After the device's terminal step the next push of the same test waits
 * until at least 1 s has passed since it (judging.md: a real cloud never
 * pushes again faster), so a device that drops a push landing a moment
 * after its own report is not failed for it. A minimum: --time-scale may
 * lengthen it, never shorten it.
 */
static void settle_after_terminal(void)
{
    double gap = ct_secs(1.0) > 1.0 ? ct_secs(1.0) : 1.0, until;
    long last = -1;

    if (!ct.njobs)
        return; /* the test's first push: the quiet between tests came before it */
    for (size_t i = mc_trace_count(ct.cloud); i-- > ct.t_begin && last < 0;)
        last = ct_scan(i, i + 1, is_terminal_step, NULL);
    if (last < 0)
        return;
    until = mc_trace_at(ct.cloud, (size_t)last)->t + gap;
    while (mc_now(ct.cloud) < until && !ct_interrupted)
        mc_trace_wait(ct.cloud, mc_trace_count(ct.cloud), until);
}

/*
 * Push kinds a device may leave out, each ignored as a whole (judging.md
 * FAIL-1: a push it cannot use may be ignored; a device without MQTT block
 * download ignores such pushes). What the device did with each kind is
 * learned over the run: see ct.kinds_handled and ct.kinds_ignored.
 */
enum { KIND_HTTP = 1u, KIND_BLOCKS = 2u, KIND_SHA256 = 4u };

static unsigned kind_of(int mqtt, int sha256)
{
    return mqtt ? KIND_BLOCKS : sha256 ? KIND_SHA256 : KIND_HTTP;
}

static unsigned attempt_kind(const ct_attempt *a)
{
    return kind_of(a->info.mqtt, strlen(a->info.digest_hex) == 64);
}

static const char *kind_text(unsigned k)
{
    return k == KIND_BLOCKS   ? "a push for MQTT block download (dProtocol mqtt, no url)"
           : k == KIND_SHA256 ? "a push signed with SHA-256"
                              : "an HTTP push";
}

/* The device answered a block push "-1" (check_blocks_declined) rather than ignoring it. */
static int blocks_refused;

/* A block push to a device seen never to act on one: N/A at once, not waited for again. */
static void check_kind_learned(const mc_job_spec *s)
{
    unsigned k = kind_of(s->mqtt, s->digest == OTA_DIGEST_SHA256);
    char how[96];

    if (k != KIND_BLOCKS || !(ct.kinds_ignored & k) || (ct.kinds_handled & k))
        return;
    if (blocks_refused)
        snprintf(how, sizeof(how), "answered \"-1\" to");
    else
        snprintf(how, sizeof(how), "did not act within %.0f s on", ct_secs(ct.bounds.react));
    ct_na("N/A: earlier in this run the device %s %s while it took other pushes; a device may "
          "leave that kind out (learned once per run, not waited for again)",
          how, kind_text(k));
}

void ct_push(ct_attempt *a, const mc_job_spec *s)
{
    mc_device_info d;
    mc_job_spec fs;
    char image[4096];
    int rc;

    memset(a, 0, sizeof(*a));
    a->end_at = -1;
    check_kind_learned(s);
    settle_after_terminal();
    /*
     * A dialect whose push goes out on two spellings and whose progress names
     * no job (ThingsPanel): a device subscribed to both may run the earlier
     * job's second copy after that job ended, and its report would land on
     * the new job, as on the platform. Once the earlier job of this test has
     * ended, the new one waits until the device's progress is quiet.
     */
    if (ct.dialect && ct.dialect->push_alt && ct.njobs > 0) {
        mc_job_info prev;
        if (mc_job_get(ct.cloud, ct.jobs[ct.njobs - 1], &prev) == MC_OK &&
            prev.state != MC_JOB_PENDING && prev.state != MC_JOB_UPGRADING)
            ct_quiet(mc_trace_count(ct.cloud), CT_S(AFTER_FAILURE), ct_is_progress, NULL,
                     CT_S(QUIET_MAX));
    }
    mc_device_get(ct.cloud, ct.dev.dn, &d);
    /* A dialect without a version report: the profile's until a step "100" sets the cloud's. */
    snprintf(a->from_version, sizeof(a->from_version), "%s",
             d.reported_version[0] ? d.reported_version : ct.dev.firmware_version);
    /* The user's own image of the version, when the profile gives them (firmware.c). */
    fs = *s;
    ct_fw_apply(&fs, image, sizeof(image));
    rc = mc_job_create(ct.cloud, &fs, &a->job);
    if (rc != MC_OK)
        ct_fail("PUSH-1", "the mock cloud could not create the job: %s", mc_strerror(rc));
    mc_job_get(ct.cloud, a->job, &a->info);
    a->unusable = fs.omit_transport || fs.fault.kind == MC_FAULT_PUSH_MISSING ||
                  fs.fault.kind == MC_FAULT_PUSH_WRONG_TYPES ||
                  fs.fault.kind == MC_FAULT_PUSH_MALFORMED;
    a->push_at = a->info.trace_at;
    a->reached_at = a->push_at;
    if (ct.njobs < (int)(sizeof(ct.jobs) / sizeof(ct.jobs[0]))) {
        ct.jobs[ct.njobs] = a->job;
        ct.streams[ct.njobs++] = a->info.mqtt ? a->info.stream_id : -1;
    }
}

/* Step "100" in a dialect where it alone is success (ThingsPanel). */
static int is_success_step(const ota_trace_rec *r, size_t i)
{
    int step;
    return ct.dialect && ct.dialect->success == OTA_SUCCESS_STEP_100 &&
           ct_is_progress(r, i, NULL) && ct_step_of(r, &step) == 0 && step == 100;
}

static int ends_attempt(const ota_trace_rec *r, size_t i, void *arg)
{
    ct_attempt *a = arg;
    return ct_is_fail_step(r, i, NULL) || ct_is_inform(r, i, a->info.version) ||
           ct_is_start(r, i, NULL) || is_success_step(r, i);
}

static int reports(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_fail_step(r, i, NULL) || ct_is_inform(r, i, NULL) || is_success_step(r, i);
}

/* Classify the record that ended the attempt (a step or an inform). */
static void conclude(ct_attempt *a, long i)
{
    const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
    ota_inform in;

    a->end_at = i;
    if (ct_is_fail_step(r, i, NULL)) {
        a->outcome = CT_UP_FAILED;
        ct_step_of(r, &a->step);
    } else if (ct_is_inform(r, i, a->info.version) || is_success_step(r, i)) {
        a->outcome = CT_UP_SUCCEEDED;
    } else {
        a->outcome = CT_UP_OTHER_VERSION;
        if (ota_inform_parse((const char *)r->payload, r->payload_len, &in) == OTA_OK)
            snprintf(a->reported, sizeof(a->reported), "%s", in.version);
    }
}

/*
 * Any sign that the device acted on the push: a block request counts too, so
 * that an attempt that has started is bounded by FAIL-2's 60 s, never by
 * PUSH-1's 10 s (a device may report no progress before its first block and
 * resume only after a block timeout of its own).
 */
static int reacts(const ota_trace_rec *r, size_t i, void *arg)
{
    return ends_attempt(r, i, arg) || ct_is_progress(r, i, NULL) || ct_is_http(r, i, NULL) ||
           ct_is_uplink(r, i, (void *)"/thing/file/download");
}

static int is_undelivered(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return r->kind == OTA_TR_BROKER && r->event == OTA_EV_UNDELIVERED && !strcmp(r->dev, ct.dev.dn);
}

/* Was the device connected when record `at` was written? */
static int was_connected_at(size_t at)
{
    for (size_t i = at; i-- > 0;) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        if (ct_is_connect_rec(r))
            return 1;
        if (ct_is_disconnect_rec(r))
            return 0;
    }
    return 0;
}

/*
 * No reaction to a push is the device's fault only when the push reached it.
 * It did not when the device was offline (the plugin says "undelivered"),
 * and nobody can tell on a broker without our plugin, where a device that
 * did not subscribe gets nothing.
 */
static int late_request(const ota_trace_rec *r, size_t i, void *arg)
{
    int job;
    long long stream;
    (void)i;
    (void)arg;
    return ct_is_request(r, &job, &stream) &&
           (job >= 0 ? !ct_job_of_test(job) : !ct_is_stream_of_test(stream));
}

/*
 * A device that did not act on the push because it is still busy with a job
 * of an earlier test (it keeps asking for that job's file): the rule it
 * breaks is FAIL-R, once, with the evidence, not the rule of this test.
 */
static void check_stuck(const ct_attempt *a)
{
    long i;
    char where[400];

    /*
     * Only a push of a kind it handled before: a device busy with an old
     * job (or with download threads of earlier tests) that takes other
     * kinds of push at once is not stuck when it ignores this kind.
     */
    if (!(ct.kinds_handled & attempt_kind(a)))
        return;
    i = ct_scan(a->push_at, mc_trace_count(ct.cloud), late_request, NULL);
    if (i < 0)
        return;
    ct_describe((size_t)i, where, sizeof(where));
    ct_fail("FAIL-R",
            "the device did not act on the push of %s: it is still busy with a job of an earlier "
            "test (%s); after a failure the next upgrade must succeed, with no stuck state",
            a->info.version, where);
}

void ct_check_push_reached(const ct_attempt *a)
{
    check_stuck(a);
    if (!mc_cloud_plugin(ct.cloud))
        ct_inconclusive("the device showed no reaction to the push of %s, but on a broker "
                        "without the otaauth plugin the cloud cannot deliver a push the device "
                        "did not subscribe to (/ota/device/upgrade/%s/%s), nor see whether it "
                        "did: not judged",
                        a->info.version, ct.dev.pk, ct.dev.dn);
    if (ct_scan(a->push_at, mc_trace_count(ct.cloud), is_undelivered, NULL) >= 0 ||
        !was_connected_at(a->push_at))
        ct_inconclusive("the push of %s could not reach the device: it was not connected to "
                        "the broker; not judged",
                        a->info.version);
}

static int dropped_by_device(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return ct_is_disconnect_rec(r) || ct_is_cloud_drop(r);
}

void ct_check_not_crashed(const ct_attempt *a, const char *rule, const char *what)
{
    long i = ct_find(a->reached_at, CT_S(CRASH), dropped_by_device, NULL);
    char where[400];

    if (i < 0 || ct_is_cloud_drop(mc_trace_at(ct.cloud, (size_t)i)) || ct.crash_warned > ct.t_begin)
        return; /* (a crash the adapter saw was named already, with its exit status) */
    ct_describe((size_t)i, where, sizeof(where));
    ct_check(rule, 0, "the device dropped its connection after %s (a crash?) %s", what, where);
}

static int is_hundred(const ota_trace_rec *r, size_t i, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, i, NULL) && ct_step_of(r, &step) == 0 && step == 100;
}

long ct_hundred_since(size_t from)
{
    return ct_scan(from, mc_trace_count(ct.cloud), is_hundred, NULL);
}

/* The attempt reported step "100". */
static int has_downloaded(const ct_attempt *a)
{
    return ct_hundred_since(a->push_at) >= 0;
}

/*
 * An attempt's bound: the tests give judging.md's defaults (FINAL-1's and
 * FAIL-2's 60 s); a profile that lengthens either lengthens every attempt.
 */
static double attempt_bound(double timeout_s)
{
    double longest = ct.bounds.final > ct.bounds.failure ? ct.bounds.final : ct.bounds.failure;
    double dflt = CT_S(FINAL) > CT_S(FAILURE) ? CT_S(FINAL) : CT_S(FAILURE);
    return longest > dflt ? timeout_s * longest / dflt : timeout_s;
}

/*
 * A push the device does not act on at all, for a reason judging.md allows
 * (FAIL-1: a push it cannot use may be ignored): a device without MQTT block
 * download, or one that verifies only MD5 and drops SHA-256 pushes.
 * The rules of such a test do not apply to it.
 */
static void not_taken(const ct_attempt *a)
{
    unsigned k = attempt_kind(a);

    /*
     * Blocks only: every test of a block push ends here when it is ignored,
     * so the shortcut changes no verdict, only the wait. A SHA-256 push
     * ignored in PUSH-4's test warns there instead, so learning it would make
     * that verdict depend on the order of the tests.
     */
    if (k == KIND_BLOCKS && !(ct.kinds_handled & k))
        ct.kinds_ignored |= k; /* the rest of the block tests are N/A at once */
    if (a->info.mqtt)
        ct_na("N/A: the device did not act on a push for MQTT block download (dProtocol mqtt, no "
              "url) within %.0f s: it takes no block downloads, which a device may leave out",
              ct_secs(ct.bounds.react));
    if (strlen(a->info.digest_hex) == 64)
        ct_na("N/A: the device did not act on a push signed with SHA-256 within %.0f s: it takes "
              "only MD5 packages, and may ignore a push it cannot use "
              "(FAIL-1)",
              ct_secs(ct.bounds.react));
}

static int is_block_request_of(const ota_trace_rec *r, size_t i, void *arg)
{
    int job;
    long long stream;
    (void)i;
    return ct_is_request(r, &job, &stream) && job < 0 && stream == *(const long long *)arg;
}

/*
 * "-1" at once to a well-formed push for MQTT block download, with no block
 * asked for, from a device never seen to take one: it has no block download
 * and says so, as FAIL-1 lets a device answer a push it cannot use. N/A like
 * a device that ignores such pushes (not_taken), learned for the run.
 */
static void check_blocks_declined(const ct_attempt *a, unsigned handled_before)
{
    if (!a->info.mqtt || a->unusable || a->outcome != CT_UP_FAILED || a->step != -1 ||
        (handled_before & KIND_BLOCKS) ||
        ct_scan(a->push_at, mc_trace_count(ct.cloud), is_block_request_of,
                (void *)&a->info.stream_id) >= 0)
        return;
    ct.kinds_handled = handled_before;
    blocks_refused = 1;
    ct.kinds_ignored |= KIND_BLOCKS; /* the rest of the block tests are N/A at once */
    ct_na("N/A: the device answered a push for MQTT block download (dProtocol mqtt, no url) "
          "with \"-1\" before asking for any block: it takes no block downloads, which a "
          "device may leave out (\"-1\" is its answer to a push it cannot use, FAIL-1)");
}

/* mock-cloud's record of a pending job pushed again when the device connected (PUSH-8). */
static int is_redelivery(const ota_trace_rec *r, size_t i, void *arg)
{
    char want[80];
    (void)i;

    snprintf(want, sizeof(want), "job %d still pending: delivered again on reconnect",
             *(const int *)arg);
    return r->kind == OTA_TR_CLOUD && !strcmp(r->info, want);
}

/* The adapter saw the device crash, or the suite stop it. */
static int crashed_or_stopped(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return ct_is_dut_event(r, OTA_EV_CRASH) || ct_is_dut_event(r, OTA_EV_KILLED);
}

/*
 * A boot that may be a reboot of the device's own, already under way when
 * the push came. A device the suite cannot reboot shows nothing more. One it
 * can (a process, a board with a reset method) is restarted by its adapter
 * after a crash too, so its boot counts only when nothing but its own exit
 * came before it (no crash, no stop) and the cloud delivered the push again
 * on its reconnect, within VER-1's bound (a crash on the push is judged as
 * it was).
 */
static int is_own_reboot(const ct_attempt *a, long boot)
{
    int job = a->job;

    if (!ct.can_reset)
        return 1;
    if (ct_scan(a->reached_at, (size_t)boot, crashed_or_stopped, NULL) >= 0)
        return 0;
    /* (from the push on: the adapter's start and the broker's connect race into the trace) */
    return ct_find(a->reached_at, ct.bounds.inform, is_redelivery, &job) >= 0;
}

/*
 * The first sign of life after the push: a boot before the device acted on
 * the push at all is a reboot of its own that was already under way (some
 * firmware restarts a few seconds after every failure, and a push landing
 * then is lost with the old run), whatever the adapter. The cloud delivers a
 * pending job again when the device connects, so the attempt goes on from
 * that boot (*from moves to it), once; a second boot before any reaction (a
 * device crashing on the push) ends it as before.
 */
static long first_reaction(ct_attempt *a, double react_s, size_t *from)
{
    long i = ct_find(*from, react_s, reacts, a);

    if (i < 0 || !ct_is_start(mc_trace_at(ct.cloud, (size_t)i), (size_t)i, NULL) ||
        !is_own_reboot(a, i))
        return i;
    mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                 "the device rebooted (record %ld) before it acted on the push of %s: its "
                 "pending job is delivered again on reconnect, and the attempt goes on",
                 i, a->info.version);
    *from = a->reached_at = (size_t)i + 1;
    return ct_find(*from, react_s, reacts, a);
}

/*
 * Every inform of a boot within VER-1's bound is judged (judging.md,
 * FINAL-1): a device whose first report after the reboot names another
 * version (a HAL's stock version sent at connect) and whose next one, still
 * within the bound counted from its connect, names the target has upgraded.
 * The extra report warns VER-7 (one inform per boot).
 */
static void target_in_boot(ct_attempt *a, long boot, long first)
{
    long c = ct_scan((size_t)boot, (size_t)first, ct_is_connect, NULL);
    const ota_trace_rec *from = mc_trace_at(ct.cloud, (size_t)(c >= 0 ? c : boot));
    double left = (from->t + ct_secs(ct.bounds.inform) - mc_now(ct.cloud)) / ct.scale;
    long k = ct_find((size_t)first + 1, left > 0 ? left : 0, ct_is_inform, a->info.version);
    char where[400], other[OTA_MAX_VERSION + 1];

    /* Only the same boot's reports: a later boot's target is the next attempt's. */
    if (k < 0 || ct_scan((size_t)first + 1, (size_t)k, ct_is_start, NULL) >= 0)
        return;
    snprintf(other, sizeof(other), "%s", a->reported);
    ct_describe((size_t)first, where, sizeof(where));
    a->outcome = CT_UP_SUCCEEDED;
    a->end_at = k;
    a->reported[0] = '\0';
    ct_check("VER-7", 0,
             "after its reboot the device reported version \"%s\" %s, then the target %s within "
             "VER-1's bound: the target counts (FINAL-1), but a boot should report once",
             other, where, a->info.version);
}

/*
 * The attempt ran out after a step "100": in a dialect where that step alone
 * is success it succeeded (whatever came between); elsewhere the version
 * report is missing (FINAL-1).
 */
static void hundred_alone(ct_attempt *a)
{
    long h = ct_hundred_since(a->push_at);

    if (ct.dialect && ct.dialect->success == OTA_SUCCESS_STEP_100 && h >= 0) {
        a->outcome = CT_UP_SUCCEEDED;
        a->end_at = h;
        return;
    }
    a->outcome = CT_UP_DOWNLOADED;
}

static void await_bounded(ct_attempt *a, double timeout_s);

/* The wait for an attempt's outcome, announced once with its whole bound (ct_live_wait). */
void ct_await(ct_attempt *a, double timeout_s)
{
    int long_wait = ct.cur && ct_secs(attempt_bound(timeout_s)) >= CT_LIVE_STILL_S;

    if (long_wait) {
        ct_live_wait(ct_secs(attempt_bound(timeout_s)), ct_wait_rule(timeout_s));
        ct_harness.wait_announced = ct.cur;
    }
    await_bounded(a, timeout_s);
    if (long_wait) {
        ct_harness.wait_announced = NULL;
        ct_live_wait(0, NULL);
    }
}

static void await_bounded(ct_attempt *a, double timeout_s)
{
    double end = mc_now(ct.cloud) + ct_secs(attempt_bound(timeout_s));
    double react = ct.bounds.react;
    size_t from = a->push_at;
    unsigned handled_before = ct.kinds_handled;
    long first;

    a->outcome = CT_UP_TIMEOUT;
    /* A device that ignores the push is not waited on for the whole bound. */
    first = first_reaction(a, timeout_s < react ? timeout_s : react, &from);
    if (first >= 0) {
        /* It acted on this kind of push (a crash or a reboot is no sign of that). */
        if (!ct_is_start(mc_trace_at(ct.cloud, (size_t)first), (size_t)first, NULL))
            ct.kinds_handled |= attempt_kind(a);
    } else {
        a->outcome = timeout_s <= react ? CT_UP_TIMEOUT : CT_UP_NOT_STARTED;
        mc_job_get(ct.cloud, a->job, &a->info);
        if (a->outcome == CT_UP_NOT_STARTED) {
            ct_check_push_reached(a);
            not_taken(a);
        }
        return;
    }
    for (;;) {
        double left = (end - mc_now(ct.cloud)) / ct.scale;
        long i = left > 0 ? ct_find(from, left, ends_attempt, a) : -1, j;
        if (i < 0)
            break;
        if (!ct_is_start(mc_trace_at(ct.cloud, (size_t)i), (size_t)i, NULL)) {
            conclude(a, i);
            check_blocks_declined(a, handled_before);
            break;
        }
        /*
         * A dialect without a version report (ThingsPanel): a boot says
         * nothing, and step "100" alone is success, before or after it.
         */
        if (!ota_dialect_has(ct.dialect, OTA_TOPIC_INFORM)) {
            from = (size_t)i + 1;
            continue;
        }
        /* A reboot: the device must speak within VER-1's bound. */
        j = ct_find((size_t)i + 1, ct.bounds.inform, reports, NULL);
        if (j < 0) {
            a->outcome = CT_UP_SILENT_BOOT;
            a->end_at = i;
            break;
        }
        conclude(a, j);
        if (a->outcome == CT_UP_OTHER_VERSION)
            target_in_boot(a, i, j);
        break;
    }
    if (a->outcome == CT_UP_TIMEOUT && has_downloaded(a))
        hundred_alone(a);
    mc_job_get(ct.cloud, a->job, &a->info);
    ct_check_image_after(a); /* VER-6: the image it runs is the one it reports */
}

void ct_final_reported(const ct_attempt *a)
{
    if (a->outcome == CT_UP_DOWNLOADED)
        ct_fail("FINAL-1", "%s", ct_outcome_text(a));
    if ((a->outcome == CT_UP_OTHER_VERSION || a->outcome == CT_UP_SILENT_BOOT) && has_downloaded(a))
        ct_fail("FINAL-1",
                "the download finished (step \"100\"), then %s: after a successful download "
                "the device must report version %s",
                ct_outcome_text(a), a->info.version);
}

const char *ct_outcome_text(const ct_attempt *a)
{
    static char buf[256];

    switch (a->outcome) {
    case CT_UP_SUCCEEDED:
        snprintf(buf, sizeof(buf), "the target version %s was reported", a->info.version);
        break;
    case CT_UP_FAILED:
        snprintf(buf, sizeof(buf), "step \"%d\"", a->step);
        break;
    case CT_UP_OTHER_VERSION:
        snprintf(buf, sizeof(buf), "a reboot, then version \"%s\" instead of %s", a->reported,
                 a->info.version);
        break;
    case CT_UP_NOT_STARTED:
        snprintf(buf, sizeof(buf),
                 "no reaction to the push within %.0f s (no download, no "
                 "progress)",
                 ct_secs(ct.bounds.react));
        break;
    case CT_UP_SILENT_BOOT:
        snprintf(buf, sizeof(buf), "a reboot, then no version report within %.0f s",
                 ct_secs(ct.bounds.inform));
        break;
    case CT_UP_DOWNLOADED:
        snprintf(buf, sizeof(buf),
                 "the download finished (step \"100\"), but the device never reported version "
                 "%s: progress 100 alone is not success, the new version must be reported "
                 "within %.0f s",
                 a->info.version, ct_secs(ct.bounds.final));
        break;
    default:
        snprintf(buf, sizeof(buf), "nothing (no failure step, no version report)");
    }
    return buf;
}

void ct_upgrade(ct_attempt *a, const mc_job_spec *s, double timeout_s)
{
    ct_push(a, s);
    ct_await(a, timeout_s);
}

/*
 * The image= of a STATUS reply after a boot, "" when there is none; -1 when
 * the channel did not answer. A board's channel may come up a moment after
 * its version report (its port comes back after the reboot): asked again
 * until READY's bound.
 */
int ct_status_image(char *buf, size_t cap)
{
    char reply[DUT_MAX_LINE], line[DUT_MAX_LINE + 16];
    double end = mc_now(ct.cloud) + ct_secs(CT_S(READY));
    dut_line l;

    buf[0] = '\0';
    while (!dut_has_channel(ct.dut) ||
           dut_command(ct.dut, "STATUS", reply, sizeof(reply), ct_secs(CT_S(CHANNEL))) != DUT_OK) {
        if (mc_now(ct.cloud) >= end)
            return -1;
        ota_sleep(0.05);
    }
    snprintf(line, sizeof(line), "@0 OK %s", reply);
    dut_line_parse(line, &l);
    if (dut_line_arg(&l, "image"))
        snprintf(buf, cap, "%s", dut_line_arg(&l, "image"));
    return 0;
}

void ct_running_version(char *buf, size_t cap)
{
    char reply[DUT_MAX_LINE];
    long s;

    buf[0] = '\0';
    if (dut_has_channel(ct.dut) &&
        dut_command(ct.dut, "STATUS", reply, sizeof(reply), ct_secs(CT_S(CHANNEL))) == DUT_OK) {
        dut_line l;
        char line[DUT_MAX_LINE + 16];
        snprintf(line, sizeof(line), "@0 OK %s", reply);
        dut_line_parse(line, &l);
        if (dut_line_arg(&l, "version")) {
            snprintf(buf, cap, "%s", dut_line_arg(&l, "version"));
            return;
        }
    }
    if (!ct.can_reset) { /* it reports its version at every (re)connect: the last report */
        mc_device_info d;
        if (mc_device_get(ct.cloud, ct.dev.dn, &d) == MC_OK)
            snprintf(buf, cap, "%s", d.reported_version);
        return;
    }
    s = ct_reboot();
    if (s >= 0) {
        long i = ct_find((size_t)s, ct.bounds.inform, ct_is_inform, NULL);
        ota_inform in;
        const ota_trace_rec *r = i >= 0 ? mc_trace_at(ct.cloud, (size_t)i) : NULL;
        if (r && ota_inform_parse((const char *)r->payload, r->payload_len, &in) == OTA_OK)
            snprintf(buf, cap, "%s", in.version);
    }
}
