/*
 * The conformance runner's shared helpers: the run context, verdicts that
 * cite judging.md rules, deadline-bound waits on the trace, and the upgrade
 * helper the test groups use. Tests judge what the device sent; they never
 * sleep for a fixed time. Each section below names the file that holds it.
 *
 * Return convention: a function that does something returns 0 on success
 * and -1 on failure (the reason in its err buffer, or in the test's
 * verdict); one that looks for a trace record returns its index, -1 when
 * there is none. A function that answers a question (a ct_pred, or a name
 * that asks it: ct_is_, ct_job_of_test, ct_rule_of_dialect) returns 1 for
 * yes and 0 for no.
 */
#ifndef CT_H
#define CT_H

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "otadut/dut.h"
#include "otadut/profile.h"
#include "otamock/mock.h"
#include "otaproto/dialect.h"
#include "otaproto/limits.h"
#include "otareport/report.h"

/* A bound of the protocol's table (otaproto/limits.h), in seconds before --time-scale. */
#define CT_S(id) ota_bound_s(OTA_BOUND_##id)

/* ---- rules (rules.c) ---- */
typedef enum { CT_MUST = 0, CT_SHOULD } ct_tier;

typedef struct {
    const char *id;
    ct_tier tier;
    int compat;
    const char *text;
    const char *source; /* the spec section behind it */
    const char *needs;  /* a run feature the rule needs ("tls"), or NULL */
} ct_rule;

/* Parse the built-in catalogue (conformance/requirements/aliyun.json); -1 with err when bad. */
int ct_rules_load(char *err, size_t errcap);
/*
 * Add dialect d's own rules and its N/A reasons (requirements/<name>.json,
 * built in); nothing for Aliyun. -1 with err when the file is bad.
 */
int ct_rules_load_dialect(const ota_dialect *d, char *err, size_t errcap);
/* Why a test (by group and name) cannot be judged in the loaded dialect; NULL when it can. */
const char *ct_test_na(const char *group, const char *name);
/*
 * Why a test's pushes carry the loaded dialect's documented value types
 * (ThingsPanel: numeric code and size, the digest in sign) instead of a stock
 * server's; NULL when they carry the cloud's own (ct_spec_init decides).
 */
const char *ct_test_documented(const char *group, const char *name);
/* Why rule id does not apply in the loaded dialect; NULL when it does. */
const char *ct_rule_na(const char *id);
/* Whether rule id was added by a dialect (it needs no test in the Aliyun catalogue's check). */
int ct_rule_of_dialect(const char *id);

const ct_rule *ct_rule_find(const char *id);
/* The i-th rule of the catalogue, NULL past the end. */
const ct_rule *ct_rule_at(size_t i);
const char *ct_tier_name(ct_tier t);

/* ---- tests (the groups: t_*.c; a scenario row: engine.c; the catalogue: catalogue.c) ---- */
typedef struct {
    const char *name;
    const char *group;
    void (*fn)(void **state);
    const char *rules; /* space-separated IDs the test checks */
    const char *arg;   /* for table-driven tests: a fault plan's name */
} ct_case;

/*
 * A row run by the engine (engine.h): the scenario file `plan` names the
 * test, its group and its rules in its expect block (docs/scenarios.md).
 */
/* clang-format off */
#define CT_SCENARIO(plan) {.arg = (plan)}
/* clang-format on */

/* The running test's case (its arg). */
#define CT_CASE(state) ((const ct_case *)*(state))

typedef struct {
    const char *name;
    const ct_case *cases;
    size_t ncases;
} ct_group;

extern const ct_group ct_group_security, ct_group_version, ct_group_push, ct_group_final,
    ct_group_failure, ct_group_download, ct_group_blocks, ct_group_power, ct_group_image;
/* The ThingsPanel dialect's own tests (t_dialect.c), in the catalogue only in that dialect. */
extern const ct_group ct_group_thingspanel;

