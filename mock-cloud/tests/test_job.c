/*
 * The job state machine, as a pure table: the real cloud's success rule,
 * the timer and cancel. Then the timer and cancel on a cloud without
 * transports (registry and trace only; time moved through its clock origin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_priv.h"

static void progress_100_alone_is_not_success(void **state)
{
    mc_job_action a;
    mc_job_state s = MC_JOB_PENDING;
    (void)state;
    s = mc_job_next(s, MC_EV_PROGRESS, &a);
    assert_int_equal(s, MC_JOB_UPGRADING);
    assert_int_equal(a, MC_ACT_NOTE_START);
    s = mc_job_next(s, MC_EV_PROGRESS, &a);
    assert_int_equal(s, MC_JOB_UPGRADING);
    s = mc_job_next(s, MC_EV_INFORM_OTHER, &a);
    assert_int_equal(s, MC_JOB_UPGRADING);
    s = mc_job_next(s, MC_EV_INFORM_TARGET, &a);
    assert_int_equal(s, MC_JOB_SUCCEEDED);
    assert_int_equal(a, MC_ACT_RECORD_SUCCESS);
}

static void negative_step_fails_and_terminal_states_stay(void **state)
{
    mc_job_action a;
    (void)state;
    assert_int_equal(mc_job_next(MC_JOB_PENDING, MC_EV_FAIL_STEP, &a), MC_JOB_FAILED);
    assert_int_equal(a, MC_ACT_RECORD_FAIL);
    assert_int_equal(mc_job_next(MC_JOB_FAILED, MC_EV_INFORM_TARGET, &a), MC_JOB_FAILED);
    assert_int_equal(a, MC_ACT_NONE);
    assert_int_equal(mc_job_next(MC_JOB_SUCCEEDED, MC_EV_FAIL_STEP, &a), MC_JOB_SUCCEEDED);
    assert_int_equal(mc_job_next(MC_JOB_UPGRADING, MC_EV_SUPERSEDE, &a), MC_JOB_CANCELED);
    assert_int_equal(mc_job_next(MC_JOB_CANCELED, MC_EV_PROGRESS, &a), MC_JOB_CANCELED);
    assert_int_equal(mc_job_next(MC_JOB_PENDING, MC_EV__COUNT, &a), MC_JOB_PENDING);
}

static void timer_and_cancel_end_open_jobs_only(void **state)
{
    mc_job_action a;
    (void)state;
    assert_int_equal(mc_job_next(MC_JOB_PENDING, MC_EV_TIMEOUT, &a), MC_JOB_TIMED_OUT);
    assert_int_equal(a, MC_ACT_RECORD_TIMEOUT);
    assert_int_equal(mc_job_next(MC_JOB_UPGRADING, MC_EV_TIMEOUT, &a), MC_JOB_TIMED_OUT);
    assert_int_equal(mc_job_next(MC_JOB_UPGRADING, MC_EV_CANCEL, &a), MC_JOB_CANCELED);
    assert_int_equal(a, MC_ACT_NOTE_CANCEL);
    assert_int_equal(mc_job_next(MC_JOB_SUCCEEDED, MC_EV_TIMEOUT, &a), MC_JOB_SUCCEEDED);
    assert_int_equal(a, MC_ACT_NONE);
    assert_int_equal(mc_job_next(MC_JOB_TIMED_OUT, MC_EV_INFORM_TARGET, &a), MC_JOB_TIMED_OUT);
    assert_int_equal(mc_job_next(MC_JOB_FAILED, MC_EV_CANCEL, &a), MC_JOB_FAILED);
    for (int st = 0; st < MC_JOB__COUNT; st++)
        assert_string_not_equal(mc_job_state_name((mc_job_state)st), "UNKNOWN");
    assert_string_equal(mc_job_state_name(MC_JOB_TIMED_OUT), "TIMED_OUT");
}

/* A cloud with its registry and trace, no broker and no file server: jobs are never pushed. */
static int bare_setup(void **state)
{
    char err[256];
    mc_cloud *c = calloc(1, sizeof(*c));

    if (!c)
        return -1;
    pthread_mutex_init(&c->lock, NULL);
    c->t0 = ota_clock_now();
    c->dialect = ota_dialect_get(OTA_DIALECT_ALIYUN); /* what mc_cloud_start sets by default */
    if (mc_trace_open(c, NULL, 0) != MC_OK ||
        mc_registry_load(c, OTA_SOURCE_DIR "/fixtures/devices", err, sizeof(err)) != MC_OK)
        return -1;
    *state = c;
    return 0;
}

