/*
 * libotareport: turns a run's results into reports. For now JUnit XML,
 * written by our own small writer so that several groups still make one
 * valid document. It reads results only; it never talks to the cloud.
 */
#ifndef OTAREPORT_REPORT_H
#define OTAREPORT_REPORT_H

#include <stddef.h>

typedef enum { RP_PASS = 0, RP_FAIL, RP_NA, RP_VERDICT__COUNT } rp_verdict;

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
    char *system_out; /* heap; the test's slice of the trace, or NULL */
} rp_test;

typedef struct {
    const char *suite;     /* "ota-conformance" */
    const char *device;    /* device name */
    const char *timestamp; /* ISO 8601 */
    double seconds;
    const rp_test *tests;
    int ntests;
} rp_run;

typedef enum { RP_OK = 0, RP_ERR_ARG, RP_ERR_IO } rp_err;

/* Write the run as one JUnit XML document. RP_ERR_IO when the file can not be written. */
int rp_junit_write(const rp_run *run, const char *path);
/* XML-escape text into out (cap bytes), replacing characters XML 1.0 forbids. */
void rp_xml_escape(const char *in, char *out, size_t cap);

#endif
