/*
 * Login and topics, judged from what the broker plugin saw: SEC-1 (the
 * login is signed correctly) and SEC-2 (the device stays in its own
 * namespace), and PUSH-8 (a pending job is delivered again after the cloud
 * drops the device). N/A on an external broker, where no plugin runs.
 * SEC-3 (a certificate from an unknown CA is refused) needs a TLS run.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"

static void need_plugin(void)
{
    if (!mc_cloud_plugin(ct.cloud))
        ct_na("N/A: an external broker (--broker) runs no login or topic checks");
}

static void login_is_signed_correctly(void **state)
{
    long s, i;
    (void)state;

    need_plugin();
    if (ct.auth_off)
        ct_na("N/A: --auth off, logins are not checked");
    s = ct_reboot();
    if (s < 0)
        ct_fail("SEC-1", "the device did not start again after %s", ct_boot_words());
    i = ct_find((size_t)s, CT_S(LOGIN), ct_is_connect,
                NULL); /* a refusal fails the test on the way */
    ct_check("SEC-1", i >= 0,
             "expected the device to log in within %.0f s of boot (username dn&pk, clientId "
             "pk.dn|…|, HMAC password), it did not try",
             ct_secs(CT_S(LOGIN)));
    /* SEC-4: securemode=2 over TLS, 3 over plain TCP. */
    const char *cid = mc_trace_at(ct.cloud, (size_t)i)->client;
    const char *sm = cid ? strstr(cid, "securemode=") : NULL; /* in the clientId the device sent */
    char want = ct.tls ? '2' : '3';
    ct_check("SEC-4", sm && sm[11] == want && (sm[12] == ',' || sm[12] == '|'),
             "over %s the clientId should carry securemode=%c, it has %.14s",
             ct.tls ? "TLS" : "plain TCP", want, sm ? sm : "no securemode");
}

/* The namespace SEC-2 allows the device, in the run's dialect, for a message. */
static void namespace_text(char *buf, size_t cap)
{
    const char *dn = ct.dev.dn, *pk = ct.dev.pk;

    if (ct.dialect && ct.dialect->auth == OTA_AUTH_TOKEN) {
        snprintf(buf, cap,
                 "publish to ota/devices/progress and the platform's device topics under "
                 "devices/… (telemetry, events, devices/attributes/{message_id}; not "
                 "devices/status/…), and subscribe to ota/devices/inform/%s (or infrom) and "
                 "devices/… topics naming device number %s",
                 dn, dn);
        return;
    }
    snprintf(buf, cap,
             "publish and subscribe only under /ota/device/+/%s/%s, /sys/%s/%s/…, /%s/%s/… and "
             "/shadow/+/%s/%s",
             pk, dn, pk, dn, pk, dn, pk, dn);
}

static void device_stays_in_its_namespace(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    long boot, i;
    (void)state;

    need_plugin();
    boot = ct_reboot();
    if (boot < 0 || (ct.can_reset && ct_find((size_t)boot, CT_S(INFORM), ct_is_up, NULL) < 0)) {
        ct_fail("VER-1", "the device did not report its version after %s", ct_boot_words());
    }
    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    i = ct_scan((size_t)boot, mc_trace_count(ct.cloud), ct_is_denied, NULL);
    if (i >= 0) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        char allowed[800];
        namespace_text(allowed, sizeof(allowed));
        ct_fail("SEC-2", "the device may %s; the broker denied: %s", allowed, r->info);
    }
}

/*
 * SEC-3: the push names an HTTPS server that presents a certificate for the
 * right name, signed by a CA the device was never told to trust. A device
 * that checks certificates never gets as far as a request, and reports the
 * download failed.
 */
static void foreign_certificate_refused(void **state)
{
    ct_attempt a;
    char where[400];
    long got;
    (void)state;

    if (!ct.tls)
        ct_na("N/A: a plain TCP run; SEC-3 is judged over TLS (--tls)");
    ct_upgrade_plan(&a, "http-foreign-cert", where, sizeof(where));
    got = ct_scan(a.push_at, mc_trace_count(ct.cloud), ct_is_get, NULL);
    if (got >= 0 || a.outcome == CT_UP_SUCCEEDED) {
        char req[400] = "";
        if (got >= 0)
            ct_describe((size_t)got, req, sizeof(req));
        ct_fail("SEC-3",
                "the download server's certificate was signed by a CA the device does not trust "
                "(not OTA_CA_FILE); the device must refuse the connection, it %s %s",
                got >= 0 ? "sent a request over it:" : "upgraded from it:", got >= 0 ? req : where);
    }
    ct_check("FAIL-2", a.outcome == CT_UP_FAILED && a.step == -2,
             "a download refused for its certificate is a failed download: expected step \"-2\", "
             "got %s %s",
             ct_outcome_text(&a), where);
}

