/*
 * Verdicts, waits and the upgrade helper shared by every test group. Every
 * wait is bounded by a deadline scaled with --time-scale, and ends early as
 * soon as the awaited record arrives in the trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "firmware.h"

ct_ctx ct;
volatile sig_atomic_t ct_interrupted;

/* Where text was cut to fit, it ends in "…" (on a character boundary): never a silent cut. */
static void mark_cut(char *buf, size_t cap, int wanted)
{
    size_t at;

    if (wanted < 0 || (size_t)wanted < cap || cap < 8)
        return;
    at = cap - 4; /* room for the 3 bytes of "…" and the NUL */
    while (at > 0 && ((unsigned char)buf[at] & 0xC0) == 0x80)
        at--;
    memcpy(buf + at, "\xe2\x80\xa6", 4);
}

static void put_text(char *buf, size_t cap, const char *fmt, va_list ap)
{
    mark_cut(buf, cap, vsnprintf(buf, cap, fmt, ap));
}

/*
 * SIGINT or SIGTERM came: the running test ends at its next wait, marked
 * unfinished (it is not the device's fault); outside a test the wait just
 * ends. The runner starts no further test.
 */
static void check_interrupted(void)
{
    if (!ct_interrupted || !ct.cur)
        return;
    if (ct.cur->verdict != RP_FAIL) {
        ct.cur->verdict = RP_UNFINISHED;
        snprintf(ct.cur->message, sizeof(ct.cur->message),
                 "interrupted: the run was stopped (SIGINT, SIGTERM or SIGHUP) before this test "
                 "ended");
    }
    fail();
}

double ct_secs(double s)
{
    return s * ct.scale;
}

/*
 * The records this test described (ct_describe), newest last: a failure
 * whose message quotes one names that record as its evidence, by its trace
 * index, and the report outlines it from there.
 */
#define CT_DESCRIBED 8

static struct {
    size_t begin; /* the test they belong to (its t_begin) */
    int n;
    size_t idx[CT_DESCRIBED];
    char text[CT_DESCRIBED][400];
} described;

static void remember_described(size_t idx, const char *text)
{
    int k;

    if (described.begin != ct.t_begin) {
        described.begin = ct.t_begin;
        described.n = 0;
    }
    if (described.n == CT_DESCRIBED) {
        memmove(&described.idx[0], &described.idx[1],
                sizeof(described.idx[0]) * (CT_DESCRIBED - 1));
        memmove(&described.text[0], &described.text[1],
                sizeof(described.text[0]) * (CT_DESCRIBED - 1));
        described.n--;
    }
    k = described.n++;
    described.idx[k] = idx;
    snprintf(described.text[k], sizeof(described.text[k]), "%s", text);
}

/* The test's begin record: the evidence is counted from it, as the report counts. */
static size_t begin_record(void)
{
    size_t n = mc_trace_count(ct.cloud);

    for (size_t i = ct.t_begin; i < n; i++)
        if (mc_trace_at(ct.cloud, i)->event == OTA_EV_TEST_BEGIN)
            return i;
    return ct.t_begin;
}

static void attach_evidence(rp_test *t)
{
    for (int k = described.begin == ct.t_begin ? described.n : 0; k-- > 0;) {
        /* Our own sentence, not the trace's text: which described record the message cites. */
        if (described.text[k][0] && strstr(t->message, described.text[k])) {
            t->has_evidence = 1;
            t->evidence = (long)described.idx[k] - (long)begin_record();
            return;
        }
    }
}

static void record_failure(const char *rule, const char *fmt, va_list ap)
{
    rp_test *t = ct.cur;

    if (!t || t->verdict == RP_FAIL)
        return;
    t->verdict = RP_FAIL;
    snprintf(t->failed_rule, sizeof(t->failed_rule), "%s", rule);
    put_text(t->message, sizeof(t->message), fmt, ap);
    attach_evidence(t);
}

void ct_fail(const char *rule, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record_failure(rule, fmt, ap);
    va_end(ap);
    fail(); /* the message is ours; CMocka only ends the test */
}

