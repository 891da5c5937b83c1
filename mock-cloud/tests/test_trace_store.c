/*
 * The trace under a looping device: identical records are kept up to a
 * threshold, then counted, and summary records carry the counts. First on a
 * bare trace store (time moved by hand through the cloud's clock origin),
 * then with a real cloud and a real HTTP client hammering a 404.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "mock_priv.h"

#define URI "/ota/1/fw-1.bin?Expires=1&Signature=abc"

typedef struct {
    mc_cloud *c;
    char path[64];
} bare;

/* A trace store without the rest of the cloud: enough for mc_trace_add and the repeat logic. */
static int bare_setup(void **state)
{
    bare *b = calloc(1, sizeof(*b));

    if (!b)
        return -1;
    b->c = calloc(1, sizeof(*b->c));
    snprintf(b->path, sizeof(b->path), "/tmp/ota-trace-test-%d.jsonl", (int)getpid());
    if (!b->c || mc_trace_open(b->c, b->path, 0) != MC_OK)
        return -1;
    b->c->t0 = ota_clock_now();
    *state = b;
    return 0;
}

static int bare_teardown(void **state)
{
    bare *b = *state;

    mc_trace_close(b->c);
    free(b->c);
    unlink(b->path);
    free(b);
    return 0;
}

/* Move the cloud's clock on by `s` seconds. */
static void time_passes(mc_cloud *c, double s)
{
    c->t0 -= s;
}

static void add_get(mc_cloud *c, const char *dev)
{
    mc_trace_event(c, OTA_TR_HTTP, MC_EV(OTA_EV_HTTP_GET), dev, URI, NULL, 0, "GET no Range");
}

static void add_loop_round(mc_cloud *c)
{
    add_get(c, "dev-a");
    mc_trace_event(c, OTA_TR_FAULT,
                   &(mc_trace_ev){.event = OTA_EV_FAULT, .fault = "http-status", .offset = -1},
                   "dev-a", URI, NULL, 0, "http-status 404");
    mc_trace_event(
        c, OTA_TR_HTTP,
        &(mc_trace_ev){.event = OTA_EV_HTTP_DONE, .offset = 0, .last = 14, .status = 404}, "dev-a",
        URI, NULL, 0, "done 404 bytes=0-14 completed");
}

/* The summaries among records [from, count): how many, and the sum of their "repeat". */
static int summaries(mc_cloud *c, size_t from, long *repeats, long *records)
{
    int n = 0;

    *repeats = *records = 0;
    for (size_t i = from; i < mc_trace_count(c); i++) {
        const ota_trace_rec *r = mc_trace_at(c, i);
        if (r->kind != OTA_TR_CLOUD || r->event != OTA_EV_REPEATED)
            continue;
        cJSON *o = cJSON_ParseWithLength((const char *)r->payload, r->payload_len);
        assert_non_null(o);
        *repeats += (long)cJSON_GetObjectItemCaseSensitive(o, "repeat")->valuedouble;
        *records += (long)cJSON_GetObjectItemCaseSensitive(o, "records")->valuedouble;
        assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "rate")));
        assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "seconds")));
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "of")));
        cJSON_Delete(o);
        n++;
    }
    return n;
}

static void identical_records_are_counted_not_kept(void **state)
{
    bare *b = *state;
    long repeats, records;
    struct stat st;

    for (int i = 0; i < 10000; i++)
        add_get(b->c, "dev-a");
    mc_trace_add(b->c, OTA_TR_MQTT_IN, "dev-a", "/ota/device/progress/pk/dev-a", "{}", 2, NULL);
    int n = summaries(b->c, 0, &repeats, &records);
    assert_in_range(n, 1, 3); /* one per second at most, and one at the end */
    assert_int_equal(repeats, 10000 - MC_TRACE_KEEP_REPEATS);
    assert_int_equal(records, repeats);
    assert_int_equal(mc_trace_count(b->c), MC_TRACE_KEEP_REPEATS + (size_t)n + 1);
    assert_int_equal(stat(b->path, &st), 0);
    assert_true(st.st_size < 16 * 1024);
    /* The last summary is about the GETs and says so in words. */
    const ota_trace_rec *s = mc_trace_at(b->c, mc_trace_count(b->c) - 2);
    assert_non_null(strstr(s->info, "times in"));
    assert_non_null(strstr(s->info, ": GET /ota/1/fw-1.bin"));
    assert_string_equal(s->dev, "dev-a");
}

