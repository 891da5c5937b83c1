/*
 * libotareport: turns a run into reports people and CI systems read: JUnit
 * XML (our own writer: several groups still make one valid document) and a
 * single self-contained HTML file. Everything comes from the run's JSONL
 * trace, so a run killed half-way still yields a report. It never talks to
 * the cloud or the device.
 */
#ifndef OTAREPORT_REPORT_H
#define OTAREPORT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "otaproto/trace.h"

/*
 * RP_INCONCLUSIVE: the test could not create its situation for a reason that
 * is not the device's fault (JUnit shows it as an error, never a failure).
 * RP_NOT_RUN: the test was selected but never started (the run was
 * interrupted, or stopped when the device never came up); an error in JUnit.
 * RP_WAIVED: it failed, and a live waiver (--waivers) names the test or the
 * rule it failed: shown with the waiver's reason, never counted as a failure.
 */
typedef enum {
    RP_PASS = 0,
    RP_FAIL,
    RP_NA,
    RP_UNFINISHED,
    RP_INCONCLUSIVE,
    RP_NOT_RUN,
    RP_WAIVED,
    RP_VERDICT__COUNT
} rp_verdict;

const char *rp_verdict_name(rp_verdict v);

#define RP_MAX_WARNINGS 8
#define RP_WAIVER_TEXT  512 /* a waiver's reason, or an expired waiver's sentence */
#define RP_MAX_EXPIRED  16  /* expired waivers a run records */

typedef struct {
    char rule[16];
    char text[512];
} rp_warning;

/*
 * What one test cost the device, measured from its slice of the trace
 * (cost.c): rebuilt on load, never stored in the test's JSON.
 */
typedef struct {
    int measured;          /* the test's records were loaded */
    long long image_bytes; /* the pushed size of each image the device fetched from, summed */
    long long bytes;       /* bytes sent to the device: HTTP bodies and block data */
    double amplification;  /* bytes / image_bytes; 0 without an image */
    int messages;          /* messages the device sent */
    int pushes;            /* pushes (and get_replies with a job) sent to the device */
    int requests;          /* HTTP GETs and block requests */
    int retries;     /* requests after the first of a push (HTTP), or for a block asked before */
    double gap_min;  /* the shortest time from a request to the retry after it; -1: none */
    double gap_mean; /* the mean of those times; -1: none */
    int faults;      /* fault records */
    char fault[32];  /* the kind of the first fault; "" without one */
    double fault_to_report; /* the first fault to the device's next final report; -1: none */
    double push_to_final;   /* the first push to the device's last final report; -1: none */
} rp_cost;

typedef struct {
    char name[96];
    char group[48];
    char rules[128]; /* the rule IDs the test cites, space-separated */
    char tiers[128]; /* their tiers, in the same order */
    rp_verdict verdict;
    char failed_rule[16];
    char board[64];     /* the board that ran it, when several did (--device twice, --lab) */
    char message[2048]; /* failure explanation, or the N/A reason */
    char waiver[RP_WAIVER_TEXT]; /* RP_WAIVED: the waiver's reason (failed_rule and message
                                    keep the failure) */
    rp_warning warnings[RP_MAX_WARNINGS];
    int nwarnings;
    double seconds;
    char *system_out;          /* heap; the test's slice of the trace, or NULL */
    size_t rec_begin, rec_end; /* the test's records in a loaded trace: [begin, end) */
    /*
     * The record a failure cites as its evidence, counted from the test's
     * begin record (negative: before it); only when has_evidence.
     */
    int has_evidence;
    long evidence;
    rp_cost cost; /* loaded reports only */
} rp_test;

typedef struct {
    const char *suite;     /* "ota-conformance" */
    const char *device;    /* device name */
    const char *timestamp; /* ISO 8601 */
    double seconds;
    const rp_test *tests;
    int ntests;
    const char *dialect; /* the device's platform; NULL or "aliyun" (the default) is not named */
    const struct rp_report *report; /* the loaded run, for its baseline comparison; may be NULL */
} rp_run;

typedef enum { RP_OK = 0, RP_ERR_ARG, RP_ERR_IO, RP_ERR_FORMAT, RP_ERR_NOMEM } rp_err;

const char *rp_strerror(int rc);

