/*
 * ota-bench-echo: the baseline of bench/blocks.sh. A bare lock-step
 * request/reply echo over the broker the mock cloud runs (the same mosquitto,
 * the same generated config, the otaauth plugin with a signed device login
 * and the cloud credential): a device client asks for a block exactly as the
 * reference device does, a cloud client answers through the plugin's
 * downlink path with a frame of the size the mock's would have, and the
 * device asks for the next one when it arrives. No image, no CRC, no trace,
 * no checks beyond the frame's length: what is left is the transport the
 * block download cannot avoid. Prints the figures; judges nothing.
 */
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_priv.h"
#include "otaproto/crypto.h"
#include "otaproto/frame.h"
#include "otaproto/msg.h"
#include "otaproto/topic.h"

#define ECHO_PK        "a1BenchEcho"
#define ECHO_DN        "bench-echo-01"
#define ECHO_SECRET    "0123456789abcdef0123456789abcdef"
#define ECHO_STREAM    100001LL
#define ECHO_TIMEOUT_S 120.0 /* the whole run, connections included */

typedef struct {
    struct mosquitto *dev, *cloud;
    char up[OTA_MAX_TOPIC + 1], down[OTA_MAX_TOPIC + 16];
    long long block, total, offset, blocks;
    unsigned char *frame; /* the largest reply; a shorter one is its first bytes */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int dev_ready, cloud_ready, done, failed;
    double t_first, t_last;
} echo_run;

static void flag(echo_run *e, int *what)
{
    pthread_mutex_lock(&e->lock);
    *what = 1;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

/* Wait until *what is set or the deadline passes; 0 when it was set. */
static int await(echo_run *e, const int *what, double end)
{
    int ok;

    pthread_mutex_lock(&e->lock);
    while (!*what && !e->failed)
        if (ota_cond_wait_until(&e->cond, &e->lock, end) != 0)
            break;
    ok = *what;
    pthread_mutex_unlock(&e->lock);
    return ok ? 0 : -1;
}

/* The device's request for the block at e->offset, as the reference device sends it. */
static int ask(echo_run *e)
{
    char payload[384], id[24];
    long long want = e->total - e->offset < e->block ? e->total - e->offset : e->block;

    snprintf(id, sizeof(id), "%lld", e->blocks + 1);
    if (ota_block_request_build(id, ECHO_STREAM, 1, want, e->offset, payload, sizeof(payload)) !=
        OTA_OK)
        return -1;
    return mosquitto_publish(e->dev, NULL, e->up, (int)strlen(payload), payload, 0, false) ==
                   MOSQ_ERR_SUCCESS
               ? 0
               : -1;
}

/* Cloud side: the reply the mock would send, header and all, but data it never looked at. */
static void on_cloud_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    echo_run *e = obj;
    ota_block_request q;
    ota_block_header h = {.code = 200, .msg = "success", .file_token = "default"};
    char hdr[512];
    size_t hlen, len;

    if (ota_block_request_parse(msg->payload, (size_t)msg->payloadlen, &q) != OTA_OK)
        return;
    snprintf(h.id, sizeof(h.id), "%s", q.id.text);
    h.file_length = e->total;
    h.b_size = q.size;
    h.b_offset = q.offset;
    if (ota_block_header_build(&h, hdr, sizeof(hdr)) != OTA_OK)
        return;
    hlen = strlen(hdr);
    len = ota_frame_size(hlen, (size_t)q.size);
    e->frame[0] = (unsigned char)(hlen >> 8);
    e->frame[1] = (unsigned char)hlen;
    memcpy(e->frame + 2, hdr, hlen);
    mosquitto_publish(m, NULL, e->down, (int)len, e->frame, 0, false);
}

/* Device side: a reply in, the next request out, from the callback (lock-step). */
static void on_dev_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    echo_run *e = obj;
    long long want = e->total - e->offset < e->block ? e->total - e->offset : e->block;
    (void)m;

    if (msg->payloadlen < want + 4) {
        fprintf(stderr, "ota-bench-echo: a reply of %d bytes for a block of %lld\n",
                msg->payloadlen, want);
        flag(e, &e->failed);
        return;
    }
    e->offset += want;
    e->blocks++;
    if (e->offset < e->total) {
        if (ask(e) != 0)
            flag(e, &e->failed);
        return;
    }
    e->t_last = ota_clock_now();
    flag(e, &e->done);
}

static void on_dev_connect(struct mosquitto *m, void *obj, int rc)
{
    char topic[OTA_MAX_TOPIC + 1];
    (void)obj;

    if (rc != 0) {
        fprintf(stderr, "ota-bench-echo: the device's login was refused: %s\n",
                mosquitto_connack_string(rc));
        flag(obj, &((echo_run *)obj)->failed);
        return;
    }
    ota_topic_build(OTA_TOPIC_FILE_DOWNLOAD_REPLY, ECHO_PK, ECHO_DN, topic, sizeof(topic));
    mosquitto_subscribe(m, NULL, topic, 1);
}

static void on_cloud_connect(struct mosquitto *m, void *obj, int rc)
{
    if (rc != 0) {
        fprintf(stderr, "ota-bench-echo: the cloud's login was refused: %s\n",
                mosquitto_connack_string(rc));
        flag(obj, &((echo_run *)obj)->failed);
        return;
    }
    mosquitto_subscribe(m, NULL, "/+/+/#", 1); /* as the mock cloud on its own broker */
}

static void on_dev_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
    (void)m;
    (void)mid;
    (void)n;
    (void)q;
    flag(obj, &((echo_run *)obj)->dev_ready);
}

static void on_cloud_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
    (void)m;
    (void)mid;
    (void)n;
    (void)q;
    flag(obj, &((echo_run *)obj)->cloud_ready);
}

