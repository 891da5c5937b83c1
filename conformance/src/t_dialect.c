/*
 * The ThingsPanel dialect's own rules (judging.md, TP-...): an upgrade in
 * the dialect, judged on the bare progress body and on step "100" as the
 * only success. Listed only under --dialect thingspanel.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "ct.h"

/* Every progress message of the attempt is the bare object, its step a string. */
static void check_progress_bodies(const ct_attempt *a)
{
    size_t to = a->end_at >= 0 ? (size_t)a->end_at + 1 : mc_trace_count(ct.cloud);
    char what[1024];

    for (long i = ct_scan(a->push_at, to, ct_is_progress, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, to, ct_is_progress, NULL)) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        ota_progress p;
        ct_describe((size_t)i, what, sizeof(what));
        ct_check("TP-PROG-1",
                 ota_dialect_progress_parse(ct.dialect, (const char *)r->payload, r->payload_len,
                                            &p) == OTA_OK,
                 "progress must be the bare {\"step\",\"desc\",\"module\"} object (no params "
                 "wrapper, no id); came %s",
                 what);
        ct_check("TP-PROG-2", strstr((const char *)r->payload, "\"step\":\"") != NULL,
                 "step should be a string holding an integer; came %s", what);
    }
}

static void tp_upgrade(void **state)
{
    ct_attempt a;
    mc_job_spec s;
    char version[OTA_MAX_VERSION + 1];

    (void)state;
    if (ct.refused[0])
        ct_fail("TP-LOGIN-1", "the broker refused the device's login by access token: %s",
                ct.refused);
    ct_spec_init(&s, version, sizeof(version));
    ct_upgrade(&a, &s, 60);
    check_progress_bodies(&a);
    if (a.outcome == CT_UP_NOT_STARTED || a.outcome == CT_UP_TIMEOUT)
        ct_fail("TP-PUSH-1", "the push (package under params, size \"0\", empty sign) brought %s",
                ct_outcome_text(&a));
    /* Nothing is wrong with the image: a failure refused the stock server's push itself. */
    if (a.outcome == CT_UP_FAILED && a.step == -3)
        ct_fail("TP-PUSH-3",
                "the push's sign is empty, which means no signature, and the image is good; "
                "came %s (verification failed)",
                ct_outcome_text(&a));
    if (a.outcome == CT_UP_FAILED)
        ct_fail("TP-PUSH-2", "the push's size \"0\" means not known and the image is good; came %s",
                ct_outcome_text(&a));
    ct_check("TP-FINAL-1", a.outcome == CT_UP_SUCCEEDED,
             "a good upgrade must end with step \"100\"; came %s", ct_outcome_text(&a));
}

/* A subscription the broker granted our device; arg: the filter it must be, or NULL for any. */
static int is_subscribe(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    cJSON *o;
    const cJSON *f;
    int ok;

    if (r->kind != OTA_TR_BROKER || r->event != OTA_EV_SUBSCRIBE ||
        (strcmp(r->dev, ct.dev.dn) && !ota_client_id_names(r->client, ct.dev.pk, ct.dev.dn)))
        return 0;
    if (!arg)
        return 1;
    o = r->payload && !r->binary ? cJSON_ParseWithLength((const char *)r->payload, r->payload_len)
                                 : NULL;
    f = cJSON_GetObjectItemCaseSensitive(o, "detail"); /* the plugin's event: the filter */
    ok = cJSON_IsString(f) && !strcmp(f->valuestring, (const char *)arg);
    cJSON_Delete(o);
    return ok;
}

/* The filters of the device's granted subscriptions in [from, to), for a message. */
static void list_subscriptions(size_t from, size_t to, char *buf, size_t cap)
{
    size_t n = 0;

    buf[0] = '\0';
    for (long i = ct_scan(from, to, is_subscribe, NULL); i >= 0 && n + 1 < cap;
         i = ct_scan((size_t)i + 1, to, is_subscribe, NULL)) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        cJSON *o = r->payload && !r->binary
                       ? cJSON_ParseWithLength((const char *)r->payload, r->payload_len)
                       : NULL;
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "detail");
        if (cJSON_IsString(f)) {
            int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", f->valuestring);
            n = w < 0 ? n : n + (size_t)w < cap ? n + (size_t)w : cap - 1;
        }
        cJSON_Delete(o);
    }
}

