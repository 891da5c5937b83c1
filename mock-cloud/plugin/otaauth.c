/*
 * otaauth: a Mosquitto plugin (API version 5) that makes the broker behave
 * like the Aliyun cloud's front door. It checks each login the Aliyun way
 * (with plugin_opt_dialect thingspanel: by access token, and a device's
 * uplinks that name no device are copied to the cloud on
 * "$ota/up/<pk>/<dn>/<topic>", as that platform's broker knows the device
 * from its connection), keeps every device inside its own topic namespace, delivers the cloud's
 * downlink messages straight to the device's client (subscribed or not,
 * exactly once), and tells the mock cloud what it refused or saw on
 * "$ota/events". The cloud drives it through "$CONTROL/otaauth/v1". Any
 * number of cloud clients (the cloud's credential, distinct client ids) may
 * be connected at once: ota-mock-cloud and the conformance runs joining it.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mqtt_protocol.h>

#include "otaproto/clock.h"
#include "otaproto/dialect.h"
#include "otaproto/topic.h"
#include "policy.h"

#define OA_EVENTS     "$ota/events"
#define OA_DOWN       "$ota/down"
#define OA_UP         "$ota/up"
#define OA_CONTROL    "$CONTROL/otaauth/v1"
#define OA_MAX_CLIENT 200000 /* device connections at once (a fleet's); past it: no downlinks */
#define OA_MAX_FILE   (8 * 1024 * 1024)
#define OA_MAX_DELAY  16
#define OA_MAX_CLOUDS 64

typedef struct {
    const struct mosquitto
        *client; /* this connection: an old one taken over by a reconnect differs */
    char client_id[OTA_MAX_CLIENTID];
    char pk[OTA_MAX_NAME + 1];
    char dn[OTA_MAX_NAME + 1];
    int drop_next;     /* drop this many downlink messages */
    double delay_next; /* hold the next downlink message this long (s) */
    oa_rate rate;      /* its publishes this second (OA_MAX_RATE) */
} oa_client;

/* A connection with the cloud's credential: its end is an event (a joined run went away). */
typedef struct {
    const struct mosquitto *client;
    char client_id[OTA_MAX_CLIENTID];
} oa_cloud;

typedef struct {
    char topic[OTA_MAX_TOPIC + 1];
    char client_id[OTA_MAX_CLIENTID];
    void *payload;
    int len, qos;
    double due;
} oa_delayed;

static struct {
    mosquitto_plugin_id_t *id;
    char devices_path[1024];
    struct timespec devices_mtime; /* to the nanosecond: two rewrites in one second differ */
    off_t devices_size;
    oa_device *devices;
    size_t ndevices;
    char cloud_password[128];
    int auth_off;
    unsigned long max_rate;     /* publishes a second per connection (plugin_opt_max_rate) */
    const ota_dialect *dialect; /* plugin_opt_dialect; Aliyun by default */
    oa_client *clients;         /* grows to OA_MAX_CLIENT */
    int nclients, capclients;
    int *by_id, *by_dn; /* open addressing: client index + 1, 0 empty; idx_cap slots each */
    size_t idx_cap;
    oa_cloud clouds[OA_MAX_CLOUDS];
    int nclouds;
    oa_delayed delayed[OA_MAX_DELAY];
} oa;

/* Tell the cloud: one JSON object on $ota/events. */
static void event(const char *what, const char *client_id, const char *pk, const char *dn,
                  const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    if (!o)
        return;
    cJSON_AddStringToObject(o, "event", what);
    cJSON_AddStringToObject(o, "client_id", client_id ? client_id : "");
    cJSON_AddStringToObject(o, "pk", pk ? pk : "");
    cJSON_AddStringToObject(o, "dn", dn ? dn : "");
    cJSON_AddStringToObject(o, "detail", detail ? detail : "");
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s)
        mosquitto_broker_publish_copy(NULL, OA_EVENTS, (int)strlen(s), s, 1, false, NULL);
    cJSON_free(s);
}

