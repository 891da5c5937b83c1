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
 */
typedef enum {
    RP_PASS = 0,
    RP_FAIL,
    RP_NA,
    RP_UNFINISHED,
    RP_INCONCLUSIVE,
    RP_VERDICT__COUNT
} rp_verdict;

const char *rp_verdict_name(rp_verdict v);

#define RP_MAX_WARNINGS 8

typedef struct {
    char rule[16];
    char text[512];
} rp_warning;

typedef struct {
    char name[96];
    char group[48];
    char rules[128]; /* the rule IDs the test cites, space-separated */
    char tiers[128]; /* their tiers, in the same order */
    rp_verdict verdict;
    char failed_rule[16];
    char message[2048]; /* failure explanation, or the N/A reason */
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
} rp_test;

typedef struct {
    const char *suite;     /* "ota-conformance" */
    const char *device;    /* device name */
    const char *timestamp; /* ISO 8601 */
    double seconds;
    const rp_test *tests;
    int ntests;
    const char *dialect; /* the device's platform; NULL or "aliyun" (the default) is not named */
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

typedef struct {
    rp_run_info info;
    int complete; /* the run-end record was found */
    double seconds;
    rp_test *tests; /* heap, ntests */
    int ntests;
    ota_trace_rec *recs; /* every record of the trace, heap */
    size_t nrecs;
    int bad_lines;     /* lines that did not decode */
    size_t not_loaded; /* records past the cap that were left out (test records never are) */
} rp_report;

/*
 * Load a trace and rebuild the run from it. A test that began but never
 * ended (the run was killed) gets RP_UNFINISHED. err says what went wrong.
 */
int rp_report_load(const char *trace_path, rp_report **out, char *err, size_t errcap);
void rp_report_free(rp_report *r);
/* JUnit XML of a loaded report (system-out holds each test's trace slice). */
int rp_report_junit(const rp_report *r, const char *path);
/* The single-file HTML report. */
int rp_html_write(const rp_report *r, const char *path);

/* Write the run as one JUnit XML document. RP_ERR_IO when the file can not be written. */
int rp_junit_write(const rp_run *run, const char *path);
/* XML-escape text into out (cap bytes), replacing characters XML 1.0 forbids. */
void rp_xml_escape(const char *in, char *out, size_t cap);
/* Write text XML-escaped to f (JUnit and HTML share it). */
void rp_xml_put(FILE *f, const char *s);

#endif
