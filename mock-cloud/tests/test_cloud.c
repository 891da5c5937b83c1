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
#include <strings.h>
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
    unsigned char raw[16384]; /* the last message as bytes (block frames) */
    size_t rawlen;
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
    f->rawlen = (size_t)msg->payloadlen < sizeof(f->raw) ? (size_t)msg->payloadlen : 0;
    memcpy(f->raw, msg->payload, f->rawlen);
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
    mosquitto_subscribe(f.m, NULL, "/sys/" PK "/" DN "/thing/file/download_reply", 1);
    mosquitto_loop_start(f.m);
    /* Both SUBACKs, with a deadline: pushes published before them would be lost. */
    for (double end = mc_now(f.c) + 5; mc_now(f.c) < end;) {
        int n;
        pthread_mutex_lock(&f.lock);
        n = f.subacks;
        pthread_mutex_unlock(&f.lock);
        if (n >= 3)
            break;
        mc_trace_wait(f.c, mc_trace_count(f.c), mc_now(f.c) + 0.02);
    }
    *state = &f;
    return f.subacks >= 3 ? 0 : -1;
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

typedef struct {
    CURLcode cc;
    long version; /* CURL_HTTP_VERSION_1_0 or _1_1 */
    int chunked;  /* a Transfer-Encoding: chunked header came */
    double seconds;
} fetch_info;

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    fetch_info *fi = ud;
    if (sz * n >= 26 && !strncasecmp(p, "Transfer-Encoding: chunked", 26))
        fi->chunked = 1;
    return sz * n;
}

static long fetch_ex(const char *url, const char *range, long timeout, body *b, curl_off_t *clen,
                     fetch_info *fi)
{
    CURL *h = curl_easy_init();
    long code = 0;
    double t0 = ota_clock_now();

    memset(b, 0, sizeof(*b));
    memset(fi, 0, sizeof(*fi));
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, fi);
    if (timeout)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    if (range)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    fi->cc = curl_easy_perform(h);
    fi->seconds = ota_clock_now() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, clen);
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &fi->version);
    curl_easy_cleanup(h);
    return code;
}

static long fetch(const char *url, const char *range, body *b, curl_off_t *clen)
{
    fetch_info fi;
    return fetch_ex(url, range, 0, b, clen, &fi);
}

/* A job's image as bytes, to compare with what went out. */
typedef struct {
    uint8_t data[65536];
} image_bytes;

