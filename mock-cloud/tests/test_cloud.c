/*
 * The mock cloud against a real Mosquitto it starts itself, real libcurl
 * downloads and a real MQTT client standing in for a device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mock_priv.h"

#define DN "ref-device-01"
#define PK "a1RefProd01"

typedef struct {
    mc_cloud *c;
    struct mosquitto *m;
    pthread_mutex_t lock;
    char last[4096];
    int got;
    int subacks;
} fixture;

static void on_sub(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
    fixture *f = obj;
    (void)m;
    (void)mid;
    (void)n;
    (void)q;
    pthread_mutex_lock(&f->lock);
    f->subacks++;
    pthread_mutex_unlock(&f->lock);
}

static void on_msg(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    fixture *f = obj;
    (void)m;
    pthread_mutex_lock(&f->lock);
    snprintf(f->last, sizeof(f->last), "%.*s", msg->payloadlen, (char *)msg->payload);
    f->got++;
    pthread_mutex_unlock(&f->lock);
}

static int wait_msg(fixture *f, int count)
{
    double end = mc_now(f->c) + 5;
    while (mc_now(f->c) < end) {
        int got;
        pthread_mutex_lock(&f->lock);
        got = f->got;
        pthread_mutex_unlock(&f->lock);
        if (got >= count)
            return 1;
        mc_trace_wait(f->c, mc_trace_count(f->c), mc_now(f->c) + 0.05);
    }
    return 0;
}

static int setup(void **state)
{
    static fixture f;
    char devs[1024], err[256];
    mc_config cfg = {0};
    const char *fx = getenv("OTA_FIXTURES");

    snprintf(devs, sizeof(devs), "%s/devices", fx ? fx : OTA_SOURCE_DIR "/fixtures");
    cfg.devices_dir = devs;
    if (mc_cloud_start(&cfg, &f.c, err, sizeof(err)) != MC_OK) {
        fprintf(stderr, "cloud: %s\n", err);
        return -1;
    }
    pthread_mutex_init(&f.lock, NULL);
    mosquitto_lib_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    f.m = mosquitto_new("test-device", true, &f);
    mosquitto_message_callback_set(f.m, on_msg);
    mosquitto_subscribe_callback_set(f.m, on_sub);
    if (mosquitto_connect(f.m, "127.0.0.1", mc_cloud_broker_port(f.c), 30) != 0)
        return -1;
    mosquitto_subscribe(f.m, NULL, "/ota/device/upgrade/" PK "/" DN, 1);
    mosquitto_subscribe(f.m, NULL, "/sys/" PK "/" DN "/thing/ota/firmware/get_reply", 1);
    mosquitto_loop_start(f.m);
    /* Both SUBACKs, with a deadline: pushes published before them would be lost. */
    for (double end = mc_now(f.c) + 5; mc_now(f.c) < end;) {
        int n;
        pthread_mutex_lock(&f.lock);
        n = f.subacks;
        pthread_mutex_unlock(&f.lock);
        if (n >= 2)
            break;
        mc_trace_wait(f.c, mc_trace_count(f.c), mc_now(f.c) + 0.02);
    }
    *state = &f;
    return f.subacks >= 2 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mosquitto_disconnect(f->m);
    mosquitto_loop_stop(f->m, false);
    mosquitto_destroy(f->m);
    mc_cloud_stop(f->c);
    curl_global_cleanup();
    mosquitto_lib_cleanup();
    return 0;
}

typedef struct {
    unsigned char *buf;
    size_t len;
} body;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    unsigned char *nb = realloc(b->buf, b->len + sz * n);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, sz * n);
    b->buf = nb;
    b->len += sz * n;
    return sz * n;
}

static long fetch(const char *url, const char *range, body *b, curl_off_t *clen)
{
    CURL *h = curl_easy_init();
    long code = 0;
    memset(b, 0, sizeof(*b));
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    if (range)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, clen);
    curl_easy_cleanup(h);
    return code;
}

