/*
 * Push handling and progress: PUSH-1 with PROG-1, PROG-2, PROG-3 and
 * PROG-6, judged message by message over whole upgrade attempts.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"

#define QUIET_S 0.5 /* after a failure step: does anything positive follow? */

static int starts_upgrade(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return ct_is_progress(r, NULL) || ct_is_http(r, NULL);
}

static void live_push_starts_upgrade(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    long i;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_push(&a, &s);
    i = ct_find(a.push_at, 10, starts_upgrade, NULL);
    ct_check("PUSH-1", i >= 0,
             "a live-cloud push (code \"1000\", numeric id, signMethod Md5) must start the "
             "upgrade: expected a download request or a progress report within %.0f s, got "
             "neither",
             ct_secs(10));
    ct_await(&a, 60);
    ct_check("PUSH-1", a.outcome == CT_UP_SUCCEEDED, "the upgrade to %s did not complete: got %s",
             v, ct_outcome_text(&a));
}

/* Every progress message of [from, to) passes the format rules. */
static int judge_progress(size_t from, size_t to)
{
    int n = 0;

    for (long i = ct_scan(from, to, ct_is_progress, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, to, ct_is_progress, NULL)) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        char where[400];
        ota_progress p;
        int rc = ota_progress_parse((const char *)r->payload, r->payload_len, &p);
        int dflt = !ct.dev.module[0] || !strcmp(ct.dev.module, "default");

        n++;
        ct_describe((size_t)i, where, sizeof(where));
        ct_check("PROG-1", rc == OTA_OK || (rc == OTA_ERR_RANGE && p.step_is_string),
                 "progress must be a JSON object with params.step, got %s in %s", ota_strerror(rc),
                 where);
        ct_check("PROG-1", p.step_is_string, "progress step must be a string, got number %d in %s",
                 p.step, where);
        ct_check("PROG-1", p.step >= -4 && p.step <= 100,
                 "progress step must be in -4..100, got %d in %s", p.step, where);
        ct_check("PROG-2", !p.has_desc || p.desc_chars <= OTA_MAX_DESC,
                 "desc must be at most 128 characters, got %zu in %s", p.desc_chars, where);
        if (dflt)
            ct_check("PROG-3", !p.has_module || !strcmp(p.module, "default"),
                     "progress for the default module must carry no module (or \"default\"), got "
                     "\"%s\" in %s",
                     p.module, where);
        else
            ct_check("PROG-3", p.has_module && !strcmp(p.module, ct.dev.module),
                     "progress module must be \"%s\", got \"%s\" in %s", ct.dev.module, p.module,
                     where);
    }
    return n;
}

static void progress_step_is_a_string(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, 60);
    ct_check("PROG-1", judge_progress(a.push_at, mc_trace_count(ct.cloud)) > 0,
             "an upgrade must report progress on its progress topic, got none");
}

static void progress_desc_at_most_128(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1; /* a failure step carries the longest desc */
    ct_upgrade(&a, &s, 60);
    ct_check("PROG-2", judge_progress(a.push_at, mc_trace_count(ct.cloud)) > 0,
             "a failed upgrade must report progress, got none");
}

static void progress_module_matches(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, 60);
    ct_check("PROG-3", judge_progress(a.push_at, mc_trace_count(ct.cloud)) > 0,
             "an upgrade must report progress, got none");
}

static int any_step(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return ct_is_progress(r, NULL);
}

static void one_failure_step_per_attempt(void **state)
{
    mc_job_spec s;
    char v[32], where[400];
    ct_attempt a;
    size_t end;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    s.wrong_digest = 1;
    ct_upgrade(&a, &s, 60);
    ct_check("PROG-6", a.outcome == CT_UP_FAILED,
             "a failed attempt (wrong digest) must report a negative step; got %s",
             ct_outcome_text(&a));
    /* A short quiet window: nothing positive, no other code may follow. */
    ct_find((size_t)a.end_at + 1, QUIET_S, any_step, NULL);
    end = mc_trace_count(ct.cloud);
    for (long i = ct_scan((size_t)a.end_at + 1, end, ct_is_progress, NULL); i >= 0;
         i = ct_scan((size_t)i + 1, end, ct_is_progress, NULL)) {
        int step = 0;
        ct_step_of(mc_trace_at(ct.cloud, (size_t)i), &step);
        ct_describe((size_t)i, where, sizeof(where));
        ct_check("PROG-6", step == a.step,
                 "after step %d the attempt is over: expected nothing or the same code again, "
                 "got step %d in %s",
                 a.step, step, where);
    }
}

static const ct_case cases[] = {
    {"live_push_starts_upgrade", "push", live_push_starts_upgrade, "PUSH-1"},
    {"progress_step_is_a_string", "push", progress_step_is_a_string, "PROG-1"},
    {"progress_desc_at_most_128", "push", progress_desc_at_most_128, "PROG-2"},
    {"progress_module_matches", "push", progress_module_matches, "PROG-3"},
    {"one_failure_step_per_attempt", "push", one_failure_step_per_attempt, "PROG-6"},
};

const ct_group ct_group_push = {"push", cases, sizeof(cases) / sizeof(cases[0])};
