/*
 * The reference device's MQTT link: a signed Aliyun login, subscriptions to
 * its own downlink topics, the boot version report once they are granted,
 * and progress reports. The link thread reconnects with a deadline per attempt.
 */
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "refdev.h"

#define RD_PUBACK_TIMEOUT 5.0
/* Seconds a connection attempt may wait for the broker's CONNACK. */
#define RD_CONNECT_DEADLINE 5

/* Set by a granted login, cleared when the link fails. */
static int link_up;

/* The module named in reports: none for the default module (and none at all with no-module). */
static const char *reported_module(void)
{
    return rd.module[0] && !rd_has_bug(BUG_NO_MODULE) ? rd.module : NULL;
}

static void next_id(char *buf, size_t cap)
{
    pthread_mutex_lock(&rd.lock);
    snprintf(buf, cap, "%lu", rd_has_bug(BUG_CONSTANT_ID) ? 0UL : ++rd.next_id);
    pthread_mutex_unlock(&rd.lock);
}

void rd_report_version(const char *version)
{
    char topic[OTA_MAX_TOPIC + 1], payload[512], id[24];

    if (!ota_dialect_has(rd.dialect, OTA_TOPIC_INFORM)) {
        char path[600];
        /* The platform's suggested version report: an attribute (thingspanel-ota.md §3). */
        next_id(id, sizeof(id));
        snprintf(topic, sizeof(topic), "devices/attributes/%s", id);
        snprintf(payload, sizeof(payload), "{\"version\":\"%.64s\"}", version);
        mosquitto_publish(rd.mosq, NULL, topic, (int)strlen(payload), payload, 1, false);
        rd_log("running version %s (the %s dialect has no version report: an attribute)", version,
               rd.dialect->name);
        /* "100" is the only success report here: one that never left before the reboot is
         * sent now, or the platform never learns the upgrade finished. */
        rd_state_path("hundred-unsent", path, sizeof(path));
        if (unlink(path) == 0)
            rd_report_step(100, "running the new version", 0);
        return;
    }
    next_id(id, sizeof(id));
    ota_topic_build(OTA_TOPIC_INFORM, rd.pk, rd.dn, topic, sizeof(topic));
    if (ota_inform_build(id, 0, version, reported_module(), payload, sizeof(payload)) != OTA_OK)
        return;
    mosquitto_publish(rd.mosq, NULL, topic, (int)strlen(payload), payload, 1, false);
    rd_log("reported version %s", version);
}

/*
 * The desc a report carries: at most OTA_MAX_DESC code points (PROG-2), cut
 * on a UTF-8 boundary, so that no reason, however long (SWUpdate's with two
 * hashes in it), breaks the rule; a broken sequence (a path cut by bytes)
 * ends it too. Returns desc itself or buf. The whole reason goes to the log.
 */
static const char *clip_desc(const char *desc, char *buf, size_t cap)
{
    size_t i = 0, chars = 0;

    while (desc[i]) {
        unsigned char c = (unsigned char)desc[i];
        size_t n = c < 0x80 ? 1 : c >= 0xF8 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        for (size_t k = 1; k < n; k++)
            if (((unsigned char)desc[i + k] & 0xC0) != 0x80)
                n = 0;
        if (!n || chars == OTA_MAX_DESC || i + n >= cap)
            break;
        i += n;
        chars++;
    }
    if (!desc[i])
        return desc;
    memcpy(buf, desc, i);
    buf[i] = '\0';
    return buf;
}

