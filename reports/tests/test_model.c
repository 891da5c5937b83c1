/*
 * The report model from a trace: test boundaries are found by their event,
 * never by the words of `info`, and a failure's evidence is outlined by its
 * place in the trace.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_evidence_is_outlined_by_index),
        cmocka_unit_test(boundaries_come_from_events_not_words),
        cmocka_unit_test(evidence_round_trips_in_json),
        cmocka_unit_test(auth_off_is_a_flag),
    };
    return cmocka_run_group_tests_name("model", tests, setup, teardown);
}
