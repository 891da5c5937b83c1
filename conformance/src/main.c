/*
 * ota-conformance: starts the mock cloud (and its broker), starts the device
 * through its adapter, runs the test groups with CMocka, prints one line per
 * test and a summary, and writes JUnit. Exit status: 0 all passed, 1 a test
 * failed, 2 bad usage, 3 the run could not be set up.
 */
#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <libgen.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "device.h"
#include "jobs.h"
#include "otaproto/clock.h"

#define MAX_TESTS        256
#define SLICE_CAP        (64 * 1024)
#define DEFAULT_IMAGE_SZ (64 * 1024)

typedef struct {
    const char *dut_cmd;
    const char *junit;
    const char *html;
    const char *trace;
    const char *only;
    const char *device;
    const char *fixtures;
    const char *broker;
    const char *cloud;
    const char *auth;
    int list, quiet, strict, requirements, tls;
    int jobs;
    const char *certs;
    double scale;
    ct_overrides dev; /* what the command line says about the device */
} options;

static const ct_group *const groups[] = {&ct_group_security, &ct_group_version, &ct_group_push,
                                         &ct_group_final,    &ct_group_failure, &ct_group_download,
                                         &ct_group_blocks};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static rp_test results[MAX_TESTS];
static int nresults;
static options opt;
static dut_profile prof; /* the device profile with the command line's overrides */
static int is_worker;    /* a --jobs worker process */

/*
 * Live status on a terminal: the running test, its elapsed time and the
 * count, redrawn by a ticker thread. Without a terminal (CI) there is only
 * one line per finished test.
 */
static struct {
    int tty, total, running, done;
    char name[160];
    double start;
    pthread_mutex_t lock;
    pthread_t ticker;
} live = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void live_draw(void)
{
    if (live.running)
        printf("\r\033[K[%d/%d] %s  %.1fs", live.done, live.total, live.name,
               ota_clock_now() - live.start);
    fflush(stdout);
}

static void *live_tick(void *arg)
{
    (void)arg;
    for (;;) {
        ota_sleep(0.25);
        pthread_mutex_lock(&live.lock);
        if (live.running < 0) {
            pthread_mutex_unlock(&live.lock);
            return NULL;
        }
        live_draw();
        pthread_mutex_unlock(&live.lock);
    }
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: ota-conformance [options]\n"
           "Runs the Aliyun OTA conformance suite against one device under test.\n\n"
           "  --device FILE      device profile: identity, adapter, endpoints, reset, time\n"
           "                     bounds, serial settings (docs/device-profiles.md); default:\n"
           "                     fixtures/devices/ref-device.json\n"
           "  --dut-cmd CMD      run CMD (with /bin/sh) as the device (adapter process); default:\n"
           "                     the reference device next to this program\n"
           "  --adapter KIND     reference, process, serial or network (overrides the profile)\n"
           "  --serial-port PATH the board's serial port (adapter serial)\n"
           "  --mqtt-port N, --mqtts-port N, --http-port N, --https-port N\n"
           "                     fixed ports, as firmware with compiled-in endpoints needs\n"
           "                     (below 1024: root or CAP_NET_BIND_SERVICE)\n"
           "  --listen ADDR      address of every port (default 127.0.0.1)\n"
           "  --url-host HOST    host named in download URLs (the address the device reaches)\n"
           "  --url-no-port      download URLs without a port (Alibaba's SDKs add their own)\n"
           "  --broker HOST:PORT join this MQTT broker instead of starting one\n"
           "  --cloud HOST:PORT  join the running ota-mock-cloud whose control API is there\n"
           "  --junit FILE       write JUnit XML\n"
           "  --html FILE        write the single-file HTML report\n"
           "  --trace FILE       write the JSONL trace of every message and event\n"
           "  --only PATTERN     run only tests whose name, group or rule matches\n"
           "                     (a substring, or a glob with * and ?)\n"
           "  --strict           every SHOULD rule fails like a MUST rule\n"
           "  --time-scale X     multiply every deadline by X (slow devices)\n"
           "  --tls              the device meets the broker over TLS (MQTTS) and downloads\n"
           "                     by HTTPS, trusting the test CA (OTA_CA_FILE); SEC-3 runs\n"
           "  --certs DIR        the test certificates (default: the build's certs/)\n"
           "  --jobs N           test N instances of the device side by side, each with\n"
           "                     its own broker and cloud (process devices only; 1..16;\n"
           "                     default 1)\n"
           "  --fixtures DIR     fixtures folder (default: the source tree's)\n"
           "  --list             list the tests and the rules they check\n"
           "  --requirements     print the rule catalogue with the tests covering each rule\n"
           "  --quiet            print only the summary\n"
           "  --help             this text\n");
}