static void http_serves_whole_file_and_ranges(void **state)
{
    fixture *f = *state;
    mc_job_spec s = {.dn = DN, .version = "9.9.1", .image_size = 4000, .no_publish = 1};
    mc_job_info ji;
    body b;
    curl_off_t clen = 0;
    char hex[65], bad[OTA_MAX_URL + 8];
    int id;

    assert_int_equal(mc_job_create(f->c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(f->c, id, &ji), MC_OK);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 200);
    assert_int_equal(b.len, 4000);
    assert_int_equal(clen, 4000);
    ota_digest_hex(OTA_DIGEST_MD5, b.buf, b.len, hex, sizeof(hex));
    assert_string_equal(hex, ji.digest_hex);
    free(b.buf);
    assert_int_equal(fetch(ji.url, "100-", &b, &clen), 206);
    assert_int_equal(b.len, 3900);
    assert_int_equal(clen, 3900);
    free(b.buf);
    assert_int_equal(fetch(ji.url, "10-19", &b, &clen), 206);
    assert_int_equal(b.len, 10);
    free(b.buf);
    assert_int_equal(fetch(ji.url, "5000-", &b, &clen), 416);
    free(b.buf);
    /* The query must be used verbatim, as OSS checks its signature. */
    snprintf(bad, sizeof(bad), "%.*s", (int)(strstr(ji.url, "&Signature") - ji.url), ji.url);
    assert_int_equal(fetch(bad, NULL, &b, &clen), 403);
    free(b.buf);
}

static void http_status_fault_is_persistent_or_counted(void **state)
{
    fixture *f = *state;
    mc_job_spec s = {.dn = DN,
                     .version = "9.9.2",
                     .image_size = 100,
                     .no_publish = 1,
                     .fault = {.kind = MC_FAULT_HTTP_STATUS, .value = 503, .count = 2}};
    mc_job_info ji;
    body b;
    curl_off_t clen;
    int id;

    assert_int_equal(mc_job_create(f->c, &s, &id), MC_OK);
    mc_job_get(f->c, id, &ji);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 503);
    free(b.buf);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 503);
    free(b.buf);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 200);
    free(b.buf);
}

static void push_then_progress_then_inform_succeeds(void **state)
{
    fixture *f = *state;
    mc_job_spec s = {.dn = DN, .version = "9.9.3", .image_size = 1000, .digest = OTA_DIGEST_SHA256};
    mc_job_info ji;
    ota_push p;
    int id, before = f->got;

    assert_int_equal(mc_job_create(f->c, &s, &id), MC_OK);
    assert_true(wait_msg(f, before + 1));
    pthread_mutex_lock(&f->lock);
    assert_int_equal(ota_push_parse(f->last, strlen(f->last), &p), OTA_OK);
    pthread_mutex_unlock(&f->lock);
    mc_job_get(f->c, id, &ji);
    assert_string_equal(p.url, ji.url);
    assert_string_equal(p.sign, ji.digest_hex);
    assert_string_equal(p.sign_method, "SHA256");
    assert_int_equal(p.envelope, OTA_ENVELOPE_LIVE);

    const char *prog = "{\"id\":\"1\",\"params\":{\"step\":\"100\",\"desc\":\"\"}}";
    mosquitto_publish(f->m, NULL, "/ota/device/progress/" PK "/" DN, (int)strlen(prog), prog, 1,
                      false);
    const char *inf = "{\"id\":\"2\",\"params\":{\"version\":\"9.9.3\"}}";
    mosquitto_publish(f->m, NULL, "/ota/device/inform/" PK "/" DN, (int)strlen(inf), inf, 1, false);
    for (double end = mc_now(f->c) + 5; mc_now(f->c) < end;) {
        mc_job_get(f->c, id, &ji);
        if (ji.state == MC_JOB_SUCCEEDED)
            break;
        mc_trace_wait(f->c, mc_trace_count(f->c), mc_now(f->c) + 0.1);
    }
    assert_int_equal(ji.state, MC_JOB_SUCCEEDED);
}

