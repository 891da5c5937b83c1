/*
 * Runs the selected tests: each through CMocka with the runner's set-up and
 * tear-down around it, either all in turn in this process (serial) or, with
 * --jobs N, handed out to worker processes by workers.c. It also owns SIGINT
 * and SIGTERM: the running test ends unfinished, reports are still written.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers.h"
#include "order.h"
#include "otaproto/clock.h"
#include "firmware.h"
#include "run_priv.h"
#include "waivers.h"

/*
 * The run the CMocka fixtures below work for. CMocka hands a fixture only
 * the test's state, which must stay the ct_case the test functions read
 * (CT_CASE), so the run is reached here; run_one sets it.
 */
static ct_run *current;

/* A --jobs worker process: its first SIGINT is not the user's second one. */
static volatile sig_atomic_t in_worker;

/* ---- per-test set-up and tear-down, around each CMocka test ---- */
void ct_runner_tiers(const char *rules, char *out, size_t cap)
{
    char buf[128], *tok, *save = NULL;
    size_t o = 0;

    out[0] = '\0';
    snprintf(buf, sizeof(buf), "%s", rules);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        const ct_rule *r = ct_rule_find(tok);
        int n = snprintf(out + o, cap - o, "%s%s%s", o ? " " : "", r ? ct_tier_name(r->tier) : "?",
                         r && r->compat ? "(compat)" : "");
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
}

/* A test boundary in the trace, with the test as JSON: reports are rebuilt from it. */
static void trace_test(const rp_test *t, const char *what)
{
    char *json = rp_test_to_json(t);

    int begin = !strcmp(what, "begin");

    mc_trace_event(ct.cloud, OTA_TR_TEST, MC_EV(begin ? OTA_EV_TEST_BEGIN : OTA_EV_TEST_END),
                   ct.dev.dn, NULL, json, json ? strlen(json) : 0, "%s %s/%s %s", what, t->group,
                   t->name, begin ? t->rules : rp_verdict_name(t->verdict));
    free(json);
}