/* Re-read the devices file when it changed (the cloud rewrites it on registration). */
static void load_devices(void)
{
    struct stat st;
    FILE *f;
    char *text;
    oa_device *list;
    int n;

    if (stat(oa.devices_path, &st) != 0 || st.st_size > OA_MAX_FILE ||
        (st.st_mtim.tv_sec == oa.devices_mtime.tv_sec &&
         st.st_mtim.tv_nsec == oa.devices_mtime.tv_nsec && st.st_size == oa.devices_size &&
         oa.devices))
        return;
    f = fopen(oa.devices_path, "r");
    text = f ? calloc(1, (size_t)st.st_size + 1) : NULL;
    if (!text || fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(text);
        if (f)
            fclose(f);
        return;
    }
    fclose(f);
    list = calloc(OA_MAX_DEVICES, sizeof(*list));
    n = list ? oa_devices_parse(text, list, OA_MAX_DEVICES) : -1;
    free(text);
    if (n < 0) {
        free(list);
        return;
    }
    free(oa.devices);
    oa.devices = list;
    oa.ndevices = (size_t)n;
    oa.devices_mtime = st.st_mtim;
    oa.devices_size = st.st_size;
}

static size_t hash(const char *s)
{
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Put client i into both indexes; by device name the newest entry wins. */
static void index_put(int i)
{
    size_t mask = oa.idx_cap - 1, k;

    for (k = hash(oa.clients[i].client_id) & mask; oa.by_id[k]; k = (k + 1) & mask)
        ;
    oa.by_id[k] = i + 1;
    for (k = hash(oa.clients[i].dn) & mask; oa.by_dn[k]; k = (k + 1) & mask)
        if (!strcmp(oa.clients[oa.by_dn[k] - 1].dn, oa.clients[i].dn))
            break;
    oa.by_dn[k] = i + 1;
}

/*
 * Build both indexes again, for at least `want` clients. A fleet of
 * thousands of connections looks a client up at every publish; a removal
 * (which moves the last entry) rebuilds, which disconnects can afford.
 */
static int index_rebuild(int want)
{
    size_t cap = oa.idx_cap ? oa.idx_cap : 256;

    while (cap < 2 * (size_t)want)
        cap *= 2;
    if (cap != oa.idx_cap) {
        int *a = calloc(cap, sizeof(int)), *b = calloc(cap, sizeof(int));
        if (!a || !b) {
            free(a);
            free(b);
            return -1;
        }
        free(oa.by_id);
        free(oa.by_dn);
        oa.by_id = a;
        oa.by_dn = b;
        oa.idx_cap = cap;
    } else {
        memset(oa.by_id, 0, cap * sizeof(int));
        memset(oa.by_dn, 0, cap * sizeof(int));
    }
    for (int i = 0; i < oa.nclients; i++)
        index_put(i);
    return 0;
}

static oa_client *client_by_id(const char *id)
{
    size_t mask = oa.idx_cap - 1;

    if (!id || !oa.idx_cap)
        return NULL;
    for (size_t k = hash(id) & mask; oa.by_id[k]; k = (k + 1) & mask)
        if (!strcmp(oa.clients[oa.by_id[k] - 1].client_id, id))
            return &oa.clients[oa.by_id[k] - 1];
    return NULL;
}

/* pk empty: a dialect whose downlinks name the device only (its numbers are unique). */
static oa_client *client_by_device(const char *pk, const char *dn)
{
    size_t mask = oa.idx_cap - 1, k;
    oa_client *c = NULL;

    if (!oa.idx_cap)
        return NULL;
    for (k = hash(dn) & mask; oa.by_dn[k]; k = (k + 1) & mask) {
        c = &oa.clients[oa.by_dn[k] - 1];
        if (!strcmp(c->dn, dn))
            break;
        c = NULL;
    }
    if (!c || !*pk || !strcmp(c->pk, pk))
        return c;
    /* the newest of that name is another product's: look at every one */
    for (int i = oa.nclients - 1; i >= 0; i--)
        if (!strcmp(oa.clients[i].dn, dn) && !strcmp(oa.clients[i].pk, pk))
            return &oa.clients[i];
    return NULL;
}

static void remember(const struct mosquitto *client, const char *id, const char *pk, const char *dn)
{
    oa_client *c = client_by_id(id);

    if (!c) {
        if (oa.nclients >= OA_MAX_CLIENT)
            return;
        if (oa.nclients == oa.capclients) {
            int cap = oa.capclients ? 2 * oa.capclients : 256;
            oa_client *n = realloc(oa.clients, (size_t)cap * sizeof(*n));
            if (!n)
                return;
            oa.clients = n;
            oa.capclients = cap;
        }
        if (2 * (size_t)(oa.nclients + 1) > oa.idx_cap && index_rebuild(oa.nclients + 1) != 0)
            return;
        c = &oa.clients[oa.nclients++];
        memset(c, 0, sizeof(*c));
        snprintf(c->client_id, sizeof(c->client_id), "%s", id);
        snprintf(c->pk, sizeof(c->pk), "%s", pk);
        snprintf(c->dn, sizeof(c->dn), "%s", dn);
        c->client = client;
        index_put(oa.nclients - 1);
        return;
    }
    c->client = client;
    if (strcmp(c->pk, pk) || strcmp(c->dn, dn)) {
        snprintf(c->pk, sizeof(c->pk), "%s", pk);
        snprintf(c->dn, sizeof(c->dn), "%s", dn);
        index_rebuild(oa.nclients);
    }
}

static void remember_cloud(const struct mosquitto *client, const char *id)
{
    oa_cloud *c = NULL;

    for (int i = 0; id && i < oa.nclouds && !c; i++)
        if (!strcmp(oa.clouds[i].client_id, id))
            c = &oa.clouds[i]; /* a reconnect with the same id takes the entry over */
    if (!c && id && oa.nclouds < OA_MAX_CLOUDS)
        c = &oa.clouds[oa.nclouds++];
    if (!c)
        return;
    c->client = client;
    snprintf(c->client_id, sizeof(c->client_id), "%s", id);
}

/* 1 when the connection was a cloud client's (the event is sent and the entry gone). */
static int forget_cloud(const struct mosquitto *client, const char *id, const char *reason)
{
    for (int i = 0; id && i < oa.nclouds; i++) {
        if (strcmp(oa.clouds[i].client_id, id))
            continue;
        if (oa.clouds[i].client != client)
            return 1; /* an old connection taken over by a newer one */
        event("cloud-disconnect", id, NULL, NULL, reason);
        oa.clouds[i] = oa.clouds[--oa.nclouds];
        return 1;
    }
    return 0;
}

static int on_basic_auth(int ev, void *data, void *ud)
{
    struct mosquitto_evt_basic_auth *a = data;
    const char *id = mosquitto_client_id(a->client);
    oa_login l;
    (void)ev;
    (void)ud;

    load_devices();
    if (oa.dialect->auth == OTA_AUTH_TOKEN)
        oa_token_login_check(oa.devices, oa.ndevices, oa.cloud_password, a->username, a->password,
                             &l);
    else
        oa_login_check(oa.devices, oa.ndevices, oa.cloud_password, oa.auth_off, id, a->username,
                       a->password, &l);
    if (l.kind == OA_LOGIN_REFUSED) {
        event("auth-refused", id, l.pk, l.dn, l.reason);
        return MOSQ_ERR_AUTH;
    }
    if (l.kind == OA_LOGIN_DEVICE) {
        remember(a->client, id, l.pk, l.dn);
        event("connect", id, l.pk, l.dn, oa.auth_off ? "auth off: login not checked" : "");
    }
    if (l.kind == OA_LOGIN_CLOUD)
        remember_cloud(a->client, id);
    return MOSQ_ERR_SUCCESS;
}

/* A flood window of c that ended with drops: one event saying how much was dropped. */
static void report_flood(oa_client *c, double now)
{
    unsigned long seen, dropped;
    char detail[160];

    if (!oa_rate_take(&c->rate, now, &seen, &dropped))
        return;
    snprintf(detail, sizeof(detail),
             "%lu publishes in about a second, %lu dropped over the cap of %lu a second", seen,
             dropped, oa.max_rate);
    event("flood", c->client_id, c->pk, c->dn, detail);
}

static const char *access_name(int access)
{
    return access == MOSQ_ACL_SUBSCRIBE     ? "subscribe"
           : access == MOSQ_ACL_WRITE       ? "publish"
           : access == MOSQ_ACL_READ        ? "receive"
           : access == MOSQ_ACL_UNSUBSCRIBE ? "unsubscribe"
                                            : "use";
}

static int on_acl_check(int ev, void *data, void *ud)
{
    struct mosquitto_evt_acl_check *a = data;
    const char *user = mosquitto_client_username(a->client);
    const char *id = mosquitto_client_id(a->client);
    oa_client *c;
    char detail[OTA_MAX_TOPIC + 32];
    (void)ev;
    (void)ud;

    if (user && !strcmp(user, "ota-mock-cloud"))
        return MOSQ_ERR_SUCCESS;
    c = client_by_id(id);
    if (c && a->access == MOSQ_ACL_WRITE) {
        double now = ota_clock_now();
        report_flood(c, now);
        if (!oa_rate_admit(&c->rate, now, oa.max_rate))
            return MOSQ_ERR_ACL_DENIED; /* counted; reported once the second is over */
    }
    if (c && a->access != MOSQ_ACL_UNSUBSCRIBE &&
        oa_dialect_acl_allowed(oa.dialect, c->pk, c->dn, a->topic,
                               a->access == MOSQ_ACL_SUBSCRIBE)) {
        /* A granted subscription is told too: rules judge what a device subscribes to. */
        if (a->access == MOSQ_ACL_SUBSCRIBE)
            event("subscribe", id, c->pk, c->dn, a->topic);
        return MOSQ_ERR_SUCCESS;
    }
    if (c && a->access == MOSQ_ACL_UNSUBSCRIBE)
        return MOSQ_ERR_SUCCESS;
    if (a->access == MOSQ_ACL_READ)
        return MOSQ_ERR_ACL_DENIED; /* not theirs to receive; nothing the device did */
    snprintf(detail, sizeof(detail), "%s %.256s", access_name(a->access), a->topic);
    event("acl-denied", id, c ? c->pk : NULL, c ? c->dn : NULL, detail);
    return MOSQ_ERR_ACL_DENIED;
}

/*
 * A downlink goes to the device's connection now or never through the
 * broker: a QoS 1 copy carries a message expiry, so that a persistent
 * session (clean session off) that never acknowledged it (the connection
 * died under it) does not hand it to the device on a later reconnect, when
 * its job may have ended long ago. The cloud itself delivers a job still
 * pending again when the device connects (PUSH-8), so nothing is lost.
 */
#define OA_DOWN_EXPIRY_S 2

static void deliver(const char *client_id, const char *topic, const void *payload, int len, int qos)
{
    mosquitto_property *props = NULL;

    if (qos > 0 && mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
                                                OA_DOWN_EXPIRY_S) != MOSQ_ERR_SUCCESS) {
        mosquitto_property_free_all(&props);
        props = NULL;
    }
    if (mosquitto_broker_publish_copy(client_id, topic, len, payload, qos, false, props) !=
        MOSQ_ERR_SUCCESS)
        mosquitto_property_free_all(&props);
}

