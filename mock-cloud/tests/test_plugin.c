/*
 * The otaauth plugin inside a real Mosquitto (under ASan when the build is):
 * every bad login and every foreign topic is refused and reaches the trace,
 * downlinks reach a device that never subscribed, exactly once, and the
 * broker survives all of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_priv.h"

#define PK     "a1RefProd01"
#define DN     "ref-device-01"
#define SECRET "0123456789abcdef0123456789abcdef"

static mc_cloud *cloud;
static char broker_log[128];

typedef struct {
    int connack; /* -1 until the CONNACK came */
    int messages;
    int subacks;
    int granted;
} client_state;

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    ((client_state *)obj)->connack = rc;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    (void)msg;
    ((client_state *)obj)->messages++;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
    client_state *s = obj;
    (void)m;
    (void)mid;
    s->subacks++;
    s->granted = n > 0 ? q[0] : -1;
}

/* Drive the client in this thread until cond holds or 3 s pass. */
static void pump(struct mosquitto *m, const int *value, int until)
{
    double end = mc_now(cloud) + 3;
    while (*value < until && mc_now(cloud) < end)
        mosquitto_loop(m, 20, 1);
}

/* Clean session on every login but the persistent-session test's. */
static int login_clean = 1;

static struct mosquitto *login(const char *cid, const char *user, const char *pw, client_state *s)
{
    struct mosquitto *m = mosquitto_new(cid, login_clean, s);

    memset(s, 0, sizeof(*s));
    s->connack = -1;
    assert_non_null(m);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_message_callback_set(m, on_message);
    mosquitto_subscribe_callback_set(m, on_subscribe);
    mosquitto_username_pw_set(m, user, pw);
    assert_int_equal(mosquitto_connect(m, "127.0.0.1", mc_cloud_broker_port(cloud), 30), 0);
    for (double end = mc_now(cloud) + 3; s->connack < 0 && mc_now(cloud) < end;)
        mosquitto_loop(m, 20, 1);
    return m;
}

static void logout(struct mosquitto *m)
{
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
}

static int count_errors(const char *prefix)
{
    int n = 0;
    for (size_t i = 0; i < mc_trace_count(cloud); i++) {
        const ota_trace_rec *r = mc_trace_at(cloud, i);
        n += r->kind == OTA_TR_ERROR && !strncmp(r->info, prefix, strlen(prefix));
    }
    return n;
}

/* Wait until the trace holds n records of that error. */
static int await_errors(const char *prefix, int n)
{
    for (double end = mc_now(cloud) + 3; mc_now(cloud) < end;) {
        if (count_errors(prefix) >= n)
            return 1;
        mc_trace_wait(cloud, mc_trace_count(cloud), mc_now(cloud) + 0.05);
    }
    return 0;
}

/* Granted subscriptions of the connection named cid whose filter (the event's detail) is f. */
static int count_subscribes(const char *cid, const char *f)
{
    char want[OTA_MAX_TOPIC + 16];
    int n = 0;

    snprintf(want, sizeof(want), "\"detail\":\"%s\"", f);
    for (size_t i = 0; i < mc_trace_count(cloud); i++) {
        const ota_trace_rec *r = mc_trace_at(cloud, i);
        n += r->kind == OTA_TR_BROKER && r->event == OTA_EV_SUBSCRIBE && r->client &&
             !strcmp(r->client, cid) && r->payload && strstr((const char *)r->payload, want);
    }
    return n;
}