static int parse_options(int argc, char **argv)
{
    static const struct {
        const char *name;
        const char **str;
        int *flag;
    } table[] = {
        {"--dut-cmd", &opt.dut_cmd, NULL},
        {"--junit", &opt.junit, NULL},
        {"--html", &opt.html, NULL},
        {"--auth", &opt.auth, NULL},
        {"--trace", &opt.trace, NULL},
        {"--only", &opt.only, NULL},
        {"--device", &opt.device, NULL},
        {"--fixtures", &opt.fixtures, NULL},
        {"--broker", &opt.broker, NULL},
        {"--cloud", &opt.cloud, NULL}, /* the API of a running ota-mock-cloud */
        {"--list", NULL, &opt.list},
        {"--requirements", NULL, &opt.requirements},
        {"--quiet", NULL, &opt.quiet},
        {"--strict", NULL, &opt.strict},
        {"--tls", NULL, &opt.tls},
        {"--certs", &opt.certs, NULL},
        {"--adapter", &opt.dev.adapter, NULL},
        {"--serial-port", &opt.dev.serial_port, NULL},
        {"--listen", &opt.dev.listen, NULL},
        {"--url-host", &opt.dev.url_host, NULL},
        {"--url-no-port", NULL, &opt.dev.url_no_port},
    };
    static const struct {
        const char *name;
        int *port;
    } ports[] = {{"--mqtt-port", &opt.dev.mqtt_port},
                 {"--mqtts-port", &opt.dev.mqtts_port},
                 {"--http-port", &opt.dev.http_port},
                 {"--https-port", &opt.dev.https_port}};
    opt.scale = 0; /* unset: the profile's, else 1 */
    opt.jobs = 1;
    for (int i = 1; i < argc; i++) {
        size_t k;
        int port_opt = 0;
        for (k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
            char *end;
            long n;
            if (strcmp(argv[i], ports[k].name) || i + 1 >= argc)
                continue;
            n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 65535) {
                fprintf(stderr, "ota-conformance: %s wants a port from 1 to 65535\n",
                        ports[k].name);
                return -1;
            }
            *ports[k].port = (int)n;
            port_opt = 1;
        }
        if (port_opt)
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(argv[i], "--time-scale") && i + 1 < argc) {
            char *end;
            opt.scale = strtod(argv[++i], &end);
            if (*end || opt.scale <= 0 || opt.scale > 100) {
                fprintf(stderr, "ota-conformance: --time-scale wants a number in (0, 100]\n");
                return -1;
            }
            continue;
        }
        if (!strcmp(argv[i], "--jobs") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > CT_MAX_JOBS) {
                fprintf(stderr, "ota-conformance: --jobs wants a number from 1 to %d\n",
                        CT_MAX_JOBS);
                return -1;
            }
            opt.jobs = (int)n;
            continue;
        }
        for (k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
            if (strcmp(argv[i], table[k].name))
                continue;
            if (table[k].flag) {
                *table[k].flag = 1;
            } else if (i + 1 < argc) {
                *table[k].str = argv[++i];
            } else {
                fprintf(stderr, "ota-conformance: %s needs a value\n", argv[i]);
                return -1;
            }
            break;
        }
        if (k == sizeof(table) / sizeof(table[0])) {
            fprintf(stderr, "ota-conformance: unknown option '%s' (see --help)\n", argv[i]);
            return -1;
        }
    }
    if (opt.tls && opt.broker) {
        fprintf(stderr, "ota-conformance: --tls needs the embedded broker (it gets the TLS "
                        "listener); drop --broker or --tls\n");
        return -1;
    }
    if (opt.cloud && (opt.broker || opt.tls || opt.jobs > 1)) {
        fprintf(stderr, "ota-conformance: --cloud goes with neither --broker, --tls nor --jobs\n");
        return -1;
    }
    if (opt.jobs > 1 && opt.broker) {
        fprintf(stderr, "ota-conformance: --jobs needs the embedded broker (each device instance "
                        "gets its own); drop --broker or --jobs\n");
        return -1;
    }
    return 0;
}