/* The same progress numbered anew each time is still one message repeated. */
static void messages_differing_only_in_id_are_repeats(void **state)
{
    bare *b = *state;
    long repeats, records;
    char msg[128];

    for (int i = 0; i < 2000; i++) {
        int n =
            snprintf(msg, sizeof(msg), "{\"id\":%d,\"params\":{\"step\":\"-2\",\"desc\":\"\"}}", i);
        mc_trace_add(b->c, OTA_TR_MQTT_IN, "dev-a", "/ota/device/progress/pk/dev-a", msg, (size_t)n,
                     NULL);
    }
    const char *other = "{\"id\":9,\"params\":{\"step\":\"-3\"}}";
    mc_trace_add(b->c, OTA_TR_MQTT_IN, "dev-a", "/ota/device/progress/pk/dev-a", other,
                 strlen(other), NULL);
    int n = summaries(b->c, 0, &repeats, &records);
    assert_true(n >= 1);
    assert_int_equal(repeats, 2000 - MC_TRACE_KEEP_REPEATS);
    /* A different step is a different message: kept. */
    assert_non_null(
        strstr((const char *)mc_trace_at(b->c, mc_trace_count(b->c) - 1)->payload, "\"-3\""));
}

static void a_loop_of_request_and_replies_collapses_as_one(void **state)
{
    bare *b = *state;
    long repeats, records;

    for (int i = 0; i < 3000; i++)
        add_loop_round(b->c);
    time_passes(b->c, 1.5);
    mc_trace_tick(b->c); /* the burst ended: its summary is due */
    int n = summaries(b->c, 0, &repeats, &records);
    assert_in_range(n, 1, 3);
    assert_int_equal(repeats, 3000 - MC_TRACE_KEEP_REPEATS);
    assert_int_equal(records, 3 * (3000 - MC_TRACE_KEEP_REPEATS));
    assert_int_equal(mc_trace_count(b->c), 3 * MC_TRACE_KEEP_REPEATS + (size_t)n);
    const ota_trace_rec *s = mc_trace_at(b->c, mc_trace_count(b->c) - 1);
    assert_non_null(strstr(s->info, ": GET /ota/1/fw-1.bin -> 404"));
    assert_int_equal(s->event, OTA_EV_REPEATED); /* what the runner decides on */
    assert_int_equal(s->of, OTA_EV_HTTP_GET);
    assert_true(s->count > 0 && s->count <= 3000 - MC_TRACE_KEEP_REPEATS);
}

/* The GETs of `uri` among the summaries: the sum of their counts. */
static long summarised_gets(mc_cloud *c, const char *uri)
{
    long n = 0;

    for (size_t i = 0; i < mc_trace_count(c); i++) {
        const ota_trace_rec *r = mc_trace_at(c, i);
        if (r->event == OTA_EV_REPEATED && r->of == OTA_EV_HTTP_GET && !strcmp(r->topic, uri))
            n += r->count;
    }
    return n;
}

/* A device looping on two URLs at once: each request is summarised with its own count. */
static void interleaved_loops_are_counted_each(void **state)
{
    bare *b = *state;
    const char *other = "/ota/2/fw-2.bin?Expires=1&Signature=y";

    for (int i = 0; i < 2000; i++) {
        add_get(b->c, "dev-a");
        if (i % 2 == 0)
            mc_trace_event(b->c, OTA_TR_HTTP, MC_EV(OTA_EV_HTTP_GET), "dev-a", other, NULL, 0,
                           "GET no Range");
    }
    mc_trace_add(b->c, OTA_TR_MQTT_IN, "dev-a", "/ota/device/progress/pk/dev-a", "{}", 2, NULL);
    assert_int_equal(summarised_gets(b->c, URI), 2000 - MC_TRACE_KEEP_REPEATS);
    assert_int_equal(summarised_gets(b->c, other), 1000 - MC_TRACE_KEEP_REPEATS);
    /* Both summaries come before the record that ended the loop. */
    assert_int_equal(mc_trace_at(b->c, mc_trace_count(b->c) - 1)->kind, OTA_TR_MQTT_IN);
}