/* A job of `size` bytes (at most 65536) under one fault; its URL and image. */
static int fault_job(fixture *f, mc_fault fault, size_t size, int mqtt, mc_job_info *ji,
                     image_bytes *img)
{
    mc_image im;
    static int seq;
    char v[32];
    mc_job_spec s = {
        .dn = DN, .version = v, .image_size = size, .no_publish = 1, .fault = fault, .mqtt = mqtt};
    int id;

    snprintf(v, sizeof(v), "8.0.%d", ++seq);
    assert_int_equal(mc_job_create(f->c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(f->c, id, ji), MC_OK);
    mc_cloud_lock(f->c);
    im = mc_job_find(f->c, id)->image;
    mc_cloud_unlock(f->c);
    assert_true(im.size <= sizeof(img->data));
    mc_image_read(&im, 0, img->data, im.size);
    return id;
}

/* Each HTTP fault kind, seen from a real client: exactly what the plan says is on the wire. */
static void http_faults_on_the_wire(void **state)
{
    fixture *f = *state;
    mc_job_info ji;
    image_bytes img;
    body b;
    curl_off_t clen;
    fetch_info fi;

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_TRUNCATE, .at = 1000, .count = 1}, 4000, 0, &ji,
              &img);
    assert_int_equal(fetch_ex(ji.url, NULL, 0, &b, &clen, &fi), 200);
    assert_int_equal(fi.cc, CURLE_OK); /* a complete, short response */
    assert_int_equal(b.len, 1000);
    assert_int_equal(clen, 1000);
    free(b.buf);
    assert_int_equal(fetch_ex(ji.url, NULL, 0, &b, &clen, &fi), 200); /* count 1: whole again */
    assert_int_equal(b.len, 4000);
    free(b.buf);

    /* A Range request is served from the short file: it ends at byte 1000 of 1000. */
    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_TRUNCATE, .at = 1000, .count = 1}, 4000, 0, &ji,
              &img);
    assert_int_equal(fetch_ex(ji.url, "0-2047", 0, &b, &clen, &fi), 206);
    assert_int_equal(fi.cc, CURLE_OK);
    assert_int_equal(b.len, 1000);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_CLOSE, .at = 1500, .count = 1}, 4000, 0, &ji,
              &img);
    fetch_ex(ji.url, NULL, 0, &b, &clen, &fi);
    assert_int_equal(fi.cc, CURLE_PARTIAL_FILE); /* Content-Length promised 4000 */
    assert_int_equal(clen, 4000);
    assert_int_equal(b.len, 1500);
    assert_memory_equal(b.buf, img.data, 1500);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_RESET, .at = 2000, .count = 1}, 64000, 0, &ji,
              &img);
    fetch_ex(ji.url, NULL, 0, &b, &clen, &fi);
    assert_true(fi.cc != CURLE_OK);
    assert_true(b.len <= 2000);
    free(b.buf);

    /* A persistent cut is at a file offset: resuming before it gets only up to it, resuming
     * past it gets nothing; the download can never complete. */
    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_CLOSE, .at = 3000, .count = -1}, 8000, 0, &ji,
              &img);
    fetch_ex(ji.url, "1000-", 0, &b, &clen, &fi);
    assert_int_equal(fi.cc, CURLE_PARTIAL_FILE);
    assert_int_equal(b.len, 2000);
    free(b.buf);
    fetch_ex(ji.url, "3000-", 0, &b, &clen, &fi);
    assert_true(fi.cc != CURLE_OK);
    assert_int_equal(b.len, 0);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_CORRUPT, .at = 123, .count = -1}, 4000, 0, &ji,
              &img);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 200);
    assert_int_equal(b.len, 4000);
    assert_int_equal(b.buf[123], img.data[123] ^ 0xFF);
    assert_memory_equal(b.buf, img.data, 123);
    assert_memory_equal(b.buf + 124, img.data + 124, 4000 - 124);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_THROTTLE, .value = 4000, .count = 1}, 6000, 0,
              &ji, &img);
    assert_int_equal(fetch_ex(ji.url, NULL, 0, &b, &clen, &fi), 200);
    assert_int_equal(b.len, 6000);
    assert_true(fi.seconds >= 1.4); /* 6000 bytes at 4000 B/s: never faster */
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_PAUSE, .at = 100, .value = 800, .count = 1}, 400,
              0, &ji, &img);
    assert_int_equal(fetch_ex(ji.url, NULL, 0, &b, &clen, &fi), 200);
    assert_int_equal(b.len, 400);
    assert_true(fi.seconds >= 0.8);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_STALL, .at = 700, .count = 1}, 4000, 0, &ji,
              &img);
    fetch_ex(ji.url, NULL, 1, &b, &clen, &fi);
    assert_int_equal(fi.cc, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(b.len, 700);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_NO_LENGTH, .count = -1}, 3000, 0, &ji, &img);
    assert_int_equal(fetch_ex(ji.url, NULL, 0, &b, &clen, &fi), 200);
    assert_int_equal(fi.cc, CURLE_OK);
    assert_int_equal(clen, -1);
    assert_int_equal(fi.version, CURL_HTTP_VERSION_1_0);
    assert_false(fi.chunked);
    assert_int_equal(b.len, 3000);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_CHUNKED, .count = -1}, 3000, 0, &ji, &img);
    assert_int_equal(fetch_ex(ji.url, NULL, 0, &b, &clen, &fi), 200);
    assert_true(fi.chunked);
    assert_int_equal(b.len, 3000);
    assert_memory_equal(b.buf, img.data, 3000);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_IGNORE_RANGE, .count = -1}, 3000, 0, &ji, &img);
    assert_int_equal(fetch(ji.url, "1000-", &b, &clen), 200);
    assert_int_equal(b.len, 3000);
    free(b.buf);

    /* `at`: the first response is cut there, then the resume gets 200 and the whole file */
    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_IGNORE_RANGE, .at = 1200, .count = -1}, 3000, 0,
              &ji, &img);
    fetch_ex(ji.url, NULL, 0, &b, &clen, &fi);
    assert_int_equal(b.len, 1200);
    free(b.buf);
    assert_int_equal(fetch(ji.url, "1200-", &b, &clen), 200);
    assert_int_equal(b.len, 3000);
    assert_memory_equal(b.buf, img.data, 3000);
    free(b.buf);

    fault_job(f, (mc_fault){.kind = MC_FAULT_HTTP_EXPIRE, .skip = 1, .count = -1}, 300, 0, &ji,
              &img);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 200);
    free(b.buf);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 403);
    free(b.buf);
}

