/*
 * The runner's own state, shared by its files: the command line (cli.c), the
 * live terminal output (live.c), the run's set-up (setup.c) and the runner
 * itself (runner.c, serial and --jobs). One ct_run is passed between them;
 * the harness's state for the running test stays in ct (ct.h).
 *
 * Returns as in ct.h: 0, or -1 with err (or said on stderr where a function
 * says so); ct_cli_parse and ct_setup_device have named codes of their own
 * (CT_CLI_*, CT_SETUP_NEVER_UP).
 */
#ifndef CT_RUN_PRIV_H
#define CT_RUN_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdio.h>

#include "boards.h"
#include "ct.h"
#include "dut_setup.h"

#define CT_MAX_TESTS 256

/* The command line, as parsed; use_profile fills in what the profile says (tls, scale). */
typedef struct {
    const char *dut_cmd;
    const char *junit;
    const char *html;
    const char *trace;
    const char *only;
    const char *device;
    const char *devices[CT_MAX_BOARDS]; /* every --device, in order (several: several boards) */
    int ndevices;
    const char *lab; /* --lab FILE: the boards of a lab */
    const char *fixtures;
    const char *broker;
    const char *cloud;
    const char *auth;
    const char *dialect; /* --dialect, else the profile's, else aliyun */
    int list, quiet, strict, requirements, tls;
    int jobs;
    int netns; /* --netns: each device instance in a network namespace of its own (netns.c) */
    const char *certs;
    const char *baseline; /* --baseline: the trace of an earlier run */
    const char *waivers;  /* --waivers FILE (waivers.h) */
    int baseline_strict, thresholds_set;
    rp_thresholds thresholds; /* --baseline-threshold, over the defaults */
    double scale;
    ct_overrides dev; /* what the command line says about the device */
} ct_options;

/*
 * Live status on a terminal: the running test, its elapsed time and the
 * count, redrawn by a ticker thread. Without a terminal (CI) there is only
 * one line per finished test; when quiet, none.
 */
typedef struct {
    int tty, quiet, total, running, done;
    char name[160];
    double start;
    double last_line; /* when the last line was printed (no terminal: "still ..." lines) */
    int ticking;      /* the ticker thread runs */
    int inflight;     /* tests begun and not ended (several with --jobs) */
    pthread_mutex_t lock;
    pthread_t ticker;
} ct_live;

/* One run of the suite: what was asked, what was selected, what came. */
typedef struct {
    ct_options opt;
    dut_profile prof;                 /* the device profile with the command line's overrides */
    const ct_case *sel[CT_MAX_TESTS]; /* the tests --only selects, in catalogue order */
    size_t nsel;
    rp_test results[CT_MAX_TESTS];
    int nresults;
    int is_worker; /* a --jobs worker process */
    ct_live live;
    ct_boards boards;       /* several boards at once (boards.c); boards.n < 2: one device */
    const char *board_name; /* a board's worker: the board its results name */
} ct_run;

/* Where one run (or one --jobs worker) keeps its files, and the device's environment. */
typedef struct {
    char fixtures[PATH_MAX];
    char devices[PATH_MAX + 16];
    char profile[PATH_MAX + 32];
    char state_dir[64];
    char scratch[64];
    char trace[PATH_MAX];
    char cmd[PATH_MAX + 64];
    char certs[PATH_MAX];
    char env[16][PATH_MAX];
    const char *envp[17];
} ct_paths;

/* ---- cli.c: the command line and the catalogue ---- */
enum { CT_CLI_RUN = 0, CT_CLI_HELP = 1, CT_CLI_BAD = -1 };
/* Fill o from argv; CT_CLI_HELP after printing --help, CT_CLI_BAD after saying why. */
int ct_cli_parse(ct_options *o, int argc, char **argv);
/* The fixtures folder: --fixtures, else $OTA_FIXTURES, else the source tree's. */
const char *ct_cli_fixtures(const ct_options *o);
/*
 * Load the rule catalogue and the test catalogue (catalogue.c: the groups'
 * tables and the scenario files of the fixtures folder with an expect
 * block); -1 (said on stderr) when a file is bad, a rule has no test or a
 * test cites an unknown one.
 */
int ct_cli_check_catalogue(const ct_options *o);
/* Without --dialect, the dialect a --device profile names (the catalogue depends on it). */
int ct_cli_profile_dialect(ct_options *o);
void ct_cli_list(const ct_options *o);
void ct_cli_requirements(void);
/*
 * The tests o->only selects, in catalogue order, into r->sel. A pattern
 * that selects nothing is said on stderr, with the names it may have meant.
 */
void ct_cli_select(ct_run *r);
/* The test that judges VER-1: the first selected one citing it, else the catalogue's. */
const ct_case *ct_cli_ver1_case(const ct_run *r);