/* ---- the run, as recorded in the trace ---- */
typedef struct {
    char id[16];
    char tier[16]; /* "MUST" or "SHOULD" */
    int compat;
    char text[256];
} rp_rule;

/* A test the run selected, as the run-begin record lists it. */
typedef struct {
    char group[48];
    char name[96];
    char rules[128];
    char tiers[128];
} rp_planned;

typedef struct {
    char suite[64];
    char device[72];
    char dialect[32];
    char adapter[32];
    char dut_cmd[512];
    char broker[128];
    char fw_before[68];
    char fw_after[68];
    char started[32]; /* ISO 8601, UTC */
    int strict;
    int auth_off; /* device logins were not checked (--auth off) */
    double time_scale;
    rp_rule *rules; /* heap */
    int nrules;
    rp_planned *planned; /* heap: the tests the run selected, in order; NULL in older traces */
    int nplanned;
    char expired[RP_MAX_EXPIRED][RP_WAIVER_TEXT]; /* --waivers that expired, a sentence each */
    int nexpired;
} rp_run_info;

/*
 * Trace records carrying the run's own story, written by the runner and read
 * back here: "run-begin" (rp_run_info as JSON), "begin"/"end" of each test
 * (rp_test as JSON), "run-end" (duration and the firmware after). Encoders
 * return heap JSON text the caller frees.
 */
char *rp_run_info_to_json(const rp_run_info *info);
char *rp_test_to_json(const rp_test *t);
/* Decode rp_test_to_json's text; RP_ERR_FORMAT when it is not a test object. */
int rp_test_from_json(const char *json, rp_test *t);

typedef struct rp_report {
    rp_run_info info;
    int complete;    /* the run-end record was found */
    int interrupted; /* the run-end record says the run was interrupted (SIGINT, SIGTERM, SIGHUP) */
    char stopped[1024]; /* the run-end record's reason the run stopped early ("" when it did not) */
    int ran;            /* tests that began (unfinished ones included); the rest are RP_NOT_RUN */
    double seconds;
    rp_test *tests; /* heap, ntests */
    int ntests;
    ota_trace_rec *recs; /* every record of the trace, heap */
    size_t nrecs;
    int bad_lines;          /* lines that did not decode */
    size_t not_loaded;      /* records past the cap that were left out (test records never are) */
    struct rp_compare *cmp; /* with a baseline (rp_report_compare), else NULL; owned */
} rp_report;

/*
 * Load a trace and rebuild the run from it. A test that began but never
 * ended (the run was killed) gets RP_UNFINISHED; a test the run-begin record
 * lists but that never began gets RP_NOT_RUN, so that every report of a run
 * cut short lists (and counts) every selected test. Tests come in the listed
 * order, any not listed first. err says what went wrong.
 */
int rp_report_load(const char *trace_path, rp_report **out, char *err, size_t errcap);
void rp_report_free(rp_report *r);

/*
 * One set of counts for every output of a run (terminal, HTML, JUnit):
 * total is every test listed, ran those that began.
 */
typedef struct {
    int total, ran;
    int pass, fail, na, unfinished, inconclusive, not_run;
    int waived;           /* failures a live waiver covers: not in fail */
    int warnings, warned; /* warnings, and passed tests that carry at least one */
} rp_counts;

rp_counts rp_report_counts(const rp_report *r);
/*
 * The run's outcome in one word: "INTERRUPTED", "STOPPED" (the run-end
 * record gives a reason), "FAILED" (a test failed or did not finish; under
 * worse, a test got worse than the baseline under --baseline-strict),
 * "UNFINISHED" (no run-end record), else "PASSED".
 */
const char *rp_report_outcome(const rp_report *r, int worse);
/* JUnit XML of a loaded report (system-out holds each test's trace slice). */
int rp_report_junit(const rp_report *r, const char *path);
/* The single-file HTML report. */
int rp_html_write(const rp_report *r, const char *path);

/* ---- the cost of an update, per fault kind (cost.c) ---- */
typedef struct {
    char fault[32]; /* "" for the tests without a fault */
    int tests;      /* tests that downloaded an image */
    double amp_sum, amp_min, amp_max;
    int retries;
    double report_sum; /* fault to report, summed over the tests that reported */
    int reported;
} rp_cost_kind;