void ct_check(const char *rule, int ok, const char *fmt, ...)
{
    const ct_rule *r = ct_rule_find(rule);
    va_list ap;

    if (ok)
        return;
    if (!r) {
        /* A harness bug, not the device's: conformance/tests/rule_ids.py keeps it out of the tree.
         */
        ct_fail(rule, "internal error: the suite names rule %s, which is not in the catalogue",
                rule);
        return;
    }
    va_start(ap, fmt);
    if (r->tier == CT_MUST || ct.strict) {
        record_failure(rule, fmt, ap);
        va_end(ap);
        fail();
        return;
    }
    if (ct.cur && ct.cur->nwarnings < RP_MAX_WARNINGS) {
        rp_warning *w = &ct.cur->warnings[ct.cur->nwarnings++];
        snprintf(w->rule, sizeof(w->rule), "%s", rule);
        put_text(w->text, sizeof(w->text), fmt, ap);
    }
    va_end(ap);
}

void ct_na(const char *fmt, ...)
{
    va_list ap;

    if (ct.cur) {
        ct.cur->verdict = RP_NA;
        va_start(ap, fmt);
        put_text(ct.cur->message, sizeof(ct.cur->message), fmt, ap);
        va_end(ap);
    }
    skip();
}

void ct_inconclusive(const char *fmt, ...)
{
    va_list ap;

    if (ct.cur && ct.cur->verdict != RP_FAIL) {
        ct.cur->verdict = RP_INCONCLUSIVE;
        va_start(ap, fmt);
        put_text(ct.cur->message, sizeof(ct.cur->message), fmt, ap);
        va_end(ap);
        /* In the timeline too, where the test stopped trying. */
        mc_trace_event(ct.cloud, OTA_TR_CLOUD, MC_EV(OTA_EV_INCONCLUSIVE), ct.dev.dn, NULL, NULL, 0,
                       "inconclusive: %.480s", ct.cur->message);
    }
    skip();
}

void ct_describe(size_t idx, char *buf, size_t cap)
{
    const ota_trace_rec *r = mc_trace_at(ct.cloud, idx);

    if (!r) {
        snprintf(buf, cap, "(no message)");
        return;
    }
    double at = r->t - mc_trace_at(ct.cloud, ct.t_begin)->t;
    char payload[168];

    /* A long payload is cut, and the cut is marked: a cut digest must not read as one. */
    mark_cut(payload, 164,
             snprintf(payload, 164, "%s", r->payload ? (const char *)r->payload : ""));
    if (at < 0)
        snprintf(buf, cap, "%s %s %.2f s before this test began", r->topic, payload, -at);
    else
        snprintf(buf, cap, "%s %s at +%.2f s", r->topic, payload, at);
    remember_described(idx, buf);
}

/* A device record's text after its event's name ("crash: <status>" gives the status). */
static const char *dut_text(const ota_trace_rec *r)
{
    size_t n = strlen(ota_trace_event_name(r->event)) + 2;
    return strlen(r->info) >= n ? r->info + n : "";
}

static int is_dut(const ota_trace_rec *r, ota_trace_event e)
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

    if (!ct.cur || i < ct.t_begin || !is_dut(r, OTA_EV_CRASH) || ct.crash_warned > ct.t_begin)
        return;
    sscanf(ct.cur->rules, "%15s", rule);
    ct.crash_warned = i + 1; /* once per test: a device crashing on every redelivery warns once */
    ct_check(rule, 0, "the device crashed during the test: %s", dut_text(r));
}

/* The index of the record a predicate is looking at (boot detection looks back from it). */
static size_t scan_at;

long ct_scan(size_t from, size_t to, ct_pred pred, void *arg)
{
    size_t n = mc_trace_count(ct.cloud);

    /* (size_t)-1 from an attempt that never ended means "up to now": never past the end. */
    if (to > n)
        to = n;
    for (size_t i = from; i < to; i++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        scan_at = i;
        if (r && pred(r, arg))
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

static int same_s(double a, double b)
{
    return a > b - 1e-6 && a < b + 1e-6;
}

/*
 * The rule a wait of timeout_s seconds stands for, or NULL: the first rule
 * the running test cites whose bound it is, else any rule with that bound.
 */
static const char *wait_rule(double timeout_s)
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
                    ? same_s(timeout_s, profile[k].s)
                    : ota_bound_find(tok, &id) == OTA_OK && same_s(timeout_s, ota_bound_s(id))) {
                snprintf(cited, sizeof(cited), "%s", tok);
                return cited;
            }
    for (size_t k = 0; k < sizeof(profile) / sizeof(profile[0]); k++)
        if (same_s(timeout_s, profile[k].s))
            return profile[k].rule;
    for (int k = 0; k < OTA_BOUND__COUNT; k++) {
        const ota_bound *b = ota_bound_at((ota_bound_id)k);
        if (b && b->name[0] >= 'A' && b->name[0] <= 'Z' && same_s(timeout_s, b->seconds))
            return b->name;
    }
    return NULL;
}

