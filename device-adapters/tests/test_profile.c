/* Device profiles: every example in fixtures/devices parses; bad ones say file, field and why. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "otadut/profile.h"

#define ID "\"productKey\":\"a1P\",\"deviceName\":\"d1\",\"deviceSecret\":\"s\""

static int parse(const char *json, dut_profile *p, char *err, size_t cap)
{
    return dut_profile_parse(json, strlen(json), "t.json", p, err, cap);
}

static void examples_parse(void **state)
{
    char dir[512], path[1024], err[512];
    DIR *d;
    struct dirent *e;
    int n = 0;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/fixtures/devices", OTA_SOURCE_DIR);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        dut_profile p;
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (dut_profile_load(path, &p, err, sizeof(err)) != DUT_OK ||
            dut_profile_check(&p, path, err, sizeof(err)) != DUT_OK)
            fail_msg("%s", err);
        n++;
    }
    closedir(d);
    assert_true(n >= 5);
}

static void identity_only_is_the_reference_device(void **state)
{
    dut_profile p;
    char err[256];
    (void)state;

    assert_int_equal(parse("{" ID "}", &p, err, sizeof(err)), DUT_OK);
    assert_int_equal(p.adapter, DUT_ADAPTER_REFERENCE);
    assert_string_equal(p.module, "default");
    assert_string_equal(p.firmware_version, "1.0.0");
    assert_int_equal(p.url_port, 1);
    assert_int_equal(p.mqtt_port, 0);
    assert_true(p.bounds.inform == 10 && p.bounds.final == 60 && p.bounds.boot == 10);
}

static void full_profile(void **state)
{
    dut_profile p;
    char err[256];
    (void)state;

    assert_int_equal(parse("{" ID ",\"adapter\":\"serial\",\"capabilities\":[\"reset\",\"set\"],"
                           "\"endpoints\":{\"mqttPort\":1883,\"httpPort\":80,\"urlPort\":false,"
                           "\"urlHost\":\"10.0.0.2\"},\"reset\":{\"method\":\"dtr-rts\","
                           "\"sequence\":\"esp32\"},\"serial\":{\"port\":\"/dev/ttyUSB0\","
                           "\"baud\":921600},\"timeBounds\":{\"final\":120},\"timeScale\":2}",
                           &p, err, sizeof(err)),
                     DUT_OK);
    assert_int_equal(p.adapter, DUT_ADAPTER_SERIAL);
    assert_string_equal(p.caps, "reset,set");
    assert_int_equal(p.http_port, 80);
    assert_int_equal(p.url_port, 0);
    assert_int_equal(p.reset, DUT_RESET_LINES);
    assert_int_equal(p.baud, 921600);
    assert_true(p.bounds.final == 120 && p.bounds.boot == 60 && p.time_scale == 2);
    assert_int_equal(dut_profile_check(&p, "t.json", err, sizeof(err)), DUT_OK);
}

/* Each bad profile: the message names the file, the field and what is wrong. */
/* The firmware section: files relative to the profile's folder, the versions each way defaults. */
static void firmware_section(void **state)
{
    dut_profile p;
    char err[256] = "";
    const char *files =
        "{" ID ",\"firmware\":{\"files\":[{\"version\":\"2.0\",\"file\":\"fw/a.bin\"},"
        "{\"version\":\"3.0\",\"file\":\"/abs/b.bin\",\"module\":\"MCU\"}],"
        "\"checks\":true,\"reflash\":true}}";
    (void)state;

    assert_int_equal(dut_profile_parse(files, strlen(files), "lab/dev.json", &p, err, sizeof(err)),
                     DUT_OK);
    assert_true(p.fw.present && p.fw.checks && p.fw.reflash);
    assert_int_equal(p.fw.nfiles, 2);
    assert_string_equal(p.fw.files[0].file, "lab/fw/a.bin");
    assert_string_equal(p.fw.files[1].file, "/abs/b.bin");
    assert_string_equal(p.fw.files[1].module, "MCU");
    assert_string_equal(dut_fw_versions_name(&p.fw), "alternate");
    assert_int_equal(
        parse("{" ID ",\"firmware\":{\"build\":\"make {version}\"}}", &p, err, sizeof(err)),
        DUT_OK);
    assert_string_equal(dut_fw_versions_name(&p.fw), "upward");
    assert_int_equal(parse("{" ID "}", &p, err, sizeof(err)), DUT_OK);
    assert_false(p.fw.present);
}

