/*
 * What the harness's four files share and the tests must not see:
 * verdict.c (verdicts and evidence), trace_match.c (predicates, waits and
 * lateness), boot.c (boots and settling) and attempt.c (the upgrade
 * attempt). Tests include ct.h only.
 *
 * Return convention, as in ct.h: a function that does something returns 0
 * on success and -1 on failure, the reason in its err buffer, in ct.refused
 * or in the test's verdict; one that looks for a trace record returns its
 * index, -1 when there is none. A function that answers a question (a
 * ct_pred, or a name that asks it: is_, has_, was_) returns 1 for yes and
 * 0 for no.
 */
#ifndef HARNESS_INT_H
#define HARNESS_INT_H

#include "ct.h"

/* ---- state the files share (each field says who writes it and who reads it) ---- */
typedef struct {
    /*
     * The test whose long wait is announced already: attempt.c's ct_await
     * announces its whole bound, and trace_match.c's ct_find does not
     * announce the waits inside it. A test's end by longjmp leaves it set,
     * to no harm.
     */
    const rp_test *wait_announced;
} ct_harness_state;

extern ct_harness_state ct_harness; /* defined in trace_match.c */

/* ---- verdict.c ---- */
/*
 * SIGINT or SIGTERM came: the running test ends here, marked unfinished;
 * outside a test it returns and the wait just ends.
 */
void ct_end_if_interrupted(void);

/* ---- trace_match.c ---- */
/* A device record's text after its event's name ("crash: <status>" gives the status). */
const char *ct_dut_text(const ota_trace_rec *r);
/* A record of the device adapter (start, exit, crash, killed) of event e. */
int ct_is_dut_event(const ota_trace_rec *r, ota_trace_event e);
/* The broker let our device in, or saw it go. */
int ct_is_connect_rec(const ota_trace_rec *r);
int ct_is_disconnect_rec(const ota_trace_rec *r);
/* The cloud dropped the device's connection (a kick, a session fault, a broker restart). */
int ct_is_cloud_drop(const ota_trace_rec *r);
/* A download request of the device: *job is the job its URL names, or *stream the stream. */
int ct_is_request(const ota_trace_rec *r, int *job, long long *stream);
/* A block stream of a job the running test created. */
int ct_is_stream_of_test(long long stream);
/* The rule a wait of timeout_s seconds stands for, for the runner's messages; NULL: none. */
const char *ct_wait_rule(double timeout_s);

#endif
