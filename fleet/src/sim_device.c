/*
 * One simulated device of ota-fleet: the Aliyun login, a version report at
 * every connect, and on a push the download (HTTP by libcurl, resuming by
 * Range; or MQTT blocks, one request outstanding, each CRC-checked), the
 * digest check, progress and the new version. It behaves like a correct
 * device, so every failure it reports is the cloud's or a fault plan's.
 * Everything runs on the loop's thread, in libmosquitto's and libcurl's
 * callbacks.
 */
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "fleet.h"

#define KEEPALIVE_S 120

static fleet *fl; /* the one fleet of the process: libmosquitto's callbacks get a device only */

static const char *const state_names[FL_DEV__COUNT] = {
    "new", "connecting", "idle", "waiting-http", "http", "blocks", "done", "failed",
};

const char *fl_dev_state_name(fl_dev_state s)
{
    return (unsigned)s < FL_DEV__COUNT ? state_names[s] : "?";
}

void fl_device_set_state(fleet *f, fl_device *d, fl_dev_state s)
{
    f->count[d->state]--;
    f->count[s]++;
    d->state = s;
}

static int busy(const fl_device *d)
{
    return d->state == FL_DEV_WAIT_HTTP || d->state == FL_DEV_HTTP || d->state == FL_DEV_BLOCKS;
}

static void publish(fl_device *d, ota_topic_kind k, const char *payload, int qos)
{
    char topic[OTA_MAX_TOPIC + 1];
    size_t len = strlen(payload);

    if (!d->mosq || ota_topic_build(k, fl->pk, d->dn, topic, sizeof(topic)) != OTA_OK)
        return;
    if (mosquitto_publish(d->mosq, NULL, topic, (int)len, payload, qos, false) != MOSQ_ERR_SUCCESS)
        return;
    fl->msgs_out++;
    fl->bytes_out += len;
    fl_loop_touch(fl, d);
}

static void next_id(fl_device *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "%lu", ++d->msg_id);
}

static void report_version(fl_device *d)
{
    char payload[256], id[24];

    next_id(d, id, sizeof(id));
    if (ota_inform_build(id, 0, d->version, NULL, payload, sizeof(payload)) == OTA_OK)
        publish(d, OTA_TOPIC_INFORM, payload, 1);
}

static void report_step(fl_device *d, int step, const char *desc)
{
    char payload[512], id[24];

    next_id(d, id, sizeof(id));
    if (ota_progress_build(id, step, 0, desc, NULL, payload, sizeof(payload)) == OTA_OK)
        publish(d, OTA_TOPIC_PROGRESS, payload, 1);
    d->last_report = ota_clock_now();
}

/* The upgrade's resources: the push, the digest, a download still running. */
static void upgrade_clear(fl_device *d)
{
    if (d->easy) {
        curl_multi_remove_handle(fl->multi, d->easy);
        curl_easy_cleanup(d->easy);
        d->easy = NULL;
        fl->http_running--;
    }
    ota_digest_free(d->digest);
    d->digest = NULL;
    free(d->push);
    d->push = NULL;
}

/* The attempt ends in its one failure step; the reason is what the summary groups by. */
static void fail(fl_device *d, int step, const char *reason)
{
    snprintf(d->reason, sizeof(d->reason), "%s", reason);
    report_step(d, step, reason);
    upgrade_clear(d);
    d->t_end = ota_clock_now();
    fl_device_set_state(fl, d, FL_DEV_FAILED);
}

/* Every byte is in: check the digest, report 100, and "reboot" into the new version. */
static void finish(fl_device *d)
{
    char hex[65];
    const char *want = d->push->sign[0] ? d->push->sign : d->push->md5;

    if (ota_digest_final_hex(d->digest, hex, sizeof(hex)) != OTA_OK || !ota_hex_equal(hex, want)) {
        fail(d, OTA_STEP_VERIFY_FAILED, "digest mismatch");
        return;
    }
    report_step(d, 100, "image written, rebooting");
    snprintf(d->version, sizeof(d->version), "%s", d->push->version);
    upgrade_clear(d);
    report_version(d);
    d->t_end = ota_clock_now();
    fl_device_set_state(fl, d, FL_DEV_DONE);
}

static void progress_maybe(fl_device *d)
{
    int pct = d->push->size > 0 ? (int)(d->got * 100 / d->push->size) : 0;

    if (pct > d->last_pct && pct < 100 && ota_clock_now() - d->last_report >= FL_REPORT_GAP_S) {
        report_step(d, pct, "downloading");
        d->last_pct = pct;
    }
}