static int matches(const ct_case *c)
{
    char rules[128], *tok, *save = NULL;

    if (!opt.only)
        return 1;
    if (strpbrk(opt.only, "*?[")) {
        if (!fnmatch(opt.only, c->name, 0) || !fnmatch(opt.only, c->group, 0))
            return 1;
    } else if (strstr(c->name, opt.only) || !strcmp(c->group, opt.only)) {
        return 1;
    }
    snprintf(rules, sizeof(rules), "%s", c->rules);
    for (tok = strtok_r(rules, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (!fnmatch(opt.only, tok, 0) || !strcmp(opt.only, tok))
            return 1;
    return 0;
}

/* Every cited rule must exist in the catalogue. */
/* Does test c cite rule id? */
static int cites(const ct_case *c, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = strstr(c->rules, id); p; p = strstr(p + 1, id))
        if ((p == c->rules || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static size_t tests_citing(const char *id, char *names, size_t cap)
{
    size_t n = 0, used = 0;
    if (cap)
        names[0] = '\0';
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups[g]->ncases; i++) {
            const ct_case *c = &groups[g]->cases[i];
            if (!cites(c, id))
                continue;
            if (used < cap)
                used += (size_t)snprintf(names + used, cap - used, "%s%s/%s", n ? ", " : "",
                                         c->group, c->name);
            n++;
        }
    return n;
}

/* --requirements: every rule with its tier, source and the tests that judge it. */
static void print_requirements(void)
{
    size_t covered = 0, total = 0;
    char names[4096];

    for (const ct_rule *r; (r = ct_rule_at(total)) != NULL; total++) {
        size_t n = tests_citing(r->id, names, sizeof(names));
        covered += n > 0;
        printf("%-8s %-6s%s %s\n         source: %s\n         tests (%zu): %s%s%s%s\n", r->id,
               ct_tier_name(r->tier), r->compat ? " (compat)" : "", r->text,
               r->source ? r->source : "-", n, n ? names : "NONE", r->needs ? " (judged in --" : "",
               r->needs ? r->needs : "", r->needs ? " runs only)" : "");
    }
    printf("coverage: %zu of %zu rules have a test\n", covered, total);
    printf("verdicts: PASS; FAIL (a MUST broken, or any rule under --strict); WARN (a SHOULD "
           "broken); N/A (the rule does not apply: the reason is given); INCONCLUSIVE (the test "
           "could not create its situation for a reason that is not the device's fault, such as "
           "a push that never reached it: the reason is given, JUnit shows an error, the run "
           "does not fail)\n");
}

static int check_catalogue(void)
{
    int bad = 0;
    char err[256];

    if (ct_rules_load(err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return -1;
    }
    for (size_t k = 0; ct_rule_at(k); k++) {
        const ct_rule *r = ct_rule_at(k);
        if (!tests_citing(r->id, NULL, 0) && !r->needs) {
            fprintf(stderr, "ota-conformance: rule %s has no test\n", r->id);
            bad = 1;
        }
    }
    for (size_t g = 0; g < NGROUPS; g++) {
        for (size_t i = 0; i < groups[g]->ncases; i++) {
            char rules[128], *tok, *save = NULL;
            snprintf(rules, sizeof(rules), "%s", groups[g]->cases[i].rules);
            for (tok = strtok_r(rules, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                if (!ct_rule_find(tok)) {
                    fprintf(stderr, "ota-conformance: test %s cites unknown rule %s\n",
                            groups[g]->cases[i].name, tok);
                    bad = 1;
                }
            }
        }
    }
    return bad ? -1 : 0;
}

static void list_tests(void)
{
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups[g]->ncases; i++) {
            const ct_case *c = &groups[g]->cases[i];
            if (matches(c))
                printf("%-10s %-40s %s\n", c->group, c->name, c->rules);
        }
}

/* ---- the adapter's events go into the trace ---- */

/*
 * A device that logs in a loop (an SDK retrying thousands of times a
 * second) must not grow the trace without bound: at most CT_LOG_PER_S lines
 * a second are kept, the rest are counted and the count is written once
 * the second is over.
 */
#define CT_LOG_PER_S 100

static struct {
    pthread_mutex_t lock;
    double window; /* start of the current second */
    int kept, dropped;
} log_rate = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int log_admit(mc_cloud *c)
{
    double now = mc_now(c);
    int keep, dropped = 0;

    pthread_mutex_lock(&log_rate.lock);
    if (now - log_rate.window >= 1.0) {
        dropped = log_rate.dropped;
        log_rate.window = now;
        log_rate.kept = log_rate.dropped = 0;
    }
    keep = log_rate.kept < CT_LOG_PER_S;
    log_rate.kept += keep;
    log_rate.dropped += !keep;
    pthread_mutex_unlock(&log_rate.lock);
    if (dropped)
        mc_trace_add(c, OTA_TR_LOG, ct.dev.dn, NULL, NULL, 0,
                     "(%d more log lines in that second not stored: the device logs faster than "
                     "%d lines a second)",
                     dropped, CT_LOG_PER_S);
    return keep;
}

static void on_dut_event(void *ud, dut_event_kind k, const char *text)
{
    mc_cloud *c = ud;
    if (k == DUT_EV_LOG) {
        if (log_admit(c))
            mc_trace_add(c, OTA_TR_LOG, ct.dev.dn, NULL, NULL, 0, "%s", text);
    } else {
        mc_trace_add(c, OTA_TR_DUT, ct.dev.dn, NULL, NULL, 0, "%s: %s", dut_event_name(k), text);
    }
}

static void live_begin(const rp_test *t)
{
    if (!live.tty || opt.quiet)
        return;
    pthread_mutex_lock(&live.lock);
    snprintf(live.name, sizeof(live.name), "%s/%s", t->group, t->name);
    live.start = ota_clock_now();
    live.running = 1;
    live_draw();
    pthread_mutex_unlock(&live.lock);
}

/* ---- per-test setup and teardown, around each CMocka test ---- */
static void tiers_of(const char *rules, char *out, size_t cap)
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

    mc_trace_add(ct.cloud, OTA_TR_TEST, ct.dev.dn, NULL, json, json ? strlen(json) : 0,
                 "%s %s/%s %s", what, t->group, t->name,
                 !strcmp(what, "begin") ? t->rules : rp_verdict_name(t->verdict));
    free(json);
}

static int before(void **state)
{
    const ct_case *c = *state;
    rp_test *t;

    if (nresults >= MAX_TESTS)
        return -1;
    t = &results[nresults++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", c->name);
    snprintf(t->group, sizeof(t->group), "%s", c->group);
    snprintf(t->rules, sizeof(t->rules), "%s", c->rules);
    tiers_of(c->rules, t->tiers, sizeof(t->tiers));
    ct.cur = NULL; /* settling is not judged */
    ct.njobs = 0;
    ct_settle();
    ct.t_begin = mc_trace_count(ct.cloud);
    trace_test(t, "begin");
    ct.t_start = mc_now(ct.cloud);
    ct.cur = t;
    live_begin(t);
    return 0;
}

static void print_result(const rp_test *t)
{
    static const char *const tags[] = {"PASS", "FAIL", "N/A ", "UNFINISHED", "INCONCLUSIVE"};

    if (opt.quiet)
        return;
    pthread_mutex_lock(&live.lock);
    live.done++;
    live.running = live.running < 0 ? -1 : 0;
    if (live.tty)
        printf("\r\033[K");
    printf("%s  %-8s %-40s [%s] %.2fs\n",
           t->nwarnings && t->verdict == RP_PASS ? "WARN" : tags[t->verdict], t->group, t->name,
           t->rules, t->seconds);
    for (int w = 0; w < t->nwarnings; w++)
        printf("      warning %s: %s\n", t->warnings[w].rule, t->warnings[w].text);
    if (t->verdict != RP_PASS)
        printf("      %s%s%s\n", t->verdict == RP_FAIL ? t->failed_rule : "",
               t->verdict == RP_FAIL ? ": " : "", t->message);
    fflush(stdout);
    pthread_mutex_unlock(&live.lock);
}

static int after(void **state)
{
    rp_test *t = ct.cur;
    (void)state;

    ct.cur = NULL;
    if (!t)
        return 0;
    t->seconds = mc_now(ct.cloud) - ct.t_start;
    mc_jobs_cancel(ct.cloud, ct.dev.dn); /* no job outlives its test */
    trace_test(t, "end");
    print_result(t);
    ct_module_restore();
    if (t->verdict == RP_FAIL)
        ct_reboot(); /* the next test starts from a clean boot */
    return 0;
}

/* One test through CMocka, as a group of its own (the group name names CMocka's scratch file). */
static void run_one(const ct_case *c, const char *xml_dir)
{
    struct CMUnitTest t = {c->name, c->fn, before, after, (void *)c};
    char env[PATH_MAX];

    /* CMocka's own report goes to a scratch file: our lines and JUnit are the output. */
    snprintf(env, sizeof(env), "%s/cmocka-%%g.xml", xml_dir);
    setenv("CMOCKA_XML_FILE", env, 1);
    _cmocka_run_group_tests(c->name, &t, 1, NULL, NULL);
}

/* The tests --only selects, in catalogue order. */
static const ct_case *sel[MAX_TESTS];
static size_t nsel;

static void select_tests(void)
{
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups[g]->ncases && nsel < MAX_TESTS; i++)
            if (matches(&groups[g]->cases[i]))
                sel[nsel++] = &groups[g]->cases[i];
}

/* ---- set-up and tear-down of the whole run ---- */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    if (dir && dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void self_dir(char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0) {
        snprintf(buf, cap, ".");
        return;
    }
    exe[n] = '\0';
    snprintf(buf, cap, "%s", dirname(exe));
}

typedef struct {
    char fixtures[PATH_MAX];
    char devices[PATH_MAX + 16];
    char profile[PATH_MAX + 32];
    char state_dir[64];
    char scratch[64];
    char trace[PATH_MAX];
    char cmd[PATH_MAX + 64];
    char certs[PATH_MAX];
    char env[12][PATH_MAX];
    const char *envp[13];
} run_paths;

static int open_cloud(run_paths *p, char *err, size_t errcap)
{
    mc_config cfg = {0};
    char host[128] = "", dir[PATH_MAX], plugin[PATH_MAX + 16];
    int port = 0, rc;

    if (opt.auth && strcmp(opt.auth, "off") && strcmp(opt.auth, "on")) {
        snprintf(err, errcap, "--auth wants on or off, got '%s'", opt.auth);
        return -1;
    }
    self_dir(dir, sizeof(dir));
    snprintf(plugin, sizeof(plugin), "%s/otaauth.so", dir);
    if (!opt.broker && !opt.cloud) {
        if (access(plugin, R_OK) != 0) {
            snprintf(err, errcap, "the broker plugin %.300s is missing (build the project first)",
                     plugin);
            return -1;
        }
        cfg.plugin_path = plugin;
        cfg.auth_off = opt.auth && !strcmp(opt.auth, "off");
        ct.auth_off = cfg.auth_off;
    }

    if (opt.broker) {
        if (sscanf(opt.broker, "%127[^:]:%d", host, &port) != 2 || port <= 0 || port > 65535) {
            snprintf(err, errcap, "--broker wants HOST:PORT, got '%s'", opt.broker);
            return -1;
        }
        cfg.broker_host = host;
        cfg.broker_port = port;
    }
    if (opt.tls) {
        cfg.tls_dir = p->certs;
        cfg.https_urls = 1;
    }
    if (!opt.broker) {
        ct_device_endpoints(&prof, &cfg);
        if (!opt.cloud && ct_device_fixes_ports(&prof) &&
            ct_device_ports_free(&prof, err, errcap) != 0)
            return -1;
    }
    if (opt.cloud) { /* its broker, our file server on its address */
        static mc_join_info join;
        if (mc_cloud_join(opt.cloud, &ct.dev, &join, err, errcap) != MC_OK)
            return -1;
        cfg.join = &join;
        if (!prof.listen[0])
            cfg.listen_addr = join.listen;
        if (!prof.url_host[0])
            cfg.url_host = join.url_host;
        ct.auth_off = join.auth_off;
    }
    cfg.devices_dir = p->devices;
    cfg.trace_path = p->trace;
    rc = mc_cloud_start(&cfg, &ct.cloud, err, errcap);
    if (rc != MC_OK)
        return -1;
    if (mc_device_add(ct.cloud, &ct.dev) != MC_OK) {
        snprintf(err, errcap, "cannot register the device");
        return -1;
    }
    return 0;
}

static void build_env(run_paths *p)
{
    int n = 0;
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_DIALECT=aliyun");
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_MQTT_HOST=%s", mc_cloud_broker_host(ct.cloud));
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_MQTT_PORT=%d",
             opt.tls ? mc_cloud_mqtts_port(ct.cloud) : mc_cloud_broker_port(ct.cloud));
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_MQTT_TLS=%d", opt.tls);
    if (opt.tls)
        snprintf(p->env[n++], sizeof(p->env[0]), "OTA_CA_FILE=%.*s/ca.pem",
                 (int)sizeof(p->env[0]) - 32, p->certs);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_PRODUCT_KEY=%s", ct.dev.pk);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_DEVICE_NAME=%s", ct.dev.dn);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_DEVICE_SECRET=%s", ct.dev.secret);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_MODULE=%s", ct.dev.module);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_FIRMWARE_VERSION=%s", ct.dev.firmware_version);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_STATE_DIR=%s", p->state_dir);
    for (int i = 0; i < n; i++)
        p->envp[i] = p->env[i];
    p->envp[n] = NULL;
}