/* Ask for one block; the reply's frame is decoded into fr and h. 0: no reply within 1.5 s. */
static int ask_block(fixture *f, const mc_job_info *ji, long long size, long long offset,
                     int trailing_comma, ota_frame *fr, ota_block_header *h)
{
    char req[384];
    int before;

    ota_block_request_build("7", ji->stream_id, 1, size, offset, req, sizeof(req));
    if (trailing_comma) {
        char *p = strstr(req, "\"fileId\"");
        p = strchr(p, '}');
        memmove(p + 1, p, strlen(p) + 1);
        *p = ',';
    }
    pthread_mutex_lock(&f->lock);
    before = f->got;
    pthread_mutex_unlock(&f->lock);
    mosquitto_publish(f->m, NULL, "/sys/" PK "/" DN "/thing/file/download", (int)strlen(req), req,
                      0, false);
    for (double end = mc_now(f->c) + 1.5; mc_now(f->c) < end;) {
        pthread_mutex_lock(&f->lock);
        if (f->got > before) {
            int ok = ota_frame_decode(f->raw, f->rawlen, fr) == OTA_OK &&
                     ota_block_header_parse(fr->header, fr->header_len, h) == OTA_OK;
            static unsigned char keep[16384];
            memcpy(keep, f->raw, f->rawlen); /* fr points into it after we unlock */
            ota_frame_decode(keep, f->rawlen, fr);
            pthread_mutex_unlock(&f->lock);
            return ok ? 1 : -1;
        }
        pthread_mutex_unlock(&f->lock);
        mc_trace_wait(f->c, mc_trace_count(f->c), mc_now(f->c) + 0.02);
    }
    return 0;
}

/*
 * The trace keeps a block reply's image bytes by reference: the record holds
 * the frame without them, and gives back (and writes to the file) exactly
 * the frame the device got.
 */
static void frame_is_traced_by_reference(fixture *f, const ota_frame *fr, size_t data_len)
{
    const uint8_t *frame = (const uint8_t *)fr->header - 2;
    size_t len = 2 + fr->header_len + fr->data_len + 2, n = 0;
    const ota_trace_rec *r = NULL;
    unsigned char *whole = NULL;

    for (size_t i = mc_trace_count(f->c); i-- > 0 && !r;)
        if (mc_trace_at(f->c, i)->kind == OTA_TR_MQTT_OUT && mc_trace_at(f->c, i)->binary)
            r = mc_trace_at(f->c, i);
    assert_non_null(r);
    assert_int_equal(r->ref_len, data_len);
    assert_int_equal(r->payload_len, len - data_len);
    assert_int_equal(ota_trace_payload_size(r), len);
    assert_int_equal(ota_trace_payload_take(r, &whole, &n), OTA_OK);
    assert_int_equal(n, len);
    assert_memory_equal(whole, frame, len);
    free(whole);
}

static void blocks_are_served_and_bad_requests_answered(void **state)
{
    fixture *f = *state;
    mc_job_info ji;
    image_bytes img;
    ota_frame fr;
    ota_block_header h;

    fault_job(f, (mc_fault){0}, 6000, 1, &ji, &img);
    assert_int_equal(ask_block(f, &ji, 5120, 0, 0, &fr, &h), 1);
    assert_int_equal(h.code, 200);
    assert_int_equal(h.b_offset, 0);
    assert_int_equal(h.b_size, 5120);
    assert_int_equal(h.file_length, 6000);
    assert_true(fr.crc_ok);
    assert_memory_equal(fr.data, img.data, 5120);
    frame_is_traced_by_reference(f, &fr, 5120);
    /* the last block is shortened to what remains; a trailing comma is repaired */
    assert_int_equal(ask_block(f, &ji, 5120, 5120, 1, &fr, &h), 1);
    assert_int_equal(h.b_size, 880);
    assert_memory_equal(fr.data, img.data + 5120, 880);
    /* out of bounds: an error reply, never silence */
    assert_int_equal(ask_block(f, &ji, 5120, 6000, 0, &fr, &h), 1);
    assert_int_not_equal(h.code, 200);
    assert_non_null(strstr(h.msg, "outside the file"));
    assert_int_equal(ask_block(f, &ji, 100, 0, 0, &fr, &h), 1);
    assert_int_not_equal(h.code, 200);
    assert_int_equal(ask_block(f, &ji, 200000, 0, 0, &fr, &h), 1);
    assert_int_not_equal(h.code, 200);
    ji.stream_id += 1000;
    assert_int_equal(ask_block(f, &ji, 5120, 0, 0, &fr, &h), 1);
    assert_int_equal(h.code, 404);
}