static void bad_profiles_say_why(void **state)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"[1]", "not a JSON object"},
        {"{" ID ",}", "not a JSON object"},
        {"{" ID ",\n  \"module\": \"m\"\n  \"adapter\": 1}", "line 3, column 3"},
        {"{\"deviceName\":\"d\",\"deviceSecret\":\"s\"}", "'productKey' is missing"},
        {"{" ID ",\"adapter\":\"usb\"}", "'adapter' must be one of"},
        {"{" ID ",\"endpoints\":{\"mqtPort\":1}}", "unknown field 'endpoints.mqtPort'"},
        {"{" ID ",\"endpoints\":{\"mqttPort\":70000}}", "'endpoints.mqttPort' must be a number"},
        {"{" ID ",\"endpoints\":{\"urlPort\":\"no\"}}",
         "'endpoints.urlPort' must be true or false"},
        {"{" ID ",\"serial\":{\"baud\":12345}}", "12345 is not a speed"},
        {"{" ID ",\"reset\":{\"method\":\"reboot\"}}", "'reset.method' must be one of"},
        {"{" ID ",\"capabilities\":\"reset\"}", "'capabilities' must be an array"},
        {"{" ID ",\"endpoints\":3}", "'endpoints' must be an object"},
        {"{" ID ",\"dialect\":\"mqtt\"}", "only aliyun"},
        {"{\"productKey\":\"a/b\",\"deviceName\":\"d\",\"deviceSecret\":\"s\"}", "without '/'"},
        {"{" ID ",\"firmware\":{\"build\":\"b\",\"versions\":\"down\"}}",
         "'firmware.versions' must be \"upward\" or \"alternate\""},
        {"{" ID ",\"firmware\":{\"build\":\"b\",\"signed\":true}}",
         "'firmware.signed' is not a member of firmware"},
        {"{" ID ",\"firmware\":{\"files\":[{\"file\":\"a\"},{\"file\":\"b\"}]}}",
         "need \"version\" and \"file\""},
        {"{" ID ",\"firmware\":[]}", "'firmware' must be an object"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dut_profile p;
        char err[512] = "";
        if (parse(cases[i].json, &p, err, sizeof(err)) == DUT_OK)
            fail_msg("accepted: %s", cases[i].json);
        if (!strstr(err, cases[i].want) || !strstr(err, "t.json"))
            fail_msg("for %s: expected '%s' in: %s", cases[i].json, cases[i].want, err);
    }
}

/*
 * Found by fuzz_profile: the error excerpt after a parse error was printed
 * with %.40s from a buffer that need not end in NUL, reading past its end.
 */
static void error_excerpt_stays_inside_the_input(void **state)
{
    static const char text[] = "{\"productKey\":";
    size_t len = sizeof(text) - 1;
    char *exact = malloc(len ? len : 1), err[512] = "";
    dut_profile p;
    (void)state;

    memcpy(exact, text, len); /* no NUL after it: ASan sees any read past len */
    assert_int_equal(dut_profile_parse(exact, len, "t.json", &p, err, sizeof(err)), DUT_ERR_ARG);
    assert_non_null(strstr(err, "not a JSON object"));
    assert_int_equal(dut_profile_parse(exact, 0, "t.json", &p, err, sizeof(err)), DUT_ERR_ARG);
    free(exact);
}

static void whole_profile_checks(void **state)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{" ID ",\"adapter\":\"process\"}", "needs 'command'"},
        {"{" ID ",\"adapter\":\"serial\",\"endpoints\":{\"mqttPort\":1}}", "needs 'serial.port'"},
        {"{" ID ",\"adapter\":\"network\"}", "broker port compiled in"},
        {"{" ID ",\"reset\":{\"method\":\"command\"}}", "needs 'reset.command'"},
        {"{" ID ",\"reset\":{\"method\":\"dtr-rts\"}}", "needs 'reset.sequence'"},
        /* After the command line, which may give the images (--firmware, --firmware-build). */
        {"{" ID ",\"firmware\":{}}", "'firmware' needs 'build'"},
        {"{" ID ",\"firmware\":{\"files\":[{\"version\":\"1\",\"file\":\"a\"}]}}",
         "at least two versions (or on the command line --firmware-build CMD"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dut_profile p;
        char err[512] = "";
        assert_int_equal(parse(cases[i].json, &p, err, sizeof(err)), DUT_OK);
        if (dut_profile_check(&p, "t.json", err, sizeof(err)) == DUT_OK)
            fail_msg("check accepted: %s", cases[i].json);
        if (!strstr(err, cases[i].want))
            fail_msg("for %s: expected '%s' in: %s", cases[i].json, cases[i].want, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(examples_parse),
        cmocka_unit_test(identity_only_is_the_reference_device),
        cmocka_unit_test(full_profile),
        cmocka_unit_test(firmware_section),
        cmocka_unit_test(bad_profiles_say_why),
        cmocka_unit_test(error_excerpt_stays_inside_the_input),
        cmocka_unit_test(whole_profile_checks),
    };
    return cmocka_run_group_tests_name("dut_profile", tests, NULL, NULL);
}