/*
 * The device profile with the command line's overrides: the identity the
 * cloud registers, how the harness meets the device, its time bounds.
 */
static int use_profile(const char *path, char *err, size_t errcap)
{
    opt.dev.dut_cmd = opt.dut_cmd;
    opt.dev.tls = opt.tls;
    opt.dev.scale = opt.scale;
    if (ct_device_prepare(path, &opt.dev, &prof, err, errcap) != 0)
        return -1;
    memset(&ct.dev, 0, sizeof(ct.dev));
    snprintf(ct.dev.pk, sizeof(ct.dev.pk), "%s", prof.pk);
    snprintf(ct.dev.dn, sizeof(ct.dev.dn), "%s", prof.dn);
    snprintf(ct.dev.secret, sizeof(ct.dev.secret), "%s", prof.secret);
    snprintf(ct.dev.module, sizeof(ct.dev.module), "%s", prof.module);
    snprintf(ct.dev.firmware_version, sizeof(ct.dev.firmware_version), "%s", prof.firmware_version);
    opt.tls = ct.tls = prof.tls;
    opt.scale = ct.scale = prof.time_scale;
    ct.adapter = dut_adapter_kind_name(prof.adapter);
    ct.boot_by_connect = prof.adapter == DUT_ADAPTER_SERIAL || prof.adapter == DUT_ADAPTER_NETWORK;
    ct.can_reset = prof.adapter == DUT_ADAPTER_PROCESS || prof.adapter == DUT_ADAPTER_REFERENCE ||
                   (prof.adapter == DUT_ADAPTER_SERIAL && prof.reset != DUT_RESET_NONE);
    ct.bounds = prof.bounds;
    if (opt.jobs > 1 && (ct.boot_by_connect || ct_device_fixes_ports(&prof))) {
        snprintf(err, errcap,
                 "--jobs needs devices the suite starts itself on ports it chooses "
                 "(adapter reference or process, no fixed ports): use --jobs 1");
        return -1;
    }
    return 0;
}

