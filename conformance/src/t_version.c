/* Version report (inform): VER-1, VER-2, VER-3, VER-5, VER-6. */
#include <stdio.h>
#include <string.h>

#include "ct.h"

static int is_default_module(void)
{
    return !ct.dev.module[0] || !strcmp(ct.dev.module, "default");
}

/* The boot inform after a power cycle, parsed; fails VER-1 when it does not come. */
static long boot_inform(ota_inform *in, int *prc)
{
    long s = ct_reboot(), i;

    if (s < 0)
        ct_fail("VER-1", "the device did not start again after %s", ct_boot_words());
    i = ct_find((size_t)s, CT_S(INFORM), ct_is_inform, NULL);
    if (i < 0)
        ct_need_seen_boot(s, "VER-1");
    if (i < 0) {
        char topic[OTA_MAX_TOPIC + 1];
        ota_topic_build(OTA_TOPIC_INFORM, ct.dev.pk, ct.dev.dn, topic, sizeof(topic));
        ct_fail("VER-1", "expected an inform on %s within %.0f s of boot, got none", topic,
                ct_secs(CT_S(INFORM)));
    }
    const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
    *prc = ota_inform_parse((const char *)r->payload, r->payload_len, in);
    return i;
}

static void version_reported_at_boot(void **state)
{
    ota_inform in;
    char where[400];
    int rc;
    long i = boot_inform(&in, &rc);
    (void)state;

    ct_describe((size_t)i, where, sizeof(where));
    ct_check("VER-1", rc == OTA_OK,
             "inform must be a JSON object with a string params.version, got %s in %s",
             ota_strerror(rc), where);
    ct_check("VER-1", in.version[0] != '\0', "params.version must not be empty, in %s", where);
}

static void inform_id_is_valid(void **state)
{
    ota_inform in;
    char where[400];
    int rc;
    long i = boot_inform(&in, &rc);
    (void)state;

    ct_describe((size_t)i, where, sizeof(where));
    ct_check("VER-1", rc == OTA_OK, "inform does not parse (%s) in %s", ota_strerror(rc), where);
    ct_check("VER-2", in.id.kind != OTA_ID_ABSENT, "inform must carry an id, in %s", where);
    ct_check("VER-2", in.id.valid,
             "id must be an integer or a decimal string in 0..4294967295, got %s %s in %s",
             ota_id_kind_name(in.id.kind), in.id.text, where);
    ct_check("VER-3", in.id.kind == OTA_ID_STRING,
             "id should be a string (the documented form), got a %s in %s",
             ota_id_kind_name(in.id.kind), where);
}

/* The module a test switches a process device to: module rules under a non-default module. */
#define OTHER_MODULE "MCU"

static void judge_inform_module(void)
{
    ota_inform in;
    char where[400];
    int rc;
    long i = boot_inform(&in, &rc);

    ct_describe((size_t)i, where, sizeof(where));
    ct_check("VER-1", rc == OTA_OK, "inform does not parse (%s) in %s", ota_strerror(rc), where);
    if (is_default_module())
        ct_check("VER-5", !in.has_module || !strcmp(in.module, "default"),
                 "the default module must be absent or \"default\", got \"%s\" in %s", in.module,
                 where);
    else
        ct_check("VER-5", in.has_module && !strcmp(in.module, ct.dev.module),
                 "module must be \"%s\", got %s\"%s\" in %s%s", ct.dev.module,
                 in.has_module ? "" : "none ", in.module, where, ct_module_hint());
}

static void inform_module_matches(void **state)
{
    (void)state;
    judge_inform_module();
    if (is_default_module() && ct_module_switch(OTHER_MODULE) == 0)
        judge_inform_module(); /* and as a device of module MCU (OTA_MODULE) */
}

static void version_kept_after_failed_upgrade(void **state)
{
    mc_job_spec s;
    char v[32], now[OTA_MAX_VERSION + 1];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1;
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check("VER-6", a.outcome != CT_UP_SUCCEEDED,
             "a push with a wrong digest must not be installed, yet the device reported %s", v);
    ct_running_version(now, sizeof(now));
    ct_check("VER-6", !strcmp(now, a.from_version),
             "after a failed upgrade the device must run %s, it reports \"%s\"", a.from_version,
             now);
}