/* A downlink message from the cloud: straight to the device's client, once. */
static void on_downlink(const struct mosquitto_evt_message *m)
{
    const char *real = m->topic + strlen(OA_DOWN);
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    ota_topic_kind kind;
    oa_client *c;

    /* A topic without a leading '/' (ThingsPanel's) comes as "$ota/down/<topic>". */
    if (oa.dialect->topics[OTA_TOPIC_UPGRADE][0] != '/' && real[0] == '/')
        real++;
    if (ota_dialect_topic_parse(oa.dialect, real, &kind, pk, dn, NULL) != OTA_OK ||
        ota_topic_is_uplink(kind)) {
        event("undelivered", NULL, NULL, NULL, "not a downlink topic");
        return;
    }
    c = client_by_device(pk, dn);
    if (!c) {
        event("undelivered", NULL, pk, dn, "the device is not connected");
        return;
    }
    if (c->drop_next > 0) {
        c->drop_next--;
        event("dropped", c->client_id, pk, dn, real);
        return;
    }
    if (c->delay_next > 0) {
        for (int i = 0; i < OA_MAX_DELAY; i++) {
            oa_delayed *d = &oa.delayed[i];
            if (d->payload)
                continue;
            d->payload = malloc(m->payloadlen ? m->payloadlen : 1);
            if (!d->payload)
                break;
            memcpy(d->payload, m->payload, m->payloadlen);
            d->len = (int)m->payloadlen;
            d->qos = m->qos;
            d->due = ota_clock_now() + c->delay_next;
            snprintf(d->topic, sizeof(d->topic), "%s", real);
            memcpy(d->client_id, c->client_id, sizeof(d->client_id));
            event("delayed", c->client_id, pk, dn, real);
            c->delay_next = 0;
            return;
        }
    }
    deliver(c->client_id, real, m->payload, (int)m->payloadlen, m->qos);
}