static void notes_other_devices_and_pauses_are_kept(void **state)
{
    bare *b = *state;

    for (int i = 0; i < 100; i++)
        mc_trace_add(b->c, OTA_TR_CLOUD, "dev-a", NULL, NULL, 0, "the same note");
    assert_int_equal(mc_trace_count(b->c), 100);
    for (int i = 0; i < 60; i++)
        add_get(b->c, i % 2 ? "dev-a" : "dev-b");
    assert_int_equal(mc_trace_count(b->c), 160);
    /* Retries a second or more apart are never a loop. */
    for (int i = 0; i < 60; i++) {
        add_get(b->c, "dev-c");
        time_passes(b->c, MC_TRACE_REPEAT_GAP);
    }
    assert_int_equal(mc_trace_count(b->c), 220);
}

/* Lines in the trace file so far. */
static int lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;

    assert_non_null(f);
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/*
 * The file is never written while the cloud's lock is held: a record added
 * under it is in memory at once (waiters see it) and in the file once the
 * lock is released; one added without it is in the file at once.
 */
static void the_file_is_written_after_the_cloud_lock_is_released(void **state)
{
    bare *b = *state;
    mc_cloud *c = b->c;

    mc_mutex_init(&c->lock);
    mc_trace_add(c, OTA_TR_CLOUD, "dev-a", NULL, NULL, 0, "before");
    assert_int_equal(lines_in(b->path), 1);
    mc_cloud_lock(c);
    assert_true(mc_cloud_lock_held(c));
    mc_trace_add(c, OTA_TR_CLOUD, "dev-a", NULL, NULL, 0, "under the lock");
    mc_trace_add(c, OTA_TR_CLOUD, "dev-a", NULL, NULL, 0, "still under it");
    assert_int_equal(mc_trace_count(c), 3);
    assert_int_equal(lines_in(b->path), 1);
    mc_cloud_unlock(c);
    assert_false(mc_cloud_lock_held(c));
    assert_int_equal(lines_in(b->path), 3);
    mc_trace_add(c, OTA_TR_CLOUD, "dev-a", NULL, NULL, 0, "after");
    assert_int_equal(lines_in(b->path), 4);
    mc_mutex_destroy(&c->lock);
}

static void *wait_for_more(void *arg)
{
    mc_cloud *c = arg;
    size_t *n = malloc(sizeof(*n));

    if (n)
        *n = mc_trace_wait(c, mc_trace_count(c), mc_now(c) + 5);
    return n;
}

static void a_summary_wakes_waiters(void **state)
{
    bare *b = *state;
    pthread_t t;
    size_t before, *after;

    for (int i = 0; i < MC_TRACE_KEEP_REPEATS + 10; i++)
        add_get(b->c, "dev-a");
    before = mc_trace_count(b->c);
    assert_int_equal(before, MC_TRACE_KEEP_REPEATS);
    assert_int_equal(pthread_create(&t, NULL, wait_for_more, b->c), 0);
    usleep(100 * 1000);
    time_passes(b->c, 1.5);
    mc_trace_tick(b->c);
    pthread_join(t, (void **)&after);
    assert_non_null(after);
    assert_int_equal(*after, before + 1);
    free(after);
}