static int bare_teardown(void **state)
{
    mc_cloud *c = *state;
    mc_jobs_free(c);
    mc_registry_free(c);
    mc_trace_close(c);
    mc_files_free(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return 0;
}

static int job(mc_cloud *c, double timeout_s)
{
    mc_job_spec s = {.dn = "ref-device-01",
                     .version = "2.0.0",
                     .image_size = 100,
                     .no_publish = 1,
                     .timeout_s = timeout_s};
    int id;
    assert_int_equal(mc_job_create(c, &s, &id), MC_OK);
    return id;
}

static void progress(mc_cloud *c, const char *step)
{
    char p[96];
    snprintf(p, sizeof(p), "{\"id\":\"7\",\"params\":{\"step\":\"%s\",\"desc\":\"\"}}", step);
    mc_cloud_on_uplink(c, "/ota/device/progress/a1RefProd01/ref-device-01", p, strlen(p));
}

static void a_stuck_job_times_out_at_its_last_step(void **state)
{
    mc_cloud *c = *state;
    mc_job_info ji;
    int id = job(c, 2);

    progress(c, "40");
    progress(c, "98");
    c->t0 -= 1.5;
    mc_jobs_tick(c);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_int_equal(ji.state, MC_JOB_UPGRADING);
    c->t0 -= 0.6;
    mc_jobs_tick(c);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_int_equal(ji.state, MC_JOB_TIMED_OUT);
    assert_string_equal(ji.reason, "timed out after 2 s in state UPGRADING at step 98");
    const ota_trace_rec *r = mc_trace_at(c, mc_trace_count(c) - 1);
    assert_int_equal(r->kind, OTA_TR_CLOUD);
    assert_non_null(strstr(r->info, "UPGRADING -> TIMED_OUT (timed out after 2 s"));
    assert_non_null(strstr((const char *)r->payload, "\"step\":98"));
    progress(c, "100");
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_int_equal(ji.state, MC_JOB_TIMED_OUT);
}

static void the_library_default_is_no_timer(void **state)
{
    mc_cloud *c = *state;
    mc_job_info ji;
    int id = job(c, 0);

    c->t0 -= 1e7;
    mc_jobs_tick(c);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_int_equal(ji.state, MC_JOB_PENDING);
    assert_int_equal(ji.timeout_s, 0);
    c->job_timeout_s = 5; /* a cloud's default applies to jobs created afterwards */
    id = job(c, 0);
    c->t0 -= 5;
    mc_jobs_tick(c);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_int_equal(ji.state, MC_JOB_TIMED_OUT);
    assert_string_equal(ji.reason, "timed out after 5 s in state PENDING, no progress reported");
}

static void cancel_ends_an_open_job_once(void **state)
{
    mc_cloud *c = *state;
    mc_job_info ji;
    int id = job(c, 0);

    assert_int_equal(mc_job_cancel(c, id, NULL), MC_OK);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_int_equal(ji.state, MC_JOB_CANCELED);
    assert_string_equal(ji.reason, "canceled by the API");
    assert_int_equal(mc_job_cancel(c, id, NULL), MC_ERR_STATE);
    assert_int_equal(mc_job_cancel(c, 99, NULL), MC_ERR_NOTFOUND);
    assert_string_equal(mc_strerror(MC_ERR_STATE), "the job is already finished");
}

static void topics_outside_ota_are_traced_for_known_devices(void **state)
{
    mc_cloud *c = *state;
    size_t n = mc_trace_count(c);
    const char *info = "{\"id\":\"1\",\"params\":[]}";

    mc_cloud_on_uplink(c, "/sys/a1RefProd01/ref-device-01/thing/deviceinfo/update", info,
                       strlen(info));
    assert_int_equal(mc_trace_count(c), n + 1);
    const ota_trace_rec *r = mc_trace_at(c, n);
    assert_int_equal(r->kind, OTA_TR_MQTT_IN);
    assert_string_equal(r->dev, "ref-device-01");
    mc_cloud_on_uplink(c, "/a1RefProd01/ref-device-01/user/data", "x", 1);
    assert_int_equal(mc_trace_count(c), n + 2);
    mc_cloud_on_uplink(c, "/sys/otherProd/nobody/thing/deviceinfo/update", "x", 1);
    mc_cloud_on_uplink(c, "/ota/device/upgrade/a1RefProd01/ref-device-01", "{}", 2);
    assert_int_equal(mc_trace_count(c), n + 2);
}

static void fault_countdown(void **state)
{
    mc_fault f = {.kind = MC_FAULT_HTTP_STATUS, .value = 404, .skip = 1, .count = 2};
    int seen = 0;
    (void)state;
    assert_false(mc_fault_fires(&f, &seen));
    assert_true(mc_fault_fires(&f, &seen));
    assert_true(mc_fault_fires(&f, &seen));
    assert_false(mc_fault_fires(&f, &seen));
    f.count = -1;
    assert_true(mc_fault_fires(&f, &seen));
    assert_string_equal(mc_job_state_name(MC_JOB_FAILED), "FAILED");
    assert_string_equal(mc_fault_kind_name(MC_FAULT_HTTP_STATUS), "http-status");
}

/*
 * A job that serves a firmware file: the push carries its size, its digests and isDiff, its
 * bytes are the file's, jobs of one file share one entry, an unreadable or empty file is
 * refused.
 */
static void a_job_serves_a_firmware_file(void **state)
{
    mc_cloud *c = *state;
    char path[] = "/tmp/ota-test-fw-XXXXXX", empty[] = "/tmp/ota-test-fw-XXXXXX", md5[33], sha[65];
    unsigned char body[3000], back[16];
    mc_job_spec s = {.dn = "ref-device-01", .version = "2.0.0", .no_publish = 1, .is_diff = 1};
    mc_job_info ji;
    int fd = mkstemp(path), fe = mkstemp(empty), id;

    assert_true(fd >= 0 && fe >= 0);
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(write(fd, body, sizeof(body)), (ssize_t)sizeof(body));
    close(fd);
    close(fe);
    ota_digest_hex(OTA_DIGEST_MD5, body, sizeof(body), md5, sizeof(md5));
    ota_digest_hex(OTA_DIGEST_SHA256, body, sizeof(body), sha, sizeof(sha));
    s.image_path = path;
    s.image_size = 99; /* ignored: the file says */
    assert_int_equal(mc_job_create(c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_int_equal(ji.size, sizeof(body));
    assert_string_equal(ji.digest_hex, md5);
    assert_string_equal(ji.sha256_hex, sha);
    assert_non_null(strstr(mc_job_find(c, id)->push, "\"size\":3000"));
    assert_non_null(strstr(mc_job_find(c, id)->push, "\"isDiff\":1"));
    mc_image_read(&mc_job_find(c, id)->image, 2990, back, 10);
    assert_memory_equal(back, body + 2990, 10);
    s.digest = OTA_DIGEST_SHA256;
    assert_int_equal(mc_job_create(c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_string_equal(ji.digest_hex, sha);
    assert_non_null(c->files);
    assert_null(c->files->next); /* one entry for both jobs */
    s.image_path = empty;
    assert_int_equal(mc_job_create(c, &s, &id), MC_ERR_ARG);
    s.image_path = "/nonexistent/fw.bin";
    assert_int_equal(mc_job_create(c, &s, &id), MC_ERR_IO);
    assert_non_null(strstr(mc_trace_at(c, mc_trace_count(c) - 1)->info,
                           "cannot open the firmware file /nonexistent/fw.bin"));
    unlink(path);
    unlink(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(progress_100_alone_is_not_success),
        cmocka_unit_test(negative_step_fails_and_terminal_states_stay),
        cmocka_unit_test(fault_countdown),
        cmocka_unit_test(timer_and_cancel_end_open_jobs_only),
        cmocka_unit_test_setup_teardown(a_stuck_job_times_out_at_its_last_step, bare_setup,
                                        bare_teardown),
        cmocka_unit_test_setup_teardown(the_library_default_is_no_timer, bare_setup, bare_teardown),
        cmocka_unit_test_setup_teardown(cancel_ends_an_open_job_once, bare_setup, bare_teardown),
        cmocka_unit_test_setup_teardown(topics_outside_ota_are_traced_for_known_devices, bare_setup,
                                        bare_teardown),
        cmocka_unit_test_setup_teardown(a_job_serves_a_firmware_file, bare_setup, bare_teardown),
    };
    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
