/*
 * The report model from a trace: test boundaries are found by their event,
 * never by the words of `info`, a failure's evidence is outlined by its
 * place in the trace, every listed test is reported (not run when it never
 * began) with one set of counts, and failures are grouped by their reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otaproto/trace.h"
#include "otareport/report.h"

static char trace[64], html[64];

#define RUN_BEGIN                                                                                  \
    "{\"t\":0,\"kind\":\"test\",\"event\":\"run-begin\",\"info\":\"run-begin\","                   \
    "\"payload\":\"{\\\"suite\\\":\\\"ota-conformance\\\"}\"}\n"
#define PROGRESS(t, step)                                                                          \
    "{\"t\":" #t ",\"kind\":\"mqtt-in\",\"topic\":\"/ota/device/progress/pk/dn\","                 \
    "\"payload\":\"{\\\"params\\\":{\\\"step\\\":\\\"" #step "\\\"}}\"}\n"

static void write_trace(const char *text)
{
    FILE *f = fopen(trace, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_html(void)
{
    FILE *f = fopen(html, "r");
    char *buf = calloc(1, 1 << 20);
    assert_non_null(f);
    assert_non_null(buf);
    buf[fread(buf, 1, (1 << 20) - 1, f)] = '\0';
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    (void)state;
    snprintf(trace, sizeof(trace), "/tmp/ota-model-%d.jsonl", (int)getpid());
    snprintf(html, sizeof(html), "/tmp/ota-model-%d.html", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(trace);
    unlink(html);
    return 0;
}

/* The end record carries the evidence: the second progress (2 records after the begin). */
static void the_evidence_is_outlined_by_index(void **state)
{
    rp_report *r = NULL;
    char err[256], *page, *mark, *row;
    (void)state;

    write_trace(
        RUN_BEGIN
        "{\"t\":1,\"kind\":\"test\",\"event\":\"test-begin\",\"info\":\"begin g/t FAIL-3\","
        "\"payload\":\"{\\\"group\\\":\\\"g\\\",\\\"name\\\":\\\"t\\\"}\"}\n" PROGRESS(2, 10)
            PROGRESS(3, -2) PROGRESS(
                4,
                -2) "{\"t\":5,\"kind\":\"test\",\"event\":\"test-end\",\"info\":\"end g/t fail\","
                    "\"payload\":\"{\\\"group\\\":\\\"g\\\",\\\"name\\\":\\\"t\\\",\\\"verdict\\\":"
                    "\\\"fail\\\",\\\"failed_rule\\\":\\\"FAIL-3\\\",\\\"message\\\":\\\"m\\\","
                    "\\\"evidence\\\":2}\"}\n");
    assert_int_equal(rp_report_load(trace, &r, err, sizeof(err)), RP_OK);
    assert_int_equal(r->ntests, 1);
    assert_true(r->tests[0].has_evidence);
    assert_int_equal(r->tests[0].evidence, 2);
    assert_int_equal(rp_html_write(r, html), RP_OK);
    page = read_html();
    mark = strstr(page, "offending\"");
    assert_non_null(mark);
    assert_null(strstr(mark + 1, "offending\"")); /* the same message again is not outlined */
    row = strstr(mark, "+2.000"); /* the third record after the begin: t=3, 2 s into the test */
    assert_non_null(row);
    assert_true(row - mark < 80);
    free(page);
    rp_report_free(r);
}

/* Records that only say "begin" or "end" in words are not test boundaries. */
static void boundaries_come_from_events_not_words(void **state)
{
    rp_report *r = NULL;
    char err[256];
    (void)state;

    write_trace(RUN_BEGIN "{\"t\":1,\"kind\":\"test\",\"info\":\"begin g/t FAIL-3\","
                          "\"payload\":\"{\\\"group\\\":\\\"g\\\",\\\"name\\\":\\\"t\\\"}\"}\n");
    assert_int_equal(rp_report_load(trace, &r, err, sizeof(err)), RP_OK);
    assert_int_equal(r->ntests, 0);
    rp_report_free(r);
    write_trace("{\"t\":0,\"kind\":\"test\",\"info\":\"run-begin\","
                "\"payload\":\"{\\\"suite\\\":\\\"ota-conformance\\\"}\"}\n");
    assert_int_equal(rp_report_load(trace, &r, err, sizeof(err)), RP_ERR_FORMAT);
}

