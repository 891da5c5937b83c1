/*
 * Tests as data: a fault plan in fixtures/scenarios/ with an `expect` block
 * (docs/scenarios.md) is a test. The catalogue (catalogue.c) reads the
 * blocks and places each test in its group; the engine (engine.c) runs it:
 * push under the plan, await the outcome, check each part of the
 * expectation against the rule it names.
 *
 * Returns as in ct.h: 0, or -1 with err; ct_expect_parse has a third
 * answer (1: the file holds an expect block), and counts are counts.
 */
#ifndef CT_ENGINE_H
#define CT_ENGINE_H

#include "ct.h"

#define CT_EXPECT_MAX_STEPS 4

typedef enum { CT_EXPECT_SUCCESS = 0, CT_EXPECT_FAILURE } ct_expect_outcome;

/* The version the device must run afterwards, beyond what the outcome shows. */
typedef enum {
    CT_EXPECT_VERSION_ANY = 0,   /* not checked (success: the target report is the outcome) */
    CT_EXPECT_VERSION_OLD,       /* the version it ran before the push */
    CT_EXPECT_VERSION_NOT_TARGET /* anything but the pushed version */
} ct_expect_version;

typedef struct {
    char plan[64];  /* the scenario's name (its file name without .json) */
    char test[64];  /* the test it is */
    char group[32]; /* the group it belongs to */
    char rules[96]; /* the rules it cites, space-separated: outcome, step, version, retries */
    mc_scenario sc; /* the fault plan */
    ct_expect_outcome outcome;
    int steps[CT_EXPECT_MAX_STEPS]; /* failure steps allowed; none listed: any */
    int nsteps;
    int silence; /* ignoring the push is allowed (FAIL-1: a push it cannot use) */
    ct_expect_version version;
    int retries;            /* at most this many requests for the file; -1: not checked */
    int tries_downloads;    /* retries counts complete downloads, not requests ("tries") */
    ota_bound_id bound;     /* how long the attempt may take */
    ota_digest_kind digest; /* the push's digest ("push": {"digest": "sha256"}) */
    double max_amp;         /* "maxAmplification": bytes downloaded / image size; 0: none */
    char rule_outcome[16], rule_step[16], rule_version[16], rule_retries[16];
} ct_expect;

/*
 * Parse a scenario file's text. 1 when it holds an `expect` block (out
 * filled), 0 when it is a plain fault plan, -1 with err when either is bad.
 */
int ct_expect_parse(const char *json, size_t len, ct_expect *out, char *err, size_t errcap);

/*
 * Build the catalogue: the groups' tables, their rows that name a scenario
 * filled from its file, and every other scenario with an expect block
 * appended to its group (a new group after the others), in file-name order.
 * -1 with err when a file or a row is bad.
 */
int ct_catalogue_load(const char *scenarios, char *err, size_t errcap);
size_t ct_catalogue_ngroups(void);
const ct_group *ct_catalogue_group(size_t i);
/* The expectation of scenario `plan`, NULL when it has none. */
const ct_expect *ct_catalogue_expect(const char *plan);

/*
 * A scenario attempt over MQTT blocks (t_blocks.c): images sized from the
 * device's block size; the plan's description.
 */
const char *ct_blocks_attempt(ct_attempt *a, mc_job_spec *s, char *v, size_t cap,
                              const ct_expect *e);

/* The CMocka body of every scenario row: runs the case's plan (arg) against its expectation. */
void ct_engine_run(void **state);

/*
 * The download requests for this test's jobs in [from, to): how many (the
 * ones the cloud counted instead of storing included), the shortest gap
 * between stored ones and their span in seconds.
 */
int ct_count_requests(size_t from, size_t to, double *min_gap, double *span);

#endif