/* ---- MQTT blocks ---- */
static void request_block(fl_device *d)
{
    char payload[384], id[24];
    long long want = d->push->size - d->got < fl->block ? d->push->size - d->got : fl->block;

    next_id(d, id, sizeof(id));
    if (ota_block_request_build(id, d->push->stream_id, d->push->stream_file_id, want, d->got,
                                payload, sizeof(payload)) == OTA_OK)
        publish(d, OTA_TOPIC_FILE_DOWNLOAD, payload, 0);
    d->wait_until = ota_clock_now() + FL_BLOCK_WAIT_S;
}

/* A block came back unusable: ask again, or give up after FL_BLOCK_TRIES. */
static void block_retry(fl_device *d, const char *why)
{
    if (++d->tries >= FL_BLOCK_TRIES) {
        char reason[FL_REASON + 32];
        snprintf(reason, sizeof(reason), "%s, %d tries", why, FL_BLOCK_TRIES);
        fail(d, OTA_STEP_DOWNLOAD_FAILED, reason);
        return;
    }
    fl->block_retries++;
    request_block(d);
}

static void on_block(fl_device *d, const void *payload, size_t len)
{
    ota_frame fr;
    ota_block_header h;
    long long want;

    if (d->state != FL_DEV_BLOCKS)
        return;
    want = d->push->size - d->got < fl->block ? d->push->size - d->got : fl->block;
    if (ota_frame_decode(payload, len, &fr) != OTA_OK ||
        ota_block_header_parse(fr.header, fr.header_len, &h) != OTA_OK) {
        block_retry(d, "undecodable block reply");
        return;
    }
    if (h.code != 200) {
        char why[FL_REASON];
        snprintf(why, sizeof(why), "block reply code %d", h.code);
        block_retry(d, why);
        return;
    }
    if (h.b_offset != d->got)
        return; /* a late or duplicated reply for another block */
    if (h.b_size != (long long)fr.data_len || fr.data_len == 0 || (long long)fr.data_len > want) {
        block_retry(d, "bSize disagrees with the data");
        return;
    }
    if (!fr.crc_ok) {
        block_retry(d, "bad CRC on a block");
        return;
    }
    ota_digest_update(d->digest, fr.data, fr.data_len);
    d->got += (long long)fr.data_len;
    d->tries = 0;
    fl->blocks++;
    if (d->got >= d->push->size) {
        finish(d);
        return;
    }
    progress_maybe(d);
    request_block(d);
}

/* ---- HTTP ---- */
static size_t on_http_data(char *p, size_t size, size_t n, void *ud)
{
    fl_device *d = ud;
    size_t len = size * n;
    long code = 0;

    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200 && code != 206)
        return len; /* an error page: the status decides */
    if (code == 200 && d->got > 0 && d->wait_until >= 0) {
        /* asked for a Range, got the whole file: start over */
        ota_digest_free(d->digest);
        d->digest = NULL;
        ota_digest_kind k = OTA_DIGEST_MD5;
        ota_sign_method_parse(d->push->sign_method, &k);
        if (ota_digest_new(k, &d->digest) != OTA_OK)
            return 0;
        d->got = 0;
    }
    d->wait_until = -1; /* the first bytes of this try are in */
    if (d->got + (long long)len > d->push->size)
        return 0; /* more than the pushed size */
    ota_digest_update(d->digest, p, len);
    d->got += (long long)len;
    fl->http_bytes += len;
    progress_maybe(d);
    return len;
}