/* Paths, the device profile, temporary folders and the device command; nothing started. */
static int prepare_run(run_paths *p, char *err, size_t errcap)
{
    const char *fx = opt.fixtures ? opt.fixtures : getenv("OTA_FIXTURES");
    char dir[PATH_MAX];

    snprintf(p->fixtures, sizeof(p->fixtures), "%s", fx ? fx : OTA_SOURCE_DIR "/fixtures");
    snprintf(p->devices, sizeof(p->devices), "%s/devices", p->fixtures);
    snprintf(ct.scenarios, sizeof(ct.scenarios), "%.4000s/scenarios", p->fixtures);
    snprintf(p->certs, sizeof(p->certs), "%s", opt.certs ? opt.certs : OTA_CERTS_DIR);
    if (opt.tls && access(p->certs, R_OK) != 0) {
        snprintf(err, errcap, "no test certificates in %.300s (build the project, or --certs DIR)",
                 p->certs);
        return -1;
    }
    if (opt.device)
        snprintf(p->profile, sizeof(p->profile), "%s", opt.device);
    else
        snprintf(p->profile, sizeof(p->profile), "%s/ref-device.json", p->devices);
    if (use_profile(p->profile, err, errcap) != 0)
        return -1;
    snprintf(p->state_dir, sizeof(p->state_dir), "/tmp/ota-dut-XXXXXX");
    snprintf(p->scratch, sizeof(p->scratch), "/tmp/ota-cmocka-XXXXXX");
    if (!mkdtemp(p->state_dir) || !mkdtemp(p->scratch)) {
        snprintf(err, errcap, "cannot create a temporary folder: %s", strerror(errno));
        return -1;
    }
    /* Always a trace file: the reports are built from it, as ota-report does. */
    if (opt.trace)
        snprintf(p->trace, sizeof(p->trace), "%s", opt.trace);
    else
        snprintf(p->trace, sizeof(p->trace), "%s/trace.jsonl", p->scratch);
    self_dir(dir, sizeof(dir));
    if (prof.adapter == DUT_ADAPTER_PROCESS)
        snprintf(p->cmd, sizeof(p->cmd), "%s", prof.command);
    else if (prof.adapter == DUT_ADAPTER_REFERENCE)
        snprintf(p->cmd, sizeof(p->cmd), "exec '%s/ota-ref-device'", dir);
    else if (prof.adapter == DUT_ADAPTER_SERIAL)
        snprintf(p->cmd, sizeof(p->cmd), "(board on %.200s)", prof.serial_port);
    else
        snprintf(p->cmd, sizeof(p->cmd), "(network device: nothing started)");
    return 0;
}

