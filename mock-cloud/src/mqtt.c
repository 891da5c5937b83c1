/*
 * The cloud's MQTT side: one libmosquitto client subscribed to every uplink
 * topic of every device (on its own broker, every topic of every device
 * namespace), and publishing pushes and replies. Each publish is
 * traced before it leaves, so the trace orders cause before effect.
 */
#include <mosquitto.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mock_priv.h"

#define MC_CONNECT_TIMEOUT 5.0

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    static char *const subs[] = {"/ota/device/inform/+/+", "/ota/device/progress/+/+",
                                 "/sys/+/+/thing/ota/firmware/get", "/sys/+/+/thing/file/download",
                                 "/ota/device/request/+/+"};
    mc_cloud *c = obj;

    if (rc != 0) {
        mc_leaf_lock(c, &c->clock);
        c->refused = rc;
        pthread_cond_broadcast(&c->ccond);
        mc_mutex_unlock(&c->clock);
        return;
    }
    mc_leaf_lock(c, &c->clock);
    c->refused = 0;
    c->connected = 1;
    c->connects++;
    c->subscribed = 0;
    mc_mutex_unlock(&c->clock);
    /* The plugin's events first: a device's connect must not slip by unseen. */
    if (c->plugin)
        mosquitto_subscribe(m, NULL, "$ota/events", 1);
    /* A dialect whose uplinks name no device: the plugin's copies that name it. */
    if (c->plugin && c->dialect->ident == OTA_IDENT_CONNECTION)
        mosquitto_subscribe(m, NULL, MC_UP_PREFIX "#", 1);
    /* On our own broker every device namespace (the log shows every topic a device uses; one
     * filter, as overlapping ones would deliver a message twice); on a shared one, OTA only. */
    if (c->embedded)
        mosquitto_subscribe(m, NULL, "/+/+/#", 1);
    else
        mosquitto_subscribe_multiple(m, NULL, (int)(sizeof(subs) / sizeof(subs[0])), subs, 1, 0,
                                     NULL);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
    mc_cloud *c = obj;
    (void)m;
    (void)mid;
    (void)n;
    (void)granted;
    mc_leaf_lock(c, &c->clock);
    c->subscribed++;
    pthread_cond_broadcast(&c->ccond);
    mc_mutex_unlock(&c->clock);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    if (!strcmp(msg->topic, "$ota/events"))
        mc_cloud_on_broker_event(obj, msg->payload, (size_t)msg->payloadlen);
    else
        mc_cloud_on_uplink(obj, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

/* Wait until a connection after the first `after` ones has its SUBACKs. */
int mc_mqtt_wait_subscribed(mc_cloud *c, int after)
{
    double end = ota_clock_now() + MC_CONNECT_TIMEOUT;
    int ok;

    mc_leaf_lock(c, &c->clock);
    while ((c->connects <= after || c->subscribed < 1 + c->plugin) && !c->refused)
        if (mc_cond_wait_until(&c->ccond, &c->clock, end) != 0)
            break;
    ok = c->connects > after && c->subscribed >= 1 + c->plugin;
    mc_mutex_unlock(&c->clock);
    return ok;
}

int mc_mqtt_connects(mc_cloud *c)
{
    int n;
    mc_leaf_lock(c, &c->clock);
    n = c->connects;
    mc_mutex_unlock(&c->clock);
    return n;
}

/* Why the start failed: a refused login (with its CONNACK reason), or no SUBACKs. */
static void refused_why(mc_cloud *c, char *err, size_t errcap) EXCLUDES(MC_NONE_HELD(c))
{
    int refused;

    mc_leaf_lock(c, &c->clock);
    refused = c->refused;
    mc_mutex_unlock(&c->clock);
    if (refused)
        snprintf(err, errcap, "the broker at %s:%d refused the cloud's login as %s: %s", c->host,
                 c->port, c->joined ? c->join.cloud_user : "ota-mock-cloud",
                 mosquitto_connack_string(refused));
    else
        snprintf(err, errcap, "the broker at %s:%d did not accept the cloud's subscriptions",
                 c->host, c->port);
}

int mc_mqtt_start(mc_cloud *c, char *err, size_t errcap)
{
    char id[128];

    pthread_once(&lib_once, lib_init);
    mc_mutex_init(&c->clock);
    ota_cond_init_mono(&c->ccond);
    /* Unique per cloud: two clouds on one broker must not take over each other's session. */
    static int serial;
    snprintf(id, sizeof(id), "ota-mock-cloud-%d-%d", (int)getpid(),
             __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
    if (c->joined) /* the client id the daemon handed out with the credential */
        snprintf(id, sizeof(id), "%.*s", (int)sizeof(id) - 1, c->join.client_id);
    /* On our own broker a persistent session (persistence is on): across a broker restart our
     * subscriptions stay, and what devices send before we are back is queued for us, as the
     * real cloud never misses an uplink. On somebody else's broker, a clean session. */
    c->mosq = mosquitto_new(id, !c->embedded, c);
    if (!c->mosq) {
        snprintf(err, errcap, "libmosquitto could not create a client");
        return MC_ERR_MQTT;
    }
    mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (c->joined)
        mosquitto_username_pw_set(c->mosq, c->join.cloud_user, c->join.cloud_password);
    else
        mosquitto_username_pw_set(c->mosq, "ota-mock-cloud",
                                  c->plugin ? c->broker.cloud_password : NULL);
    mosquitto_connect_callback_set(c->mosq, on_connect);
    mosquitto_subscribe_callback_set(c->mosq, on_subscribe);
    mosquitto_message_callback_set(c->mosq, on_message);
    if (mosquitto_connect(c->mosq, c->host, c->port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(c->mosq) != MOSQ_ERR_SUCCESS) {
        snprintf(err, errcap, "cannot connect to the broker at %s:%d", c->host, c->port);
        return MC_ERR_BROKER;
    }
    if (!mc_mqtt_wait_subscribed(c, 0)) {
        refused_why(c, err, errcap);
        return MC_ERR_BROKER;
    }
    return MC_OK;
}

void mc_mqtt_stop(mc_cloud *c)
{
    if (!c->mosq)
        return;
    mosquitto_disconnect(c->mosq);
    mosquitto_loop_stop(c->mosq, false);
    mosquitto_destroy(c->mosq);
    c->mosq = NULL;
    pthread_cond_destroy(&c->ccond);
    mc_mutex_destroy(&c->clock);
}

/*
 * With the plugin, downlinks go to "$ota/down<topic>" and the plugin hands
 * them to the device's client directly: delivered whether or not the device
 * subscribed, exactly once. The trace shows the topic the device receives.
 * A binary payload (a block frame) goes to the trace with the image bytes it
 * carries (ref) held by reference.
 */
static int publish(mc_cloud *c, const char *dev, const char *topic, const void *payload, size_t len,
                   int qos, int binary, const mc_frame_ref *ref)
{
    char via[OTA_MAX_TOPIC + 16];

    /* "$ota/down" then the topic, with a '/' between for topics that lack a leading one. */
    snprintf(via, sizeof(via), "%s%s%s", c->plugin ? "$ota/down" : "",
             c->plugin && topic[0] != '/' ? "/" : "", topic);
    if (binary)
        mc_trace_frame(c, dev, topic, payload, len, ref);
    else
        mc_trace_add(c, OTA_TR_MQTT_OUT, dev, topic, payload, len, NULL);
    if (mosquitto_publish(c->mosq, NULL, via, (int)len, payload, qos, false) != MOSQ_ERR_SUCCESS) {
        mc_trace_add(c, OTA_TR_ERROR, dev, topic, NULL, 0, "publish failed");
        return MC_ERR_MQTT;
    }
    return MC_OK;
}

int mc_mqtt_publish(mc_cloud *c, const char *dev, const char *topic, const char *payload, int qos)
{
    return publish(c, dev, topic, payload, strlen(payload), qos, 0, NULL);
}

int mc_mqtt_publish_bin(mc_cloud *c, const char *dev, const char *topic, const void *data,
                        size_t len, const mc_frame_ref *ref, int qos)
{
    return publish(c, dev, topic, data, len, qos, 1, ref);
}

static int control(mc_cloud *c, const char *command, const char *dn, double seconds)
    EXCLUDES(MC_NONE_HELD(c))
{
    mc_device_info d;
    char json[320], fault[32];

    if (!c->plugin)
        return MC_ERR_ARG;
    if (mc_device_get(c, dn, &d) != MC_OK)
        return MC_ERR_NOTFOUND;
    snprintf(json, sizeof(json),
             "{\"command\":\"%s\",\"pk\":\"%s\",\"dn\":\"%s\",\"seconds\":%.3f}", command, d.pk,
             d.dn, seconds);
    /* Named like the fault kinds (session-kick), so a report groups its cost by it. */
    snprintf(fault, sizeof(fault), "session-%s%s", command, strcmp(command, "kick") ? "-next" : "");
    if (strcmp(command, "clear"))
        mc_trace_event(
            c, OTA_TR_FAULT,
            &(mc_trace_ev){.event = !strcmp(command, "kick") ? OTA_EV_SESSION_KICK : OTA_EV_FAULT,
                           .fault = fault,
                           .offset = -1,
                           .last = -1},
            dn, NULL, NULL, 0, "session fault: %s", command);
    return mosquitto_publish(c->mosq, NULL, "$CONTROL/otaauth/v1", (int)strlen(json), json, 1,
                             false) == MOSQ_ERR_SUCCESS
               ? MC_OK
               : MC_ERR_MQTT;
}

int mc_device_clear(mc_cloud *c, const char *dn)
{
    return control(c, "clear", dn, 0);
}

int mc_device_kick(mc_cloud *c, const char *dn)
{
    return control(c, "kick", dn, 0);
}

int mc_device_drop_next(mc_cloud *c, const char *dn)
{
    return control(c, "drop", dn, 0);
}

int mc_device_delay_next(mc_cloud *c, const char *dn, double seconds)
{
    if (seconds <= 0 || seconds > 3600)
        return MC_ERR_ARG;
    return control(c, "delay", dn, seconds);
}