/*
 * In a dialect whose uplinks name no device, the broker knows the device
 * from the connection (as ThingsPanel's does): hand the cloud a copy on
 * "$ota/up/<pk>/<dn>/<topic>". The original goes on as usual.
 */
static void on_uplink(const struct mosquitto_evt_message *m)
{
    oa_client *c;
    char up[OTA_MAX_TOPIC * 2];

    if (oa.dialect->ident != OTA_IDENT_CONNECTION)
        return;
    c = client_by_id(mosquitto_client_id(m->client));
    if (!c)
        return;
    snprintf(up, sizeof(up), OA_UP "/%s/%s/%s", c->pk, c->dn, m->topic);
    mosquitto_broker_publish_copy(NULL, up, (int)m->payloadlen, m->payload, m->qos, false, NULL);
}

static int on_message(int ev, void *data, void *ud)
{
    struct mosquitto_evt_message *m = data;
    const char *user = mosquitto_client_username(m->client);
    (void)ev;
    (void)ud;

    if (user && !strcmp(user, "ota-mock-cloud") && !strncmp(m->topic, OA_DOWN "/", 10))
        on_downlink(m);
    else if (!user || strcmp(user, "ota-mock-cloud"))
        on_uplink(m);
    return MOSQ_ERR_SUCCESS;
}