/*
 * SEC-3 on the MQTT connection: the broker restarts with its TLS listener
 * presenting a certificate for the right name from a CA the device was never
 * told to trust. A device that checks certificates cannot get back in; once
 * the broker presents its own certificate again, it reconnects.
 */
static void foreign_broker_certificate_refused(void **state)
{
    size_t from, back;
    double end;
    long in;
    char where[400] = "";
    (void)state;

    if (!ct.tls)
        ct_na("N/A: a plain TCP run; SEC-3 is judged over TLS (--tls)");
    need_plugin();
    from = mc_trace_count(ct.cloud);
    if (mc_broker_present_foreign(ct.cloud, 1) != MC_OK)
        ct_fail("SEC-3", "the mock could not restart its broker with the foreign certificate");
    /* A window for the device's reconnect attempts, without ct_find: nothing may end the
     * test before the broker's own certificate is back. */
    end = mc_now(ct.cloud) + ct_secs(CT_S(TLS_REFUSED));
    while (mc_now(ct.cloud) < end && !ct_interrupted)
        mc_trace_wait(ct.cloud, mc_trace_count(ct.cloud), end);
    in = ct_scan(from, mc_trace_count(ct.cloud), ct_is_connect, NULL);
    if (in >= 0)
        ct_describe((size_t)in, where, sizeof(where));
    back = mc_trace_count(ct.cloud);
    if (mc_broker_present_foreign(ct.cloud, 0) != MC_OK)
        ct_fail("SEC-3", "the mock could not give its broker its own certificate back");
    if (in >= 0)
        ct_fail("SEC-3",
                "the broker presented a certificate signed by a CA the device does not trust (not "
                "OTA_CA_FILE); the device must refuse the TLS connection, it logged in: %s",
                where);
    ct_check("SEC-3", ct_find(back, CT_S(TLS_BACK), ct_is_connect, NULL) >= 0,
             "once the broker presented its own certificate again the device must connect "
             "again, it did not within %.0f s",
             ct_secs(CT_S(TLS_BACK)));
}

static void pending_job_delivered_after_reconnect(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    size_t before;
    (void)state;

    need_plugin();
    /* The push is lost on its way, so the job stays pending; then the cloud drops the device. */
    if (mc_device_drop_next(ct.cloud, ct.dev.dn) != MC_OK)
        ct_fail("PUSH-8", "the broker plugin did not take the drop command");
    ct_spec_init(&s, v, sizeof(v));
    ct_push(&a, &s);
    before = mc_trace_count(ct.cloud);
    if (mc_device_kick(ct.cloud, ct.dev.dn) != MC_OK)
        ct_fail("PUSH-8", "the broker plugin did not take the kick command");
    ct_check("PUSH-8", ct_find(before, CT_S(RECONNECT), ct_is_connect, NULL) >= 0,
             "after the cloud dropped the connection the device must connect again, it did not "
             "within %.0f s",
             ct_secs(CT_S(RECONNECT)));
    ct_await(&a, CT_S(FINAL));
    ct_final_reported(&a);
    ct_check("PUSH-8", a.outcome == CT_UP_SUCCEEDED,
             "the job pending at reconnect was pushed again and must complete: got %s",
             ct_outcome_text(&a));
}

static const ct_case cases[] = {
    {"login_is_signed_correctly", "security", login_is_signed_correctly, "SEC-1 SEC-4", NULL},
    {"device_stays_in_its_namespace", "security", device_stays_in_its_namespace, "SEC-2", NULL},
    {"foreign_certificate_refused", "security", foreign_certificate_refused, "SEC-3 FAIL-2", NULL},
    {"foreign_broker_certificate_refused", "security", foreign_broker_certificate_refused, "SEC-3",
     NULL},
    {"pending_job_delivered_after_reconnect", "security", pending_job_delivered_after_reconnect,
     "PUSH-8", NULL},
};

const ct_group ct_group_security = {"security", cases, sizeof(cases) / sizeof(cases[0])};