/* ---- a real cloud and a real client in a loop ---- */
static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static void a_looping_client_keeps_the_trace_small(void **state)
{
    char devs[1024], err[256], path[64];
    const char *fx = getenv("OTA_FIXTURES");
    mc_config cfg = {0};
    mc_job_spec s = {.dn = "ref-device-01",
                     .version = "9.0.0",
                     .image_size = 1000,
                     .no_publish = 1,
                     .fault = {.kind = MC_FAULT_HTTP_STATUS, .value = 404, .count = -1}};
    mc_job_info ji;
    mc_cloud *c;
    long requests = 0, repeats, records, gets = 0;
    struct stat st;
    int id;
    (void)state;

    snprintf(devs, sizeof(devs), "%s/devices", fx ? fx : OTA_SOURCE_DIR "/fixtures");
    snprintf(path, sizeof(path), "/tmp/ota-trace-loop-%d.jsonl", (int)getpid());
    cfg.devices_dir = devs;
    cfg.trace_path = path;
    assert_int_equal(mc_cloud_start(&cfg, &c, err, sizeof(err)), MC_OK);
    assert_int_equal(mc_job_create(c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    size_t from = mc_trace_count(c);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, ji.url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    /* 3 s, longer (at most 6 s) on a machine too loaded to loop 4 * KEEP times in 3 s */
    for (double t0 = mc_now(c);
         mc_now(c) < t0 + 3 || (requests <= 4 * MC_TRACE_KEEP_REPEATS && mc_now(c) < t0 + 6);
         requests++)
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    usleep(1500 * 1000); /* the ticker writes the last summary */
    for (size_t i = from; i < mc_trace_count(c); i++)
        gets += !strncmp(mc_trace_at(c, i)->info, "GET ", 4);
    int n = summaries(c, from, &repeats, &records);
    size_t kept = mc_trace_count(c) - from;
    assert_int_equal(stat(path, &st), 0);
    printf("%ld requests in 3 to 6 s: %zu records (%d summaries), trace file %lld bytes\n",
           requests, kept, n, (long long)st.st_size);
    assert_true(requests > 4 * MC_TRACE_KEEP_REPEATS);
    assert_int_equal(gets, MC_TRACE_KEEP_REPEATS);
    assert_int_equal(gets + repeats, requests);
    assert_true(n >= 2 && n <= 9);
    assert_true(kept <= 3 * MC_TRACE_KEEP_REPEATS + 6);
    assert_true(st.st_size < 96 * 1024);
    mc_cloud_stop(c);
    unlink(path);
}

/*
 * With a cap (mc_config.trace_keep: a daemon), the oldest records are let
 * go once they are in the file: memory holds about the cap, the file every
 * record, and a burst counted across the cut (its first record let go long
 * before it ends) still comes out with the right count.
 */
static void a_capped_trace_lets_old_records_go(void **state)
{
    bare *b = *state;
    ota_trace_rec copy;
    const ota_trace_rec *s;
    size_t n, lines = 0;
    char buf[4096];
    FILE *f;

    b->c->keep = 100;
    for (int i = 0; i < 1000; i++) {
        mc_trace_add(b->c, OTA_TR_CLOUD, "dev-b", NULL, NULL, 0, "note %d", i);
        add_get(b->c, "dev-a");
    }
    time_passes(b->c, 1.5);
    mc_trace_tick(b->c);
    n = mc_trace_count(b->c);
    assert_int_equal(n, 1000 + MC_TRACE_KEEP_REPEATS + 1);
    assert_true(mc_trace_first(b->c) > 0);
    assert_true(n - mc_trace_first(b->c) <= 125);
    assert_null(mc_trace_at(b->c, 0));
    assert_int_equal(mc_trace_copy(b->c, 0, &copy), MC_ERR_NOTFOUND);
    assert_int_equal(mc_trace_copy(b->c, n - 2, &copy), MC_OK);
    assert_string_equal(copy.info, "note 999");
    ota_trace_rec_clear(&copy);
    s = mc_trace_at(b->c, n - 1);
    assert_int_equal(s->event, OTA_EV_REPEATED);
    assert_int_equal(s->count, 1000 - MC_TRACE_KEEP_REPEATS);
    f = fopen(b->path, "r");
    assert_non_null(f);
    while (fgets(buf, sizeof(buf), f))
        lines += strchr(buf, '\n') != NULL;
    fclose(f);
    assert_int_equal(lines, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identical_records_are_counted_not_kept, bare_setup,
                                        bare_teardown),
        cmocka_unit_test_setup_teardown(messages_differing_only_in_id_are_repeats, bare_setup,
                                        bare_teardown),
        cmocka_unit_test_setup_teardown(a_loop_of_request_and_replies_collapses_as_one, bare_setup,
                                        bare_teardown),
        cmocka_unit_test_setup_teardown(interleaved_loops_are_counted_each, bare_setup,
                                        bare_teardown),
        cmocka_unit_test_setup_teardown(notes_other_devices_and_pauses_are_kept, bare_setup,
                                        bare_teardown),
        cmocka_unit_test_setup_teardown(a_summary_wakes_waiters, bare_setup, bare_teardown),
        cmocka_unit_test_setup_teardown(a_capped_trace_lets_old_records_go, bare_setup,
                                        bare_teardown),
        cmocka_unit_test_setup_teardown(the_file_is_written_after_the_cloud_lock_is_released,
                                        bare_setup, bare_teardown),
        cmocka_unit_test(a_looping_client_keeps_the_trace_small),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests_name("trace", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