/* Why test c does not apply in the run's dialect (its first N/A rule), or NULL. */
static const char *dialect_na(const ct_case *c)
{
    char rules[128], *tok, *save = NULL;
    static char why[320];

    if (ct_test_na(c->group, c->name)) {
        snprintf(why, sizeof(why), "N/A in the %s dialect: %s", ota_dialect_name(ct.dialect),
                 ct_test_na(c->group, c->name));
        return why;
    }
    snprintf(rules, sizeof(rules), "%s", c->rules);
    for (tok = strtok_r(rules, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (ct_rule_na(tok)) {
            snprintf(why, sizeof(why), "N/A in the %s dialect: %s: %s",
                     ota_dialect_name(ct.dialect), tok, ct_rule_na(tok));
            return why;
        }
    return NULL;
}

/* A test whose rules do not apply in the dialect: N/A with the reason, never dropped. */
static void not_in_dialect(void **state)
{
    ct_na("%s", dialect_na(CT_CASE(state)));
}

/* Why the running test cannot run: its device does not come up and cannot be flashed back. */
static char not_up[400];

static int before(void **state)
{
    const ct_case *c = *state;
    rp_test *t;

    if (current->nresults >= CT_MAX_TESTS)
        return -1;
    t = &current->results[current->nresults++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", c->name);
    snprintf(t->group, sizeof(t->group), "%s", c->group);
    snprintf(t->rules, sizeof(t->rules), "%s", c->rules);
    ct_runner_tiers(c->rules, t->tiers, sizeof(t->tiers));
    snprintf(t->board, sizeof(t->board), "%s", current->board_name ? current->board_name : "");
    ct.cur = NULL; /* settling is not judged */
    ct.njobs = 0;
    /*
     * A device the last test left unable to boot is flashed back (flashCommand, firmware.c).
     * When it cannot be, the test is N/A with the reason (issue 22): a device with its own
     * images may be bricked by a bad one on purpose, and the tests after that are not its fault.
     */
    not_up[0] = '\0';
    if (!dialect_na(c) && ct_settle() != 0) {
        int flashed = ct_fw_recover("the device does not come up") == 0;
        if ((!flashed || ct_settle() != 0) && ct_fw_on() && !ct.refused[0] && !ct_interrupted)
            snprintf(not_up, sizeof(not_up),
                     "N/A: the device does not come up (a test before this one may have left it "
                     "unable to boot) and %s",
                     flashed             ? "flashCommand did not bring it back (see the trace)"
                     : ct_fw_can_flash() ? "its flashCommand failed (see the trace)"
                                         : "the profile has no flashCommand to put its first "
                                           "image back");
    }
    ct.t_begin = mc_trace_count(ct.cloud);
    trace_test(t, "begin");
    ct.t_start = mc_now(ct.cloud);
    ct.cur = t;
    ct_live_begin(&current->live, t);
    return 0;
}

static int after(void **state)
{
    rp_test *t = ct.cur;
    (void)state;

    ct_sweep_failed(); /* hot loops beside a failure, as warnings */
    ct.cur = NULL;
    ct_power_teardown();
    if (!t)
        return 0;
    t->seconds = mc_now(ct.cloud) - ct.t_start;
    mc_jobs_cancel(ct.cloud, ct.dev.dn); /* no job outlives its test */
    ct_waivers_apply(t); /* before the end record: every report is rebuilt from it */
    trace_test(t, "end");
    ct_live_result(&current->live, t);
    ct_module_restore();
    if (t->verdict == RP_FAIL || t->verdict == RP_WAIVED)
        ct_reboot(); /* the next test starts from a clean boot */
    return 0;
}

/* The test, then what every test gets (sweep.c); a test that failed or ended early gets none. */
static void test_and_sweep(void **state)
{
    if (not_up[0])
        ct_na("%s", not_up);
    CT_CASE(state)->fn(state);
    ct_sweep();
}

/*
 * One test through CMocka's public API, as a group of its own: the selection
 * is known only at run time and a --jobs worker gets one test at a time.
 * The group is named after the test, which names CMocka's scratch file.
 */
static void run_one(ct_run *r, const ct_case *c, const char *xml_dir)
{
    const struct CMUnitTest one[1] = {{.name = c->name,
                                       .test_func = dialect_na(c) ? not_in_dialect : test_and_sweep,
                                       .setup_func = before,
                                       .teardown_func = after,
                                       .initial_state = (void *)c}};
    char env[PATH_MAX];

    /* CMocka's own report goes to a scratch file: our lines and JUnit are the output. */
    snprintf(env, sizeof(env), "%s/cmocka-%%g.xml", xml_dir);
    setenv("CMOCKA_XML_FILE", env, 1);
    current = r;
    cmocka_run_group_tests_name(c->name, one, NULL, NULL);
    current = NULL;
}

/*
 * ---- SIGINT, SIGTERM and SIGHUP (a closed terminal): the running test ends
 * unfinished, reports are still written ----
 */

static void on_stop_signal(int sig)
{
    (void)sig;
    if (ct_interrupted && !in_worker)
        _exit(130); /* a second Ctrl-C: now */
    ct_interrupted = 1;
}

static void stop_signals(int how)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    pthread_sigmask(how, &s, NULL);
}

/*
 * Handlers without SA_RESTART (a worker's blocking read between tests ends),
 * and the signals blocked until the threads of the cloud, the adapter and
 * the ticker exist: they inherit the block, and only the main thread, in
 * its waits, takes the signal.
 */
void ct_runner_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    stop_signals(SIG_BLOCK);
}

static int any_failed(const ct_run *r, const rp_report *rep)
{
    int failed = 0;

    if (rep) {
        rp_counts c = rp_report_counts(rep);
        return c.fail + c.unfinished > 0;
    }
    for (int i = 0; i < r->nresults; i++)
        failed |= r->results[i].verdict == RP_FAIL;
    return failed;
}

/*
 * The reports, then the summary: the run's last line, whose first word
 * agrees with the exit status it returns. status: 3 when the run stopped
 * early, else 0 and the outcome decides.
 */
static int finish(ct_run *r, const char *trace, int status)
{
    rp_report *rep = NULL;
    int worse = 0;

    if (ct_setup_write_reports(r, trace, &rep, &worse) != 0 && !status)
        status = 3;
    if (!status)
        status = ct_interrupted ? 130 : any_failed(r, rep) || worse ? 1 : 0;
    ct_live_summary(r, rep, worse, status);
    rp_report_free(rep);
    return status;
}

/* The test that judges VER-1, failed with why the device never came up (judging.md). */
static int never_up_result(const ct_run *r, const char *why, rp_test *t)
{
    const ct_case *c = ct_cli_ver1_case(r);

    memset(t, 0, sizeof(*t));
    if (!c)
        return -1;
    snprintf(t->name, sizeof(t->name), "%s", c->name);
    snprintf(t->group, sizeof(t->group), "%s", c->group);
    snprintf(t->rules, sizeof(t->rules), "%s", c->rules);
    ct_runner_tiers(c->rules, t->tiers, sizeof(t->tiers));
    t->verdict = RP_FAIL;
    snprintf(t->failed_rule, sizeof(t->failed_rule), "VER-1");
    snprintf(t->message, sizeof(t->message), "%s", why);
    return 0;
}

/* The device never came up: VER-1's test fails in the trace (and so in every report). */
static void never_up(ct_run *r, const char *why)
{
    rp_test *t;

    if (r->nresults >= CT_MAX_TESTS)
        return;
    t = &r->results[r->nresults];
    if (never_up_result(r, why, t) != 0)
        return;
    r->nresults++;
    trace_test(t, "begin");
    trace_test(t, "end");
    ct_live_result(&r->live, t);
}

/* One device instance, all tests in turn, in this process. */
static int run_serial(ct_run *r, ct_paths *p)
{
    char err[1024] = "";
    int rc;
    double t0;

    if ((r->opt.netns && ct_netns_enter(err, sizeof(err)) != 0) || /* before anything starts */
        ct_setup_cloud(r, p, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return 3;
    }
    t0 = mc_now(ct.cloud);
    /* Before the device starts: a device that never comes up still gets its reports. */
    ct_setup_trace_run_begin(r, p);
    ct_live_start(&r->live, r->opt.quiet, (int)r->nsel);
    rc = ct_setup_device(r, p, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        if (rc == CT_SETUP_NEVER_UP)
            never_up(r, err);
    } else {
        stop_signals(SIG_UNBLOCK);
        for (size_t i = 0; i < r->nsel && !ct_interrupted && !ct_fw_fatal(); i++)
            run_one(r, r->sel[i], p->scratch);
        stop_signals(SIG_BLOCK);
    }
    ct_live_stop(&r->live);
    ct_setup_trace_run_end(mc_now(ct.cloud) - t0, rc ? err : NULL);
    dut_close(ct.dut);
    ct.dut = NULL;
    mc_cloud_stop(ct.cloud); /* flushes and closes the trace */
    ct.cloud = NULL;
    if (ct_fw_fatal()) /* a firmware build failed: the run stopped there */
        fprintf(stderr, "ota-conformance: %s\n", ct_fw_fatal());
    return finish(r, p->trace, rc || ct_fw_fatal() ? 3 : 0);
}

/* ---- --jobs N: the worker's side ---- */

typedef struct {
    ct_run *run;
    const ct_paths *paths;
} worker_ctx;

/* Run the tests the parent names on cmd_fd, one at a time, until "quit"; see workers.c. */
static int worker_serve(ct_run *r, ct_paths *p, int cmd_fd, int res_fd)
{
    char line[64], why[512];
    mc_device_info d;
    FILE *in = fdopen(cmd_fd, "r");
    int rc = 0, lost = 0;

    if (!in || dprintf(res_fd, "ready\n") < 0)
        return 3;
    stop_signals(SIG_UNBLOCK);
    while (!ct_interrupted && fgets(line, sizeof(line), in) && strncmp(line, "quit", 4)) {
        long idx = strtol(line, NULL, 10);
        char *json;
        if (idx < 0 || (size_t)idx >= r->nsel)
            break;
        run_one(r, r->sel[idx], p->scratch);
        json = r->nresults ? rp_test_to_json(&r->results[r->nresults - 1]) : NULL;
        /* A board gone takes no more tests: this one and the rest go to the other boards. */
        lost = r->boards.n > 1 && ct_boards_lost(why, sizeof(why));
        if (lost)
            dprintf(res_fd, "lost %s\n", why);
        else if (!json || dprintf(res_fd, "done %ld %s\n", idx, json) < 0)
            rc = 3;
        free(json);
        if (ct_fw_fatal()) { /* a firmware build failed: this instance stops */
            fprintf(stderr, "ota-conformance: %s\n", ct_fw_fatal());
            rc = 3;
        }
        if (rc || lost)
            break;
    }
    stop_signals(SIG_BLOCK);
    if (mc_device_get(ct.cloud, ct.dev.dn, &d) == MC_OK)
        dprintf(res_fd, "fw %s\n", d.reported_version);
    return rc;
}

/* A worker process: its own cloud, device and trace (scratch/worker-<k+1>.jsonl). */
static int worker_main(int k, int cmd_fd, int res_fd, void *ud)
{
    const worker_ctx *jc = ud;
    ct_run *r = jc->run;
    ct_paths p;
    char err[1024] = "", trace[PATH_MAX];
    int rc;

    memset(&p, 0, sizeof(p));
    r->is_worker = 1;
    in_worker = 1;
    r->opt.quiet = 1;
    r->live.quiet = 1;
    r->live.tty = 0;
    r->live.ticking = 0; /* the parent's ticker thread is not in this process */
    snprintf(trace, sizeof(trace), "%.4000s/worker-%d.jsonl", jc->paths->scratch, k + 1);
    r->opt.trace = trace;
    if (r->boards.n > 1)
        ct_boards_apply(r, k);                                /* this worker's board */
    rc = r->opt.netns ? ct_netns_enter(err, sizeof(err)) : 0; /* before anything starts */
    if (!rc)
        rc = ct_setup_prepare(r, &p, err, sizeof(err));
    if (!rc)
        rc = ct_setup_start(r, &p, err, sizeof(err));
    if (rc) {
        rp_test t;
        char *json;
        fprintf(stderr, "ota-conformance: %s %d%s%s: %s\n", r->board_name ? "board" : "worker",
                k + 1, r->board_name ? " " : "", r->board_name ? r->board_name : "", err);
        /* The parent makes it VER-1's failure if no instance comes up (workers.c, "boot"). */
        if (rc == CT_SETUP_NEVER_UP && never_up_result(r, err, &t) == 0 &&
            (json = rp_test_to_json(&t)) != NULL) {
            dprintf(res_fd, "boot %s\n", json);
            free(json);
        }
        rc = 3;
    } else {
        rc = worker_serve(r, &p, cmd_fd, res_fd);
    }
    ct_setup_teardown(&p);
    return rc;
}

/* ---- --jobs N: the parent's side ---- */
static void worker_started(size_t idx, void *ud)
{
    const worker_ctx *jc = ud;
    rp_test t;

    memset(&t, 0, sizeof(t));
    snprintf(t.name, sizeof(t.name), "%s", jc->run->sel[idx]->name);
    snprintf(t.group, sizeof(t.group), "%s", jc->run->sel[idx]->group);
    ct_live_begin(&jc->run->live, &t);
}

static void worker_result(const rp_test *t, void *ud)
{
    const worker_ctx *jc = ud;
    ct_live_result(&jc->run->live, t);
}

/*
 * The live ticker is a thread: a worker forked while it held a lock (in
 * printf's malloc) would inherit the lock held, and hang at its first
 * allocation. So it starts once every worker exists.
 */
static void workers_spawned(void *ud)
{
    const worker_ctx *jc = ud;
    ct_live_start(&jc->run->live, jc->run->opt.quiet, (int)jc->run->nsel);
}

/* A board gone mid-run: said once; the workers left take its share. */
static void worker_lost(int k, const char *why, void *ud)
{
    const worker_ctx *jc = ud;
    const char *name = k < jc->run->boards.n ? jc->run->boards.b[k].name : "?";

    fprintf(
        stderr,
        "ota-conformance: board %d %s is gone (%s): its remaining tests go to the other boards\n",
        k + 1, name, why);
}

/*
 * The results once the workers are done. When no instance came up, VER-1's
 * test carries why (in the trace too) and the run stopped: *stopped says so.
 */
static void collect_results(ct_run *r, ct_workers *j, int rc, char *stopped, size_t cap)
{
    int any = 0;

    stopped[0] = '\0';
    for (size_t i = 0; i < r->nsel; i++)
        any |= j->done && j->done[i];
    if (rc != 0 && !any && j->boot_failed) {
        long at = -1;
        for (size_t i = 0; i < r->nsel && at < 0; i++)
            if (!strcmp(r->sel[i]->name, j->boot.name) && !strcmp(r->sel[i]->group, j->boot.group))
                at = (long)i;
        if (at >= 0) {
            r->results[at] = j->boot;
            j->done[at] = 1;
        }
        ct_workers_put_test(j, at, &j->boot);
        ct_live_result(&r->live, &j->boot);
        snprintf(stopped, cap, "%s", j->boot.message);
    } else if (rc != 0 && !ct_interrupted) {
        snprintf(stopped, cap,
                 "no device instance was left to run the remaining tests (see the "
                 "errors above)");
    }
    r->nresults = 0;
    for (size_t i = 0; i < r->nsel; i++)
        if (j->done && j->done[i])
            r->results[r->nresults++] = r->results[i];
}

/* The run-end record: the version after the run is that of the instance that ran the last test. */
static char *run_end(const ct_run *r, const ct_workers *j, double secs, const char *stopped)
{
    size_t last = r->nsel ? r->nsel - 1 : 0;
    const char *fw = "";

    for (int k = 0; j->nran && k < j->nworkers; k++)
        for (size_t m = 0; m < j->nran[k]; m++)
            if (j->ran[k][m] == (long)last)
                fw = j->fw[k];
    return ct_setup_run_end_json(secs, fw, stopped);
}

static int run_parallel(ct_run *r, ct_paths *p)
{
    ct_workers j;
    worker_ctx jc = {r, p};
    size_t *order;
    char *begin, *end, broker[128], stopped[2048];
    int rc = 0, status;
    double t0 = ota_clock_now();

    memset(&j, 0, sizeof(j));
    j.nworkers = r->boards.n > 1 ? r->boards.n : r->opt.jobs;
    j.nworkers = j.nworkers < (int)r->nsel ? j.nworkers : (int)r->nsel;
    j.cases = r->sel;
    j.ncases = r->nsel;
    /* Before the trace is written anew: the previous run's times, if it is there. */
    order = malloc((r->nsel ? r->nsel : 1) * sizeof(*order));
    if (order && ct_order_longest_first(r->sel, r->nsel, r->opt.trace, order) == 0)
        j.order = order;
    j.results = r->results;
    j.scratch = p->scratch;
    j.trace = p->trace;
    j.dev = ct.dev.dn;
    snprintf(broker, sizeof(broker), "embedded, one per %s (%d %s), %s",
             r->boards.n > 1 ? "board" : "device instance", j.nworkers,
             r->boards.n > 1 ? "boards" : "workers", ct_setup_checks_text(r));
    begin = ct_setup_run_begin_json(r, p, broker, ct.auth_off);
    j.run_begin = begin;
    j.worker = worker_main;
    j.on_start = worker_started;
    j.on_result = worker_result;
    j.on_lost = worker_lost;
    j.on_spawned = workers_spawned; /* the ticker thread only once no more forks come */
    j.ud = &jc;
    if (!r->opt.quiet)
        printf("%d device instances side by side: one line per test as it finishes (the "
               "longest are handed out first); the summary and the reports keep catalogue "
               "order\n",
               j.nworkers);
    if (ct_workers_run(&j) != 0)
        rc = 3;
    ct_live_stop(&r->live);
    collect_results(r, &j, rc, stopped, sizeof(stopped));
    end = run_end(r, &j, ota_clock_now() - t0, stopped);
    if (ct_workers_finish(&j, end) != 0) {
        fprintf(stderr, "ota-conformance: cannot write the trace %s: %s\n", p->trace,
                strerror(errno));
        rc = 3;
    }
    status = finish(r, p->trace, rc);
    free(begin);
    free(end);
    free(order);
    ct_workers_free(&j);
    return status;
}

int ct_runner_run(ct_run *r, ct_paths *p)
{
    return (r->opt.jobs > 1 || r->boards.n > 1) && r->nsel > 1 ? run_parallel(r, p)
                                                               : run_serial(r, p);
}
