/*
 * The ThingsPanel dialect's own rules (judging.md, TP-...): an upgrade in
 * the dialect, judged on the bare progress body and on step "100" as the
 * only success. Listed only under --dialect thingspanel.
 */
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

static const ct_case cases[] = {
    {"tp_upgrade", "thingspanel", tp_upgrade,
     "TP-LOGIN-1 TP-PUSH-1 TP-PUSH-2 TP-PUSH-3 TP-PROG-1 TP-PROG-2 TP-FINAL-1", NULL},
};

const ct_group ct_group_thingspanel = {"thingspanel", cases, sizeof(cases) / sizeof(cases[0])};
