/*
 * The test a firmware team writes for its OTA module with libotamock: the
 * mock Aliyun cloud runs in the test process (its own Mosquitto broker with
 * the login plugin, the file server, OTA jobs with fault plans), the module
 * under test (my_ota.c) talks to it as to the real cloud, and the test asserts
 * on the module's result, on the job the cloud judged, and on the messages
 * the module sent (the cloud's trace).
 *
 * Built against an installed ota-conformance through pkg-config (Makefile) or
 * find_package (CMakeLists.txt); OTA_DATADIR and OTA_PLUGIN come from there.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "my_ota.h"
#include "otamock/mock.h"

static mc_cloud *cloud;

typedef struct {
    my_ota_device dev;
    my_ota_result res;
} device_run;

static int start_cloud(void **state)
{
    mc_config cfg = {0};
    char err[256] = "";
    (void)state;
    cfg.devices_dir = OTA_DATADIR "/devices"; /* ref-device.json: the identity below */
    cfg.plugin_path = OTA_PLUGIN;             /* logins and topics checked as the real cloud */
    if (mc_cloud_start(&cfg, &cloud, err, sizeof(err)) != MC_OK) {
        print_error("the mock cloud did not start: %s\n", err);
        return -1;
    }
    return 0;
}

static int stop_cloud(void **state)
{
    (void)state;
    mc_cloud_stop(cloud);
    return 0;
}

static void *run_device(void *arg)
{
    device_run *r = arg;
    r->res = my_ota_check_once(&r->dev);
    return NULL;
}

/* Start the module in a thread, wait for its version report, then push a job (with a fault). */
static my_ota_result update_with(const char *plan, char *version_out, int *job_id)
{
    device_run r = {.dev = {.host = mc_cloud_broker_host(cloud),
                            .port = mc_cloud_broker_port(cloud),
                            .product_key = "a1RefProd01",
                            .device_name = "ref-device-01",
                            .device_secret = "0123456789abcdef0123456789abcdef",
                            .version = "1.0.0",
                            .wait_s = 10}};
    mc_job_spec spec = {.dn = "ref-device-01", .version = "1.1.0", .image_size = 65536};
    mc_device_info info;
    int informs;
    pthread_t t;

    assert_int_equal(mc_device_get(cloud, "ref-device-01", &info), MC_OK);
    informs = info.informs;
    if (plan) {
        mc_scenario sc;
        char err[256];
        assert_int_equal(mc_scenario_load(OTA_DATADIR "/scenarios", plan, &sc, err, sizeof(err)),
                         MC_OK);
        spec.fault = sc.fault;
    }
    assert_int_equal(pthread_create(&t, NULL, run_device, &r), 0);
    for (int i = 0; i < 200 && info.informs == informs; i++) {
        mc_trace_wait(cloud, mc_trace_count(cloud), mc_now(cloud) + 0.05);
        mc_device_get(cloud, "ref-device-01", &info);
    }
    assert_int_not_equal(info.informs, informs);
    assert_int_equal(mc_job_create(cloud, &spec, job_id), MC_OK);
    pthread_join(t, NULL);
    strcpy(version_out, r.dev.version);
    return r.res;
}

/* The progress steps the device sent since trace record `from`, as "0,100". */
static void steps_sent(size_t from, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = from; i < mc_trace_count(cloud); i++) {
        const ota_trace_rec *rec = mc_trace_at(cloud, i);
        if (rec->kind != OTA_TR_MQTT_IN || !strstr(rec->topic, "/ota/device/progress/"))
            continue;
        cJSON *msg = cJSON_Parse((const char *)rec->payload);
        const char *step =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "params"), "step"));
        if (step)
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", step);
        cJSON_Delete(msg);
    }
}

static void good_image_is_installed(void **state)
{
    char version[32], steps[64];
    size_t from = mc_trace_count(cloud);
    mc_job_info job;
    int id;
    (void)state;

    assert_int_equal(update_with(NULL, version, &id), MY_OTA_UPDATED);
    assert_string_equal(version, "1.1.0");
    assert_int_equal(mc_job_get(cloud, id, &job), MC_OK);
    assert_int_equal(job.state, MC_JOB_SUCCEEDED);
    steps_sent(from, steps, sizeof(steps));
    assert_string_equal(steps, "0,100");
}

static void missing_file_reports_minus_2(void **state)
{
    char version[32], steps[64];
    size_t from = mc_trace_count(cloud);
    mc_job_info job;
    int id;
    (void)state;

    /* fixtures' fault plan http-status-404: every download answered 404 */
    assert_int_equal(update_with("http-status-404", version, &id), MY_OTA_FAILED);
    assert_string_equal(version, "1.0.0");
    assert_int_equal(mc_job_get(cloud, id, &job), MC_OK);
    assert_int_equal(job.state, MC_JOB_FAILED);
    assert_int_equal(job.fail_code, -2);
    steps_sent(from, steps, sizeof(steps));
    assert_string_equal(steps, "0,-2");
}

static void corrupt_image_reports_minus_3(void **state)
{
    char version[32], steps[64];
    size_t from = mc_trace_count(cloud);
    mc_job_info job;
    int id;
    (void)state;

    assert_int_equal(update_with("http-corrupt", version, &id), MY_OTA_FAILED);
    assert_string_equal(version, "1.0.0");
    assert_int_equal(mc_job_get(cloud, id, &job), MC_OK);
    assert_int_equal(job.fail_code, -3);
    steps_sent(from, steps, sizeof(steps));
    assert_string_equal(steps, "0,-3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_image_is_installed),
        cmocka_unit_test(missing_file_reports_minus_2),
        cmocka_unit_test(corrupt_image_reports_minus_3),
    };
    return cmocka_run_group_tests_name("my_ota", tests, start_cloud, stop_cloud);
}