static int setup(void **state)
{
    char devs[1024], err[256];
    mc_config cfg = {0};
    (void)state;

    mosquitto_lib_init();
    /* Keep the broker's log: the sanitizers in the plugin report there. */
    snprintf(broker_log, sizeof(broker_log), "/tmp/ota-plugin-test-%d.log", (int)getpid());
    setenv("OTA_KEEP_BROKER_LOG", broker_log, 1);
    snprintf(devs, sizeof(devs), "%s/fixtures/devices", OTA_SOURCE_DIR);
    cfg.devices_dir = devs;
    cfg.plugin_path = OTA_PLUGIN_PATH;
    if (mc_cloud_start(&cfg, &cloud, err, sizeof(err)) != MC_OK) {
        fprintf(stderr, "cloud: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char line[512];
    FILE *f;
    int bad = 0;
    (void)state;

    mc_cloud_stop(cloud);
    mosquitto_lib_cleanup();
    f = fopen(broker_log, "r");
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, "AddressSanitizer") || strstr(line, "runtime error:")) {
            fprintf(stderr, "broker: %s", line);
            bad = 1;
        }
    if (f)
        fclose(f);
    unlink(broker_log);
    return bad ? -1 : 0;
}

static void good_login_connects(void)
{
    ota_login l;
    client_state s;
    struct mosquitto *m;

    ota_login_build(PK, DN, SECRET, OTA_SIGNMETHOD_HMACSHA256, 3, OTA_LOGIN_TIMESTAMP, &l);
    m = login(l.client_id, l.username, l.password, &s);
    assert_int_equal(s.connack, 0);
    logout(m);
}

static void every_bad_login_is_refused_and_traced(void **state)
{
    static const char cid[] =
        PK "." DN "|timestamp=2524608000000,securemode=3,signmethod=hmacsha256|";
    ota_login good, other;
    char big[2048], tampered[256], badmethod[256];
    const char *cases[][3] = {
        {cid, DN "&" PK, "00"},               /* wrong secret */
        {tampered, DN "&" PK, NULL},          /* tampered timestamp */
        {badmethod, DN "&" PK, NULL},         /* unknown signmethod */
        {cid, "mcu-device-01&" PK, NULL},     /* username of another device */
        {cid, "", NULL},                      /* empty username */
        {cid, big, NULL},                     /* oversize username */
        {cid, DN "&" PK, "\xff\xfe\x80\x81"}, /* non-UTF-8 password */
        {cid, "ota-mock-cloud", "guess"},     /* the cloud's credential */
        {"no-bars-at-all", DN "&" PK, NULL},  /* not an Aliyun clientId */
    };
    size_t n = sizeof(cases) / sizeof(cases[0]);
    int before = count_errors("auth-refused");
    (void)state;

    ota_login_build(PK, DN, SECRET, OTA_SIGNMETHOD_HMACSHA256, 3, OTA_LOGIN_TIMESTAMP, &good);
    ota_login_build(PK, "mcu-device-01", "fedcba9876543210fedcba9876543210",
                    OTA_SIGNMETHOD_HMACSHA256, 3, OTA_LOGIN_TIMESTAMP, &other);
    snprintf(tampered, sizeof(tampered), "%s", cid);
    memcpy(strstr(tampered, "2524608000000"), "2524608000001", 13);
    snprintf(badmethod, sizeof(badmethod), "%s", cid);
    memcpy(strstr(badmethod, "hmacsha256"), "hmacsha999", 10);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (size_t i = 0; i < n; i++) {
        client_state s;
        const char *pw = cases[i][2] ? cases[i][2] : (i == 3 ? other.password : good.password);
        struct mosquitto *m = login(cases[i][0], cases[i][1], pw, &s);
        if (s.connack == 0)
            fail_msg("case %zu (%s / %.40s) was let in", i, cases[i][0], cases[i][1]);
        logout(m);
    }
    assert_true(await_errors("auth-refused", before + (int)n));
    good_login_connects(); /* the broker is still there and still lets a good device in */
}

