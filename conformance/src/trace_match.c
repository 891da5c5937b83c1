/*
 * Matching the trace: the predicates on what the device sent, the waits
 * (ct_find, ct_quiet) and scans (ct_scan) that apply them, and lateness (a
 * record of an earlier test's job is shown, never judged). Every wait is
 * bounded by a deadline scaled with --time-scale, and ends early as soon as
 * the awaited record arrives in the trace.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "harness_int.h"

ct_harness_state ct_harness;

/* A device record's text after its event's name ("crash: <status>" gives the status). */
const char *ct_dut_text(const ota_trace_rec *r)
{
    size_t n = strlen(ota_trace_event_name(r->event)) + 2;
    return strlen(r->info) >= n ? r->info + n : "";
}

int ct_is_dut_event(const ota_trace_rec *r, ota_trace_event e)
{
    return r->kind == OTA_TR_DUT && r->event == e;
}

/*
 * A crash inside the running test breaks the test's first rule through that
 * rule's tier, like any other answer (judging.md, FAIL-1): a MUST fails the
 * test; a SHOULD warns once per test, naming the crash's exit status and the
 * device's last log lines, and the test goes on (--strict fails it).
 */
static void check_crash(const ota_trace_rec *r, size_t i)
{
    char rule[16] = "PUSH-1";

    if (!ct.cur || i < ct.t_begin || !ct_is_dut_event(r, OTA_EV_CRASH) ||
        ct.crash_warned > ct.t_begin)
        return;
    sscanf(ct.cur->rules, "%15s", rule);
    ct.crash_warned = i + 1; /* once per test: a device crashing on every redelivery warns once */
    ct_check(rule, 0, "the device crashed during the test: %s", ct_dut_text(r));
}

long ct_scan(size_t from, size_t to, ct_pred pred, void *arg)
{
    size_t n = mc_trace_count(ct.cloud);

    /* (size_t)-1 from an attempt that never ended means "up to now": never past the end. */
    if (to > n)
        to = n;
    for (size_t i = from; i < to; i++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        if (r && pred(r, i, arg))
            return (long)i;
    }
    return -1;
}

/* A refused login (seen while settling) fails every test at once, citing SEC-1. */
static void check_refused(void)
{
    if (ct.cur && ct.refused[0])
        ct_fail("SEC-1", "the broker refused the device's login: %s", ct.refused);
}

static int is_same_s(double a, double b)
{
    return a > b - 1e-6 && a < b + 1e-6;
}

/*
 * The rule a wait of timeout_s seconds stands for, or NULL: the first rule
 * the running test cites whose bound it is, else any rule with that bound.
 */