static int on_tick(int ev, void *data, void *ud)
{
    double now = ota_clock_now();
    (void)ev;
    (void)data;
    (void)ud;

    for (int i = 0; i < OA_MAX_DELAY; i++) {
        oa_delayed *d = &oa.delayed[i];
        if (!d->payload || d->due > now)
            continue;
        deliver(d->client_id, d->topic, d->payload, d->len, d->qos);
        free(d->payload);
        d->payload = NULL;
    }
    for (int i = 0; i < oa.nclients; i++)
        report_flood(&oa.clients[i], now); /* a flood that stopped is told too */
    return MOSQ_ERR_SUCCESS;
}

static int on_disconnect(int ev, void *data, void *ud)
{
    struct mosquitto_evt_disconnect *d = data;
    const char *id = mosquitto_client_id(d->client);
    oa_client *c = client_by_id(id);
    char reason[32];
    (void)ev;
    (void)ud;

    snprintf(reason, sizeof(reason), "reason %d", d->reason);
    if (forget_cloud(d->client, id, reason))
        return MOSQ_ERR_SUCCESS;
    if (!c || c->client != d->client)
        return MOSQ_ERR_SUCCESS;          /* a connection already taken over by a newer one */
    report_flood(c, c->rate.start + 1.0); /* now: the entry and its counts go with the connection */
    event("disconnect", id, c->pk, c->dn, reason);
    *c = oa.clients[--oa.nclients];
    index_rebuild(oa.nclients);
    return MOSQ_ERR_SUCCESS;
}

/*
 * "clear": the jobs of a test are over; nothing of theirs may reach the
 * device in a later test: drop its pending drops and delays and the
 * downlinks held back for it.
 */
static void clear_pending(oa_client *c)
{
    c->drop_next = 0;
    c->delay_next = 0;
    for (int i = 0; i < OA_MAX_DELAY; i++) {
        oa_delayed *d = &oa.delayed[i];
        if (d->payload && !strcmp(d->client_id, c->client_id)) {
            free(d->payload);
            d->payload = NULL;
        }
    }
}

