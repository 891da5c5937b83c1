/* Downloads: DL-1 (the signed URL is used verbatim). More rules come with the fault plans. */
#include <stdio.h>
#include <string.h>

#include "ct.h"

static int uri_refused(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return r->kind == OTA_TR_ERROR && !strcmp(r->dev, ct.dev.dn) &&
           strstr(r->info, "request URI differs") != NULL;
}

static void url_used_verbatim(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    long bad;
    (void)state;

    ct_spec_init(&s, v, sizeof(v));
    ct_upgrade(&a, &s, 60);
    bad = ct_scan(a.push_at, mc_trace_count(ct.cloud), uri_refused, NULL);
    if (bad >= 0) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)bad);
        ct_fail("DL-1",
                "the download must request the pushed URL's path and query exactly (OSS checks "
                "the signature in the query): pushed %s, requested %s",
                a.info.url, r->topic);
    }
    ct_check("DL-1", a.outcome == CT_UP_SUCCEEDED, "the upgrade to %s did not complete: got %s", v,
             ct_outcome_text(&a));
}

static const ct_case cases[] = {
    {"url_used_verbatim", "download", url_used_verbatim, "DL-1"},
};

const ct_group ct_group_download = {"download", cases, sizeof(cases) / sizeof(cases[0])};