typedef struct {
    void (*connect)(struct mosquitto *, void *, int);
    void (*subscribe)(struct mosquitto *, void *, int, int, const int *);
    void (*message)(struct mosquitto *, void *, const struct mosquitto_message *);
} callbacks;

/* A client with its callbacks set before it connects, on a thread of its own (as both sides). */
static struct mosquitto *client(echo_run *e, const char *id, const char *user, const char *pw,
                                int port, const callbacks *cb)
{
    struct mosquitto *m = mosquitto_new(id, true, e);

    if (!m)
        return NULL;
    mosquitto_connect_callback_set(m, cb->connect);
    mosquitto_subscribe_callback_set(m, cb->subscribe);
    mosquitto_message_callback_set(m, cb->message);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_username_pw_set(m, user, pw);
    if (mosquitto_connect(m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m);
        return NULL;
    }
    return m;
}

/* Both clients logged in and subscribed; the device's login signed as the reference device's. */
static int connect_both(echo_run *e, const mc_broker *b, double end)
{
    ota_login login;

    if (ota_login_build(ECHO_PK, ECHO_DN, ECHO_SECRET, OTA_SIGNMETHOD_HMACSHA256, 3,
                        OTA_LOGIN_TIMESTAMP, &login) != OTA_OK)
        return -1;
    static const callbacks cloud = {on_cloud_connect, on_cloud_subscribe, on_cloud_message},
                           dev = {on_dev_connect, on_dev_subscribe, on_dev_message};

    e->cloud =
        client(e, "ota-bench-echo-cloud", "ota-mock-cloud", b->cloud_password, b->port, &cloud);
    if (!e->cloud || await(e, &e->cloud_ready, end) != 0)
        return -1;
    e->dev = client(e, login.client_id, login.username, login.password, b->port, &dev);
    return e->dev && await(e, &e->dev_ready, end) == 0 ? 0 : -1;
}

/* The device's request topic, and the cloud's way to its reply topic through the plugin. */
static void set_topics(echo_run *e)
{
    char down[OTA_MAX_TOPIC + 1];

    ota_topic_build(OTA_TOPIC_FILE_DOWNLOAD, ECHO_PK, ECHO_DN, e->up, sizeof(e->up));
    ota_topic_build(OTA_TOPIC_FILE_DOWNLOAD_REPLY, ECHO_PK, ECHO_DN, down, sizeof(down));
    snprintf(e->down, sizeof(e->down), "$ota/down%s", down);
}

static int parse_args(int argc, char **argv, long long *block, long long *total,
                      const char **plugin, const char **mosq)
{
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        if (!strcmp(argv[i], "--block"))
            *block = strtoll(v, NULL, 10);
        else if (!strcmp(argv[i], "--bytes"))
            *total = strtoll(v, NULL, 10);
        else if (!strcmp(argv[i], "--plugin"))
            *plugin = v;
        else if (!strcmp(argv[i], "--mosquitto"))
            *mosq = v;
        else
            return -1;
        i++;
    }
    return *block >= OTA_BLOCK_MIN && *block <= OTA_BLOCK_MAX && *total > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    echo_run e = {.block = 65536, .total = 16000000};
    const char *plugin = OTA_PLUGIN_PATH, *mosq = NULL;
    mc_device_info d = {.pk = ECHO_PK, .dn = ECHO_DN, .secret = ECHO_SECRET};
    mc_broker b = {0};
    char err[512];
    int rc = 1;
    double end = ota_clock_now() + ECHO_TIMEOUT_S;

    if (parse_args(argc, argv, &e.block, &e.total, &plugin, &mosq) != 0) {
        fprintf(stderr,
                "usage: ota-bench-echo [--block N (%d..%d, default 65536)] [--bytes N "
                "(default 16000000)]\n"
                "                      [--plugin otaauth.so] [--mosquitto PATH]\n",
                OTA_BLOCK_MIN, OTA_BLOCK_MAX);
        return 2;
    }
    pthread_mutex_init(&e.lock, NULL);
    ota_cond_init_mono(&e.cond);
    set_topics(&e);
    e.frame = calloc(1, ota_frame_size(512, (size_t)e.block));
    mosquitto_lib_init();
    snprintf(b.plugin, sizeof(b.plugin), "%s", plugin);
    if (!e.frame || mc_broker_start(mosq, &b, err, sizeof(err)) != MC_OK) {
        fprintf(stderr, "ota-bench-echo: %s\n", e.frame ? err : "out of memory");
        goto out;
    }
    if (mc_broker_write_devices(&b, &d, 1) != 0 || connect_both(&e, &b, end) != 0) {
        fprintf(stderr, "ota-bench-echo: the clients did not connect and subscribe in time\n");
        goto out;
    }
    e.t_first = ota_clock_now();
    if (ask(&e) != 0 || await(&e, &e.done, end) != 0) {
        fprintf(stderr, "ota-bench-echo: stopped after %lld of %lld bytes\n", e.offset, e.total);
        goto out;
    }
    printf("echo: %lld bytes in %lld blocks of %lld: %.3f s, %.1f MB/s\n", e.total, e.blocks,
           e.block, e.t_last - e.t_first, (double)e.total / (e.t_last - e.t_first) / 1e6);
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        struct mosquitto *m = i ? e.dev : e.cloud;
        if (!m)
            continue;
        mosquitto_disconnect(m);
        mosquitto_loop_stop(m, false);
        mosquitto_destroy(m);
    }
    mc_broker_stop(&b);
    mosquitto_lib_cleanup();
    free(e.frame);
    pthread_cond_destroy(&e.cond);
    pthread_mutex_destroy(&e.lock);
    return rc;
}
