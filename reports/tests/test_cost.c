/*
 * The cost of an update and the baseline comparison, from small traces
 * written here record by record: bytes against the image, requests,
 * retries and their spacing, fault to report, push to final report; and a
 * run that downloads twice is worse than its baseline, one that does not is not.
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

#define URI "/ota/1/fw-1.bin?Expires=1"
#define PUSH                                                                                       \
    "{\"code\":\"1000\",\"data\":{\"size\":1000,\"version\":\"2.0\",\"url\":\"http://h:1" URI      \
    "\",\"signMethod\":\"Md5\",\"sign\":\"00\",\"md5\":\"00\"},\"id\":1,\"message\":\"success\"}"

static char path_a[64], path_b[64], out[64];
static FILE *f;

static void put(double t, ota_trace_kind kind, ota_trace_event ev, const char *topic,
                const char *payload, long long offset, long long last, int status)
{
    ota_trace_rec r;
    char *line = NULL;

    memset(&r, 0, sizeof(r));
    r.t = t;
    r.kind = kind;
    r.event = ev;
    r.offset = offset;
    r.last = last;
    r.status = status;
    snprintf(r.dev, sizeof(r.dev), "dn");
    snprintf(r.topic, sizeof(r.topic), "%s", topic ? topic : "");
    if (kind == OTA_TR_FAULT)
        snprintf(r.fault, sizeof(r.fault), "http-reset");
    r.payload = (unsigned char *)(payload ? strdup(payload) : NULL);
    r.payload_len = payload ? strlen(payload) : 0;
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    fprintf(f, "%s\n", line);
    free(line);
    free(r.payload);
}

static void begin(const char *path)
{
    rp_run_info info;
    rp_test t;
    char *json;

    f = fopen(path, "w");
    assert_non_null(f);
    memset(&info, 0, sizeof(info));
    snprintf(info.suite, sizeof(info.suite), "ota-conformance");
    snprintf(info.device, sizeof(info.device), "dn");
    json = rp_run_info_to_json(&info);
    put(0, OTA_TR_TEST, OTA_EV_RUN_BEGIN, NULL, json, -1, -1, 0);
    free(json);
    memset(&t, 0, sizeof(t));
    snprintf(t.group, sizeof(t.group), "download");
    snprintf(t.name, sizeof(t.name), "survives_reset");
    json = rp_test_to_json(&t);
    put(0.1, OTA_TR_TEST, OTA_EV_TEST_BEGIN, NULL, json, -1, -1, 0);
    free(json);
}

static void end(void)
{
    rp_test t;
    char *json;

    memset(&t, 0, sizeof(t));
    snprintf(t.group, sizeof(t.group), "download");
    snprintf(t.name, sizeof(t.name), "survives_reset");
    json = rp_test_to_json(&t);
    put(9, OTA_TR_TEST, OTA_EV_TEST_END, NULL, json, -1, -1, 0);
    free(json);
    fclose(f);
}

/* A push, a reset after 400 bytes, a resume by Range, "100" and the new version. */
static void reset_and_resume(double extra_get)
{
    put(0.5, OTA_TR_MQTT_OUT, OTA_EV_NONE, "/ota/device/upgrade/pk/dn", PUSH, -1, -1, 0);
    put(1.0, OTA_TR_HTTP, OTA_EV_HTTP_GET, URI, NULL, 0, -1, 0);
    put(1.1, OTA_TR_FAULT, OTA_EV_FAULT, URI, NULL, 400, -1, 0);
    put(1.2, OTA_TR_HTTP, OTA_EV_HTTP_ABORTED, URI, NULL, 0, 399, 206);
    put(2.2, OTA_TR_HTTP, OTA_EV_HTTP_GET, URI, NULL, 400, -1, 0);
    put(2.3, OTA_TR_HTTP, OTA_EV_HTTP_DONE, URI, NULL, 400, 999, 206);
    if (extra_get > 0) { /* the image once more */
        put(extra_get, OTA_TR_HTTP, OTA_EV_HTTP_GET, URI, NULL, 0, -1, 0);
        put(extra_get + 0.1, OTA_TR_HTTP, OTA_EV_HTTP_DONE, URI, NULL, 0, 999, 206);
    }
    put(3.0, OTA_TR_MQTT_IN, OTA_EV_NONE, "/ota/device/progress/pk/dn",
        "{\"id\":\"3\",\"params\":{\"step\":\"100\",\"desc\":\"\"}}", -1, -1, 0);
    put(3.5, OTA_TR_MQTT_IN, OTA_EV_NONE, "/ota/device/inform/pk/dn",
        "{\"id\":\"4\",\"params\":{\"version\":\"2.0\"}}", -1, -1, 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(path_a, sizeof(path_a), "/tmp/ota-cost-a-%d.jsonl", (int)getpid());
    snprintf(path_b, sizeof(path_b), "/tmp/ota-cost-b-%d.jsonl", (int)getpid());
    snprintf(out, sizeof(out), "/tmp/ota-cost-%d.out", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path_a);
    unlink(path_b);
    unlink(out);
    return 0;
}

static rp_report *load(const char *path)
{
    rp_report *r = NULL;
    char err[256];
    assert_int_equal(rp_report_load(path, &r, err, sizeof(err)), RP_OK);
    assert_int_equal(r->ntests, 1);
    return r;
}

static void a_reset_costs_the_image_once_and_one_retry(void **state)
{
    rp_report *r;
    const rp_cost *c;
    (void)state;

    begin(path_a);
    reset_and_resume(0);
    end();
    r = load(path_a);
    c = &r->tests[0].cost;
    assert_true(c->measured);
    assert_int_equal(c->bytes, 1000);
    assert_int_equal(c->image_bytes, 1000);
    assert_true(c->amplification > 0.999 && c->amplification < 1.001);
    assert_int_equal(c->requests, 2);
    assert_int_equal(c->retries, 1);
    assert_true(c->gap_min > 1.19 && c->gap_min < 1.21);
    assert_int_equal(c->messages, 2);
    assert_string_equal(c->fault, "http-reset");
    assert_true(c->fault_to_report > 1.89 && c->fault_to_report < 1.91);
    assert_true(c->push_to_final > 2.99 && c->push_to_final < 3.01);
    rp_report_free(r);
}

/* A stalled response ends only when the server stops: the resumed Range says what it sent. */
static void a_stalled_response_is_measured_by_the_resume(void **state)
{
    rp_report *r;
    (void)state;

    begin(path_a);
    put(0.5, OTA_TR_MQTT_OUT, OTA_EV_NONE, "/ota/device/upgrade/pk/dn", PUSH, -1, -1, 0);
    put(1.0, OTA_TR_HTTP, OTA_EV_HTTP_GET, URI, NULL, 0, -1, 0);
    put(4.0, OTA_TR_HTTP, OTA_EV_HTTP_GET, URI, NULL, 600, -1, 0);
    put(4.1, OTA_TR_HTTP, OTA_EV_HTTP_DONE, URI, NULL, 600, 999, 206);
    put(5.0, OTA_TR_HTTP, OTA_EV_HTTP_ABORTED, URI, NULL, 0, 599, 206); /* counted already */
    end();
    r = load(path_a);
    assert_int_equal(r->tests[0].cost.bytes, 1000);
    assert_int_equal(r->tests[0].cost.retries, 1);
    rp_report_free(r);
}

static void downloading_twice_is_worse_than_the_baseline(void **state)
{
    rp_report *r;
    rp_thresholds th;
    char err[256], text[4096] = "";
    FILE *o;
    (void)state;

    begin(path_a);
    reset_and_resume(0);
    end();
    begin(path_b);
    reset_and_resume(2.5);
    end();
    rp_thresholds_default(&th);
    r = load(path_b);
    assert_int_equal(r->tests[0].cost.bytes, 2000);
    assert_int_equal(rp_report_compare(r, path_a, &th, 1, err, sizeof(err)), RP_OK);
    assert_int_equal(r->cmp->changed, 1);
    assert_int_equal(r->cmp->worse, 1);
    assert_true(r->cmp->rows[0].worse & (1u << RP_METRIC_BYTES));
    assert_non_null(strstr(r->cmp->rows[0].text, "bytes 1000 (1.00x) -> 2000 (2.00x)"));
    /* --baseline-strict: a JUnit failure of its own type. */
    assert_int_equal(rp_report_junit(r, out), RP_OK);
    o = fopen(out, "r");
    assert_non_null(o);
    text[fread(text, 1, sizeof(text) - 1, o)] = '\0';
    fclose(o);
    assert_non_null(strstr(text, "type=\"BASELINE\""));
    assert_non_null(strstr(text, "failures=\"1\""));
    assert_non_null(strstr(text, "<property name=\"baseline.bytes\" value=\"1000\"/>"));
    /* A threshold above the change absorbs it; the same run against itself has none. */
    assert_int_equal(rp_thresholds_set(&th, "bytes=150"), RP_OK);
    assert_int_equal(rp_report_compare(r, path_a, &th, 1, err, sizeof(err)), RP_OK);
    assert_int_equal(r->cmp->changed, 0);
    rp_thresholds_default(&th);
    assert_int_equal(rp_report_compare(r, path_b, &th, 1, err, sizeof(err)), RP_OK);
    assert_int_equal(r->cmp->changed, 0);
    assert_int_equal(rp_thresholds_set(&th, "nosuch=1"), RP_ERR_ARG);
    assert_int_equal(rp_thresholds_set(&th, "bytes=-1"), RP_ERR_ARG);
    assert_int_equal(rp_thresholds_set(&th, "bytes="), RP_ERR_ARG);
    rp_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_reset_costs_the_image_once_and_one_retry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_stalled_response_is_measured_by_the_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(downloading_twice_is_worse_than_the_baseline, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
