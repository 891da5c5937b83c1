/*
 * ota-conformance: starts the mock cloud (and its broker), starts the device
 * through its adapter, runs the test groups with CMocka, prints one line per
 * test and a summary, and writes JUnit. Exit status: 0 all passed, 1 a test
 * failed (or got worse than the --baseline under --baseline-strict), 2 bad
 * usage, 3 the run could not be set up (an output that cannot be written
 * included) or stopped early (the device never came up), 130 interrupted (SIGINT,
 * SIGTERM, SIGHUP). The last line printed is the summary, whose first word
 * says which.
 *
 * The work is in cli.c (options, --list, --requirements), setup.c (cloud,
 * device, trace records, reports), runner.c (serial and --jobs runs, with
 * workers.c) and live.c (what the terminal shows); run_priv.h joins them.
 */
#include <stdio.h>
#include <string.h>

#include "run_priv.h"
#include "waivers.h"

#define DEFAULT_IMAGE_SZ (64 * 1024)

/* What the harness takes from the command line before the device is known. */
static void harness_defaults(const ct_options *o)
{
    ct.scale = o->scale;
    ct.strict = o->strict;
    ct.image_size = DEFAULT_IMAGE_SZ;
    ct.auth_off = o->auth && !strcmp(o->auth, "off") && !o->broker;
    ct.tls = o->tls;
    cmocka_set_message_output(CM_OUTPUT_XML);
}

/* A --baseline that is no readable trace is said before the run, not after it. */
static int baseline_readable(const char *path)
{
    rp_report *b = NULL;
    char err[512] = "";

    if (!path)
        return 1;
    if (rp_report_load(path, &b, err, sizeof(err)) != RP_OK) {
        fprintf(stderr, "ota-conformance: --baseline: %s\n", err);
        return 0;
    }
    rp_report_free(b);
    return 1;
}

/* --waivers: read before the run (--jobs workers inherit them); an expired one said now. */
static int waivers_read(const char *path)
{
    char err[512] = "", today[11];
    const char *e;

    if (!path)
        return 1;
    ct_waivers_today(today);
    if (ct_waivers_load(path, today, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return 0;
    }
    for (int i = 0; (e = ct_waivers_expired(i)) != NULL; i++)
        printf("EXPIRED WAIVER: %s\n", e);
    return 1;
}

int main(int argc, char **argv)
{
    static ct_run run; /* large (every result): not on the stack */
    ct_paths p;
    char err[512] = "";
    int rc;

    memset(&p, 0, sizeof(p));
    ct_live_init(&run.live);
    rc = ct_cli_parse(&run.opt, argc, argv);
    if (rc != CT_CLI_RUN)
        return rc == CT_CLI_HELP ? 0 : 2;
    if (ct_boards_prepare(&run) != 0) /* several boards: the run's profile is the first's */
        return 2;
    if (ct_cli_profile_dialect(&run.opt) != 0)
        return 3;
    if (ct_cli_check_catalogue(&run.opt) != 0)
        return 3;
    if (run.opt.list) {
        ct_cli_list(&run.opt);
        return 0;
    }
    if (run.opt.requirements) {
        ct_cli_requirements();
        return 0;
    }
    if (!baseline_readable(run.opt.baseline))
        return 2;
    if (!waivers_read(run.opt.waivers))
        return 2;
    ct_cli_select(&run);
    if (!run.nsel)
        return 2; /* said why, with what the pattern may have meant */
    /* Every output can be written, or the run does not start: not an hour later. */
    if (ct_setup_check_outputs(&run, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return 3;
    }
    if (run.opt.netns && ct_netns_check(err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return 3;
    }
    ct_runner_catch_signals();
    harness_defaults(&run.opt);
    if (ct_setup_prepare(&run, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        rc = 3;
    } else {
        rc = ct_runner_run(&run, &p);
    }
    ct_setup_teardown(&p);
    return rc;
}