/* The cloud (and its broker) and the device. */
static int start_run(run_paths *p, char *err, size_t errcap)
{
    dut_callbacks cb;
    mc_device_info d;

    if (open_cloud(p, err, errcap) != 0)
        return -1;
    build_env(p);
    cb = (dut_callbacks){on_dut_event, ct.cloud};
    if (ct_device_open(&prof, p->cmd, p->envp, &cb, &ct.dut, err, errcap) != 0 ||
        ct_device_board_ready(&prof, ct.dut, ct.scale, err, errcap) != 0)
        return -1;
    if (!opt.quiet && ct.boot_by_connect && !is_worker)
        printf("waiting up to %.0f s for the device %s to connect to %s:%d\n",
               ct_secs(prof.bounds.boot + prof.bounds.inform), ct.dev.dn,
               mc_cloud_broker_host(ct.cloud),
               opt.tls ? mc_cloud_mqtts_port(ct.cloud) : mc_cloud_broker_port(ct.cloud));
    if (ct_first_boot(err, errcap) != 0)
        return -1;
    /* Targets above what it runs: a device is never asked to downgrade. */
    if (mc_device_get(ct.cloud, ct.dev.dn, &d) == MC_OK) {
        int major = atoi(d.reported_version[0] ? d.reported_version : d.firmware_version);
        ct.version_major = major >= 9 ? major + 1 : 9;
    }
    return 0;
}

static void summary(double secs)
{
    int pass = 0, fail = 0, na = 0, warn = 0, unfinished = 0, inconclusive = 0;
    char cut[64] = "";

    for (int i = 0; i < nresults; i++) {
        unfinished += results[i].verdict == RP_UNFINISHED;
        pass += results[i].verdict == RP_PASS;
        fail += results[i].verdict == RP_FAIL;
        na += results[i].verdict == RP_NA;
        inconclusive += results[i].verdict == RP_INCONCLUSIVE;
        warn += results[i].nwarnings;
    }
    if (unfinished)
        snprintf(cut, sizeof(cut), ", %d unfinished", unfinished);
    if (inconclusive)
        snprintf(cut + strlen(cut), sizeof(cut) - strlen(cut), ", %d inconclusive", inconclusive);
    printf("%s: %d tests, %d passed, %d failed%s, %d N/A, %d warning%s%s%s%s (%.1f s)\n",
           ct_interrupted ? "INTERRUPTED"
           : fail         ? "FAILED"
                          : "PASSED",
           nresults, pass, fail, cut, na, warn, warn == 1 ? "" : "s", opt.strict ? ", strict" : "",
           opt.tls ? ", TLS" : "", ct.auth_off ? ", AUTH OFF" : "", secs);
    for (int i = 0; opt.quiet && i < nresults; i++)
        if (results[i].verdict == RP_FAIL)
            printf("  FAIL %s/%s %s: %s\n", results[i].group, results[i].name,
                   results[i].failed_rule, results[i].message);
}

