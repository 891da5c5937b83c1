/*
 * ota-report: rebuild a run's reports from its JSONL trace, also a trace of
 * a run that was killed half-way, optionally compared with an earlier run's
 * trace. Exit 0 written, 1 worse than the baseline under --baseline-strict,
 * 2 bad usage, 3 unreadable trace or unwritable output.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "otaproto/version.h"
#include "otareport/report.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ota-report --trace FILE [--junit FILE] [--html FILE] [--baseline TRACE\n"
               "                  [--baseline-strict] [--baseline-threshold NAME=VALUE]...]\n"
               "       ota-report --version | --help\n"
               "Writes JUnit XML and/or the single-file HTML report of an ota-conformance\n"
               "run from its trace (ota-conformance --trace FILE). --baseline compares it\n"
               "with the trace of an earlier run of the same device, as ota-conformance\n"
               "--baseline does (docs/baseline.md).\n\n"
               "Exit status: 0 written, 1 a test got worse than the baseline under\n"
               "--baseline-strict, 2 bad usage, 3 unreadable trace or unwritable output.\n");
}

int main(int argc, char **argv)
{
    const char *trace = NULL, *junit = NULL, *html = NULL, *baseline = NULL, *limit = NULL;
    rp_report *r = NULL;
    rp_thresholds th;
    char err[512] = "";
    int rc = 0, strict = 0;

    rp_thresholds_default(&th);
    for (int i = 1; i < argc; i++) {
        const char **dst = !strcmp(argv[i], "--trace")                ? &trace
                           : !strcmp(argv[i], "--junit")              ? &junit
                           : !strcmp(argv[i], "--html")               ? &html
                           : !strcmp(argv[i], "--baseline")           ? &baseline
                           : !strcmp(argv[i], "--baseline-threshold") ? &limit
                                                                      : NULL;
        if (!strcmp(argv[i], "--baseline-strict")) {
            strict = 1;
            continue;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("ota-report %s\n", OTA_VERSION);
            return 0;
        }
        if (!dst) {
            fprintf(stderr, "ota-report: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ota-report: %s needs a file\n", argv[i]);
            return 2;
        }
        *dst = argv[++i];
        if (dst == &limit && rp_thresholds_set(&th, limit) != RP_OK) {
            fprintf(stderr, "ota-report: --baseline-threshold wants NAME=VALUE, NAME one of "
                            "messages, bytes, requests, retries, time, VALUE a number >= 0\n");
            return 2;
        }
    }
    if (!trace || (!junit && !html)) {
        fprintf(stderr, "ota-report: %s (see --help)\n",
                !trace ? "--trace FILE is missing: the trace of the run to report on"
                       : "nothing to write: give --junit FILE, --html FILE or both");
        return 2;
    }
    for (int k = 0; k < 2; k++) {
        const char *out = k ? html : junit;
        if (out &&
            rp_output_prepare(k ? "HTML report" : "JUnit report", out, err, sizeof(err)) != RP_OK) {
            fprintf(stderr, "ota-report: %s\n", err);
            return 3;
        }
    }
    if (rp_report_load(trace, &r, err, sizeof(err)) != RP_OK) {
        fprintf(stderr, "ota-report: %s\n", err);
        return 3;
    }
    if (baseline && rp_report_compare(r, baseline, &th, strict, err, sizeof(err)) != RP_OK) {
        fprintf(stderr, "ota-report: baseline: %s\n", err);
        rp_report_free(r);
        return 3;
    }
    rp_compare_print(r, stdout);
    if (junit && rp_report_junit(r, junit) != RP_OK) {
        fprintf(stderr, "ota-report: cannot write %s: %s\n", junit, strerror(errno));
        rc = 3;
    }
    if (html && rp_html_write(r, html) != RP_OK) {
        fprintf(stderr, "ota-report: cannot write %s: %s\n", html, strerror(errno));
        rc = 3;
    }
    if (!r->complete)
        fprintf(stderr, "ota-report: the run did not finish; the last test is marked unfinished\n");
    if (!rc && strict && r->cmp && r->cmp->worse)
        rc = 1;
    rp_report_free(r);
    return rc;
}
