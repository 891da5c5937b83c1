/* The final version report, the cloud's success rule: FINAL-1 and FINAL-2. */
#include <stdio.h>
#include <string.h>

#include "ct.h"

static int is_hundred(const ota_trace_rec *r, size_t i, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, i, NULL) && ct_step_of(r, &step) == 0 && step == 100;
}

static void target_version_reported_after_upgrade(void **state)
{
    mc_job_spec s;
    char v[32], where[400];
    ct_attempt a;
    ota_inform in;
    const ota_trace_rec *r;
    int dflt = !ct.dev.module[0] || !strcmp(ct.dev.module, "default");
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    if (a.outcome != CT_UP_SUCCEEDED) {
        long h = ct_scan(a.push_at, mc_trace_count(ct.cloud), is_hundred, NULL);
        ct_fail("FINAL-1",
                "expected inform with version \"%s\" within %.0f s of the push; got %s%s", v,
                ct_secs(CT_S(FINAL)), ct_outcome_text(&a),
                h >= 0 && a.outcome != CT_UP_DOWNLOADED
                    ? " after progress \"100\" (progress 100 alone is not success)"
                    : "");
    }
    r = mc_trace_at(ct.cloud, (size_t)a.end_at);
    ct_describe((size_t)a.end_at, where, sizeof(where));
    ota_inform_parse((const char *)r->payload, r->payload_len, &in);
    if (dflt)
        ct_check("FINAL-1", !in.has_module || !strcmp(in.module, "default"),
                 "the final report for the default module must carry no module, in %s", where);
    else
        ct_check("FINAL-1", in.has_module && !strcmp(in.module, ct.dev.module),
                 "the final report must name module \"%s\", in %s", ct.dev.module, where);
    ct_check("FINAL-1", a.info.state == MC_JOB_SUCCEEDED,
             "the cloud must judge the job a success, it says %s", mc_job_state_name(a.info.state));
}

/* An HTTP transfer of the job's file that completed with its last byte. */
static int download_done(const ota_trace_rec *r, size_t i, void *arg)
{
    const ct_attempt *a = arg;

    if (!ct_is_http(r, i, NULL) || !strstr(a->info.url, r->topic))
        return 0;
    return r->event == OTA_EV_HTTP_DONE && (r->status == 200 || r->status == 206) && r->last >= 0 &&
           (unsigned long long)r->last + 1 == a->info.size;
}

static int below_hundred(const ota_trace_rec *r, size_t i, void *arg)
{
    int step;
    (void)arg;
    return ct_is_progress(r, i, NULL) && ct_step_of(r, &step) == 0 && step >= 0 && step < 100;
}

/*
 * The image is written once it was fully served and the device stopped
 * reporting download progress. The target version may not come before both.
 */
static void target_version_not_reported_early(void **state)
{
    mc_job_spec s;
    char v[32], where[400], last_where[400] = "";
    ct_attempt a;
    long first, done, last_below = -1;
    size_t end;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    end = mc_trace_count(ct.cloud);
    first = ct_scan(a.push_at, end, ct_is_inform, a.info.version);
    if (first < 0)
        ct_fail("FINAL-1", "the upgrade to %s never reported the target version: got %s", v,
                ct_outcome_text(&a));
    /*
     * An early reporter is still downloading: let the attempt run out (the
     * device idle or rebooted, then a short quiet window) before judging order.
     */
    done = ct_find(a.push_at, CT_S(FINAL), download_done, &a);
    ct_settle();
    ct_find(mc_trace_count(ct.cloud), CT_S(QUIET), ct_is_progress, NULL);
    end = mc_trace_count(ct.cloud);
    for (long i = ct_scan(a.push_at, end, below_hundred, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, end, below_hundred, NULL))
        last_below = i;
    ct_describe((size_t)first, where, sizeof(where));
    if (last_below >= 0)
        ct_describe((size_t)last_below, last_where, sizeof(last_where));
    ct_check("FINAL-2", done >= 0 && done < first,
             "the target version %s was reported before the image was fully downloaded: %s%s", v,
             where, done < 0 ? " (the download never completed)" : "");
    ct_check("FINAL-2", last_below < first,
             "the target version %s was reported while the download was still in progress: %s, "
             "then %s",
             v, where, last_where);
}

static void two_upgrades_back_to_back(void **state)
{
    mc_job_spec s;
    char v1[32], v2[32];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v1, sizeof(v1));
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_final_reported(&a);
    ct_check("FINAL-3", a.outcome == CT_UP_SUCCEEDED, "the first upgrade (to %s) failed: got %s",
             v1, ct_outcome_text(&a));
    ct_settle();
    ct_spec_init(&s, v2, sizeof(v2));
    ct_upgrade(&a, &s, CT_S(FINAL));
    ct_final_reported(&a);
    ct_check("FINAL-3", a.outcome == CT_UP_SUCCEEDED,
             "the second upgrade in a row (to %s, right after %s) must succeed too: got %s", v2, v1,
             ct_outcome_text(&a));
}

static const ct_case cases[] = {
    {"target_version_reported_after_upgrade", "final", target_version_reported_after_upgrade,
     "FINAL-1", NULL},
    {"target_version_not_reported_early", "final", target_version_not_reported_early, "FINAL-2",
     NULL},
    {"two_upgrades_back_to_back", "final", two_upgrades_back_to_back, "FINAL-3", NULL},
};

const ct_group ct_group_final = {"final", cases, sizeof(cases) / sizeof(cases[0])};