/* The auth-off banner comes from the run's flag, not from the words of its broker line. */
static void auth_off_is_a_flag(void **state)
{
    rp_report *r = NULL;
    char err[256], *page;
    (void)state;

    write_trace("{\"t\":0,\"kind\":\"test\",\"event\":\"run-begin\",\"payload\":\"{\\\"suite\\\":"
                "\\\"ota-conformance\\\",\\\"broker\\\":\\\"AUTH OFF\\\"}\"}\n");
    assert_int_equal(rp_report_load(trace, &r, err, sizeof(err)), RP_OK);
    assert_false(r->info.auth_off);
    assert_int_equal(rp_html_write(r, html), RP_OK);
    page = read_html();
    assert_null(strstr(page, "Auth off:"));
    free(page);
    rp_report_free(r);
    write_trace("{\"t\":0,\"kind\":\"test\",\"event\":\"run-begin\",\"payload\":\"{\\\"suite\\\":"
                "\\\"ota-conformance\\\",\\\"auth_off\\\":1}\"}\n");
    assert_int_equal(rp_report_load(trace, &r, err, sizeof(err)), RP_OK);
    assert_int_equal(rp_html_write(r, html), RP_OK);
    page = read_html();
    assert_non_null(strstr(page, "Auth off:"));
    free(page);
    rp_report_free(r);
}

/* The evidence travels in the test's JSON (the end record, and --jobs results). */
static void evidence_round_trips_in_json(void **state)
{
    rp_test t = {0}, back;
    char *json;
    (void)state;

    t.verdict = RP_FAIL;
    t.has_evidence = 1;
    t.evidence = -3; /* a message from before the test began */
    json = rp_test_to_json(&t);
    assert_non_null(json);
    assert_int_equal(rp_test_from_json(json, &back), RP_OK);
    assert_true(back.has_evidence);
    assert_int_equal(back.evidence, -3);
    free(json);
    t.has_evidence = 0;
    json = rp_test_to_json(&t);
    assert_null(strstr(json, "evidence"));
    assert_int_equal(rp_test_from_json(json, &back), RP_OK);
    assert_false(back.has_evidence);
    free(json);
}

/* One TEST record (payload: JSON text) appended to the trace file f. */
static void put_test_rec(FILE *f, double t, ota_trace_event ev, const char *json)
{
    ota_trace_rec r;
    char *line = NULL;

    memset(&r, 0, sizeof(r));
    r.t = t;
    r.kind = OTA_TR_TEST;
    r.event = ev;
    snprintf(r.info, sizeof(r.info), "%s", ota_trace_event_name(ev));
    r.payload = (unsigned char *)json;
    r.payload_len = strlen(json);
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    fprintf(f, "%s\n", line);
    free(line);
}

/* A run-begin listing g/x, g/y and h/z; then tests[] (begin and end each); then run_end. */
static void write_run(const rp_test *tests, int n, const char *run_end)
{
    rp_planned planned[3] = {
        {"g", "x", "R-1", "MUST"}, {"g", "y", "R-2", "MUST"}, {"h", "z", "R-3", "SHOULD"}};
    rp_rule rules[3] = {
        {"R-1", "MUST", 0, "one"}, {"R-2", "MUST", 0, "two"}, {"R-3", "SHOULD", 0, "three"}};
    rp_run_info info;
    FILE *f = fopen(trace, "w");
    char *json;

    assert_non_null(f);
    memset(&info, 0, sizeof(info));
    snprintf(info.suite, sizeof(info.suite), "ota-conformance");
    info.rules = rules;
    info.nrules = 3;
    info.planned = planned;
    info.nplanned = 3;
    json = rp_run_info_to_json(&info);
    put_test_rec(f, 0, OTA_EV_RUN_BEGIN, json);
    free(json);
    for (int i = 0; i < n; i++) {
        json = rp_test_to_json(&tests[i]);
        put_test_rec(f, 1 + i, OTA_EV_TEST_BEGIN, json);
        put_test_rec(f, 1.5 + i, OTA_EV_TEST_END, json);
        free(json);
    }
    if (run_end)
        put_test_rec(f, 9, OTA_EV_RUN_END, run_end);
    fclose(f);
}

static rp_test one_test(const char *group, const char *name, const char *rules, rp_verdict v,
                        const char *message)
{
    rp_test t;

    memset(&t, 0, sizeof(t));
    snprintf(t.group, sizeof(t.group), "%s", group);
    snprintf(t.name, sizeof(t.name), "%s", name);
    snprintf(t.rules, sizeof(t.rules), "%s", rules);
    t.verdict = v;
    sscanf(rules, "%15s", t.failed_rule);
    snprintf(t.message, sizeof(t.message), "%s", message);
    return t;
}

/*
 * An interrupted run: every listed test is in the report, in the listed
 * order, those that never began as not run; every output counts the same;
 * a rule whose only test did not run is not tested, never passed.
 */