/* Commands from the cloud: {"command":"kick"|"drop"|"delay"|"clear","pk":…,"dn":…,"seconds":…}. */
static int on_control(int ev, void *data, void *ud)
{
    struct mosquitto_evt_control *e = data;
    const char *user = mosquitto_client_username(e->client);
    cJSON *o;
    const cJSON *cmd, *pk, *dn, *secs;
    oa_client *c;
    (void)ev;
    (void)ud;

    if (!user || strcmp(user, "ota-mock-cloud"))
        return MOSQ_ERR_ACL_DENIED;
    o = cJSON_ParseWithLength(e->payload, e->payloadlen);
    cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
    pk = cJSON_GetObjectItemCaseSensitive(o, "pk");
    dn = cJSON_GetObjectItemCaseSensitive(o, "dn");
    secs = cJSON_GetObjectItemCaseSensitive(o, "seconds");
    c = cJSON_IsString(pk) && cJSON_IsString(dn)
            ? client_by_device(pk->valuestring, dn->valuestring)
            : NULL;
    if (!cJSON_IsString(cmd) || !c) {
        event("control-refused", NULL, NULL, NULL, "unknown command or device not connected");
    } else if (!strcmp(cmd->valuestring, "kick")) {
        event("kick", c->client_id, c->pk, c->dn, "");
        mosquitto_kick_client_by_clientid(c->client_id, false);
    } else if (!strcmp(cmd->valuestring, "drop")) {
        c->drop_next++;
    } else if (!strcmp(cmd->valuestring, "delay") && cJSON_IsNumber(secs)) {
        c->delay_next = secs->valuedouble;
    } else if (!strcmp(cmd->valuestring, "clear")) {
        clear_pending(c);
    }
    cJSON_Delete(o);
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
    for (int i = 0; i < supported_version_count; i++)
        if (supported_versions[i] == 5)
            return 5;
    return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int option_count)
{
    memset(&oa, 0, sizeof(oa));
    oa.id = identifier;
    oa.max_rate = OA_MAX_RATE;
    oa.dialect = ota_dialect_get(OTA_DIALECT_ALIYUN);
    *userdata = NULL;
    for (int i = 0; i < option_count; i++) {
        if (!strcmp(options[i].key, "devices"))
            snprintf(oa.devices_path, sizeof(oa.devices_path), "%s", options[i].value);
        else if (!strcmp(options[i].key, "cloud_password"))
            snprintf(oa.cloud_password, sizeof(oa.cloud_password), "%s", options[i].value);
        else if (!strcmp(options[i].key, "auth"))
            oa.auth_off = !strcmp(options[i].value, "off");
        else if (!strcmp(options[i].key, "max_rate") && strtoul(options[i].value, NULL, 10) > 0)
            oa.max_rate = strtoul(options[i].value, NULL, 10);
        else if (!strcmp(options[i].key, "dialect"))
            oa.dialect = ota_dialect_find(options[i].value);
    }
    if (!oa.dialect) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "otaauth: unknown plugin_opt_dialect");
        return MOSQ_ERR_INVAL;
    }
    if (!oa.devices_path[0] || !oa.cloud_password[0]) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "otaauth: plugin_opt_devices and "
                                           "plugin_opt_cloud_password are required");
        return MOSQ_ERR_INVAL;
    }
    load_devices();
    if (mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_MESSAGE, on_message, NULL, NULL) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_TICK, on_tick, NULL, NULL) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, on_disconnect, NULL, NULL) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_CONTROL, on_control, OA_CONTROL, NULL))
        return MOSQ_ERR_UNKNOWN;
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
    (void)userdata;
    (void)options;
    (void)option_count;
    mosquitto_callback_unregister(oa.id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
    mosquitto_callback_unregister(oa.id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
    mosquitto_callback_unregister(oa.id, MOSQ_EVT_MESSAGE, on_message, NULL);
    mosquitto_callback_unregister(oa.id, MOSQ_EVT_TICK, on_tick, NULL);
    mosquitto_callback_unregister(oa.id, MOSQ_EVT_DISCONNECT, on_disconnect, NULL);
    mosquitto_callback_unregister(oa.id, MOSQ_EVT_CONTROL, on_control, OA_CONTROL);
    for (int i = 0; i < OA_MAX_DELAY; i++)
        free(oa.delayed[i].payload);
    free(oa.devices);
    free(oa.clients);
    free(oa.by_id);
    free(oa.by_dn);
    oa.devices = NULL;
    oa.clients = NULL;
    oa.by_id = oa.by_dn = NULL;
    return MOSQ_ERR_SUCCESS;
}