void rd_report_step(int step, const char *desc, int sync)
{
    char topic[OTA_MAX_TOPIC + 1], payload[1024], id[24], clipped[OTA_MAX_DESC * 4 + 1];
    const char *full = desc;
    int mid = 0;

    next_id(id, sizeof(id));
    if (step < 0 && rd_has_bug(BUG_EMPTY_DESC))
        desc = full = "";
    desc = clip_desc(desc, clipped, sizeof(clipped));
    if (ota_dialect_topic_build(rd.dialect, OTA_TOPIC_PROGRESS, 0, rd.pk, rd.dn, topic,
                                sizeof(topic)) != OTA_OK ||
        ota_dialect_progress_build(
            rd_has_bug(BUG_TP_PROGRESS_PARAMS) ? ota_dialect_get(OTA_DIALECT_ALIYUN) : rd.dialect,
            id, step, rd_has_bug(BUG_STEP_NUMBER), desc, reported_module(), payload,
            sizeof(payload)) != OTA_OK)
        return;
    pthread_mutex_lock(&rd.lock);
    rd.pub_acked = 0;
    if (mosquitto_publish(rd.mosq, &mid, topic, (int)strlen(payload), payload, 1, false) ==
        MOSQ_ERR_SUCCESS)
        rd.pub_mid = mid;
    /* Before a reboot the report must have left: wait for its PUBACK, with a deadline. */
    for (double end = ota_clock_now() + RD_PUBACK_TIMEOUT; sync && !rd.pub_acked;)
        if (ota_cond_wait_until(&rd.pub_cond, &rd.lock, end) != 0)
            break;
    if (sync && !rd.pub_acked && step == 100 && !ota_dialect_has(rd.dialect, OTA_TOPIC_INFORM))
        rd_state_write("hundred-unsent", "1");
    pthread_mutex_unlock(&rd.lock);
    rd_log("progress %d: %s", step, full);
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    (void)obj;
    pthread_mutex_lock(&rd.lock);
    if (mid == rd.pub_mid) {
        rd.pub_acked = 1;
        pthread_cond_broadcast(&rd.pub_cond);
    }
    pthread_mutex_unlock(&rd.lock);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted);

/*
 * The downlink topics the dialect has: the push (and its other spelling,
 * subscribed apart so that a broker refusing it refuses nothing else), the
 * get_reply and the block reply. Returns how many.
 */
static int downlinks(char subs[4][OTA_MAX_TOPIC + 1])
{
    static const struct {
        ota_topic_kind kind;
        int alt;
    } want[] = {{OTA_TOPIC_UPGRADE, 0},
                {OTA_TOPIC_FW_GET_REPLY, 0},
                {OTA_TOPIC_FILE_DOWNLOAD_REPLY, 0},
                {OTA_TOPIC_UPGRADE, 1}};
    int n = 0;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        n += ota_dialect_topic_build(rd.dialect, want[i].kind, want[i].alt, rd.pk, rd.dn, subs[n],
                                     OTA_MAX_TOPIC + 1) == OTA_OK;
    return n;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    char subs[4][OTA_MAX_TOPIC + 1];
    char *list[4] = {subs[0], subs[1], subs[2], subs[3]};
    int n;
    (void)obj;

    if (rc != 0) {
        rd_log("broker refused the login: %s", mosquitto_connack_string(rc));
        return;
    }
    __atomic_store_n(&link_up, 1, __ATOMIC_RELEASE);
    n = downlinks(subs);
    if (rd.no_subscribe) { /* linked: what a subscription's grant does, at once */
        on_subscribe(m, obj, 0, 0, NULL);
        return;
    }
    if (rd_has_bug(BUG_SUBSCRIBE_ALL))
        mosquitto_subscribe(m, NULL, "#", 0);
    if (rd.dialect->push_alt && n > 1 && rd_has_bug(BUG_TP_INFROM_ONLY)) {
        rd_log("(bug tp-infrom-only) subscribing to %s only, not %s", list[n - 1], list[0]);
        mosquitto_subscribe(m, NULL, list[n - 1], 1); /* its grant goes on with the boot */
        if (n > 2)
            mosquitto_subscribe_multiple(m, &rd.alt_sub_mid, n - 2, list + 1, 1, 0, NULL);
        return;
    }
    if (rd.dialect->push_alt && n > 1) { /* the first spelling's grant goes on with the boot */
        mosquitto_subscribe(m, NULL, list[0], 1);
        mosquitto_subscribe_multiple(m, &rd.alt_sub_mid, n - 1, list + 1, 1, 0, NULL);
        return;
    }
    mosquitto_subscribe_multiple(m, NULL, n, list, 1, 0, NULL);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
    char version[OTA_MAX_VERSION + 1];
    int skip;
    (void)m;
    (void)obj;
    (void)mid;
    (void)n;
    (void)granted;
    if (mid && mid == rd.alt_sub_mid)
        return; /* the push's other spelling: granted or not, the boot went on already */
    pthread_mutex_lock(&rd.lock);
    rd.links++; /* a block request lost with the old connection is sent again at once */
    pthread_cond_broadcast(&rd.blk_cond);
    snprintf(version, sizeof(version), "%s", rd.version);
    skip = rd.just_upgraded && rd_has_bug(BUG_NO_FINAL_INFORM);
    pthread_mutex_unlock(&rd.lock);
    if (skip)
        rd_log("(bug no-final-inform) not reporting version %s", version);
    else if (rd.stock_version[0] && strcmp(rd.stock_version, version))
        rd_report_version(rd.stock_version); /* (--stock-version-first) then the real one */
    if (!skip)
        rd_report_version(version);
    rd_ask_for_job();
}