static void tests_that_never_began_are_not_run(void **state)
{
    rp_test ran = one_test("g", "y", "R-2", RP_PASS, "");
    rp_report *r = NULL;
    rp_counts c;
    char err[256], *page;
    (void)state;

    write_run(&ran, 1, "{\"seconds\":2,\"interrupted\":1}");
    assert_int_equal(rp_report_load(trace, &r, err, sizeof(err)), RP_OK);
    assert_int_equal(r->ntests, 3);
    assert_string_equal(r->tests[0].name, "x");
    assert_string_equal(r->tests[1].name, "y");
    assert_string_equal(r->tests[2].name, "z");
    assert_int_equal(r->tests[0].verdict, RP_NOT_RUN);
    assert_int_equal(r->tests[1].verdict, RP_PASS);
    assert_non_null(strstr(r->tests[2].message, "interrupted"));
    c = rp_report_counts(r);
    assert_int_equal(c.total, 3);
    assert_int_equal(c.ran, 1);
    assert_int_equal(c.not_run, 2);
    assert_string_equal(rp_report_outcome(r, 0), "INTERRUPTED");
    assert_int_equal(rp_report_junit(r, html), RP_OK); /* the html path as a scratch file */
    page = read_html();
    assert_non_null(strstr(page, "tests=\"3\" failures=\"0\" errors=\"2\""));
    assert_non_null(strstr(page, "type=\"not run\""));
    free(page);
    assert_int_equal(rp_html_write(r, html), RP_OK);
    page = read_html();
    assert_non_null(strstr(page, "<span id=\"n-ran\">1</span> of <span id=\"n-tests\">3</span>"));
    assert_non_null(strstr(page, ">INTERRUPTED</span>"));
    assert_non_null(strstr(page, "data-verdict=\"untested\" data-rule=\"R-1\""));
    assert_non_null(strstr(page, "data-verdict=\"pass\" data-rule=\"R-2\""));
    free(page);
    rp_report_free(r);
    /* A killed run (no run-end) says so for its tests that never began. */
    write_run(&ran, 1, NULL);
    assert_int_equal(rp_report_load(trace, &r, err, sizeof(err)), RP_OK);
    assert_non_null(strstr(r->tests[0].message, "killed"));
    assert_string_equal(rp_report_outcome(r, 0), "UNFINISHED");
    rp_report_free(r);
}

/*
 * Failures that differ only in their numbers (versions, ids) are one
 * reason in the HTML; JUnit names the failed rule beside the rules, and a
 * test that passed with warnings says so where a CI page shows it.
 */
static void one_reason_is_one_entry(void **state)
{
    rp_test t[3] = {
        one_test("g", "x", "R-1", RP_FAIL, "still busy with job 3 (version 9.0.14)"),
        one_test("g", "y", "R-1 R-2", RP_FAIL, "still busy with job 17 (version 9.0.21)"),
        one_test("h", "z", "R-3", RP_PASS, ""),
    };
    rp_report *r = NULL;
    char err[256], *page;
    (void)state;

    snprintf(t[1].failed_rule, sizeof(t[1].failed_rule), "R-1");
    t[2].nwarnings = 1;
    snprintf(t[2].warnings[0].rule, sizeof(t[2].warnings[0].rule), "R-3");
    snprintf(t[2].warnings[0].text, sizeof(t[2].warnings[0].text), "slow");
    write_run(t, 3, "{\"seconds\":3}");
    assert_int_equal(rp_report_load(trace, &r, err, sizeof(err)), RP_OK);
    assert_string_equal(rp_report_outcome(r, 0), "FAILED");
    assert_int_equal(rp_html_write(r, html), RP_OK);
    page = read_html();
    assert_non_null(strstr(page, "2 tests failed for the same reason"));
    assert_non_null(strstr(page, "<tr class=\"rule r-fail\""));
    assert_non_null(strstr(page, "1 warning</span>"));
    free(page);
    assert_int_equal(rp_report_junit(r, html), RP_OK);
    page = read_html();
    assert_non_null(strstr(page, "<property name=\"failed_rule\" value=\"R-1\"/>"));
    assert_non_null(strstr(page, "<system-out>PASSED WITH 1 WARNING"));
    free(page);
    rp_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tests_that_never_began_are_not_run),
        cmocka_unit_test(one_reason_is_one_entry),
        cmocka_unit_test(the_evidence_is_outlined_by_index),
        cmocka_unit_test(boundaries_come_from_events_not_words),
        cmocka_unit_test(evidence_round_trips_in_json),
        cmocka_unit_test(auth_off_is_a_flag),
    };
    return cmocka_run_group_tests_name("model", tests, setup, teardown);
}