/* The run-begin record's JSON (rp_run_info); heap, the caller frees. */
static char *run_begin_json(const run_paths *p, const char *broker)
{
    rp_run_info info;
    char *json;
    time_t now = time(NULL);
    size_t n = 0;

    memset(&info, 0, sizeof(info));
    while (ct_rule_at(n))
        n++;
    info.rules = calloc(n, sizeof(*info.rules));
    for (size_t i = 0; info.rules && i < n; i++) {
        const ct_rule *r = ct_rule_at(i);
        snprintf(info.rules[i].id, sizeof(info.rules[i].id), "%s", r->id);
        snprintf(info.rules[i].tier, sizeof(info.rules[i].tier), "%s", ct_tier_name(r->tier));
        info.rules[i].compat = r->compat;
        snprintf(info.rules[i].text, sizeof(info.rules[i].text), "%s", r->text);
        info.nrules = (int)i + 1;
    }
    snprintf(info.suite, sizeof(info.suite), "ota-conformance");
    snprintf(info.device, sizeof(info.device), "%s", ct.dev.dn);
    snprintf(info.dialect, sizeof(info.dialect), "aliyun");
    snprintf(info.adapter, sizeof(info.adapter), "%s", ct.adapter ? ct.adapter : "process");
    snprintf(info.dut_cmd, sizeof(info.dut_cmd), "%.500s", p->cmd);
    snprintf(info.broker, sizeof(info.broker), "%s", broker);
    snprintf(info.fw_before, sizeof(info.fw_before), "%s", ct.dev.firmware_version);
    strftime(info.started, sizeof(info.started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    info.strict = opt.strict;
    info.time_scale = opt.scale;
    json = rp_run_info_to_json(&info);
    free(info.rules);
    return json;
}

static const char *checks_text(void)
{
    return ct.auth_off && opt.tls ? "TLS (MQTTS, HTTPS), AUTH OFF: logins not checked"
           : ct.auth_off          ? "AUTH OFF: logins not checked"
           : opt.tls              ? "TLS (MQTTS, HTTPS), logins and topics checked"
                                  : "logins and topics checked";
}

static void trace_run_begin(const run_paths *p)
{
    char broker[128], *json;

    snprintf(broker, sizeof(broker), "%s %.40s:%d, %s",
             mc_cloud_broker_embedded(ct.cloud) ? "embedded" : "external",
             mc_cloud_broker_host(ct.cloud),
             opt.tls ? mc_cloud_mqtts_port(ct.cloud) : mc_cloud_broker_port(ct.cloud),
             !mc_cloud_plugin(ct.cloud) ? "no login or topic checks" : checks_text());
    if (opt.cloud)
        snprintf(broker, sizeof(broker), "joined ota-mock-cloud at %.60s, %s", opt.cloud,
                 checks_text());
    json = run_begin_json(p, broker);
    mc_trace_add(ct.cloud, OTA_TR_TEST, ct.dev.dn, NULL, json, json ? strlen(json) : 0,
                 "run-begin");
    free(json);
}

static void run_end_json(char *json, size_t cap, double secs, const char *fw_after)
{
    snprintf(json, cap, "{\"seconds\":%.3f,\"fw_after\":\"%.64s\"}", secs, fw_after);
}

static void trace_run_end(double secs)
{
    mc_device_info d;
    char json[256];

    mc_device_get(ct.cloud, ct.dev.dn, &d);
    run_end_json(json, sizeof(json), secs, d.reported_version);
    mc_trace_add(ct.cloud, OTA_TR_TEST, ct.dev.dn, NULL, json, strlen(json), "run-end");
}

/* JUnit and HTML from the trace, through the same code as ota-report. */
static int write_reports(const char *trace)
{
    rp_report *r = NULL;
    char err[512];
    int rc = 0;

    if (!opt.junit && !opt.html)
        return 0;
    if (rp_report_load(trace, &r, err, sizeof(err)) != RP_OK) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return -1;
    }
    if (opt.junit && rp_report_junit(r, opt.junit) != RP_OK) {
        fprintf(stderr, "ota-conformance: cannot write %s\n", opt.junit);
        rc = -1;
    }
    if (opt.html && rp_html_write(r, opt.html) != RP_OK) {
        fprintf(stderr, "ota-conformance: cannot write %s\n", opt.html);
        rc = -1;
    }
    rp_report_free(r);
    return rc;
}

static void live_start(void)
{
    live.tty = isatty(STDOUT_FILENO) && !opt.quiet;
    live.total = (int)nsel;
    if (live.tty && pthread_create(&live.ticker, NULL, live_tick, NULL) != 0)
        live.tty = 0;
}

static void live_stop(void)
{
    if (!live.tty)
        return;
    pthread_mutex_lock(&live.lock);
    live.running = -1;
    pthread_mutex_unlock(&live.lock);
    pthread_join(live.ticker, NULL);
}

/* ---- SIGINT and SIGTERM: the running test ends unfinished, reports are still written ---- */

static void on_stop_signal(int sig)
{
    (void)sig;
    if (ct_interrupted && !is_worker)
        _exit(130); /* a second Ctrl-C: now */
    ct_interrupted = 1;
}

static void stop_signals(int how)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    pthread_sigmask(how, &s, NULL);
}

/*
 * Handlers without SA_RESTART (a worker's blocking read between tests ends),
 * and the signals blocked until the threads of the cloud, the adapter and
 * the ticker exist: they inherit the block, and only the main thread, in
 * its waits, takes the signal.
 */
static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    stop_signals(SIG_BLOCK);
}