/*
 * TP-SUB-1: after a fresh connection the device subscribes to the push topic
 * the platform's broker lets it subscribe to, ota/devices/inform/<number>.
 * The stock server's "infrom" spelling as well is fine; it alone is not (a
 * real broker refuses it, and the device would never hear a push). The
 * plugin reports every subscription it grants; a device whose session kept
 * an earlier subscription and that does not subscribe again is judged on
 * what it subscribed to since the run began.
 */
static void tp_subscribes_to_inform(void **state)
{
    char want[OTA_MAX_TOPIC + 1], alt[OTA_MAX_TOPIC + 1] = "", seen[1024];
    long s, c;
    (void)state;

    if (!mc_cloud_plugin(ct.cloud))
        ct_na("N/A: an external broker (--broker) does not report subscriptions");
    if (ct.refused[0])
        ct_fail("TP-LOGIN-1", "the broker refused the device's login by access token: %s",
                ct.refused);
    if (ota_dialect_topic_build(ct.dialect, OTA_TOPIC_UPGRADE, 0, ct.dev.pk, ct.dev.dn, want,
                                sizeof(want)) != OTA_OK)
        ct_fail("TP-SUB-1", "the device number %s makes no push topic", ct.dev.dn);
    ota_dialect_topic_build(ct.dialect, OTA_TOPIC_UPGRADE, 1, ct.dev.pk, ct.dev.dn, alt,
                            sizeof(alt));
    s = ct_reconnect();
    if (s < 0)
        ct_fail("TP-SUB-1", "the device did not connect again after %s", ct_boot_words());
    c = ct_find((size_t)s, CT_S(LOGIN), ct_is_connect, NULL);
    if (c < 0)
        ct_fail("TP-LOGIN-1", "expected the device to log in within %.0f s of %s, it did not",
                ct_secs(CT_S(LOGIN)), ct_boot_words());
    if (ct_find((size_t)c, CT_S(LOGIN), is_subscribe, want) >= 0 ||
        ct_scan(0, mc_trace_count(ct.cloud), is_subscribe, want) >= 0)
        return;
    list_subscriptions(0, mc_trace_count(ct.cloud), seen, sizeof(seen));
    ct_fail("TP-SUB-1",
            "the device must subscribe to %s, the only push topic the platform's broker lets it "
            "subscribe to (%s as well is fine, but a real broker refuses it); it did not within "
            "%.0f s of its login, and since the run began it subscribed to: %s",
            want, alt[0] ? alt : "another spelling", ct_secs(CT_S(LOGIN)),
            seen[0] ? seen : "nothing");
}

/*
 * TP-PUSH-4: the push as the platform's documentation shows it ("code":200,
 * numeric size, the image's digest in sign, signMethod "Md5") is acted on,
 * and its sign is checked: the same push with a digest that is not the
 * image's (signMethod "MD5", as the backend stores it) fails with "-3".
 */
static void tp_documented_push(void **state)
{
    ct_attempt a;
    mc_job_spec s;
    char v[OTA_MAX_VERSION + 1], v2[OTA_MAX_VERSION + 1], where[400] = "";
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.documented = 1;
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check("TP-PUSH-4", a.outcome == CT_UP_SUCCEEDED,
             "a documented push (\"code\":200, numeric size, the image's MD5 in sign, signMethod "
             "\"Md5\") of a good image should upgrade the device; came %s",
             ct_outcome_text(&a));
    ct_spec_init(&s, v2, sizeof(v2));
    s.documented = 1;
    s.wrong_digest = 1;
    s.sign_method_text = "MD5";
    ct_upgrade(&a, &s, CT_S(FINAL));
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("TP-PUSH-4", a.outcome == CT_UP_FAILED && a.step == -3,
             "a documented push whose sign is not the image's digest (signMethod \"MD5\") should "
             "fail verification with step \"-3\"; came %s %s",
             ct_outcome_text(&a), where);
}

static const ct_case cases[] = {
    {"tp_upgrade", "thingspanel", tp_upgrade,
     "TP-LOGIN-1 TP-PUSH-1 TP-PUSH-2 TP-PUSH-3 TP-PROG-1 TP-PROG-2 TP-FINAL-1", NULL},
    {"tp_subscribes_to_inform", "thingspanel", tp_subscribes_to_inform, "TP-SUB-1 TP-LOGIN-1",
     NULL},
    {"tp_documented_push", "thingspanel", tp_documented_push, "TP-PUSH-4", NULL},
};

const ct_group ct_group_thingspanel = {"thingspanel", cases, sizeof(cases) / sizeof(cases[0])};