static void foreign_topics_are_denied_and_traced(void **state)
{
    ota_login l;
    client_state s;
    struct mosquitto *m;
    int before = count_errors("acl-denied");
    const char *filters[] = {"#", "/ota/device/+/+/+", "/sys/" PK "/mcu-device-01/#", "$ota/events",
                             "$SYS/#"};
    (void)state;

    ota_login_build(PK, DN, SECRET, OTA_SIGNMETHOD_HMACSHA256, 3, OTA_LOGIN_TIMESTAMP, &l);
    m = login(l.client_id, l.username, l.password, &s);
    assert_int_equal(s.connack, 0);
    for (size_t i = 0; i < 5; i++) {
        int had = s.subacks;
        mosquitto_subscribe(m, NULL, filters[i], 0);
        pump(m, &s.subacks, had + 1);
        assert_int_equal(s.granted, 0x80); /* refused in the SUBACK */
    }
    mosquitto_publish(m, NULL, "/ota/device/inform/" PK "/mcu-device-01", 2, "{}", 1, false);
    mosquitto_publish(m, NULL, "$CONTROL/otaauth/v1", 2, "{}", 1, false);
    for (int i = 0; i < 20; i++)
        mosquitto_loop(m, 10, 1);
    assert_true(await_errors("acl-denied", before + 7));
    /* Its own namespace, wildcards inside it included, is fine: granted, and told as an event. */
    int had = s.subacks;
    mosquitto_subscribe(m, NULL, "/sys/" PK "/" DN "/#", 0);
    pump(m, &s.subacks, had + 1);
    assert_int_equal(s.granted, 0);
    for (double end = mc_now(cloud) + 3;
         !count_subscribes(l.client_id, "/sys/" PK "/" DN "/#") && mc_now(cloud) < end;)
        mc_trace_wait(cloud, mc_trace_count(cloud), mc_now(cloud) + 0.05);
    assert_int_equal(count_subscribes(l.client_id, "/sys/" PK "/" DN "/#"), 1);
    for (size_t i = 0; i < 5; i++) /* a denied one is an acl-denied error, not a subscription */
        assert_int_equal(count_subscribes(l.client_id, filters[i]), 0);
    logout(m);
}

/*
 * Log the reference device in and wait until the cloud has heard of this
 * connect: a late "disconnect" of an earlier session would (rightly) make it
 * push a pending job again, which a test counting messages must not see.
 */
static struct mosquitto *device_login(client_state *s)
{
    ota_login l;
    struct mosquitto *m;
    size_t seen = mc_trace_count(cloud);
    int connected = 0;

    mc_jobs_cancel(cloud, DN); /* no job of an earlier test is pending */
    ota_login_build(PK, DN, SECRET, OTA_SIGNMETHOD_HMACSHA256, 3, OTA_LOGIN_TIMESTAMP, &l);
    m = login(l.client_id, l.username, l.password, s);
    assert_int_equal(s->connack, 0);
    for (double end = mc_now(cloud) + 3; !connected && mc_now(cloud) < end;) {
        for (size_t i = seen; i < mc_trace_count(cloud); i++) {
            const ota_trace_rec *r = mc_trace_at(cloud, i);
            /* The event and the clientId as fields: the runner decides on them, not on info. */
            connected |= r->kind == OTA_TR_BROKER && r->event == OTA_EV_CONNECT &&
                         !strcmp(r->dev, DN) && r->client && !strcmp(r->client, l.client_id);
        }
        mc_trace_wait(cloud, mc_trace_count(cloud), mc_now(cloud) + 0.05);
    }
    assert_true(connected);
    return m;
}

static void downlink_reaches_an_unsubscribed_device_once(void **state)
{
    client_state s;
    struct mosquitto *m;
    mc_job_spec spec = {.dn = DN, .version = "9.9.9", .image_size = 16};
    int id;
    (void)state;

    m = device_login(&s);
    /* Like Link SDK 4.x: no subscription to the upgrade topic at all. */
    assert_int_equal(mc_job_create(cloud, &spec, &id), MC_OK);
    pump(m, &s.messages, 1);
    assert_int_equal(s.messages, 1);
    /* Subscribed as well: still exactly once. */
    int had = s.subacks;
    mosquitto_subscribe(m, NULL, "/ota/device/upgrade/" PK "/" DN, 1);
    pump(m, &s.subacks, had + 1);
    spec.version = "9.9.10";
    assert_int_equal(mc_job_create(cloud, &spec, &id), MC_OK);
    pump(m, &s.messages, 2);
    for (int i = 0; i < 20; i++)
        mosquitto_loop(m, 10, 1);
    assert_int_equal(s.messages, 2);
    logout(m);
}