static void http_start(fl_device *d)
{
    char range[48];

    d->easy = curl_easy_init();
    if (!d->easy) {
        fail(d, OTA_STEP_DOWNLOAD_FAILED, "libcurl could not start a download");
        return;
    }
    curl_easy_setopt(d->easy, CURLOPT_URL, d->push->url);
    curl_easy_setopt(d->easy, CURLOPT_PRIVATE, (char *)d);
    curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, on_http_data);
    curl_easy_setopt(d->easy, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(d->easy, CURLOPT_TIMEOUT, FL_HTTP_TIMEOUT);
    curl_easy_setopt(d->easy, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(d->easy, CURLOPT_SSL_VERIFYPEER, 0L); /* the mock's test CA */
    curl_easy_setopt(d->easy, CURLOPT_SSL_VERIFYHOST, 0L);
    if (d->got > 0) {
        snprintf(range, sizeof(range), "%lld-", d->got);
        curl_easy_setopt(d->easy, CURLOPT_RANGE, range);
    }
    d->wait_until = 0; /* no bytes of this try yet */
    fl->http_tries++;
    fl->http_running++;
    fl_device_set_state(fl, d, FL_DEV_HTTP);
    if (curl_multi_add_handle(fl->multi, d->easy) != CURLM_OK)
        fail(d, OTA_STEP_DOWNLOAD_FAILED, "libcurl would not take the download");
}

static void http_enqueue(fleet *f, fl_device *d)
{
    f->http_queue[f->http_tail++ % f->n] = d->idx;
    fl_device_set_state(f, d, FL_DEV_WAIT_HTTP);
}

void fl_http_pump(fleet *f)
{
    while (f->http_running < f->http_parallel && f->http_head != f->http_tail) {
        fl_device *d = &f->devs[f->http_queue[f->http_head++ % f->n]];
        if (d->state == FL_DEV_WAIT_HTTP)
            http_start(d);
    }
}

void fl_device_http_done(fleet *f, fl_device *d, CURLcode cc)
{
    long code = 0;
    char why[FL_REASON];

    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_multi_remove_handle(f->multi, d->easy);
    curl_easy_cleanup(d->easy);
    d->easy = NULL;
    f->http_running--;
    if (code >= 400 && code < 500) {
        snprintf(why, sizeof(why), "HTTP status %ld", code);
        fail(d, OTA_STEP_DOWNLOAD_FAILED, why);
        return;
    }
    if (cc == CURLE_OK && (code == 200 || code == 206) && d->got == d->push->size) {
        finish(d);
        return;
    }
    if (cc != CURLE_OK)
        snprintf(why, sizeof(why), "download: %s", curl_easy_strerror(cc));
    else if (code != 200 && code != 206)
        snprintf(why, sizeof(why), "HTTP status %ld", code);
    else
        snprintf(why, sizeof(why), "download ended short of the size");
    if (++d->tries >= FL_HTTP_TRIES) {
        char reason[FL_REASON + 32];
        snprintf(reason, sizeof(reason), "%s, %d tries", why, FL_HTTP_TRIES);
        fail(d, OTA_STEP_DOWNLOAD_FAILED, reason);
        return;
    }
    http_enqueue(f, d);
}

/* ---- the push ---- */
static void on_push(fl_device *d, const char *json, size_t len)
{
    ota_push p;
    ota_digest_kind k = OTA_DIGEST_MD5;

    if (busy(d) || d->state == FL_DEV_FAILED || d->state == FL_DEV_DONE)
        return; /* one upgrade per run; a push again at a reconnect changes nothing */
    if (ota_push_parse(json, len, &p) != OTA_OK || !p.has_version || p.size <= 0) {
        fail(d, OTA_STEP_UPGRADE_FAILED, "unusable push");
        return;
    }
    if (!strcmp(p.version, d->version))
        return;
    if (!p.has_url && !(p.has_dprotocol && !strcmp(p.dprotocol, "mqtt"))) {
        fail(d, OTA_STEP_UPGRADE_FAILED, "push has neither url nor dProtocol");
        return;
    }
    d->push = malloc(sizeof(*d->push));
    if (!d->push || (p.has_sign_method && ota_sign_method_parse(p.sign_method, &k) != OTA_OK) ||
        ota_digest_new(k, &d->digest) != OTA_OK) {
        fail(d, OTA_STEP_UPGRADE_FAILED, "push with an unknown signMethod");
        return;
    }
    *d->push = p;
    d->got = 0;
    d->tries = 0;
    d->last_pct = 0;
    d->t_push = ota_clock_now();
    report_step(d, 0, "download started");
    if (p.has_url) {
        http_enqueue(fl, d);
        return;
    }
    fl_device_set_state(fl, d, FL_DEV_BLOCKS);
    request_block(d);
}

/* ---- the connection ---- */
static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    fl_device *d = obj;
    char subs[2][OTA_MAX_TOPIC + 1];
    char *list[2] = {subs[0], subs[1]};

    if (d->awaiting) {
        d->awaiting = 0;
        fl->pending_connacks--;
    }
    if (rc != 0) {
        snprintf(d->reason, sizeof(d->reason), "login refused: %s", mosquitto_connack_string(rc));
        upgrade_clear(d);
        fl_device_set_state(fl, d, FL_DEV_FAILED);
        mosquitto_disconnect(m);
        return;
    }
    d->connected = 1;
    d->connects++;
    ota_topic_build(OTA_TOPIC_UPGRADE, fl->pk, d->dn, subs[0], sizeof(subs[0]));
    ota_topic_build(OTA_TOPIC_FILE_DOWNLOAD_REPLY, fl->pk, d->dn, subs[1], sizeof(subs[1]));
    mosquitto_subscribe_multiple(m, NULL, 2, list, 1, 0, NULL);
    report_version(d);
    if (d->state == FL_DEV_CONNECTING)
        fl_device_set_state(fl, d, FL_DEV_IDLE);
    else if (d->state == FL_DEV_BLOCKS)
        request_block(d); /* the request in flight was lost with the old connection */
    fl_loop_touch(fl, d);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    fl_device *d = obj;
    (void)m;
    (void)rc;

    if (d->awaiting) {
        d->awaiting = 0;
        fl->pending_connacks--;
    }
    d->connected = 0;
    if (d->state != FL_DEV_DONE && d->state != FL_DEV_FAILED) {
        d->reconnect_at = ota_clock_now() + FL_RECONNECT_S;
        fl->reconnects++;
    }
    fl_loop_touch(fl, d);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    fl_device *d = obj;
    ota_topic_kind kind;
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    (void)m;

    fl->msgs_in++;
    fl->bytes_in += (unsigned long long)msg->payloadlen;
    if (ota_topic_parse(msg->topic, &kind, pk, dn) != OTA_OK || strcmp(dn, d->dn))
        return;
    if (kind == OTA_TOPIC_UPGRADE)
        on_push(d, msg->payload, (size_t)msg->payloadlen);
    else if (kind == OTA_TOPIC_FILE_DOWNLOAD_REPLY)
        on_block(d, msg->payload, (size_t)msg->payloadlen);
}