static void version_is_target_after_upgrade(void **state)
{
    mc_job_spec s;
    char v[32], now[OTA_MAX_VERSION + 1], where[400] = "";
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_final_reported(&a);
    if (a.end_at >= 0) /* the device's last word: a failure step with its desc */
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("VER-6", a.outcome == CT_UP_SUCCEEDED,
             "after a good upgrade the device must report %s; got %s%s%s", v, ct_outcome_text(&a),
             where[0] ? " " : "", where);
    ct_running_version(now, sizeof(now));
    ct_check("VER-6", !strcmp(now, v), "the device must now run %s, it reports \"%s\"", v, now);
}

/* Every inform and progress id of one boot, compared pairwise. */
static void inform_ids_differ(void **state)
{
    mc_job_spec s;
    char v[32], ids[64][32], where[400];
    ct_attempt a;
    long boot;
    int n = 0;
    (void)state;

    boot = ct_reboot();
    if (boot < 0 || ct_find((size_t)boot, CT_S(INFORM), ct_is_inform, NULL) < 0) {
        ct_need_seen_boot(boot, "VER-1");
        ct_fail("VER-1", "the device did not report its version after %s", ct_boot_words());
    }
    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1; /* a failure: more messages, and no reboot in between */
    ct_upgrade(&a, &s, CT_S(FINAL));
    for (size_t i = (size_t)boot; i < mc_trace_count(ct.cloud) && n < 64; i++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        ota_progress p;
        if (!ct_is_inform(r, i, NULL) && !ct_is_progress_any(r, i, NULL))
            continue;
        if (ota_progress_parse((const char *)r->payload, r->payload_len, &p) != OTA_OK &&
            p.id.kind == OTA_ID_ABSENT) {
            ota_inform in;
            ota_inform_parse((const char *)r->payload, r->payload_len, &in);
            p.id = in.id;
        }
        for (int k = 0; k < n; k++) {
            if (strcmp(ids[k], p.id.text))
                continue;
            ct_describe(i, where, sizeof(where));
            ct_check("VER-4", 0,
                     "ids should differ between messages of one boot; id %s came again in %s",
                     p.id.text, where);
            return;
        }
        snprintf(ids[n++], sizeof(ids[0]), "%s", p.id.text);
    }
}

static int is_inform_or_connect(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_inform(r, i, NULL) || ct_is_connect(r, i, NULL);
}

/* After the boot report, a quiet window: no second report without a reconnect. */
static void no_periodic_reports(void **state)
{
    long boot, first, next;
    char where[400];
    (void)state;

    boot = ct_reboot();
    first = boot >= 0 ? ct_find((size_t)boot, CT_S(INFORM), ct_is_inform, NULL) : -1;
    if (first < 0)
        ct_need_seen_boot(boot, "VER-1");
    if (first < 0)
        ct_fail("VER-1", "the device did not report its version after %s", ct_boot_words());
    next = ct_find((size_t)first + 1, CT_S(REPORT_AGAIN), is_inform_or_connect, NULL);
    if (next >= 0 && ct_is_inform(mc_trace_at(ct.cloud, (size_t)next), (size_t)next, NULL)) {
        ct_describe((size_t)next, where, sizeof(where));
        ct_check("VER-7", 0,
                 "one version report per boot (and per reconnect): another came without a "
                 "reconnect, %s",
                 where);
    }
}

static const ct_case cases[] = {
    {"version_reported_at_boot", "version", version_reported_at_boot, "VER-1", NULL},
    {"inform_id_is_valid", "version", inform_id_is_valid, "VER-2 VER-3", NULL},
    {"inform_module_matches", "version", inform_module_matches, "VER-5", NULL},
    {"version_kept_after_failed_upgrade", "version", version_kept_after_failed_upgrade, "VER-6",
     NULL},
    {"version_is_target_after_upgrade", "version", version_is_target_after_upgrade, "VER-6", NULL},
    {"inform_ids_differ", "version", inform_ids_differ, "VER-4", NULL},
    {"no_periodic_reports", "version", no_periodic_reports, "VER-7", NULL},
};

const ct_group ct_group_version = {"version", cases, sizeof(cases) / sizeof(cases[0])};