/* Each block fault kind, decoded from the frame the device would get. */
static void block_faults_on_the_wire(void **state)
{
    fixture *f = *state;
    mc_job_info ji;
    image_bytes img;
    ota_frame fr;
    ota_block_header h;
    uint16_t crc;

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_BAD_CRC, .count = 1}, 3000, 1, &ji, &img);
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);
    assert_false(fr.crc_ok);
    assert_memory_equal(fr.data, img.data, 1000); /* data intact */
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);
    assert_true(fr.crc_ok); /* count 1: the next one is good */

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_CORRUPT, .count = 1}, 3000, 1, &ji, &img);
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);
    assert_true(fr.crc_ok);
    assert_int_equal(fr.data[500], img.data[500] ^ 0xFF);

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_CRC_BE, .count = 1}, 3000, 1, &ji, &img);
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);
    crc = ota_crc16_arc(img.data, 1000);
    assert_int_equal(fr.crc_sent, (uint16_t)((crc >> 8) | (crc << 8)));

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_BSIZE, .count = 1}, 3000, 1, &ji, &img);
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);
    assert_int_equal(h.b_size, 1001);
    assert_int_equal(fr.data_len, 1000);

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_OFFSET, .count = 1}, 3000, 1, &ji, &img);
    assert_int_equal(ask_block(f, &ji, 1000, 1000, 0, &fr, &h), 1);
    assert_int_equal(h.b_offset, 0);

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_ERROR, .value = 503, .count = 1}, 3000, 1, &ji,
              &img);
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);
    assert_int_equal(h.code, 503);
    assert_int_equal(fr.data_len, 0);

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_TRUNCATE, .count = 1}, 3000, 1, &ji, &img);
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);
    assert_int_equal(fr.data_len, 999 - 2); /* 3 bytes cut: the "CRC" is now data bytes */

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_DROP, .count = 1}, 3000, 1, &ji, &img);
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 0);
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);

    fault_job(f, (mc_fault){.kind = MC_FAULT_BLOCK_DUPLICATE, .count = 1}, 3000, 1, &ji, &img);
    int before = f->got;
    assert_int_equal(ask_block(f, &ji, 1000, 0, 0, &fr, &h), 1);
    assert_true(wait_msg(f, before + 2));
}

