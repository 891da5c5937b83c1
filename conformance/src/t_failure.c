/*
 * Failure codes: FAIL-2 (a download that cannot complete), FAIL-3 (a wrong
 * digest), FAIL-4 (an injected flash failure), FAIL-1 (an unusable push) and
 * FAIL-R (a good upgrade after a failed one). Faults come from the cloud
 * side; only FAIL-4 needs the device's inject-flash capability. Most tests
 * here are scenario files (CT_SCENARIO rows) that the engine runs; the
 * functions are the tests that need code.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"

static void flash_failure_reports_minus_4(void **state)
{
    mc_job_spec s;
    char v[32], where[400] = "", reply[DUT_MAX_LINE], now[OTA_MAX_VERSION + 1];
    ct_attempt a;
    int rc;
    (void)state;

    if (!dut_has_cap(ct.dut, "inject-flash"))
        ct_na("N/A: the device lacks the inject-flash capability");
    for (int tries = 0; tries < 2; tries++) {
        size_t mark = mc_trace_count(ct.cloud);
        rc = dut_command(ct.dut, "INJECT fault=flash-write", reply, sizeof(reply),
                         ct_secs(CT_S(CHANNEL)));
        /* A reboot of its own under way (one that follows its last failure): once it is up. */
        if ((rc == DUT_ERR_NOCHANNEL || rc == DUT_ERR_CLOSED) && ct_settle() == 0) {
            mark = mc_trace_count(ct.cloud);
            rc = dut_command(ct.dut, "INJECT fault=flash-write", reply, sizeof(reply),
                             ct_secs(CT_S(CHANNEL)));
        }
        if (rc != DUT_OK)
            ct_fail("FAIL-4", "INJECT fault=flash-write was not accepted: %s %s", dut_strerror(rc),
                    reply);
        ct_spec_init(&s, v, sizeof(v));
        ct_upgrade(&a, &s, CT_S(FINAL));
        /*
         * A reboot of the device's own between the injection and its first
         * reaction to the push (one already under way after the previous
         * test's failure) takes the injected fault with the old run: inject
         * into the new run and try once more.
         */
        if (ct_scan(mark, a.reached_at, ct_is_start, NULL) < 0)
            break;
    }
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("FAIL-4", a.outcome == CT_UP_FAILED && a.step == -4,
             "the flash write was made to fail: expected step \"-4\", got %s %s",
             ct_outcome_text(&a), where);
    ct_running_version(now, sizeof(now));
    ct_check("FAIL-4", !strcmp(now, a.from_version),
             "after a failed flash write the device must still run %s, it reports \"%s\"",
             a.from_version, now);
}

static void unusable_push_is_refused(void **state)
{
    mc_job_spec s;
    char v[32], where[400] = "";
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.omit_transport = 1;
    ct_push(&a, &s);
    /* Ignoring it is fine: wait a short window for a reaction, not a minute. */
    ct_await(&a, CT_S(UNUSABLE));
    ct_check_not_crashed(&a, "FAIL-1", "a push with neither url nor dProtocol");
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("FAIL-1", a.outcome != CT_UP_SUCCEEDED,
             "a push with neither url nor dProtocol can not be installed, yet the device reported "
             "%s",
             v);
    ct_check("FAIL-1", a.outcome != CT_UP_FAILED || a.step == -1,
             "a push with neither url nor dProtocol must be answered with \"-1\" or ignored, got "
             "step \"%d\" %s",
             a.step, where);
}

static void upgrade_succeeds_after_failure(void **state)
{
    mc_job_spec s;
    char v[32], v2[32];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1;
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check("FAIL-R", a.outcome == CT_UP_FAILED,
             "setting up: the upgrade with a wrong digest should fail, got %s",
             ct_outcome_text(&a));
    ct_spec_init(&s, v2, sizeof(v2));
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_check_first_request(a.job); /* DL-4: from byte 0, no count kept from the failed job */
    ct_final_reported(&a);
    ct_check("FAIL-R", a.outcome == CT_UP_SUCCEEDED,
             "after a failed upgrade the next good one (to %s) must succeed, got %s", v2,
             ct_outcome_text(&a));
}

static const ct_case cases[] = {
    CT_SCENARIO("http-status-404"),
    CT_SCENARIO("http-status-403"),
    CT_SCENARIO("http-status-500"),
    CT_SCENARIO("http-status-503"),
    CT_SCENARIO("push-wrong-sha256"),
    CT_SCENARIO("push-wrong-digest"),
    {"flash_failure_reports_minus_4", "failure", flash_failure_reports_minus_4, "FAIL-4", NULL},
    {"unusable_push_is_refused", "failure", unusable_push_is_refused, "FAIL-1", NULL},
    CT_SCENARIO("push-missing"),
    CT_SCENARIO("push-wrong-types"),
    CT_SCENARIO("push-malformed"),
    CT_SCENARIO("http-reset-always"),
    CT_SCENARIO("http-expired"),
    CT_SCENARIO("http-corrupt"),
    CT_SCENARIO("push-wrong-size"),
    {"upgrade_succeeds_after_failure", "failure", upgrade_succeeds_after_failure, "FAIL-R DL-4",
     NULL},
};

const ct_group ct_group_failure = {"failure", cases, sizeof(cases) / sizeof(cases[0])};
