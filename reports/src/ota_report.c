/*
 * ota-report: rebuild a run's reports from its JSONL trace, also a trace of
 * a run that was killed half-way. Exit 0 written, 2 bad usage, 3 unreadable
 * trace or unwritable output.
 */
#include <stdio.h>
#include <string.h>

#include "otaproto/version.h"
#include "otareport/report.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ota-report --trace FILE [--junit FILE] [--html FILE] | --version | --help\n"
               "Writes JUnit XML and/or the single-file HTML report of an ota-conformance\n"
               "run from its trace (ota-conformance --trace FILE).\n\n"
               "Exit status: 0 written, 2 bad usage, 3 unreadable trace or unwritable output.\n");
}

int main(int argc, char **argv)
{
    const char *trace = NULL, *junit = NULL, *html = NULL;
    rp_report *r = NULL;
    char err[512] = "";
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        const char **dst = !strcmp(argv[i], "--trace")   ? &trace
                           : !strcmp(argv[i], "--junit") ? &junit
                           : !strcmp(argv[i], "--html")  ? &html
                                                         : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("ota-report %s\n", OTA_VERSION);
            return 0;
        }
        if (!dst || i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        *dst = argv[++i];
    }
    if (!trace || (!junit && !html)) {
        usage(stderr);
        return 2;
    }
    if (rp_report_load(trace, &r, err, sizeof(err)) != RP_OK) {
        fprintf(stderr, "ota-report: %s\n", err);
        return 3;
    }
    if (junit && rp_report_junit(r, junit) != RP_OK) {
        fprintf(stderr, "ota-report: cannot write %s\n", junit);
        rc = 3;
    }
    if (html && rp_html_write(r, html) != RP_OK) {
        fprintf(stderr, "ota-report: cannot write %s\n", html);
        rc = 3;
    }
    if (!r->complete)
        fprintf(stderr, "ota-report: the run did not finish; the last test is marked unfinished\n");
    rp_report_free(r);
    return rc;
}