/*
 * The test whose long wait (ct_await's, around its ct_find calls) is
 * announced already; a test's end by longjmp leaves it set, to no harm.
 */
static const rp_test *wait_announced;

static long find_until(size_t from, double timeout_s, ct_pred pred, void *arg);

/* A long wait is announced to the runner, which says so in CI while it lasts (live.c). */
long ct_find(size_t from, double timeout_s, ct_pred pred, void *arg)
{
    int long_wait = ct.cur && wait_announced != ct.cur && ct_secs(timeout_s) >= CT_LIVE_STILL_S;
    long i;

    if (long_wait)
        ct_live_wait(ct_secs(timeout_s), wait_rule(timeout_s));
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
        check_interrupted();
        for (; i < n; i++) {
            const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
            check_crash(r, i);
            if (ct.cur && i >= ct.t_begin && ct_is_refused(r, NULL))
                ct_fail("SEC-1", "the broker refused the device's login: %s", r->info);
            scan_at = i;
            if (pred(r, arg))
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

static int from_device(const ota_trace_rec *r, ota_topic_kind k)
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

int ct_is_up(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    if (ota_dialect_has(ct.dialect, OTA_TOPIC_INFORM))
        return ct_is_inform(r, NULL);
    return ct_is_connect(r, NULL) && !strcmp(r->dev, ct.dev.dn);
}

int ct_is_inform(const ota_trace_rec *r, void *arg)
{
    ota_inform in;

    if (!from_device(r, OTA_TOPIC_INFORM))
        return 0;
    if (!arg)
        return 1;
    return ota_inform_parse((const char *)r->payload, r->payload_len, &in) == OTA_OK &&
           !strcmp(in.version, (const char *)arg);
}

static int is_late(const ota_trace_rec *r);

int ct_is_progress(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return from_device(r, OTA_TOPIC_PROGRESS) && !is_late(r);
}

int ct_step_of(const ota_trace_rec *r, int *step)
{
    ota_progress p;
    int rc = ota_dialect_progress_parse(ct.dialect, (const char *)r->payload, r->payload_len, &p);

    if (rc != OTA_OK && rc != OTA_ERR_RANGE)
        return 0;
    *step = p.step;
    return 1;
}

int ct_is_fail_step(const ota_trace_rec *r, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, NULL) && ct_step_of(r, &step) && step < 0;
}

static int is_connect_rec(const ota_trace_rec *r);
static int is_disconnect_rec(const ota_trace_rec *r);

/*
 * Something the cloud did that drops the device's connection: a kick, a
 * session fault, a broker restart. The reconnect that follows is not a boot.
 */
static int cloud_dropped(const ota_trace_rec *r)
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

    if (!r || !is_connect_rec(r))
        return 0;
    while (i-- > 0) {
        const ota_trace_rec *p = mc_trace_at(ct.cloud, i);
        if (is_connect_rec(p))
            return 1;
        if (cloud_dropped(p) && (!p->dev[0] || !strcmp(p->dev, ct.dev.dn)))
            return 0;
    }
    return 1;
}

