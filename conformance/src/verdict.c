/*
 * Verdicts and their evidence: the run's context (ct), ct_check, ct_fail,
 * ct_na and ct_inconclusive, and ct_describe, whose sentence a failure
 * message quotes to name its evidence record. It waits for nothing and
 * reads the trace only to describe a record.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "harness_int.h"

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
void ct_end_if_interrupted(void)
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