/* ---- the run (the context ct: verdict.c; the live wait: live.c) ---- */
typedef struct {
    mc_cloud *cloud;
    dut_adapter *dut;
    mc_device_info dev;
    char scenarios[4096]; /* fixtures/scenarios: fault plans as data */
    double scale;         /* --time-scale */
    int strict;
    int auth_off;               /* --auth off: logins are not checked */
    int tls;                    /* --tls: MQTTS and HTTPS with the test CA */
    const ota_dialect *dialect; /* --dialect: topics and success rule of the device's platform */
    int verbose;
    int version_seq; /* for fresh target versions */
    size_t image_size;
    long long block_size; /* what the device asks per MQTT block; 0 until a block test saw it */
    /*
     * Push kinds (ct_push_kind) learned over the run: the device acted on one
     * of that kind (handled), or let one pass without any reaction where
     * judging.md allows it (ignored: the rest of its tests are N/A at once).
     */
    unsigned kinds_handled, kinds_ignored;

    /* the device: how we meet it */
    const char *adapter;   /* "reference", "process", "serial", "network" */
    int boot_by_connect;   /* a boot is seen as a new MQTT connection (serial, network) */
    int can_reset;         /* the suite can reboot it (process, or a reset method) */
    int module_fixed;      /* its module is built in (compiledIn): never run as another */
    int power_cut;         /* dut_restart cuts its power: SIGKILL, or a board's powerCycleCommand */
    const char *state_dir; /* a process device's OTA_STATE_DIR (its flash), NULL for others */
    dut_bounds bounds;     /* time bounds from the profile, before --time-scale */
    int version_major;     /* target versions are <major>.0.N, above what the device runs */

    char module_saved[OTA_MAX_MODULE + 1]; /* the profile's module while a test switched it */

    char refused[OTA_TRACE_MAX_INFO +
                 1]; /* the broker refused the device's login: every test fails on SEC-1 */

    /* the running test */
    size_t crash_warned; /* the crash record (index + 1) a SHOULD rule warned about; 0: none */
    int jobs[64];        /* the jobs it created: a download for another is late, never judged */
    long long streams[64];
    int njobs;
    rp_test *cur;
    size_t t_begin; /* trace index where it began */
    double t_start;
} ct_ctx;

extern ct_ctx ct;
/* Set by SIGINT/SIGTERM: the running test ends unfinished at its next wait, no other starts. */
extern volatile sig_atomic_t ct_interrupted;

/*
 * The runner's side of a long wait (live.c): a wait of at least
 * CT_LIVE_STILL_S seconds is announced with its length and the rule it
 * waits for (NULL: none), and ended with secs 0; without a terminal the
 * runner prints "still waiting for FINAL-1 ...: 30 s of 60" every
 * CT_LIVE_STILL_S while it lasts.
 */
#define CT_LIVE_STILL_S 15.0
void ct_live_wait(double secs, const char *rule);

/* ---- verdicts and evidence (verdict.c) ---- */
/* Seconds scaled by --time-scale. */
double ct_secs(double s);

/*
 * Verdicts. ct_check records a violation of rule when !ok: a MUST (or any
 * rule under --strict) fails the test at once; a SHOULD records a warning
 * and the test goes on. Messages say what was expected and what came.
 */