int ct_is_start(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    if (ct.boot_by_connect)
        return mc_trace_at(ct.cloud, scan_at) == r && is_boot_connect(scan_at);
    return is_dut(r, OTA_EV_START);
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

static int stream_of_test(long long stream)
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
static int request_of(const ota_trace_rec *r, int *job, long long *stream)
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
static int progress_is_late(size_t i)
{
    int late = 0;

    while (i-- > ct.t_begin) {
        int job;
        long long stream;
        if (!request_of(mc_trace_at(ct.cloud, i), &job, &stream))
            continue;
        if (job >= 0 ? ct_job_of_test(job) : stream_of_test(stream))
            return 0; /* it works on this test's job (maybe beside old ones): its progress */
        late = 1;
    }
    return late;
}

static int is_late(const ota_trace_rec *r)
{
    int job;
    ota_block_request q;

    if (!ct.cur || !ct.njobs || mc_trace_at(ct.cloud, scan_at) != r)
        return 0;
    if (r->kind == OTA_TR_MQTT_IN && strstr(r->topic, "/ota/device/progress/") &&
        progress_is_late(scan_at)) {
        note_late(scan_at, "progress of a download for a job");
        return 1;
    }
    if (r->kind == OTA_TR_HTTP && sscanf(r->topic, "/ota/%d/", &job) == 1 && !ct_job_of_test(job)) {
        note_late(scan_at, "a download request for a job");
        return 1;
    }
    if (r->kind == OTA_TR_MQTT_IN && strstr(r->topic, "/thing/file/download") &&
        ota_block_request_parse((const char *)r->payload, r->payload_len, &q) == OTA_OK &&
        !stream_of_test(q.stream_id)) {
        note_late(scan_at, "a block request for the stream of a job");
        return 1;
    }
    return 0;
}

int ct_is_http(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return r->kind == OTA_TR_HTTP && !strcmp(r->dev, ct.dev.dn) && !is_late(r);
}

static int is_stop(const ota_trace_rec *r)
{
    if (ct.boot_by_connect)
        return is_disconnect_rec(r);
    return is_dut(r, OTA_EV_EXIT) || is_dut(r, OTA_EV_CRASH) || is_dut(r, OTA_EV_KILLED);
}

/*
 * The start record of the device's current run. When the device stopped
 * after its last start (a reboot or crash still in flight), wait for the next.
 */
/*
 * A broker event about our device: the login named it, or (a refused
 * login whose username did not) its clientId does.
 */
static int broker_event(const ota_trace_rec *r, ota_trace_kind kind, ota_trace_event e)
{
    return r->kind == kind && r->event == e &&
           (!strcmp(r->dev, ct.dev.dn) || ota_client_id_names(r->client, ct.dev.pk, ct.dev.dn));
}

int ct_is_refused(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return broker_event(r, OTA_TR_ERROR, OTA_EV_AUTH_REFUSED);
}

int ct_is_denied(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return broker_event(r, OTA_TR_ERROR, OTA_EV_ACL_DENIED);
}

int ct_is_connect(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return broker_event(r, OTA_TR_BROKER, OTA_EV_CONNECT);
}

static int is_connect_rec(const ota_trace_rec *r)
{
    return ct_is_connect(r, NULL);
}

static int is_disconnect_rec(const ota_trace_rec *r)
{
    return broker_event(r, OTA_TR_BROKER, OTA_EV_DISCONNECT);
}

/* Any connect of the device: where its current connection began. */
static int any_connect(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return is_connect_rec(r);
}

static int inform_or_refused(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return ct_is_up(r, NULL) || ct_is_refused(r, NULL);
}

/* Settled on a boot report (1), or on a refused login (0: ct.refused says why). */
static int settled(long i)
{
    const ota_trace_rec *r = i >= 0 ? mc_trace_at(ct.cloud, (size_t)i) : NULL;

    if (r && ct_is_refused(r, NULL)) {
        snprintf(ct.refused, sizeof(ct.refused), "%s", r->info);
        return 0;
    }
    ct.refused[0] = '\0';
    return r != NULL;
}

/*
 * Where the device's current run began. A device seen only on the network
 * began with its current connection (a boot, or a reconnect after the cloud
 * dropped it): the last connect, or the next one when it is disconnected.
 */
static long last_start(void)
{
    size_t n = mc_trace_count(ct.cloud), i = n;
    ct_pred start = ct.boot_by_connect ? any_connect : ct_is_start;

    while (i-- > 0) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        scan_at = i;
        if (start(r, NULL))
            return (long)i;
        if (is_stop(r))
            return ct_find(i, ct.bounds.boot, start, NULL);
    }
    return ct_find(0, ct.bounds.boot, start, NULL);
}

/*
 * The device's last boot, for a device seen only on the network: the last
 * connect the cloud did not cause. A reconnect after a kick need not bring a
 * version report (VER-7 allows none), so what the device
 * reported is judged from its boot. -1 when none is in the trace.
 */
static long last_boot(void)
{
    for (size_t i = mc_trace_count(ct.cloud); i-- > 0;) {
        scan_at = i;
        if (ct_is_start(mc_trace_at(ct.cloud, i), NULL))
            return (long)i;
    }
    return -1;
}