void rd_ask_for_job(void)
{
    char topic[OTA_MAX_TOPIC + 1], payload[256], id[24];

    if (!ota_dialect_has(rd.dialect, OTA_TOPIC_FW_GET))
        return; /* the dialect has no way to ask */
    next_id(id, sizeof(id));
    ota_topic_build(OTA_TOPIC_FW_GET, rd.pk, rd.dn, topic, sizeof(topic));
    if (rd_has_bug(BUG_GET_NO_PARAMS))
        snprintf(payload, sizeof(payload), "{\"id\":\"%s\",\"version\":\"1.0\"}", id);
    else if (ota_fw_get_build(strtoul(id, NULL, 10), reported_module(), payload, sizeof(payload)) !=
             OTA_OK)
        return;
    mosquitto_publish(rd.mosq, NULL, topic, (int)strlen(payload), payload, 1, false);
}

int rd_request_block(long long stream_id, long long file_id, long long size, long long offset)
{
    char topic[OTA_MAX_TOPIC + 1], payload[384], id[24];
    char *comma;

    next_id(id, sizeof(id));
    ota_topic_build(OTA_TOPIC_FILE_DOWNLOAD, rd.pk, rd.dn, topic, sizeof(topic));
    if (ota_block_request_build(id, stream_id, file_id, size, offset, payload,
                                sizeof(payload) - 1) != OTA_OK)
        return -1;
    /* (bug trailing-comma) what 4.x sends: "fileId":1,} */
    comma = strstr(payload, "\"fileId\"");
    comma = comma ? strchr(comma, '}') : NULL;
    if (rd_has_bug(BUG_TRAILING_COMMA) && comma) {
        memmove(comma + 1, comma, strlen(comma) + 1);
        *comma = ',';
    }
    return mosquitto_publish(rd.mosq, NULL, topic, (int)strlen(payload), payload, 0, false) ==
                   MOSQ_ERR_SUCCESS
               ? 0
               : -1;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    ota_topic_kind kind;
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    (void)m;
    (void)obj;

    if (ota_dialect_topic_parse(rd.dialect, msg->topic, &kind, pk, dn, NULL) != OTA_OK)
        return;
    if (kind == OTA_TOPIC_FILE_DOWNLOAD_REPLY)
        rd_upgrade_on_block(msg->payload, (size_t)msg->payloadlen);
    else if (kind == OTA_TOPIC_UPGRADE || kind == OTA_TOPIC_FW_GET_REPLY)
        rd_upgrade_on_push(msg->payload, (size_t)msg->payloadlen);
}

static pthread_t link_thread;
static int link_stopping, link_running;

/*
 * The network loop. libmosquitto's own loop retries after a lost
 * connection, but gives up for good on some errors, a TLS handshake that
 * fails among them (a server certificate it does not trust). A device keeps
 * trying: a second later, again.
 */
/* Sleep SECS in short slices, so that a stop is not kept waiting. */
static void link_pause(int secs)
{
    for (int i = 0; i < secs * 10 && !__atomic_load_n(&link_stopping, __ATOMIC_ACQUIRE); i++)
        usleep(100 * 1000);
}

/*
 * The link's own loop, never blocking: each attempt is a non-blocking connect with a deadline
 * for the broker's answer (a connection that a broker on its way down accepted and never
 * answers must not hold the device for a keepalive), then 1, 2, 3, 4, 4 ... s between tries.
 */