void ct_check(const char *rule, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ct_fail(const char *rule, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The rule does not apply to this device: the test is N/A with the reason. */
void ct_na(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The test could not create its situation for a reason that is not the
 * device's fault (the push never reached it): inconclusive, with the reason.
 */
void ct_inconclusive(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Describe a trace record for a message: topic, payload, time since the test
 * began. A failure whose message quotes the description names that record
 * as its evidence (by index), and the report outlines it.
 */
void ct_describe(size_t idx, char *buf, size_t cap);

/* ---- waiting on the trace, and lateness (trace_match.c) ---- */
/*
 * A question about trace record i (r is that record): 1 when it matches.
 * The index lets a predicate look back from the record (a boot seen as a
 * connect, a late download request); arg is the predicate's own.
 */
typedef int (*ct_pred)(const ota_trace_rec *r, size_t i, void *arg);

/*
 * The index of the first record at or after `from` that pred accepts,
 * waiting until the (scaled) timeout; -1 when none came. A device crash seen
 * on the way breaks the running test's first rule through its tier (a MUST
 * fails the test, a SHOULD warns once), with the exit status and last log lines.
 */
long ct_find(size_t from, double timeout_s, ct_pred pred, void *arg);
/*
 * Wait until nothing pred accepts has come for quiet_s (each match starts
 * the window again), at most max_s in all; the trace count at the end.
 */
size_t ct_quiet(size_t from, double quiet_s, ct_pred pred, void *arg, double max_s);
/* Like ct_find, but without waiting: scan what is there up to `to`. */
long ct_scan(size_t from, size_t to, ct_pred pred, void *arg);

/* Predicates on device messages. */
int ct_is_inform(const ota_trace_rec *r, size_t i, void *arg);
/* The device is up: its version report, or its connect in a dialect that has no report. */
int ct_is_up(const ota_trace_rec *r, size_t i, void *arg);       /* arg: version or NULL */
int ct_is_progress(const ota_trace_rec *r, size_t i, void *arg); /* arg: NULL */
/* Any progress message of the device, a late one too (VER-4 counts every message of a boot). */
int ct_is_progress_any(const ota_trace_rec *r, size_t i, void *arg);
int ct_is_fail_step(const ota_trace_rec *r, size_t i, void *arg);
int ct_is_start(const ota_trace_rec *r, size_t i, void *arg); /* a device (re)start */
int ct_is_http(const ota_trace_rec *r, size_t i, void *arg);  /* arg: NULL */
/* The broker refused our device's login; denied it a topic. */
int ct_is_refused(const ota_trace_rec *r, size_t i, void *arg);
int ct_is_denied(const ota_trace_rec *r, size_t i, void *arg);
int ct_is_connect(const ota_trace_rec *r, size_t i, void *arg); /* the broker let our device in */
/* A message from our device on a topic ending in arg (e.g. "/thing/file/download"). */
int ct_is_uplink(const ota_trace_rec *r, size_t i, void *suffix);
int ct_is_get(const ota_trace_rec *r, size_t i, void *arg); /* an HTTP GET of the file server */
/* 1 when job is one the running test created (a request for another is late). */
int ct_job_of_test(int job);

/* Parse a progress record's step into *step: 0; -1 when it has none we can read. */
int ct_step_of(const ota_trace_rec *r, int *step);

/* ---- boots and settling (boot.c) ---- */
/* Wait until the device reported its version since its last start (restarting it once). */
int ct_settle(void);
/*
 * Power-cycle the device and wait for it to start; the index of the start
 * record. A device the suite cannot reset (network, serial without a reset
 * method) is not touched: the index of its last boot.
 */
long ct_reboot(void);
/*
 * For a device the suite cannot reboot: when the boot record s is the first
 * connect of the run and no version report followed, the suite never saw it
 * boot (it was running and reconnected): the test ends inconclusive.
 */
void ct_need_seen_boot(long s, const char *rule);
/* "a power cycle", or what the suite judges instead for a device it cannot reboot. */
const char *ct_boot_words(void);
/*
 * A fresh connection: a reboot where the suite can cause one, else the
 * broker drops the device (with the plugin) and it connects again. The
 * index of the record from which to look for what the device does at
 * connect; -1 when neither is possible or it did not come back.
 */
long ct_reconnect(void);
/*
 * Before the first test: wait for the device to come up (its first version
 * report). 0 when it did; -1 with a sentence in err saying what it did
 * instead (crashed at every boot, never connected, ...).
 */
int ct_first_boot(char *err, size_t errcap);

/*
 * Module rules are judged under a non-default module too, where the device
 * takes its module from the suite (a process device: OTA_MODULE): the
 * device is restarted with `module` and the cloud told. 0 when switched
 * (ct_module_restore undoes it, the runner calls it after every test); -1
 * for a device whose module is burnt in (compiledIn, or one the suite
 * cannot restart), or one switched already.
 */
int ct_module_switch(const char *module);
void ct_module_restore(void);
/* While switched: a clause for a module rule's failure text saying how; "" otherwise. */
const char *ct_module_hint(void);

/* ---- what every test gets (sweep.c) ---- */
/*
 * After a test's own checks, for a test that passed so far: the first
 * request of each of its jobs (DL-4), and hot loops over its requests
 * (FAIL-B) and its progress (PROG-5) where the test does not judge them
 * itself. Verdicts as ct_check gives them.
 */
void ct_sweep(void);
/*
 * For a test that failed: its hot loops (FAIL-B, PROG-5) as warnings beside
 * the failure, which stands. The runner calls it as the test ends.
 */
void ct_sweep_failed(void);

/*
 * DL-4 on the first download request of a job: byte 0, or the end of a kept
 * partial download of an image with the same version, size and digest.
 */
void ct_check_first_request(int job);

/* ---- power loss (t_power.c) ---- */
/* Cut points per power test at most; a longer table is sampled (README, "Power loss"). */
#define CT_PWR_MAX_CUTS 12
/* After every test: stop a power test's watcher, however the test ended. */
void ct_power_teardown(void);

/* ---- upgrades (attempt.c) ---- */
typedef enum {
    CT_UP_SUCCEEDED = 0, /* inform with the target version */
    CT_UP_FAILED,        /* a negative step */
    CT_UP_OTHER_VERSION, /* rebooted and reported another version */
    CT_UP_SILENT_BOOT,   /* rebooted and reported nothing within VER-1's bound */
    CT_UP_NOT_STARTED,   /* no download, no progress, no reboot within PUSH-1's 10 s */
    CT_UP_TIMEOUT,       /* none of these before the deadline */
    CT_UP_DOWNLOADED     /* step "100", then no new version before the deadline (FINAL-1) */
} ct_outcome;

typedef struct {
    int job;
    mc_job_info info;
    char from_version[OTA_MAX_VERSION + 1];
    size_t push_at;
    size_t reached_at; /* where the push last reached the device: push_at, or the boot after
                          which the cloud delivered it again (a reboot of the device's own) */
    long end_at;       /* the record that ended the attempt */
    ct_outcome outcome;
    int step;                           /* the negative step, when FAILED */
    char reported[OTA_MAX_VERSION + 1]; /* the version, when OTHER_VERSION */
    int unusable; /* a push the device cannot use (FAIL-1): "-1" is its answer, judged */
} ct_attempt;

/*
 * VER-6 after a successful upgrade (sweep.c; ct_await calls it), for a
 * device with image-digest: STATUS image= is the SHA-256 of the job's
 * image. The power group judges it as PWR-2 itself.
 */
void ct_check_image_after(const ct_attempt *a);

/* The outcome in words, for failure messages. */
const char *ct_outcome_text(const ct_attempt *a);

/* A job spec for this device with a fresh target version and the default image. */
void ct_spec_init(mc_job_spec *s, char *version, size_t cap);
/*
 * Apply a fault plan of fixtures/scenarios (fault and transport); fails the
 * test if unreadable. Returns the plan's one-line description.
 */
const char *ct_spec_scenario(mc_job_spec *s, const char *name);
/*
 * Upgrade under fault plan `plan` (a fresh version, the default image, 60 s):
 * `where` gets the record that ended the attempt ("" when none). Returns the
 * plan's description for messages.
 */
const char *ct_upgrade_plan(ct_attempt *a, const char *plan, char *where, size_t cap);
/* Progress checks over an attempt: PROG-4 (no decrease) and PROG-5 (3 s spacing). */
void ct_check_progress_pace(size_t from, size_t to);
/* Create and push the job; fails the test when the cloud refuses. */
void ct_push(ct_attempt *a, const mc_job_spec *s);
/*
 * Wait for the outcome: a negative step, an inform of the target version,
 * or a reboot after which the device reports another version or nothing.
 */
void ct_await(ct_attempt *a, double timeout_s);
/*
 * A test that needs the upgrade to complete calls this first: a device that
 * downloaded (step "100") but never reported the target version fails
 * FINAL-1, the rule it broke, whatever else the test checks (some devices
 * only download).
 */
void ct_final_reported(const ct_attempt *a);
/*
 * A device that showed no reaction to a push: when the push provably did not
 * reach it (it was offline, or a broker without our plugin), the test ends
 * inconclusive with the reason. Returns when the push may have reached it.
 */
void ct_check_push_reached(const ct_attempt *a);
/*
 * A device seen only on the network that drops its connection after the
 * push (within a moment; the cloud did not drop it) has crashed on it, as a
 * process that exits non-zero: rule is broken through its tier (a MUST
 * fails the test, a SHOULD warns), as a crash the adapter sees is.
 */
void ct_check_not_crashed(const ct_attempt *a, const char *rule, const char *what);
/* The first progress step "100" at or after record from (late ones excluded), or -1. */
long ct_hundred_since(size_t from);
/* Push and await in one go. */
void ct_upgrade(ct_attempt *a, const mc_job_spec *s, double timeout_s);
/* The version the device runs now, asked by STATUS when it can, else by a reboot. */
void ct_running_version(char *buf, size_t cap);
/* The image= of a STATUS reply ("" when none); -1 when the channel did not answer by READY's bound.
 */
int ct_status_image(char *buf, size_t cap);

#endif