void ct_need_seen_boot(long s, const char *rule)
{
    if (ct.can_reset || s < 0)
        return;
    for (size_t i = (size_t)s; i-- > 0;)
        if (is_connect_rec(mc_trace_at(ct.cloud, i)))
            return; /* it connected before: s is a boot the suite saw */
    if (ct_scan((size_t)s, mc_trace_count(ct.cloud), ct_is_inform, NULL) < 0)
        ct_inconclusive("%s is judged at a boot, and the suite has not seen this device boot: it "
                        "was running when the run began (connected again without a version "
                        "report), and the suite cannot reboot it",
                        rule);
}

const char *ct_boot_words(void)
{
    return ct.can_reset ? "a power cycle"
                        : "its last boot (the suite cannot reboot it; its last boot is judged)";
}

/* The device's boot report since start record s; reboot once if it never came. */
static int settle_boot(void)
{
    long s = last_start(), b = ct.boot_by_connect ? last_boot() : -1;

    if (s >= 0 && b >= 0 && b < s)
        s = b; /* connected again since its boot: the boot brought the version report */
    const ota_trace_rec *r = s >= 0 ? mc_trace_at(ct.cloud, (size_t)s) : NULL;
    /* Already waited VER-1's bound for this boot (a silent device): do not wait again. */
    double waited = r ? mc_now(ct.cloud) - r->t : 0;

    double bound = ct.bounds.inform;
    long i = s >= 0
                 ? ct_find((size_t)s, waited > ct_secs(bound) ? 0 : bound, inform_or_refused, NULL)
                 : -1;

    if (settled(i))
        return 0;
    if (ct.refused[0] || !ct.can_reset)
        return -1; /* rebooting will not fix a refused login; some devices we cannot reboot */
    s = ct_reboot();
    i = s >= 0 ? ct_find((size_t)s, bound, inform_or_refused, NULL) : -1;
    return settled(i) ? 0 : -1;
}

/*
 * Ask STATUS whether the device is idle. A device that went away meanwhile
 * (a reboot) is not; one without a channel, or that does not answer, is
 * taken as idle: only the channel can tell.
 */
static int device_idle(void)
{
    char reply[DUT_MAX_LINE];
    int rc;

    if (!dut_has_channel(ct.dut))
        return 1;
    rc = dut_command(ct.dut, "STATUS", reply, sizeof(reply), ct_secs(CT_S(STATUS)));
    if (rc == DUT_ERR_CLOSED)
        return 0;
    return rc != DUT_OK || strstr(reply, "state=idle") != NULL;
}

/* Anything the device sends: a message or a download request. */
static int device_speaks(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return (r->kind == OTA_TR_MQTT_IN || r->kind == OTA_TR_HTTP) && !strcmp(r->dev, ct.dev.dn);
}

int ct_settle(void)
{
    double end = mc_now(ct.cloud) + ct_secs(CT_S(SETTLE));

    while (mc_now(ct.cloud) < end && !ct_interrupted) {
        if (settle_boot() != 0)
            return -1;
        if (device_idle()) {
            /* Quiet for a moment, so that nothing of the last test spills into the next. */
            ct_quiet(mc_trace_count(ct.cloud), CT_S(QUIET), device_speaks, NULL, CT_S(QUIET_MAX));
            return 0;
        }
        /* Busy (an upgrade still running): wake on the next event or in 50 ms. */
        mc_trace_wait(ct.cloud, mc_trace_count(ct.cloud), mc_now(ct.cloud) + 0.05);
    }
    return -1;
}

long ct_reboot(void)
{
    size_t n = mc_trace_count(ct.cloud);

    if (!ct.can_reset || dut_restart(ct.dut) != DUT_OK) {
        long b = ct.boot_by_connect ? last_boot() : -1;
        return b >= 0 ? b : ct.boot_by_connect ? last_start() : -1;
    }
    return ct_find(n, ct.bounds.boot, ct_is_start, NULL);
}

long ct_reconnect(void)
{
    size_t n = mc_trace_count(ct.cloud);

    if (ct.can_reset)
        return ct_reboot();
    if (!mc_cloud_plugin(ct.cloud) || mc_device_kick(ct.cloud, ct.dev.dn) != MC_OK)
        return -1;
    return ct_find(n, ct.bounds.boot, any_connect, NULL);
}