static void *link_main(void *arg)
{
    double attempt = ota_clock_now();
    int failures = 0;
    (void)arg;

    while (!__atomic_load_n(&link_stopping, __ATOMIC_ACQUIRE)) {
        int rc = mosquitto_loop(rd.mosq, 200, 1);
        if (__atomic_load_n(&link_stopping, __ATOMIC_ACQUIRE))
            break;
        if (rc == MOSQ_ERR_SUCCESS) {
            if (__atomic_load_n(&link_up, __ATOMIC_ACQUIRE)) {
                failures = 0;
                continue;
            }
            if (ota_clock_now() - attempt < RD_CONNECT_DEADLINE)
                continue;
            rd_log("no answer from the broker within %d s", RD_CONNECT_DEADLINE);
        }
        __atomic_store_n(&link_up, 0, __ATOMIC_RELEASE);
        failures = failures < 4 ? failures + 1 : 4;
        if (rc != MOSQ_ERR_SUCCESS)
            rd_log("connection failed: %s; trying again in %d s", mosquitto_strerror(rc), failures);
        link_pause(failures);
        attempt = ota_clock_now();
        mosquitto_reconnect_async(rd.mosq);
    }
    return NULL;
}

int rd_link_start(void)
{
    ota_login login;
    char cid[OTA_MAX_CLIENTID];

    mosquitto_lib_init();
    char key[OTA_MAX_SECRET + 4];

    /* (bug bad-sign-key) a key that is almost right: a real provisioning slip. */
    snprintf(key, sizeof(key), "%s%s", rd.secret, rd_has_bug(BUG_BAD_SIGN_KEY) ? "0" : "");
    memset(&login, 0, sizeof(login));
    if (rd.dialect->auth != OTA_AUTH_TOKEN &&
        ota_login_build(rd.pk, rd.dn, key, OTA_SIGNMETHOD_HMACSHA256, rd.tls ? 2 : 3,
                        OTA_LOGIN_TIMESTAMP, &login) != OTA_OK) {
        rd_log("cannot sign the login: check OTA_PRODUCT_KEY and OTA_DEVICE_NAME");
        return -1;
    }
    snprintf(cid, sizeof(cid), "%s", login.client_id);
    if (rd.dialect->auth == OTA_AUTH_TOKEN) {
        /* username = access token, no password; the client id only has to be unique */
        snprintf(cid, sizeof(cid), "%s", rd.dn);
        snprintf(login.username, sizeof(login.username), "%.128s", key);
        login.password[0] = '\0';
    }
    if (rd_has_bug(BUG_USERNAME_OTHER))
        snprintf(login.username, sizeof(login.username), "%.60s-2&%s", rd.dn, rd.pk);
    /* (--persistent-session) clean session off: the broker keeps the session across reboots. */
    rd.mosq = mosquitto_new(cid, !rd.persistent, NULL);
    if (!rd.mosq)
        return -1;
    mosquitto_int_option(rd.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(rd.mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_username_pw_set(rd.mosq, login.username, login.password[0] ? login.password : NULL);
    if (rd.tls && mosquitto_tls_set(rd.mosq, rd.ca_file, NULL, NULL, NULL, NULL) != 0) {
        rd_log("cannot use CA file %s", rd.ca_file);
        return -1;
    }
    /* (bug accept-any-cert) the classic shortcut: no peer verification, no name check. */
    if (rd.tls && rd_has_bug(BUG_ACCEPT_ANY_CERT)) {
        mosquitto_tls_opts_set(rd.mosq, 0, NULL, NULL);
        mosquitto_tls_insecure_set(rd.mosq, true);
    }
    mosquitto_connect_callback_set(rd.mosq, on_connect);
    mosquitto_subscribe_callback_set(rd.mosq, on_subscribe);
    mosquitto_message_callback_set(rd.mosq, on_message);
    mosquitto_publish_callback_set(rd.mosq, on_publish);
    mosquitto_reconnect_delay_set(rd.mosq, 1, 4, false);
    /* connect_async: the link thread keeps retrying, as a device would. */
    mosquitto_threaded_set(rd.mosq, true);
    mosquitto_connect_async(rd.mosq, rd.host, rd.port, 60);
    if (pthread_create(&link_thread, NULL, link_main, NULL) != 0)
        return -1;
    link_running = 1;
    rd_log("connecting to %s:%d as %s", rd.host, rd.port, login.username);
    return 0;
}

void rd_link_stop(void)
{
    if (!rd.mosq)
        return;
    __atomic_store_n(&link_stopping, 1, __ATOMIC_RELEASE);
    mosquitto_disconnect(rd.mosq);
    if (link_running)
        pthread_join(link_thread, NULL);
    link_running = 0;
    mosquitto_destroy(rd.mosq);
    rd.mosq = NULL;
    mosquitto_lib_cleanup();
}