int fl_device_start(fleet *f, fl_device *d)
{
    ota_login l;
    int rc;

    fl = f;
    fl_loop_socketpairs(0);
    if (!d->mosq) {
        if (ota_login_build(f->pk, d->dn, d->secret, OTA_SIGNMETHOD_HMACSHA256, 3,
                            OTA_LOGIN_TIMESTAMP, &l) != OTA_OK) {
            fl_loop_socketpairs(1);
            return -1;
        }
        d->mosq = mosquitto_new(l.client_id, true, d);
        if (!d->mosq) {
            fl_loop_socketpairs(1);
            return -1;
        }
        mosquitto_int_option(d->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_int_option(d->mosq, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_username_pw_set(d->mosq, l.username, l.password);
        mosquitto_connect_callback_set(d->mosq, on_connect);
        mosquitto_disconnect_callback_set(d->mosq, on_disconnect);
        mosquitto_message_callback_set(d->mosq, on_message);
    }
    rc = d->connects ? mosquitto_reconnect_async(d->mosq)
                     : mosquitto_connect_async(d->mosq, f->mqtt_host, f->mqtt_port, KEEPALIVE_S);
    fl_loop_socketpairs(1);
    if (d->state == FL_DEV_NEW)
        fl_device_set_state(f, d, FL_DEV_CONNECTING);
    fl_loop_touch(f, d);
    if (rc != MOSQ_ERR_SUCCESS) {
        d->reconnect_at = ota_clock_now() + FL_RECONNECT_S;
        return -1;
    }
    d->awaiting = 1;
    f->pending_connacks++;
    return 0;
}

void fl_device_tick(fleet *f, fl_device *d, double now)
{
    if (!d->mosq)
        return;
    if (d->reconnect_at > 0 && now >= d->reconnect_at) {
        d->reconnect_at = 0;
        fl_device_start(f, d);
        return;
    }
    if (d->state == FL_DEV_BLOCKS && d->connected && now >= d->wait_until)
        block_retry(d, "no reply for a block");
    if ((d->idx + (int)(now * 10)) % 10 == 0 && mosquitto_socket(d->mosq) >= 0) {
        mosquitto_loop_misc(d->mosq); /* keepalive, about once a second */
        fl_loop_touch(f, d);
    }
}

void fl_device_free(fl_device *d)
{
    upgrade_clear(d);
    if (d->mosq) {
        mosquitto_disconnect(d->mosq);
        mosquitto_destroy(d->mosq);
    }
    d->mosq = NULL;
}