/* A sentence about a device that never came up, from what the trace shows. */
static void never_up(size_t from, int crashes, char *err, size_t errcap)
{
    const ota_trace_rec *last_crash = NULL, *refused = NULL;
    int connected = 0;
    char log[1024] = "";

    for (size_t i = from; i < mc_trace_count(ct.cloud); i++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        if (is_dut(r, OTA_EV_CRASH))
            last_crash = r;
        if (ct_is_refused(r, NULL))
            refused = r;
        connected |= is_connect_rec(r);
    }
    dut_last_log(ct.dut, log, sizeof(log));
    if (crashes && last_crash) {
        char what[720];
        size_t n = (size_t)snprintf(what, sizeof(what), "%.700s", dut_text(last_crash));
        const char *tail = "; last log lines:\n";
        if (n > strlen(tail) && !strcmp(what + n - strlen(tail), tail))
            snprintf(what + n - strlen(tail), sizeof(what) - (n - strlen(tail)),
                     ", printing nothing");
        snprintf(err, errcap, "the device crashed at every boot (%d times): %s", crashes, what);
    } else if (refused)
        snprintf(err, errcap, "the broker refused every login of the device: %.400s",
                 refused->info);
    else if (connected)
        snprintf(err, errcap,
                 "the device connected but never reported its version within %.0f "
                 "s%s%.600s",
                 ct_secs(ct.bounds.boot + ct.bounds.inform),
                 log[0] ? "; its last log lines:\n" : "", log);
    else
        snprintf(err, errcap,
                 "the device never connected to the broker at %s:%d within %.0f "
                 "s%s%.600s",
                 mc_cloud_broker_host(ct.cloud),
                 ct.tls ? mc_cloud_mqtts_port(ct.cloud) : mc_cloud_broker_port(ct.cloud),
                 ct_secs(ct.bounds.boot + ct.bounds.inform),
                 log[0] ? "; its last log lines:\n" : "", log);
}

static int dut_crash(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return is_dut(r, OTA_EV_CRASH) || ct_is_up(r, NULL) || ct_is_refused(r, NULL) ||
           (ct.boot_by_connect && is_connect_rec(r));
}

/*
 * A device we cannot reboot may be running already: connected again (after
 * the broker of an earlier run went away) without a new version report.
 * It is up; its version is the profile's until it reports one.
 */
static void up_without_report(size_t connect_at)
{
    if (ct_find(connect_at, ct.bounds.inform, ct_is_inform, NULL) >= 0)
        return;
    fprintf(stderr,
            "ota-conformance: the device %s connected but reported no version within %.0f s (a "
            "device that was running already reports it only at boot): taking %s, its "
            "profile's firmwareVersion, until it reports one\n",
            ct.dev.dn, ct_secs(ct.bounds.inform), ct.dev.firmware_version);
}

#define CT_MAX_FAILED_BOOTS 3

int ct_first_boot(char *err, size_t errcap)
{
    double end = mc_now(ct.cloud) + ct_secs(ct.bounds.boot + ct.bounds.inform);
    int crashes = 0;
    size_t from = 0;

    while (mc_now(ct.cloud) < end && !ct_interrupted) {
        long i = ct_find(from, (end - mc_now(ct.cloud)) / ct.scale, dut_crash, NULL);
        const ota_trace_rec *r = i >= 0 ? mc_trace_at(ct.cloud, (size_t)i) : NULL;
        if (!r)
            break;
        if (ct_is_up(r, NULL) || ct_is_refused(r, NULL))
            return 0; /* up; a refused login is judged by SEC-1 in every test */
        if (ct.boot_by_connect && is_connect_rec(r)) {
            up_without_report((size_t)i);
            return 0;
        }
        if (++crashes >= CT_MAX_FAILED_BOOTS)
            break;
        from = (size_t)i + 1;
    }
    if (ct_interrupted)
        return 0;
    never_up(0, crashes, err, errcap);
    return -1;
}

/*
 * Tell the cloud the device's new module. What it last reported stays: a
 * dialect without a version report (ThingsPanel) has no boot report to
 * learn it again from, and a test after this one pushes from it.
 */