static void a_delayed_downlink_arrives_late(void **state)
{
    client_state s;
    struct mosquitto *m;
    mc_job_spec spec = {.dn = DN, .version = "9.9.11", .image_size = 16};
    double sent;
    int id;
    (void)state;

    m = device_login(&s);
    assert_int_equal(mc_device_delay_next(cloud, DN, 0.5), MC_OK);
    /* The control message and the push travel in order on the cloud's connection. */
    sent = mc_now(cloud);
    assert_int_equal(mc_job_create(cloud, &spec, &id), MC_OK);
    pump(m, &s.messages, 1);
    assert_int_equal(s.messages, 1);
    assert_true(mc_now(cloud) - sent >= 0.45);
    assert_int_equal(mc_device_delay_next(cloud, DN, 0), MC_ERR_ARG);
    logout(m);
}

/* A test's end cancels its jobs, and what the plugin still holds back for the device goes too. */
static void cancelled_jobs_leave_nothing_held_back(void **state)
{
    client_state s;
    struct mosquitto *m;
    mc_job_spec spec = {.dn = DN, .version = "9.9.12", .image_size = 16};
    int id;
    (void)state;

    m = device_login(&s);
    assert_int_equal(mc_device_delay_next(cloud, DN, 0.5), MC_OK);
    assert_int_equal(mc_job_create(cloud, &spec, &id), MC_OK);
    mc_jobs_cancel(cloud, DN);
    for (double end = mc_now(cloud) + 1.2; mc_now(cloud) < end;)
        mosquitto_loop(m, 20, 1);
    assert_int_equal(s.messages, 0); /* the held push never came */
    logout(m);
}

/*
 * A persistent session (clean session off, as the 3.x device SDK connects)
 * whose connection died before it acknowledged a push: the broker keeps the
 * push in the session, but it expires, so a reconnect after the job ended
 * (the test's end cancels it) never brings it back. A job still pending is
 * the cloud's to deliver again (PUSH-8), not the broker's.
 */
static void a_persistent_session_gets_no_ended_push(void **state)
{
    client_state s;
    struct mosquitto *m;
    mc_job_spec spec = {.dn = DN, .version = "9.9.13", .image_size = 16};
    int id;
    (void)state;

    login_clean = 0;
    m = device_login(&s);
    assert_int_equal(mc_job_create(cloud, &spec, &id), MC_OK);
    /* The push goes out to the connection; the client never reads it, so never acknowledges. */
    for (double end = mc_now(cloud) + 0.3; mc_now(cloud) < end;)
        mc_trace_wait(cloud, mc_trace_count(cloud), end);
    mc_jobs_cancel(cloud, DN);
    mosquitto_destroy(m); /* the connection dies without a DISCONNECT; the session stays */
    for (double end = mc_now(cloud) + 3.5; mc_now(cloud) < end;)
        mc_trace_wait(cloud, mc_trace_count(cloud), end);
    m = device_login(&s);
    for (double end = mc_now(cloud) + 1; mc_now(cloud) < end;)
        mosquitto_loop(m, 20, 1);
    login_clean = 1;
    assert_int_equal(s.messages, 0);
    logout(m);
}