static void push_faults_change_the_push(void **state)
{
    fixture *f = *state;
    static const struct {
        mc_fault_kind kind;
        int value;
        int parse_rc;
    } cases[] = {
        {MC_FAULT_PUSH_MALFORMED, 0, OTA_ERR_JSON}, {MC_FAULT_PUSH_WRONG_TYPES, 0, OTA_ERR_TYPE},
        {MC_FAULT_PUSH_MISSING, 0, OTA_OK},         {MC_FAULT_PUSH_WRONG_SIZE, 0, OTA_OK},
        {MC_FAULT_PUSH_FILES, 1, OTA_OK},           {MC_FAULT_PUSH_FILES, 2, OTA_OK},
        {MC_FAULT_PUSH_WRONG_DIGEST, 0, OTA_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mc_job_info ji;
        image_bytes img;
        ota_push p;
        int id =
            fault_job(f, (mc_fault){.kind = cases[i].kind, .value = cases[i].value, .count = 1},
                      2000, 0, &ji, &img);
        char push[2048];
        mc_cloud_lock(f->c);
        snprintf(push, sizeof(push), "%s", mc_job_find(f->c, id)->push);
        mc_cloud_unlock(f->c);
        assert_int_equal(ota_push_parse(push, strlen(push), &p), cases[i].parse_rc);
        if (cases[i].kind == MC_FAULT_PUSH_MISSING)
            assert_true(!p.has_version && p.size == -1);
        if (cases[i].kind == MC_FAULT_PUSH_WRONG_SIZE)
            assert_int_equal(p.size, 1999);
        if (cases[i].kind == MC_FAULT_PUSH_FILES) {
            assert_int_equal(p.file_count, cases[i].value);
            assert_string_equal(p.url, ji.url); /* read from the first element */
            assert_null(strstr(push, "\"url\""));
        }
        if (cases[i].kind == MC_FAULT_PUSH_WRONG_DIGEST)
            assert_string_not_equal(p.sign, ji.digest_hex);
    }
}

static void scenarios_are_valid_and_bad_ones_refused(void **state)
{
    const char *fx = getenv("OTA_FIXTURES");
    char dir[1024], err[256];
    mc_scenario sc;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/scenarios", fx ? fx : OTA_SOURCE_DIR "/fixtures");
    assert_int_equal(mc_scenario_load(dir, "http-close-once", &sc, err, sizeof(err)), MC_OK);
    assert_int_equal(sc.fault.kind, MC_FAULT_HTTP_CLOSE);
    assert_int_equal(sc.fault.at, 20000);
    assert_int_equal(mc_scenario_load(dir, "block-drop-always", &sc, err, sizeof(err)), MC_OK);
    assert_true(sc.mqtt);
    assert_int_equal(sc.fault.count, -1);
    assert_int_equal(mc_scenario_load(dir, "no-such-plan", &sc, err, sizeof(err)), MC_ERR_NOTFOUND);
    static const char *const bad[] = {
        "{\"name\":\"x\",\"fault\":{\"kind\":\"http-teleport\"}}",
        "{\"name\":\"x\",\"fault\":{\"kind\":\"http-close\",\"at\":-5}}",
        "{\"name\":\"x\",\"fault\":{\"kind\":\"http-close\",\"count\":0}}",
        "{\"name\":\"x\",\"transport\":\"ftp\",\"fault\":{\"kind\":\"http-close\"}}",
        "{\"fault\":{\"kind\":\"http-close\"}}",
        "[1,2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(mc_scenario_parse(bad[i], strlen(bad[i]), &sc, err, sizeof(err)),
                         MC_ERR_FIXTURE);
        assert_true(err[0] != '\0');
    }
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

/* "faults": one per download request in order (a 503 twice, then a 404), then the image. */
static void fault_sequence_acts_in_order(void **state)
{
    static const char plan[] =
        "{\"name\":\"seq\",\"faults\":[{\"kind\":\"http-status\",\"value\":503,\"count\":2},"
        "{\"kind\":\"http-status\",\"value\":404}]}";
    static const char *const bad[] = {
        "{\"name\":\"x\",\"faults\":[{\"kind\":\"http-reset\",\"count\":-1},"
        "{\"kind\":\"http-close\"}]}",
        "{\"name\":\"x\",\"faults\":[{\"kind\":\"push-missing\"},{\"kind\":\"http-close\"}]}",
        "{\"name\":\"x\",\"fault\":{\"kind\":\"http-close\"},\"faults\":[{\"kind\":\"http-close\"}]"
        "}",
        "{\"name\":\"x\",\"faults\":[]}",
    };
    static const int want[] = {503, 503, 404, 200, 200};
    fixture *f = *state;
    mc_job_spec s = {.dn = DN, .version = "9.9.7", .image_size = 100, .no_publish = 1};
    mc_scenario sc;
    mc_job_info ji;
    body b;
    curl_off_t clen;
    char err[256];
    int id;

    assert_int_equal(mc_scenario_parse(plan, strlen(plan), &sc, err, sizeof(err)), MC_OK);
    assert_int_equal(sc.nthen, 1);
    s.fault = sc.fault;
    memcpy(s.then, sc.then, sizeof(s.then));
    s.nthen = sc.nthen;
    assert_int_equal(mc_job_create(f->c, &s, &id), MC_OK);
    mc_job_get(f->c, id, &ji);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(fetch(ji.url, NULL, &b, &clen), want[i]);
        free(b.buf);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(mc_scenario_parse(bad[i], strlen(bad[i]), &sc, err, sizeof(err)),
                         MC_ERR_FIXTURE);
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
    assert_int_equal(mc_broker_restart(c2, 0), MC_ERR_ARG); /* not ours to restart */
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

/* One HTTPS GET trusting only `ca`; the curl result, the status in *code, the length in *len. */
static CURLcode fetch_tls(const char *url, const char *ca, long *code, size_t *len)
{
    CURL *h = curl_easy_init();
    body b = {0};
    CURLcode cc;

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    cc = curl_easy_perform(h);
    *code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
    *len = b.len;
    free(b.buf);
    curl_easy_cleanup(h);
    return cc;
}

static void on_tls_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    *(int *)obj = rc == 0 ? 1 : -1;
}

/* An MQTT client trusting only `ca` connects to the TLS listener: 1 accepted, 0 refused. */
static int mqtts_connects(int port, const char *ca)
{
    int got = 0;
    struct mosquitto *m = mosquitto_new(NULL, true, &got);

    mosquitto_connect_callback_set(m, on_tls_connect);
    assert_int_equal(mosquitto_tls_set(m, ca, NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
    if (mosquitto_connect(m, "127.0.0.1", port, 10) == MOSQ_ERR_SUCCESS)
        for (int i = 0; i < 50 && !got; i++)
            if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
                break;
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    return got == 1;
}

/*
 * TLS: the broker's TLS listener and the HTTPS file server present the
 * server certificate of the test CA; the foreign-certificate port presents
 * one from another CA. Seen from real clients that trust one CA each.
 */
static void tls_listener_and_https_present_the_right_certificates(void **state)
{
    char devs[1024], err[256], ca[600], foreign_ca[600], want[64];
    mc_config cfg = {0};
    mc_cloud *c = NULL;
    mc_job_spec s = {.dn = DN, .version = "9.9.7", .image_size = 30000, .no_publish = 1};
    mc_job_info ji;
    long code;
    size_t len;
    int id;
    (void)state;

    snprintf(devs, sizeof(devs), "%s/fixtures/devices", OTA_SOURCE_DIR);
    snprintf(ca, sizeof(ca), "%s/ca.pem", OTA_CERTS_DIR);
    snprintf(foreign_ca, sizeof(foreign_ca), "%s/foreign-ca.pem", OTA_CERTS_DIR);
    cfg.devices_dir = devs;
    cfg.tls_dir = OTA_CERTS_DIR;
    cfg.https_urls = 1;
    assert_int_equal(mc_cloud_start(&cfg, &c, err, sizeof(err)), MC_OK);
    assert_true(mc_cloud_mqtts_port(c) > 0);
    assert_true(mqtts_connects(mc_cloud_mqtts_port(c), ca));
    assert_false(mqtts_connects(mc_cloud_mqtts_port(c), foreign_ca));
    /* The broker's TLS listener can present the foreign certificate instead, and back. */
    assert_int_equal(mc_broker_present_foreign(c, 1), MC_OK);
    assert_false(mqtts_connects(mc_cloud_mqtts_port(c), ca));
    assert_true(mqtts_connects(mc_cloud_mqtts_port(c), foreign_ca));
    assert_int_equal(mc_broker_present_foreign(c, 0), MC_OK);
    assert_true(mqtts_connects(mc_cloud_mqtts_port(c), ca));

    assert_int_equal(mc_job_create(c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    snprintf(want, sizeof(want), "https://127.0.0.1:%d/ota/", mc_cloud_https_port(c));
    assert_memory_equal(ji.url, want, strlen(want));
    assert_int_equal(fetch_tls(ji.url, ca, &code, &len), CURLE_OK);
    assert_int_equal(code, 200);
    assert_int_equal(len, 30000);
    assert_int_equal(fetch_tls(ji.url, foreign_ca, &code, &len), CURLE_PEER_FAILED_VERIFICATION);

    s.version = "9.9.8";
    s.fault = (mc_fault){.kind = MC_FAULT_HTTP_FOREIGN_CERT, .count = -1};
    assert_int_equal(mc_job_create(c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    snprintf(want, sizeof(want), "https://127.0.0.1:%d/ota/", mc_cloud_foreign_https_port(c));
    assert_memory_equal(ji.url, want, strlen(want));
    assert_int_equal(fetch_tls(ji.url, ca, &code, &len), CURLE_PEER_FAILED_VERIFICATION);
    assert_int_equal(fetch_tls(ji.url, foreign_ca, &code, &len), CURLE_OK);
    assert_int_equal(len, 30000);
    mc_cloud_stop(c);

    /* Without the TLS folder there is no foreign server: such a job is refused. */
    assert_int_equal(mc_job_create(((fixture *)*state)->c, &s, &id), MC_ERR_ARG);
    assert_int_equal(mc_broker_present_foreign(((fixture *)*state)->c, 1), MC_ERR_ARG);
}

typedef struct {
    int connected, subacked, got;
    char last[2048];
} persist_client;

static void pc_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    ((persist_client *)obj)->connected = rc == 0;
}

static void pc_sub(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
    (void)m;
    (void)mid;
    (void)n;
    (void)q;
    ((persist_client *)obj)->subacked = 1;
}

static void pc_msg(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    persist_client *p = obj;
    (void)m;
    snprintf(p->last, sizeof(p->last), "%.*s", msg->payloadlen, (char *)msg->payload);
    p->got++;
}

/* Run the client's loop until *flag is set or 5 s pass. */
static int pc_until(struct mosquitto *m, const int *flag)
{
    for (int i = 0; i < 100 && !*flag; i++)
        mosquitto_loop(m, 50, 1);
    return *flag;
}

static int trace_has(mc_cloud *c, const char *text)
{
    for (size_t i = 0; i < mc_trace_count(c); i++)
        if (strstr(mc_trace_at(c, i)->info, text))
            return 1;
    return 0;
}

/*
 * A broker restart with persistence on: a persistent session (clean_session
 * 0, as the 3.x SDK uses) keeps its subscription, the push queued for it
 * while it was away survives the restart, and the cloud's own client comes
 * back by itself. The HTTP seam restarts the broker once the body reaches
 * `at`, and the download goes on.
 */
static void broker_restart_keeps_persistent_sessions(void **state)
{
    char devs[1024], err[256];
    mc_config cfg = {0};
    mc_cloud *c = NULL;
    mc_job_spec s = {.dn = DN, .version = "9.9.20", .image_size = 10};
    persist_client pc = {0};
    struct mosquitto *m;
    mc_job_info ji;
    body b;
    curl_off_t clen = 0;
    int id, zero = 0;
    (void)state;

    snprintf(devs, sizeof(devs), "%s/fixtures/devices", OTA_SOURCE_DIR);
    cfg.devices_dir = devs;
    assert_int_equal(mc_cloud_start(&cfg, &c, err, sizeof(err)), MC_OK);
    m = mosquitto_new("persistent-device", false, &pc);
    mosquitto_connect_callback_set(m, pc_connect);
    mosquitto_subscribe_callback_set(m, pc_sub);
    mosquitto_message_callback_set(m, pc_msg);
    assert_int_equal(mosquitto_connect(m, "127.0.0.1", mc_cloud_broker_port(c), 30), 0);
    assert_true(pc_until(m, &pc.connected));
    mosquitto_subscribe(m, NULL, "/ota/device/upgrade/" PK "/" DN, 1);
    assert_true(pc_until(m, &pc.subacked));
    mosquitto_disconnect(m);
    mosquitto_loop(m, 50, 1);

    /* Pushed while the device is away: the broker queues it for the persistent session. */
    assert_int_equal(mc_job_create(c, &s, &id), MC_OK);
    assert_int_equal(mc_broker_restart(c, 0.2), MC_OK);
    assert_true(trace_has(c, "broker restart: back on port"));
    pc.connected = 0;
    assert_int_equal(mosquitto_reconnect(m), 0);
    assert_true(pc_until(m, &pc.connected));
    assert_true(pc_until(m, &pc.got));
    assert_non_null(strstr(pc.last, "9.9.20"));

    /* The subscription survived and the cloud's client is back: a new push arrives. */
    s.version = "9.9.21";
    for (int i = 0; i < 100 && mc_job_create(c, &s, &id) != MC_OK; i++)
        mosquitto_loop(m, 50, 1);
    pc.got = 0;
    assert_true(pc_until(m, &pc.got));
    assert_non_null(strstr(pc.last, "9.9.21"));

    /* The HTTP seam: the restart fires at byte 20000, the body still arrives whole. */
    s.version = "9.9.22";
    s.image_size = 60000;
    s.no_publish = 1;
    s.fault = (mc_fault){.kind = MC_FAULT_SESSION_RESTART, .at = 20000, .count = 1};
    assert_int_equal(mc_job_create(c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(c, id, &ji), MC_OK);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 200);
    assert_int_equal(b.len, 60000);
    free(b.buf);
    for (int i = 0; i < 100 && !trace_has(c, "session-broker-restart"); i++)
        pc_until(m, &zero);
    assert_true(trace_has(c, "session-broker-restart"));
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    mc_cloud_stop(c);
}

/* Write n bytes of pattern k to path. */
static void write_file(const char *path, size_t n, unsigned k)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < n; i++)
        fputc((int)((i * 13 + k) % 256), fp);
    fclose(fp);
}

/*
 * mc_job_spec.image_path: the file's bytes and digest are served, a fault
 * applies to them, a changed file is a new image for later jobs, and once
 * forgotten its URL is 404 (refused while an open job uses it).
 */
static void image_path_serves_the_file(void **state)
{
    fixture *f = *state;
    char dir[] = "/tmp/ota-test-image-XXXXXX", path[128], md5[65];
    mc_job_spec s = {.dn = DN, .version = "7.0.0", .no_publish = 1, .image_size = 5};
    unsigned char *want;
    mc_job_info ji, ji2;
    body b;
    curl_off_t clen;
    int id, id2, open_job = 0;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/app.bin", dir);
    write_file(path, 70000, 1);
    s.image_path = path;
    assert_int_equal(mc_job_create(f->c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(f->c, id, &ji), MC_OK);
    assert_int_equal(ji.size, 70000); /* image_size is ignored */
    want = malloc(70000);
    for (size_t i = 0; i < 70000; i++)
        want[i] = (unsigned char)((i * 13 + 1) % 256);
    ota_digest_hex(OTA_DIGEST_MD5, want, 70000, md5, sizeof(md5));
    assert_string_equal(ji.digest_hex, md5);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 200);
    assert_int_equal(b.len, 70000);
    assert_memory_equal(b.buf, want, 70000);
    free(b.buf);
    assert_int_equal(fetch(ji.url, "60000-", &b, &clen), 206);
    assert_int_equal(b.len, 10000);
    assert_memory_equal(b.buf, want + 60000, 10000);
    free(b.buf);

    /* A fault applies to the file as to a generated image. */
    s.fault = (mc_fault){.kind = MC_FAULT_HTTP_CORRUPT, .at = 100, .count = -1};
    s.version = "7.0.1";
    assert_int_equal(mc_job_create(f->c, &s, &id2), MC_OK);
    assert_int_equal(mc_job_get(f->c, id2, &ji2), MC_OK);
    assert_int_equal(fetch(ji2.url, NULL, &b, &clen), 200);
    assert_int_equal(b.len, 70000);
    assert_int_equal(b.buf[100], want[100] ^ 0xFF);
    assert_memory_equal(b.buf + 101, want + 101, 1000);
    free(b.buf);

    /* Forgetting is refused while a job is open; once they are closed, the URLs are 404. */
    assert_int_equal(mc_image_forget(f->c, path, &open_job), MC_ERR_STATE);
    assert_true(open_job == id || open_job == id2);
    mc_jobs_cancel(f->c, DN);
    assert_int_equal(mc_image_forget(f->c, path, NULL), MC_OK);
    assert_int_equal(fetch(ji.url, NULL, &b, &clen), 404);
    free(b.buf);

    /* The same path with other bytes: a new image, its own digest. */
    write_file(path, 1000, 2);
    s.fault = (mc_fault){0};
    s.version = "7.0.2";
    assert_int_equal(mc_job_create(f->c, &s, &id), MC_OK);
    assert_int_equal(mc_job_get(f->c, id, &ji), MC_OK);
    assert_int_equal(ji.size, 1000);
    assert_string_not_equal(ji.digest_hex, md5);
    mc_jobs_cancel(f->c, DN);

    /* A file that is not there: no job. */
    s.image_path = "/nonexistent/app.bin";
    assert_int_equal(mc_job_create(f->c, &s, &id), MC_ERR_IO);
    unlink(path);
    rmdir(dir);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_serves_whole_file_and_ranges),
        cmocka_unit_test(http_status_fault_is_persistent_or_counted),
        cmocka_unit_test(fault_sequence_acts_in_order),
        cmocka_unit_test(http_faults_on_the_wire),
        cmocka_unit_test(image_path_serves_the_file),
        cmocka_unit_test(blocks_are_served_and_bad_requests_answered),
        cmocka_unit_test(block_faults_on_the_wire),
        cmocka_unit_test(push_faults_change_the_push),
        cmocka_unit_test(scenarios_are_valid_and_bad_ones_refused),
        cmocka_unit_test(push_then_progress_then_inform_succeeds),
        cmocka_unit_test(bad_input_is_counted_never_fatal),
        cmocka_unit_test(firmware_get_is_answered),
        cmocka_unit_test(a_second_cloud_joins_an_external_broker),
        cmocka_unit_test(embedded_broker_stops_with_the_cloud),
        cmocka_unit_test(tls_listener_and_https_present_the_right_certificates),
        cmocka_unit_test(broker_restart_keeps_persistent_sessions),
    };
    return cmocka_run_group_tests_name("cloud", tests, setup, teardown);
}