static int set_module(const char *module)
{
    char kv[OTA_MAX_MODULE + 16];
    mc_device_info now;

    snprintf(kv, sizeof(kv), "OTA_MODULE=%s", module);
    if (dut_process_setenv(ct.dut, kv) != DUT_OK)
        return 0;
    snprintf(ct.dev.module, sizeof(ct.dev.module), "%s", module);
    if (mc_device_get(ct.cloud, ct.dev.dn, &now) == MC_OK)
        snprintf(ct.dev.reported_version, sizeof(ct.dev.reported_version), "%s",
                 now.reported_version);
    mc_device_add(ct.cloud, &ct.dev);
    return 1;
}

int ct_module_switch(const char *module)
{
    char saved[OTA_MAX_MODULE + 1];

    if (ct.module_saved[0] || !ct.can_reset || ct.module_fixed)
        return 0; /* a build with its module compiled in ignores OTA_MODULE */
    snprintf(saved, sizeof(saved), "%s", ct.dev.module);
    if (!set_module(module))
        return 0;
    snprintf(ct.module_saved, sizeof(ct.module_saved), "%s", saved);
    if (ct_reboot() < 0 || ct_settle() != 0)
        ct_fail("VER-1", "the device did not come back after a restart with OTA_MODULE=%s", module);
    return 1;
}

void ct_module_restore(void)
{
    if (!ct.module_saved[0])
        return;
    set_module(ct.module_saved);
    ct.module_saved[0] = '\0';
    ct_reboot();
}

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

int ct_is_uplink(const ota_trace_rec *r, void *suffix)
{
    size_t n = strlen(r->topic), k = strlen(suffix);
    return r->kind == OTA_TR_MQTT_IN && !strcmp(r->dev, ct.dev.dn) && n > k &&
           !strcmp(r->topic + n - k, suffix) && !is_late(r);
}