/* A second cloud client as a conformance run joining ota-mock-cloud gets it (no API here). */
static mc_join_info join_info(const char *password, const char *client_id)
{
    mc_join_info j;

    memset(&j, 0, sizeof(j));
    snprintf(j.api, sizeof(j.api), "127.0.0.1:1"); /* the release fails, traced */
    snprintf(j.dn, sizeof(j.dn), "%s", DN);
    snprintf(j.mqtt_host, sizeof(j.mqtt_host), "127.0.0.1");
    j.mqtt_port = mc_cloud_broker_port(cloud);
    snprintf(j.cloud_user, sizeof(j.cloud_user), "ota-mock-cloud");
    snprintf(j.cloud_password, sizeof(j.cloud_password), "%s", password);
    snprintf(j.client_id, sizeof(j.client_id), "%s", client_id);
    snprintf(j.listen, sizeof(j.listen), "127.0.0.1");
    return j;
}

static int traced(mc_cloud *c, ota_trace_kind kind, const char *text)
{
    for (double end = mc_now(c) + 3; mc_now(c) < end;) {
        for (size_t i = 0; i < mc_trace_count(c); i++)
            if (mc_trace_at(c, i)->kind == kind && strstr(mc_trace_at(c, i)->info, text))
                return 1;
        mc_trace_wait(c, mc_trace_count(c), mc_now(c) + 0.05);
    }
    return 0;
}

/*
 * Two cloud clients at once: both hear the plugin's events, downlinks from
 * the second reach the device, and its disconnect is an event that releases
 * what it claimed from the first.
 */
static void a_second_cloud_client_works_beside_the_first(void **state)
{
    mc_join_info j = join_info(mc_cloud_credential(cloud), "ota-mock-cloud-join-test-1");
    mc_config cfg = {.devices_dir = "/nonexistent", .join = &j};
    mc_device_info d;
    mc_cloud *second = NULL;
    client_state s;
    struct mosquitto *m;
    mc_job_spec spec = {.dn = DN, .version = "9.9.12", .image_size = 16};
    char err[300];
    int id;
    (void)state;

    assert_int_equal(mc_device_get(cloud, DN, &d), MC_OK);
    if (mc_cloud_start(&cfg, &second, err, sizeof(err)) != MC_OK)
        fail_msg("the second cloud client: %s", err);
    assert_int_equal(mc_cloud_plugin(second), 1);
    assert_int_equal(mc_device_add(second, &d), MC_OK);
    assert_int_equal(mc_device_claim(cloud, DN, j.client_id), MC_OK);
    m = device_login(&s);
    assert_true(traced(second, OTA_TR_BROKER, "connect"));
    assert_int_equal(mc_job_create(second, &spec, &id), MC_OK);
    pump(m, &s.messages, 1);
    assert_int_equal(s.messages, 1);
    mc_cloud_stop(second);
    assert_true(traced(cloud, OTA_TR_BROKER, "cloud-disconnect"));
    assert_true(traced(cloud, OTA_TR_CLOUD, "released"));
    assert_int_equal(mc_device_claimed(cloud, DN, NULL, 0), 0);
    logout(m);
}

static void a_wrong_cloud_credential_is_a_refused_login(void **state)
{
    mc_join_info j = join_info("not-the-password", "ota-mock-cloud-join-test-2");
    mc_config cfg = {.devices_dir = "/nonexistent", .join = &j};
    mc_cloud *second = NULL;
    char err[300] = "";
    (void)state;

    assert_int_equal(mc_cloud_start(&cfg, &second, err, sizeof(err)), MC_ERR_BROKER);
    assert_null(second);
    assert_non_null(strstr(err, "refused the cloud's login as ota-mock-cloud"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_bad_login_is_refused_and_traced),
        cmocka_unit_test(foreign_topics_are_denied_and_traced),
        cmocka_unit_test(downlink_reaches_an_unsubscribed_device_once),
        cmocka_unit_test(a_delayed_downlink_arrives_late),
        cmocka_unit_test(cancelled_jobs_leave_nothing_held_back),
        cmocka_unit_test(a_persistent_session_gets_no_ended_push),
        cmocka_unit_test(a_second_cloud_client_works_beside_the_first),
        cmocka_unit_test(a_wrong_cloud_credential_is_a_refused_login),
    };
    return cmocka_run_group_tests_name("plugin", tests, setup, teardown);
}