/*
 * The cost of a slice of a trace read live (the suite's own, record by
 * record): the same measure as a loaded report's, for device `dev` of
 * platform `dialect` (NULL: aliyun), over the records at(ctx, i) for i in
 * [begin, end).
 */
void rp_cost_of_records(const char *dialect, const char *dev,
                        const ota_trace_rec *(*at)(void *ctx, size_t i), void *ctx, size_t begin,
                        size_t end, rp_cost *out);

/* The tests of r that downloaded an image, grouped by their first fault's kind; how many kinds. */
int rp_cost_kinds(const rp_report *r, rp_cost_kind *out, int cap);
/* One line: "http-reset: 1.00x the image, 1.0 retries per test, 2.1 s from the fault ...". */
void rp_cost_kind_text(const rp_cost_kind *k, char *buf, size_t cap);

/* ---- this run against an earlier one of the same device (baseline.c) ---- */
typedef enum {
    RP_METRIC_VERDICT = 0,
    RP_METRIC_MESSAGES,
    RP_METRIC_BYTES,
    RP_METRIC_REQUESTS,
    RP_METRIC_RETRIES,
    RP_METRIC_TIME,
    RP_METRIC__COUNT
} rp_metric;

const char *rp_metric_name(rp_metric m);

/*
 * How far a figure may move before it is a difference. bytes: percent of the
 * image size; messages, requests, retries: counts; time: seconds. A change
 * must be larger than its threshold; a verdict change always counts.
 */
typedef struct {
    double v[RP_METRIC__COUNT];
} rp_thresholds;

void rp_thresholds_default(rp_thresholds *th);
/* "NAME=VALUE" (bytes=25, messages=5, ...); RP_ERR_ARG for an unknown name or a bad value. */
int rp_thresholds_set(rp_thresholds *th, const char *spec);

/* One test in either run, and how it changed. */
typedef struct {
    char group[48];
    char name[96];
    int before, now;  /* the test's index in each run; -1: not in that run */
    unsigned changed; /* a bit per rp_metric past its threshold */
    unsigned worse;   /* those of them that got worse */
    char text[640];   /* the changes, in words; "" when none */
} rp_diff;

typedef struct rp_compare {
    rp_report *before; /* the baseline run; owned */
    char path[512];    /* the baseline trace */
    rp_thresholds th;
    int strict;    /* --baseline-strict: a test that got worse fails in JUnit */
    rp_diff *rows; /* this run's tests in order, then those only the baseline has */
    int nrows;
    int changed, worse; /* rows with a change, with one that got worse */
} rp_compare;

/* A test's figure for metric m (the verdict as a rank: 0 pass or N/A, 1 inconclusive, 2 fail). */
double rp_metric_value(const rp_test *t, rp_metric m);
/*
 * Compare r with the run recorded in baseline_trace and keep the result in
 * r->cmp (JUnit and HTML show it). err says what went wrong: RP_ERR_IO or
 * RP_ERR_FORMAT for a baseline that is no readable trace.
 */
int rp_report_compare(rp_report *r, const char *baseline_trace, const rp_thresholds *th, int strict,
                      char *err, size_t errcap);
/* The differences of r->cmp as lines for a terminal (nothing without a baseline). */
void rp_compare_print(const rp_report *r, FILE *f);
/* The row of r->cmp for this run's test i, or NULL. */
const rp_diff *rp_compare_row(const rp_report *r, int i);

/*
 * Before a run writes `path` (what: "JUnit report", "HTML report", "trace"):
 * make its missing parent folders and check that it can be written, leaving
 * an existing file as it is and no new one behind. RP_ERR_IO (RP_ERR_ARG for
 * no path) with err saying which file and why (strerror).
 */
int rp_output_prepare(const char *what, const char *path, char *err, size_t errcap);

/* Write the run as one JUnit XML document. RP_ERR_IO when the file can not be written. */
int rp_junit_write(const rp_run *run, const char *path);
/* XML-escape text into out (cap bytes), replacing characters XML 1.0 forbids. */
void rp_xml_escape(const char *in, char *out, size_t cap);
/* Write text XML-escaped to f (JUnit and HTML share it). */
void rp_xml_put(FILE *f, const char *s);

#endif