int ct_is_get(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return ct_is_http(r, NULL) && r->event == OTA_EV_HTTP_GET;
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
        if (!ct_step_of(r, &step) || step < 0 || step > 99)
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
static int is_terminal_step(const ota_trace_rec *r, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, NULL) && ct_step_of(r, &step) && (step < 0 || step == 100);
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

/* A block push to a device seen never to act on one: N/A at once, not waited for again. */
static void check_kind_learned(const mc_job_spec *s)
{
    unsigned k = kind_of(s->mqtt, s->digest == OTA_DIGEST_SHA256);

    if (k != KIND_BLOCKS || !(ct.kinds_ignored & k) || (ct.kinds_handled & k))
        return;
    ct_na("N/A: earlier in this run the device did not act on %s within %.0f s while it took "
          "other pushes; a device may leave that kind out (learned once per run, not waited for "
          "again)",
          kind_text(k), ct_secs(ct.bounds.react));
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
    a->push_at = a->info.trace_at;
    a->reached_at = a->push_at;
    if (ct.njobs < (int)(sizeof(ct.jobs) / sizeof(ct.jobs[0]))) {
        ct.jobs[ct.njobs] = a->job;
        ct.streams[ct.njobs++] = a->info.mqtt ? a->info.stream_id : -1;
    }
}

/* Step "100" in a dialect where it alone is success (ThingsPanel). */
static int succeeded_by_step(const ota_trace_rec *r)
{
    int step;
    return ct.dialect && ct.dialect->success == OTA_SUCCESS_STEP_100 && ct_is_progress(r, NULL) &&
           ct_step_of(r, &step) && step == 100;
}

static int ends_attempt(const ota_trace_rec *r, void *arg)
{
    ct_attempt *a = arg;
    return ct_is_fail_step(r, NULL) || ct_is_inform(r, a->info.version) || ct_is_start(r, NULL) ||
           succeeded_by_step(r);
}

static int reports(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return ct_is_fail_step(r, NULL) || ct_is_inform(r, NULL) || succeeded_by_step(r);
}

/* Classify the record that ended the attempt (a step or an inform). */
static void conclude(ct_attempt *a, long i)
{
    const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
    ota_inform in;

    a->end_at = i;
    if (ct_is_fail_step(r, NULL)) {
        a->outcome = CT_UP_FAILED;
        ct_step_of(r, &a->step);
    } else if (ct_is_inform(r, a->info.version) || succeeded_by_step(r)) {
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
static int reacts(const ota_trace_rec *r, void *arg)
{
    return ends_attempt(r, arg) || ct_is_progress(r, NULL) || ct_is_http(r, NULL) ||
           ct_is_uplink(r, (void *)"/thing/file/download");
}

static int is_undelivered(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return r->kind == OTA_TR_BROKER && r->event == OTA_EV_UNDELIVERED && !strcmp(r->dev, ct.dev.dn);
}

/* Was the device connected when record `at` was written? */
static int connected_at(size_t at)
{
    for (size_t i = at; i-- > 0;) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        if (is_connect_rec(r))
            return 1;
        if (is_disconnect_rec(r))
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
static int late_request(const ota_trace_rec *r, void *arg)
{
    int job;
    long long stream;
    (void)arg;
    return request_of(r, &job, &stream) &&
           (job >= 0 ? !ct_job_of_test(job) : !stream_of_test(stream));
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
        !connected_at(a->push_at))
        ct_inconclusive("the push of %s could not reach the device: it was not connected to "
                        "the broker; not judged",
                        a->info.version);
}

static int dropped_by_device(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return is_disconnect_rec(r) || cloud_dropped(r);
}

void ct_check_not_crashed(const ct_attempt *a, const char *rule, const char *what)
{
    long i = ct_find(a->reached_at, CT_S(CRASH), dropped_by_device, NULL);
    char where[400];

    if (i < 0 || cloud_dropped(mc_trace_at(ct.cloud, (size_t)i)) || ct.crash_warned > ct.t_begin)
        return; /* (a crash the adapter saw was named already, with its exit status) */
    ct_describe((size_t)i, where, sizeof(where));
    ct_check(rule, 0, "the device dropped its connection after %s (a crash?) %s", what, where);
}

static int is_hundred(const ota_trace_rec *r, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, NULL) && ct_step_of(r, &step) && step == 100;
}

long ct_hundred_since(size_t from)
{
    return ct_scan(from, mc_trace_count(ct.cloud), is_hundred, NULL);
}

/* The attempt reported step "100". */
static int downloaded(const ct_attempt *a)
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

/* mock-cloud's record of a pending job pushed again when the device connected (PUSH-8). */
static int is_redelivery(const ota_trace_rec *r, void *arg)
{
    char want[80];

    snprintf(want, sizeof(want), "job %d still pending: delivered again on reconnect",
             *(const int *)arg);
    return r->kind == OTA_TR_CLOUD && !strcmp(r->info, want);
}

/* The adapter saw the device crash, or the suite stop it. */
static int crashed_or_stopped(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return is_dut(r, OTA_EV_CRASH) || is_dut(r, OTA_EV_KILLED);
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
static int own_reboot(const ct_attempt *a, long boot)
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

    if (i < 0 || !ct_is_start(mc_trace_at(ct.cloud, (size_t)i), NULL) || !own_reboot(a, i))
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
        ct_live_wait(ct_secs(attempt_bound(timeout_s)), wait_rule(timeout_s));
        wait_announced = ct.cur;
    }
    await_bounded(a, timeout_s);
    if (long_wait) {
        wait_announced = NULL;
        ct_live_wait(0, NULL);
    }
}

static void await_bounded(ct_attempt *a, double timeout_s)
{
    double end = mc_now(ct.cloud) + ct_secs(attempt_bound(timeout_s));
    double react = ct.bounds.react;
    size_t from = a->push_at;
    long first;

    a->outcome = CT_UP_TIMEOUT;
    /* A device that ignores the push is not waited on for the whole bound. */
    first = first_reaction(a, timeout_s < react ? timeout_s : react, &from);
    if (first >= 0) {
        /* It acted on this kind of push (a crash or a reboot is no sign of that). */
        if (!ct_is_start(mc_trace_at(ct.cloud, (size_t)first), NULL))
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
        if (!ct_is_start(mc_trace_at(ct.cloud, (size_t)i), NULL)) {
            conclude(a, i);
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
    if (a->outcome == CT_UP_TIMEOUT && downloaded(a))
        hundred_alone(a);
    mc_job_get(ct.cloud, a->job, &a->info);
    ct_check_image_after(a); /* VER-6: the image it runs is the one it reports */
}

void ct_final_reported(const ct_attempt *a)
{
    if (a->outcome == CT_UP_DOWNLOADED)
        ct_fail("FINAL-1", "%s", ct_outcome_text(a));
    if ((a->outcome == CT_UP_OTHER_VERSION || a->outcome == CT_UP_SILENT_BOOT) && downloaded(a))
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