static void bad_input_is_counted_never_fatal(void **state)
{
    fixture *f = *state;
    int errors = mc_trace_errors(f->c);
    const char *bad[] = {"{\"params\":", "[]", "{\"params\":{\"step\":true}}", "\xff\xfe"};

    for (size_t i = 0; i < 4; i++)
        mosquitto_publish(f->m, NULL, "/ota/device/progress/" PK "/" DN, (int)strlen(bad[i]),
                          bad[i], 1, false);
    mosquitto_publish(f->m, NULL, "/ota/device/inform/" PK "/nobody", 2, "{}", 1, false);
    for (double end = mc_now(f->c) + 5; mc_now(f->c) < end;) {
        if (mc_trace_errors(f->c) >= errors + 5)
            break;
        mc_trace_wait(f->c, mc_trace_count(f->c), mc_now(f->c) + 0.1);
    }
    assert_int_equal(mc_trace_errors(f->c), errors + 5);
}

static void firmware_get_is_answered(void **state)
{
    fixture *f = *state;
    mc_job_spec s = {.dn = DN, .version = "9.9.4", .image_size = 10, .no_publish = 1};
    ota_push p;
    int id, before = f->got;
    const char *get = "{\"id\":19, \"params\":{}}";

    assert_int_equal(mc_job_create(f->c, &s, &id), MC_OK);
    mosquitto_publish(f->m, NULL, "/sys/" PK "/" DN "/thing/ota/firmware/get", (int)strlen(get),
                      get, 1, false);
    assert_true(wait_msg(f, before + 1));
    pthread_mutex_lock(&f->lock);
    assert_int_equal(ota_push_parse(f->last, strlen(f->last), &p), OTA_OK);
    pthread_mutex_unlock(&f->lock);
    assert_string_equal(p.version, "9.9.4");
}

static void a_second_cloud_joins_an_external_broker(void **state)
{
    fixture *f = *state;
    char devs[1024], err[256];
    mc_config cfg = {0};
    mc_cloud *c2 = NULL;
    mc_job_spec s = {.dn = DN, .version = "9.9.5", .image_size = 10};
    int id, before = f->got;

    snprintf(devs, sizeof(devs), "%s/fixtures/devices", OTA_SOURCE_DIR);
    cfg.devices_dir = devs;
    cfg.broker_host = "127.0.0.1";
    cfg.broker_port = mc_cloud_broker_port(f->c);
    assert_int_equal(mc_cloud_start(&cfg, &c2, err, sizeof(err)), MC_OK);
    assert_false(mc_cloud_broker_embedded(c2));
    assert_int_equal(mc_job_create(c2, &s, &id), MC_OK);
    assert_true(wait_msg(f, before + 1));
    mc_cloud_stop(c2);
}

static void embedded_broker_stops_with_the_cloud(void **state)
{
    char devs[1024], err[256];
    mc_config cfg = {0};
    mc_cloud *c = NULL;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd, port;
    (void)state;

    snprintf(devs, sizeof(devs), "%s/fixtures/devices", OTA_SOURCE_DIR);
    cfg.devices_dir = devs;
    assert_int_equal(mc_cloud_start(&cfg, &c, err, sizeof(err)), MC_OK);
    assert_true(mc_cloud_broker_embedded(c));
    port = mc_cloud_broker_port(c);
    mc_cloud_stop(c);
    a.sin_port = htons((uint16_t)port);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    cfg.devices_dir = "/nonexistent";
    assert_int_equal(mc_cloud_start(&cfg, &c, err, sizeof(err)), MC_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_serves_whole_file_and_ranges),
        cmocka_unit_test(http_status_fault_is_persistent_or_counted),
        cmocka_unit_test(push_then_progress_then_inform_succeeds),
        cmocka_unit_test(bad_input_is_counted_never_fatal),
        cmocka_unit_test(firmware_get_is_answered),
        cmocka_unit_test(a_second_cloud_joins_an_external_broker),
        cmocka_unit_test(embedded_broker_stops_with_the_cloud),
    };
    return cmocka_run_group_tests_name("cloud", tests, setup, teardown);
}
