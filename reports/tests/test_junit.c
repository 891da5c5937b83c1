/*
 * The JUnit writer: a real XML parser (xmllint, from libxml2) must accept
 * the file whatever bytes the messages hold, and read back the counts.
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

static char path[64];

static void xpath(const char *expr, char *out, size_t cap)
{
    char cmd[512];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof(cmd), "xmllint --xpath '%s' %s 2>&1", expr, path);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

static void hostile_text_still_makes_valid_xml(void **state)
{
    rp_test t[4] = {0};
    rp_run run = {"ota-conformance", "dev<1>", "2026-11-22T00:00:00", 1.5, t, 4,
                  "thingspanel",     NULL};
    char cmd[512], out[256];
    int fd;
    (void)state;

    strcpy(t[0].name, "progress_step_is_a_string");
    strcpy(t[0].group, "push");
    strcpy(t[0].rules, "PROG-1");
    t[0].verdict = RP_FAIL;
    strcpy(t[0].failed_rule, "PROG-1");
    strcpy(t[0].message, "step must be a string, got 42 in {\"step\":42} & <more> \x01 \xff "
                         "\xc3\xa9 \xf0\x9f\x98\x80 ]]>");
    t[0].system_out = strdup("line \x02 with ]]> and \xc0\x80 overlong");
    strcpy(t[1].name, "flash_failure_reports_minus_4");
    strcpy(t[1].group, "failure");
    t[1].verdict = RP_NA;
    strcpy(t[1].message, "N/A: the device lacks the inject-flash capability");
    strcpy(t[2].name, "inform_id_is_valid");
    strcpy(t[2].group, "push");
    t[2].verdict = RP_PASS;
    t[2].nwarnings = 1;
    strcpy(t[2].warnings[0].rule, "VER-3");
    strcpy(t[2].warnings[0].text, "id is a number");
    strcpy(t[3].name, "live_push_starts_upgrade");
    strcpy(t[3].group, "push");
    t[3].verdict = RP_INCONCLUSIVE;
    strcpy(t[3].message, "the push could not reach the device: it was not connected");

    strcpy(path, "/tmp/junit-test-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(rp_junit_write(&run, path), RP_OK);
    free(t[0].system_out);
    snprintf(cmd, sizeof(cmd), "xmllint --noout --schema %s/fixtures/schemas/junit.xsd %s 2>&1",
             OTA_SOURCE_DIR, path);
    assert_int_equal(system(cmd), 0);
    xpath("string(/testsuites/@tests)", out, sizeof(out));
    assert_string_equal(out, "4");
    xpath("string(/testsuites/@errors)", out, sizeof(out));
    assert_string_equal(out, "1");
    xpath("string(//testcase[error]/@name)", out, sizeof(out));
    assert_string_equal(out, "live_push_starts_upgrade");
    xpath("string(/testsuites/@failures)", out, sizeof(out));
    assert_string_equal(out, "1");
    xpath("count(/testsuites/testsuite)", out, sizeof(out));
    assert_string_equal(out, "2");
    xpath("string(//testcase[@name=\"inform_id_is_valid\"]//property[@name=\"warning\"]/@value)",
          out, sizeof(out));
    assert_string_equal(out, "VER-3: id is a number");
    xpath("string(//testcase[skipped]/@name)", out, sizeof(out));
    assert_string_equal(out, "flash_failure_reports_minus_4");
    unlink(path);
    assert_int_equal(rp_junit_write(&run, "/nonexistent/dir/x.xml"), RP_ERR_IO);
}

static void escape_is_bounded(void **state)
{
    char out[8];
    (void)state;
    rp_xml_escape("<<<<<<", out, sizeof(out));
    assert_string_equal(out, "&lt;");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_text_still_makes_valid_xml),
        cmocka_unit_test(escape_is_bounded),
    };
    return cmocka_run_group_tests_name("junit", tests, NULL, NULL);
}
