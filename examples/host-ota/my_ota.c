/*
 * my_ota: see my_ota.h. libmosquitto for MQTT, libcurl for the download,
 * cJSON for the messages and libotaproto for the login signature and the
 * digest (a firmware would use its SDK's or its own).
 */
#include "my_ota.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <mosquitto.h>

#include "otaproto/otaproto.h"

typedef struct {
    pthread_mutex_t lock;
    char *push; /* the last push's payload, heap */
} inbox;

typedef struct {
    unsigned char *data;
    size_t len;
} image;

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    inbox *in = ud;
    (void)m;
    pthread_mutex_lock(&in->lock);
    free(in->push);
    in->push = strndup(msg->payload, (size_t)msg->payloadlen);
    pthread_mutex_unlock(&in->lock);
}

static char *wait_push(inbox *in, double wait_s)
{
    char *p = NULL;
    for (int i = 0; i < (int)(wait_s * 20) && !p; i++) {
        pthread_mutex_lock(&in->lock);
        p = in->push;
        in->push = NULL;
        pthread_mutex_unlock(&in->lock);
        if (!p)
            usleep(50 * 1000);
    }
    return p;
}

static void publish(struct mosquitto *m, const my_ota_device *d, const char *what,
                    const char *params)
{
    static int id = 1;
    char topic[256], body[512];
    snprintf(topic, sizeof(topic), "/ota/device/%s/%s/%s", what, d->product_key, d->device_name);
    snprintf(body, sizeof(body), "{\"id\":\"%d\",\"params\":%s}", id++, params);
    mosquitto_publish(m, NULL, topic, (int)strlen(body), body, 1, false);
}

static void report_step(struct mosquitto *m, const my_ota_device *d, int step, const char *desc)
{
    char params[256];
    snprintf(params, sizeof(params), "{\"step\":\"%d\",\"desc\":\"%s\"}", step, desc);
    publish(m, d, "progress", params);
}

static void report_version(struct mosquitto *m, const my_ota_device *d)
{
    char params[96];
    snprintf(params, sizeof(params), "{\"version\":\"%s\"}", d->version);
    publish(m, d, "inform", params);
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    image *img = ud;
    unsigned char *more = realloc(img->data, img->len + size * n);
    if (!more)
        return 0;
    memcpy(more + img->len, buf, size * n);
    img->data = more;
    img->len += size * n;
    return size * n;
}

/* 0 and the image on a 200 of the announced size; -1 otherwise. */
static int download(const char *url, long long size, image *img)
{
    CURL *c = curl_easy_init();
    long status = 0;
    int rc = -1;

    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, img);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(c) == CURLE_OK &&
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
        (long long)img->len == size)
        rc = 0;
    curl_easy_cleanup(c);
    return rc;
}

/* Act on one push: MY_OTA_UPDATED or MY_OTA_FAILED, with the steps reported. */
static my_ota_result apply_push(struct mosquitto *m, my_ota_device *d, const char *push)
{
    cJSON *root = cJSON_Parse(push), *data = cJSON_GetObjectItem(root, "data");
    const char *url = cJSON_GetStringValue(cJSON_GetObjectItem(data, "url"));
    const char *md5 = cJSON_GetStringValue(cJSON_GetObjectItem(data, "md5"));
    const char *version = cJSON_GetStringValue(cJSON_GetObjectItem(data, "version"));
    cJSON *size = cJSON_GetObjectItem(data, "size");
    image img = {0};
    char hex[65] = "";
    my_ota_result res = MY_OTA_FAILED;

    if (!url || !md5 || !version || !cJSON_IsNumber(size)) {
        report_step(m, d, -1, "push not understood");
        goto out;
    }
    report_step(m, d, 0, "downloading");
    if (download(url, (long long)size->valuedouble, &img) != 0) {
        report_step(m, d, -2, "download failed");
    } else if (ota_digest_hex(OTA_DIGEST_MD5, img.data, img.len, hex, sizeof(hex)) != OTA_OK ||
               !ota_hex_equal(hex, md5)) {
        report_step(m, d, -3, "md5 mismatch");
    } else {
        report_step(m, d, 100, "written");
        snprintf(d->version, sizeof(d->version), "%s", version);
        report_version(m, d); /* after the "reboot" */
        res = MY_OTA_UPDATED;
    }
out:
    free(img.data);
    cJSON_Delete(root);
    return res;
}

static struct mosquitto *connect_device(const my_ota_device *d, inbox *in)
{
    ota_login l;
    char topic[256];
    struct mosquitto *m;

    if (ota_login_build(d->product_key, d->device_name, d->device_secret, OTA_SIGNMETHOD_HMACSHA256,
                        3, OTA_LOGIN_TIMESTAMP, &l) != OTA_OK)
        return NULL;
    m = mosquitto_new(l.client_id, true, in);
    if (!m)
        return NULL;
    mosquitto_username_pw_set(m, l.username, l.password);
    mosquitto_message_callback_set(m, on_message);
    snprintf(topic, sizeof(topic), "/ota/device/upgrade/%s/%s", d->product_key, d->device_name);
    if (mosquitto_connect(m, d->host, d->port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS ||
        mosquitto_subscribe(m, NULL, topic, 1) != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m);
        return NULL;
    }
    return m;
}

my_ota_result my_ota_check_once(my_ota_device *d)
{
    inbox in = {.push = NULL};
    struct mosquitto *m;
    my_ota_result res = MY_OTA_NO_JOB;
    char *push;

    mosquitto_lib_init(); /* once per process would do; repeating it is harmless */
    pthread_mutex_init(&in.lock, NULL);
    m = connect_device(d, &in);
    if (!m) {
        pthread_mutex_destroy(&in.lock);
        return MY_OTA_ERROR;
    }
    report_version(m, d);
    push = wait_push(&in, d->wait_s);
    if (push)
        res = apply_push(m, d, push);
    free(push);
    usleep(200 * 1000); /* let the last reports go out (QoS 1) */
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    free(in.push);
    pthread_mutex_destroy(&in.lock);
    return res;
}