/* ---- live.c: what the terminal shows ---- */
void ct_live_init(ct_live *l);
void ct_live_start(ct_live *l, int quiet, int total);
void ct_live_stop(ct_live *l);
void ct_live_begin(ct_live *l, const rp_test *t);
void ct_live_result(ct_live *l, const rp_test *t);
/*
 * The last line of a run, from the reports' own counts (rp_report_counts) and
 * its outcome word, which agrees with the exit status: PASSED 0, FAILED 1,
 * STOPPED 3, INTERRUPTED 130. rep NULL: the reports could not be built.
 */
void ct_live_summary(const ct_run *r, const rp_report *rep, int worse, int status);
/* ct_live_wait (ct.h): the harness's long waits, for the "still waiting" lines. */

/* ---- setup.c: the run's cloud, device, trace records and reports ---- */
/* Paths, the device profile, temporary folders and the device command; nothing started. */
int ct_setup_prepare(ct_run *r, ct_paths *p, char *err, size_t errcap);
/*
 * Make the missing folders of --junit, --html and --trace and check that each
 * can be written, before the first test; -1 with err naming the file and why.
 */
int ct_setup_check_outputs(const ct_run *r, char *err, size_t errcap);
/* The cloud (and its broker); the device's environment. */
int ct_setup_cloud(ct_run *r, ct_paths *p, char *err, size_t errcap);
/*
 * The device, up to its first boot: -1 when it cannot be started (err),
 * CT_SETUP_NEVER_UP when it started but never came up (err: what it did,
 * with its last log lines; VER-1's failure).
 */
#define CT_SETUP_NEVER_UP (-2)
int ct_setup_device(ct_run *r, ct_paths *p, char *err, size_t errcap);
/* Both: ct_setup_cloud, then ct_setup_device (its return). */
int ct_setup_start(ct_run *r, ct_paths *p, char *err, size_t errcap);
/* The run-begin record's JSON (rp_run_info, with the selected tests); heap, the caller frees. */
char *ct_setup_run_begin_json(const ct_run *r, const ct_paths *p, const char *broker, int auth_off);
/* The run-end record's JSON (interrupted, and why the run stopped early); heap, the caller frees.
 */
char *ct_setup_run_end_json(double secs, const char *fw_after, const char *stopped);
void ct_setup_trace_run_begin(const ct_run *r, const ct_paths *p);
void ct_setup_trace_run_end(double secs, const char *stopped);
/* What the broker checks, for the run-begin record: TLS, logins, topics. */
const char *ct_setup_checks_text(const ct_run *r);
/*
 * JUnit and HTML from the trace, through the same code as ota-report, and
 * with --baseline the comparison (printed, and in both reports). *worse:
 * tests got worse than the baseline under --baseline-strict. *rep: the
 * loaded run for the summary (the caller frees it; NULL when the trace
 * could not be read). -1 when a report could not be written (said why).
 */
int ct_setup_write_reports(const ct_run *r, const char *trace, rp_report **rep, int *worse);
/* Stop the device and the cloud and remove the run's temporary folders. */
void ct_setup_teardown(ct_paths *p);

/* ---- boards.c: several boards at once ---- */
/*
 * The boards of --lab or of several --device options into r->boards; with
 * more than one, the options name the first (the run's profile until each
 * worker takes its own). 0, or -1 after saying why on stderr.
 */
int ct_boards_prepare(ct_run *r);
/* In board k's worker: its profile, port, ports and identity into r->opt. */
void ct_boards_apply(ct_run *r, int k);
/* The adapter's events: a port that vanished and did not come back is a board gone. */
void ct_boards_note_event(int dut_event, const char *text);
/* 1 with the reason when this worker's board is gone (its port never came back). */
int ct_boards_lost(char *why, size_t cap);

/* ---- netns.c: --netns ---- */
/* Move this process into a new network namespace with its loopback up; -1 with one sentence. */
int ct_netns_enter(char *err, size_t cap);
/* Whether ct_netns_enter can work here (tried in a child); -1 with the sentence. */
int ct_netns_check(char *err, size_t cap);

/* ---- runner.c: running the selected tests ---- */
/*
 * SIGINT, SIGTERM and SIGHUP end the running test as unfinished; blocked
 * until the runner waits.
 */
void ct_runner_catch_signals(void);
/* The tiers of a space-separated list of rule IDs ("MUST SHOULD(compat)"). */
void ct_runner_tiers(const char *rules, char *out, size_t cap);
/* Serial, or with --jobs N side by side; the exit status of ota-conformance. */
int ct_runner_run(ct_run *r, ct_paths *p);

#endif