/* One device instance, all tests in turn, in this process. */
static int run_serial(run_paths *p)
{
    char err[512] = "";
    int failed = 0, rc = 0;
    double t0;

    if (start_run(p, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return 3;
    }
    t0 = mc_now(ct.cloud);
    trace_run_begin(p);
    live_start();
    stop_signals(SIG_UNBLOCK);
    for (size_t i = 0; i < nsel && !ct_interrupted; i++)
        run_one(sel[i], p->scratch);
    stop_signals(SIG_BLOCK);
    live_stop();
    for (int i = 0; i < nresults; i++)
        failed |= results[i].verdict == RP_FAIL;
    summary(mc_now(ct.cloud) - t0);
    trace_run_end(mc_now(ct.cloud) - t0);
    dut_close(ct.dut);
    ct.dut = NULL;
    mc_cloud_stop(ct.cloud); /* flushes and closes the trace */
    ct.cloud = NULL;
    if (write_reports(p->trace) != 0)
        rc = 3;
    return rc ? rc : ct_interrupted ? 130 : failed ? 1 : 0;
}

/* ---- --jobs N: the worker's side ---- */
static int job_worker(int job, int cmd_fd, int res_fd, void *ud)
{
    const run_paths *parent = ud;
    run_paths p;
    char err[512] = "", trace[PATH_MAX], line[64];
    mc_device_info d;
    FILE *in;
    int rc = 0;

    memset(&p, 0, sizeof(p));
    is_worker = 1;
    opt.quiet = 1;
    live.tty = 0;
    snprintf(trace, sizeof(trace), "%.4000s/job-%d.jsonl", parent->scratch, job + 1);
    opt.trace = trace;
    if (prepare_run(&p, err, sizeof(err)) != 0 || start_run(&p, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: job %d: %s\n", job + 1, err);
        rc = 3;
        goto out;
    }
    in = fdopen(cmd_fd, "r");
    if (!in || dprintf(res_fd, "ready\n") < 0) {
        rc = 3;
        goto out;
    }
    stop_signals(SIG_UNBLOCK);
    while (!ct_interrupted && fgets(line, sizeof(line), in) && strncmp(line, "quit", 4)) {
        long idx = strtol(line, NULL, 10);
        char *json;
        if (idx < 0 || (size_t)idx >= nsel)
            break;
        run_one(sel[idx], p.scratch);
        json = nresults ? rp_test_to_json(&results[nresults - 1]) : NULL;
        if (!json || dprintf(res_fd, "done %ld %s\n", idx, json) < 0)
            rc = 3;
        free(json);
        if (rc)
            break;
    }
    stop_signals(SIG_BLOCK);
    if (mc_device_get(ct.cloud, ct.dev.dn, &d) == MC_OK)
        dprintf(res_fd, "fw %s\n", d.reported_version);
out:
    dut_close(ct.dut);
    ct.dut = NULL;
    mc_cloud_stop(ct.cloud);
    ct.cloud = NULL;
    rm_tree(p.state_dir);
    rm_tree(p.scratch);
    return rc;
}

/* ---- --jobs N: the parent's side ---- */
static void job_started(size_t idx, void *ud)
{
    rp_test t;
    (void)ud;
    memset(&t, 0, sizeof(t));
    snprintf(t.name, sizeof(t.name), "%s", sel[idx]->name);
    snprintf(t.group, sizeof(t.group), "%s", sel[idx]->group);
    live_begin(&t);
}

static void job_result(const rp_test *t, void *ud)
{
    (void)ud;
    print_result(t);
}

static int run_parallel(run_paths *p)
{
    ct_jobs j;
    char *begin, end[256], broker[128];
    int failed = 0, rc = 0;
    double t0 = ota_clock_now();
    size_t last = nsel ? nsel - 1 : 0;

    memset(&j, 0, sizeof(j));
    j.njobs = opt.jobs < (int)nsel ? opt.jobs : (int)nsel;
    j.cases = sel;
    j.ncases = nsel;
    j.results = results;
    j.scratch = p->scratch;
    j.trace = p->trace;
    j.dev = ct.dev.dn;
    snprintf(broker, sizeof(broker), "embedded, one per device instance (%d jobs), %s", j.njobs,
             checks_text());
    begin = run_begin_json(p, broker);
    j.run_begin = begin;
    j.worker = job_worker;
    j.on_start = job_started;
    j.on_result = job_result;
    j.ud = p;
    live_start();
    if (ct_jobs_run(&j) != 0)
        rc = 3;
    live_stop();
    for (size_t i = 0; i < nsel; i++) {
        if (j.done && j.done[i])
            continue;
        ct_jobs_failed(&results[i], sel[i]);
        snprintf(results[i].message, sizeof(results[i].message),
                 "not run: no device instance was left to run it (see the errors above)");
    }
    nresults = (int)nsel;
    if (ct_interrupted) { /* only the tests that ran */
        nresults = 0;
        for (size_t i = 0; i < nsel; i++)
            if (j.done && j.done[i])
                results[nresults++] = results[i];
    }
    for (int i = 0; i < nresults; i++)
        failed |= results[i].verdict == RP_FAIL;
    summary(ota_clock_now() - t0);
    run_end_json(end, sizeof(end), ota_clock_now() - t0, "");
    /* The version after the run: the device instance that ran the last test. */
    for (int k = 0; j.nran && k < j.njobs; k++)
        for (size_t m = 0; m < j.nran[k]; m++)
            if (j.ran[k][m] == (long)last)
                run_end_json(end, sizeof(end), ota_clock_now() - t0, j.fw[k]);
    if (ct_jobs_finish(&j, end) != 0) {
        fprintf(stderr, "ota-conformance: cannot write the trace %s\n", p->trace);
        rc = 3;
    } else if (write_reports(p->trace) != 0) {
        rc = 3;
    }
    free(begin);
    ct_jobs_free(&j);
    return rc ? rc : ct_interrupted ? 130 : failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    run_paths p;
    char err[512] = "";
    int rc;

    memset(&p, 0, sizeof(p));
    if (parse_options(argc, argv) != 0)
        return 2;
    if (check_catalogue() != 0)
        return 3;
    if (opt.list) {
        list_tests();
        return 0;
    }
    if (opt.requirements) {
        print_requirements();
        return 0;
    }
    select_tests();
    if (!nsel) {
        fprintf(stderr, "ota-conformance: no test matches '%s' (see --list)\n", opt.only);
        return 2;
    }
    catch_stop_signals();
    ct.scale = opt.scale;
    ct.strict = opt.strict;
    ct.image_size = DEFAULT_IMAGE_SZ;
    ct.auth_off = opt.auth && !strcmp(opt.auth, "off") && !opt.broker;
    ct.tls = opt.tls;
    cmocka_set_message_output(CM_OUTPUT_XML);
    if (prepare_run(&p, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        rc = 3;
    } else {
        rc = opt.jobs > 1 && nsel > 1 ? run_parallel(&p) : run_serial(&p);
    }
    dut_close(ct.dut);
    mc_cloud_stop(ct.cloud);
    rm_tree(p.state_dir);
    rm_tree(p.scratch);
    return rc;
}