const char *ct_wait_rule(double timeout_s)
{
    static char cited[16];
    char rules[128], *tok, *save = NULL;
    ota_bound_id id;
    const struct {
        double s;
        const char *rule;
    } profile[] = {{ct.bounds.final, "FINAL-1"},
                   {ct.bounds.failure, "FAIL-2"},
                   {ct.bounds.react, "PUSH-1"},
                   {ct.bounds.inform, "VER-1"}};

    snprintf(rules, sizeof(rules), "%s", ct.cur ? ct.cur->rules : "");
    for (tok = strtok_r(rules, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        for (size_t k = 0; k < sizeof(profile) / sizeof(profile[0]); k++)
            if (!strcmp(tok, profile[k].rule)
                    ? is_same_s(timeout_s, profile[k].s)
                    : ota_bound_find(tok, &id) == OTA_OK && is_same_s(timeout_s, ota_bound_s(id))) {
                snprintf(cited, sizeof(cited), "%s", tok);
                return cited;
            }
    for (size_t k = 0; k < sizeof(profile) / sizeof(profile[0]); k++)
        if (is_same_s(timeout_s, profile[k].s))
            return profile[k].rule;
    for (int k = 0; k < OTA_BOUND__COUNT; k++) {
        const ota_bound *b = ota_bound_at((ota_bound_id)k);
        if (b && b->name[0] >= 'A' && b->name[0] <= 'Z' && is_same_s(timeout_s, b->seconds))
            return b->name;
    }
    return NULL;
}

static long find_until(size_t from, double timeout_s, ct_pred pred, void *arg);

/* A long wait is announced to the runner, which says so in CI while it lasts (live.c). */
long ct_find(size_t from, double timeout_s, ct_pred pred, void *arg)
{
    int long_wait =
        ct.cur && ct_harness.wait_announced != ct.cur && ct_secs(timeout_s) >= CT_LIVE_STILL_S;
    long i;

    if (long_wait)
        ct_live_wait(ct_secs(timeout_s), ct_wait_rule(timeout_s));
    i = find_until(from, timeout_s, pred, arg);
    if (long_wait)
        ct_live_wait(0, NULL);
    return i;
}

static long find_until(size_t from, double timeout_s, ct_pred pred, void *arg)
{
    double deadline = mc_now(ct.cloud) + ct_secs(timeout_s);
    size_t i = from;

    check_refused();
    for (;;) {
        size_t n = mc_trace_count(ct.cloud);
        ct_end_if_interrupted();
        for (; i < n; i++) {
            const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
            check_crash(r, i);
            if (ct.cur && i >= ct.t_begin && ct_is_refused(r, i, NULL))
                ct_fail("SEC-1", "the broker refused the device's login: %s", r->info);
            if (pred(r, i, arg))
                return (long)i;
        }
        if (mc_now(ct.cloud) >= deadline || ct_interrupted)
            return -1;
        /* In slices, so that an interruption is seen within a quarter second. */
        mc_trace_wait(ct.cloud, n,
                      deadline < mc_now(ct.cloud) + 0.25 ? deadline : mc_now(ct.cloud) + 0.25);
    }
}

size_t ct_quiet(size_t from, double quiet_s, ct_pred pred, void *arg, double max_s)
{
    double end = mc_now(ct.cloud) + ct_secs(max_s);

    for (;;) {
        double left = (end - mc_now(ct.cloud)) / ct.scale;
        long i = ct_find(from, left < quiet_s ? left : quiet_s, pred, arg);
        if (i < 0 || left <= 0)
            return mc_trace_count(ct.cloud);
        from = (size_t)i + 1;
    }
}

static int is_from_device(const ota_trace_rec *r, ota_topic_kind k)
{
    char want[OTA_MAX_TOPIC + 1];

    if (r->kind != OTA_TR_MQTT_IN || strcmp(r->dev, ct.dev.dn))
        return 0;
    /* The dialect's topic; a message the dialect lacks never matches. */
    if (ota_dialect_topic_build(ct.dialect, k, 0, ct.dev.pk, ct.dev.dn, want, sizeof(want)) !=
        OTA_OK)
        return 0;
    return !strcmp(r->topic, want);
}

int ct_is_up(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    if (ota_dialect_has(ct.dialect, OTA_TOPIC_INFORM))
        return ct_is_inform(r, i, NULL);
    return ct_is_connect(r, i, NULL) && !strcmp(r->dev, ct.dev.dn);
}

int ct_is_inform(const ota_trace_rec *r, size_t i, void *arg)
{
    ota_inform in;
    (void)i;

    if (!is_from_device(r, OTA_TOPIC_INFORM))
        return 0;
    if (!arg)
        return 1;
    return ota_inform_parse((const char *)r->payload, r->payload_len, &in) == OTA_OK &&
           !strcmp(in.version, (const char *)arg);
}

static int is_late(const ota_trace_rec *r, size_t i);

int ct_is_progress(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return is_from_device(r, OTA_TOPIC_PROGRESS) && !is_late(r, i);
}

int ct_is_progress_any(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return is_from_device(r, OTA_TOPIC_PROGRESS);
}

int ct_step_of(const ota_trace_rec *r, int *step)
{
    ota_progress p;
    int rc = ota_dialect_progress_parse(ct.dialect, (const char *)r->payload, r->payload_len, &p);

    if (rc != OTA_OK && rc != OTA_ERR_RANGE)
        return -1;
    *step = p.step;
    return 0;
}

int ct_is_fail_step(const ota_trace_rec *r, size_t i, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, i, NULL) && ct_step_of(r, &step) == 0 && step < 0;
}

/*
 * Something the cloud did that drops the device's connection: a kick, a
 * session fault, a broker restart. The reconnect that follows is not a boot.
 */
int ct_is_cloud_drop(const ota_trace_rec *r)
{
    return (r->kind == OTA_TR_FAULT &&
            (r->event == OTA_EV_SESSION_KICK || r->event == OTA_EV_BROKER_RESTART)) ||
           (r->kind == OTA_TR_BROKER && r->event == OTA_EV_KICK);
}

/*
 * A boot of a device we only see on the network (or on a serial port): a
 * connect whose previous connection the cloud did not drop itself. Looks
 * back from record i to the device's previous connect.
 */
static int is_boot_connect(size_t i)
{
    const ota_trace_rec *r = mc_trace_at(ct.cloud, i);

    if (!r || !ct_is_connect_rec(r))
        return 0;
    while (i-- > 0) {
        const ota_trace_rec *p = mc_trace_at(ct.cloud, i);
        if (ct_is_connect_rec(p))
            return 1;
        if (ct_is_cloud_drop(p) && (!p->dev[0] || !strcmp(p->dev, ct.dev.dn)))
            return 0;
    }
    return 1;
}

int ct_is_start(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    if (ct.boot_by_connect)
        return is_boot_connect(i);
    return ct_is_dut_event(r, OTA_EV_START);
}

/*
 * Late messages: a download request that provably belongs to a job of an
 * earlier test (its URL names the job, a block request its stream) is shown
 * in the trace as late and never judged against the running test.
 */
int ct_job_of_test(int job)
{
    for (int k = 0; k < ct.njobs; k++)
        if (ct.jobs[k] == job)
            return 1;
    return 0;
}

int ct_is_stream_of_test(long long stream)
{
    for (int k = 0; k < ct.njobs; k++)
        if (ct.streams[k] == stream)
            return 1;
    return 0;
}

/* At most this many late records are named per test: a looping device must not grow the trace. */
#define CT_LATE_NOTES 10

static void note_late(size_t i, const char *what)
{
    static size_t noted[CT_LATE_NOTES], begin;
    static int n;

    if (begin != ct.t_begin) { /* a new test */
        begin = ct.t_begin;
        n = 0;
    }
    for (int k = 0; k < n; k++)
        if (noted[k] == i)
            return;
    if (n >= CT_LATE_NOTES)
        return;
    noted[n++] = i;
    mc_trace_event(ct.cloud, OTA_TR_CLOUD, MC_EV(OTA_EV_LATE), ct.dev.dn, NULL, NULL, 0,
                   "late: record %zu is %s of an earlier test: shown, not judged%s", i, what,
                   n == CT_LATE_NOTES ? " (more late records in this test are not named)" : "");
}

/* A download request of the device: the job its URL names, or the stream it asks for. */
int ct_is_request(const ota_trace_rec *r, int *job, long long *stream)
{
    ota_block_request q;

    *job = -1;
    *stream = -1;
    if (r->kind == OTA_TR_HTTP && !strcmp(r->dev, ct.dev.dn) && r->event == OTA_EV_HTTP_GET)
        return sscanf(r->topic, "/ota/%d/", job) == 1;
    /* The cloud's count of repeated requests stands for the requests it did not store. */
    if (r->kind == OTA_TR_CLOUD && !strcmp(r->dev, ct.dev.dn) && r->event == OTA_EV_REPEATED &&
        r->of == OTA_EV_HTTP_GET)
        return sscanf(r->topic, "/ota/%d/", job) == 1;
    if (r->kind == OTA_TR_MQTT_IN && !strcmp(r->dev, ct.dev.dn) &&
        strstr(r->topic, "/thing/file/download") &&
        ota_block_request_parse((const char *)r->payload, r->payload_len, &q) == OTA_OK) {
        *stream = q.stream_id;
        return 1;
    }
    return 0;
}

/*
 * A progress message carries no job. When every download request the
 * device made in this test so far was for a job of an earlier test (a
 * device still looping on an old URL), the progress belongs to that job;
 * once it asked for this test's job, its progress is this test's (a device
 * retrying old jobs beside the new one).
 */
static int is_late_progress(size_t i)
{
    int late = 0;

    while (i-- > ct.t_begin) {
        int job;
        long long stream;
        if (!ct_is_request(mc_trace_at(ct.cloud, i), &job, &stream))
            continue;
        if (job >= 0 ? ct_job_of_test(job) : ct_is_stream_of_test(stream))
            return 0; /* it works on this test's job (maybe beside old ones): its progress */
        late = 1;
    }
    return late;
}

static int is_late(const ota_trace_rec *r, size_t i)
{
    int job;
    ota_block_request q;

    if (!ct.cur || !ct.njobs)
        return 0;
    if (r->kind == OTA_TR_MQTT_IN && strstr(r->topic, "/ota/device/progress/") &&
        is_late_progress(i)) {
        note_late(i, "progress of a download for a job");
        return 1;
    }
    if (r->kind == OTA_TR_HTTP && sscanf(r->topic, "/ota/%d/", &job) == 1 && !ct_job_of_test(job)) {
        note_late(i, "a download request for a job");
        return 1;
    }
    if (r->kind == OTA_TR_MQTT_IN && strstr(r->topic, "/thing/file/download") &&
        ota_block_request_parse((const char *)r->payload, r->payload_len, &q) == OTA_OK &&
        !ct_is_stream_of_test(q.stream_id)) {
        note_late(i, "a block request for the stream of a job");
        return 1;
    }
    return 0;
}

int ct_is_http(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return r->kind == OTA_TR_HTTP && !strcmp(r->dev, ct.dev.dn) && !is_late(r, i);
}

/*
 * A broker event about our device: the login named it, or (a refused
 * login whose username did not) its clientId does.
 */
static int is_broker_event(const ota_trace_rec *r, ota_trace_kind kind, ota_trace_event e)
{
    return r->kind == kind && r->event == e &&
           (!strcmp(r->dev, ct.dev.dn) || ota_client_id_names(r->client, ct.dev.pk, ct.dev.dn));
}

int ct_is_refused(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return is_broker_event(r, OTA_TR_ERROR, OTA_EV_AUTH_REFUSED);
}

int ct_is_denied(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return is_broker_event(r, OTA_TR_ERROR, OTA_EV_ACL_DENIED);
}

int ct_is_connect(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return is_broker_event(r, OTA_TR_BROKER, OTA_EV_CONNECT);
}

int ct_is_connect_rec(const ota_trace_rec *r)
{
    return is_broker_event(r, OTA_TR_BROKER, OTA_EV_CONNECT);
}

int ct_is_disconnect_rec(const ota_trace_rec *r)
{
    return is_broker_event(r, OTA_TR_BROKER, OTA_EV_DISCONNECT);
}

int ct_is_uplink(const ota_trace_rec *r, size_t i, void *suffix)
{
    size_t n = strlen(r->topic), k = strlen(suffix);
    return r->kind == OTA_TR_MQTT_IN && !strcmp(r->dev, ct.dev.dn) && n > k &&
           !strcmp(r->topic + n - k, suffix) && !is_late(r, i);
}

int ct_is_get(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_http(r, i, NULL) && r->event == OTA_EV_HTTP_GET;
}
