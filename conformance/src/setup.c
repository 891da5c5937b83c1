/*
 * The set-up and tear-down of one run (or one --jobs worker): the device
 * profile and the command line's overrides, temporary folders, the mock
 * cloud and its broker, the device through its adapter, the run's own trace
 * records and the reports written from the trace. It runs no test.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "otaproto/datadir.h"
#include "firmware.h"
#include "run_priv.h"
#include "waivers.h"

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

/* The trace's event for each adapter event (a log line is a plain LOG record). */
static ota_trace_event dut_trace_event(dut_event_kind k)
{
    static const ota_trace_event ev[DUT_EV__COUNT] = {
        [DUT_EV_START] = OTA_EV_START,     [DUT_EV_READY] = OTA_EV_READY,
        [DUT_EV_EVENT] = OTA_EV_DUT_EVENT, [DUT_EV_LOG] = OTA_EV_NONE,
        [DUT_EV_EXIT] = OTA_EV_EXIT,       [DUT_EV_KILLED] = OTA_EV_KILLED,
        [DUT_EV_CRASH] = OTA_EV_CRASH,
    };
    return (unsigned)k < DUT_EV__COUNT ? ev[k] : OTA_EV_NONE;
}

static void on_dut_event(void *ud, dut_event_kind k, const char *text)
{
    mc_cloud *c = ud;
    ct_boards_note_event(k, text); /* several boards: is this one gone? */
    if (k == DUT_EV_LOG) {
        if (log_admit(c))
            mc_trace_add(c, OTA_TR_LOG, ct.dev.dn, NULL, NULL, 0, "%s", text);
    } else {
        mc_trace_event(c, OTA_TR_DUT, MC_EV(dut_trace_event(k)), ct.dev.dn, NULL, NULL, 0, "%s: %s",
                       dut_event_name(k), text);
    }
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

/* Where this copy finds its data (installed or a build folder); located once per process. */
static ota_data_paths data_paths;

static int open_cloud(ct_run *r, ct_paths *p, char *err, size_t errcap)
{
    mc_config cfg = {0};
    char host[128] = "";
    const char *plugin = data_paths.plugin;
    int port = 0, rc;

    if (r->opt.auth && strcmp(r->opt.auth, "off") && strcmp(r->opt.auth, "on")) {
        snprintf(err, errcap, "--auth wants on or off, got '%s'", r->opt.auth);
        return -1;
    }
    if (!r->opt.broker && !r->opt.cloud) {
        if (access(plugin, R_OK) != 0) {
            snprintf(err, errcap, "the broker plugin %.300s is missing (build the project first)",
                     plugin);
            return -1;
        }
        cfg.plugin_path = plugin;
        cfg.auth_off = r->opt.auth && !strcmp(r->opt.auth, "off");
        ct.auth_off = cfg.auth_off;
    }

    if (r->opt.broker) {
        if (sscanf(r->opt.broker, "%127[^:]:%d", host, &port) != 2 || port <= 0 || port > 65535) {
            snprintf(err, errcap, "--broker wants HOST:PORT, got '%s'", r->opt.broker);
            return -1;
        }
        cfg.broker_host = host;
        cfg.broker_port = port;
    }
    if (r->opt.tls) {
        cfg.tls_dir = p->certs;
        cfg.https_urls = 1;
    }
    if (!r->opt.broker) {
        ct_device_endpoints(&r->prof, &cfg);
        if (!r->opt.cloud && ct_device_fixes_ports(&r->prof) &&
            ct_device_ports_free(&r->prof, &r->opt.dev, p->profile, err, errcap) != 0)
            return -1;
    }
    if (r->opt.cloud) { /* its broker, our file server on its address */
        static mc_join_info join;
        if (mc_cloud_join(r->opt.cloud, &ct.dev, &join, err, errcap) != MC_OK)
            return -1;
        cfg.join = &join;
        if (!r->prof.listen[0])
            cfg.listen_addr = join.listen;
        if (!r->prof.url_host[0])
            cfg.url_host = join.url_host;
        ct.auth_off = join.auth_off;
    }
    cfg.dialect = r->opt.dialect;
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

static void build_env(const ct_run *r, ct_paths *p)
{
    int n = 0;
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_DIALECT=%s", ota_dialect_name(ct.dialect));
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_MQTT_HOST=%s", mc_cloud_broker_host(ct.cloud));
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_MQTT_PORT=%d",
             r->opt.tls ? mc_cloud_mqtts_port(ct.cloud) : mc_cloud_broker_port(ct.cloud));
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_MQTT_TLS=%d", r->opt.tls);
    if (r->opt.tls)
        snprintf(p->env[n++], sizeof(p->env[0]), "OTA_CA_FILE=%.*s/ca.pem",
                 (int)sizeof(p->env[0]) - 32, p->certs);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_PRODUCT_KEY=%s", ct.dev.pk);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_DEVICE_NAME=%s", ct.dev.dn);
    snprintf(p->env[n++], sizeof(p->env[0]), "OTA_DEVICE_SECRET=%s", ct.dev.secret);
    /* A token dialect's own names for the same identity (docs/dut-contract.md): both pairs. */
    if (ct.dialect && ct.dialect->auth == OTA_AUTH_TOKEN) {
        snprintf(p->env[n++], sizeof(p->env[0]), "OTA_ACCESS_TOKEN=%s", ct.dev.secret);
        snprintf(p->env[n++], sizeof(p->env[0]), "OTA_DEVICE_NUMBER=%s", ct.dev.dn);
    }
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
static int use_profile(ct_run *r, const char *path, char *err, size_t errcap)
{
    r->opt.dev.dut_cmd = r->opt.dut_cmd;
    r->opt.dev.tls = r->opt.tls;
    r->opt.dev.scale = r->opt.scale;
    if (ct_device_prepare(path, &r->opt.dev, &r->prof, err, errcap) != 0)
        return -1;
    memset(&ct.dev, 0, sizeof(ct.dev));
    snprintf(ct.dev.pk, sizeof(ct.dev.pk), "%s", r->prof.pk);
    snprintf(ct.dev.dn, sizeof(ct.dev.dn), "%s", r->prof.dn);
    snprintf(ct.dev.secret, sizeof(ct.dev.secret), "%s", r->prof.secret);
    snprintf(ct.dev.module, sizeof(ct.dev.module), "%s", r->prof.module);
    snprintf(ct.dev.firmware_version, sizeof(ct.dev.firmware_version), "%s",
             r->prof.firmware_version);
    r->opt.tls = ct.tls = r->prof.tls;
    r->opt.scale = ct.scale = r->prof.time_scale;
    ct.adapter = dut_adapter_kind_name(r->prof.adapter);
    ct.boot_by_connect =
        r->prof.adapter == DUT_ADAPTER_SERIAL || r->prof.adapter == DUT_ADAPTER_NETWORK;
    ct.can_reset = r->prof.adapter == DUT_ADAPTER_PROCESS ||
                   r->prof.adapter == DUT_ADAPTER_REFERENCE ||
                   (r->prof.adapter == DUT_ADAPTER_SERIAL && r->prof.reset != DUT_RESET_NONE);
    ct.module_fixed = r->prof.compiled_in;
    /* A process is cut by SIGKILL; a board only when its reset is the power-cycle command. */
    ct.power_cut = r->prof.adapter == DUT_ADAPTER_PROCESS ||
                   r->prof.adapter == DUT_ADAPTER_REFERENCE ||
                   (r->prof.adapter == DUT_ADAPTER_SERIAL && r->prof.reset == DUT_RESET_COMMAND &&
                    r->prof.power_cmd[0] && !r->prof.reset_cmd[0]);
    ct.bounds = r->prof.bounds;
    if (r->opt.netns && r->prof.adapter == DUT_ADAPTER_SERIAL) {
        snprintf(err, errcap,
                 "--netns is for devices the suite starts (a board reaches the "
                 "broker over its own network): drop --netns");
        return -1;
    }
    if (r->opt.jobs > 1 && r->opt.netns && r->prof.adapter == DUT_ADAPTER_NETWORK &&
        !r->prof.command[0]) {
        snprintf(err, errcap,
                 "--jobs with a network device needs the profile's \"command\" to start one in "
                 "each instance's namespace: add it, or use --jobs 1");
        return -1;
    }
    if (r->opt.jobs > 1 && !r->opt.netns &&
        (ct.boot_by_connect || ct_device_fixes_ports(&r->prof))) {
        snprintf(err, errcap,
                 "--jobs needs devices the suite starts itself on ports it chooses "
                 "(adapter reference or process, no fixed ports), or --netns: use --jobs 1");
        return -1;
    }
    return 0;
}

int ct_setup_prepare(ct_run *r, ct_paths *p, char *err, size_t errcap)
{
    ota_data_locate(&data_paths);
    snprintf(p->fixtures, sizeof(p->fixtures), "%s", ct_cli_fixtures(&r->opt));
    snprintf(p->devices, sizeof(p->devices), "%s/devices", p->fixtures);
    snprintf(ct.scenarios, sizeof(ct.scenarios), "%.4000s/scenarios", p->fixtures);
    snprintf(p->certs, sizeof(p->certs), "%s", r->opt.certs ? r->opt.certs : data_paths.certs);
    if (r->opt.device)
        snprintf(p->profile, sizeof(p->profile), "%s", r->opt.device);
    else
        snprintf(p->profile, sizeof(p->profile), "%s/ref-device.json", p->devices);
    if (use_profile(r, p->profile, err, errcap) != 0)
        return -1;
    /* An installed copy makes its test certificates on first use. */
    if (r->opt.tls && ota_data_certs_ensure(&data_paths, p->certs, err, errcap) != 0)
        return -1;
    snprintf(p->state_dir, sizeof(p->state_dir), "/tmp/ota-dut-XXXXXX");
    snprintf(p->scratch, sizeof(p->scratch), "/tmp/ota-cmocka-XXXXXX");
    if (!mkdtemp(p->state_dir) || !mkdtemp(p->scratch)) {
        snprintf(err, errcap, "cannot create a temporary folder: %s", strerror(errno));
        return -1;
    }
    if (ct_fw_setup(&r->prof, p->scratch,
                    r->prof.adapter == DUT_ADAPTER_PROCESS ||
                            r->prof.adapter == DUT_ADAPTER_REFERENCE
                        ? p->state_dir
                        : NULL,
                    data_paths.bindir, r->opt.quiet || r->is_worker, err, errcap) != 0)
        return -1;
    /* Always a trace file: the reports are built from it, as ota-report does. */
    if (r->opt.trace)
        snprintf(p->trace, sizeof(p->trace), "%s", r->opt.trace);
    else
        snprintf(p->trace, sizeof(p->trace), "%s/trace.jsonl", p->scratch);
    if (r->prof.adapter == DUT_ADAPTER_PROCESS)
        snprintf(p->cmd, sizeof(p->cmd), "%s", r->prof.command);
    else if (r->prof.adapter == DUT_ADAPTER_REFERENCE)
        snprintf(p->cmd, sizeof(p->cmd), "exec '%s/ota-ref-device'", data_paths.bindir);
    else if (r->prof.adapter == DUT_ADAPTER_SERIAL)
        snprintf(p->cmd, sizeof(p->cmd), "(board on %.200s)", r->prof.serial_port);
    else
        snprintf(p->cmd, sizeof(p->cmd), "(network device: nothing started)");
    return 0;
}

int ct_setup_cloud(ct_run *r, ct_paths *p, char *err, size_t errcap)
{
    if (open_cloud(r, p, err, errcap) != 0)
        return -1;
    build_env(r, p);
    return 0;
}

int ct_setup_device(ct_run *r, ct_paths *p, char *err, size_t errcap)
{
    dut_callbacks cb;
    mc_device_info d;
    char first[32];

    /* The folder the device was given as its flash: the power group watches it. */
    ct.state_dir = ct.power_cut && !ct.boot_by_connect ? p->state_dir : NULL;
    cb = (dut_callbacks){on_dut_event, ct.cloud};
    if (ct_fw_start(NULL, err, errcap) != 0)
        return -1;
    if (ct_device_open(&r->prof, p->cmd, p->envp, &cb, &ct.dut, err, errcap) != 0 ||
        ct_device_board_ready(&r->prof, ct.dut, ct.scale, err, errcap) != 0)
        return -1;
    if (!r->opt.quiet && ct.boot_by_connect && !r->is_worker)
        printf("waiting up to %.0f s for the device %s to connect to %s:%d\n",
               ct_secs(r->prof.bounds.boot + r->prof.bounds.inform), ct.dev.dn,
               mc_cloud_broker_host(ct.cloud),
               r->opt.tls ? mc_cloud_mqtts_port(ct.cloud) : mc_cloud_broker_port(ct.cloud));
    if (ct_first_boot(err, errcap) != 0)
        return CT_SETUP_NEVER_UP;
    /* Targets above what it runs: a device is never asked to downgrade. */
    if (mc_device_get(ct.cloud, ct.dev.dn, &d) == MC_OK) {
        int major = atoi(d.reported_version[0] ? d.reported_version : d.firmware_version);
        ct.version_major = major >= 9 ? major + 1 : 9;
    }
    /* The first target's image now: a build that fails stops the run before any test. */
    snprintf(first, sizeof(first), "%d.0.%d", ct.version_major, ct.version_seq + 1);
    if (ct_fw_start(first, err, errcap) != 0)
        return -1;
    return ct_fw_probe(r->opt.quiet || r->is_worker, err, errcap) != 0 ? -1 : 0;
}

int ct_setup_start(ct_run *r, ct_paths *p, char *err, size_t errcap)
{
    if (ct_setup_cloud(r, p, err, errcap) != 0)
        return -1;
    return ct_setup_device(r, p, err, errcap);
}

int ct_setup_check_outputs(const ct_run *r, char *err, size_t errcap)
{
    const struct {
        const char *what, *path;
    } outs[] = {
        {"JUnit report", r->opt.junit}, {"HTML report", r->opt.html}, {"trace", r->opt.trace}};

    for (size_t k = 0; k < sizeof(outs) / sizeof(outs[0]); k++)
        if (outs[k].path && rp_output_prepare(outs[k].what, outs[k].path, err, errcap) != RP_OK)
            return -1;
    return 0;
}

char *ct_setup_run_begin_json(const ct_run *r, const ct_paths *p, const char *broker, int auth_off)
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
        const ct_rule *rule = ct_rule_at(i);
        snprintf(info.rules[i].id, sizeof(info.rules[i].id), "%s", rule->id);
        snprintf(info.rules[i].tier, sizeof(info.rules[i].tier), "%s", ct_tier_name(rule->tier));
        info.rules[i].compat = rule->compat;
        snprintf(info.rules[i].text, sizeof(info.rules[i].text), "%s", rule->text);
        info.nrules = (int)i + 1;
    }
    snprintf(info.suite, sizeof(info.suite), "ota-conformance");
    snprintf(info.device, sizeof(info.device), "%s", ct.dev.dn);
    snprintf(info.dialect, sizeof(info.dialect), "%s", ota_dialect_name(ct.dialect));
    snprintf(info.adapter, sizeof(info.adapter), "%s", ct.adapter ? ct.adapter : "process");
    snprintf(info.dut_cmd, sizeof(info.dut_cmd), "%.500s", p->cmd);
    snprintf(info.broker, sizeof(info.broker), "%s", broker);
    snprintf(info.fw_before, sizeof(info.fw_before), "%s", ct.dev.firmware_version);
    strftime(info.started, sizeof(info.started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    info.strict = r->opt.strict;
    info.auth_off = auth_off;
    info.time_scale = r->opt.scale;
    /* The selection: a test that never starts is still in every report, as not run. */
    info.planned = calloc(r->nsel ? r->nsel : 1, sizeof(*info.planned));
    for (size_t i = 0; info.planned && i < r->nsel; i++) {
        rp_planned *x = &info.planned[i];
        snprintf(x->group, sizeof(x->group), "%s", r->sel[i]->group);
        snprintf(x->name, sizeof(x->name), "%s", r->sel[i]->name);
        snprintf(x->rules, sizeof(x->rules), "%s", r->sel[i]->rules);
        ct_runner_tiers(r->sel[i]->rules, x->tiers, sizeof(x->tiers));
        info.nplanned = (int)i + 1;
    }
    for (const char *e;
         info.nexpired < RP_MAX_EXPIRED && (e = ct_waivers_expired(info.nexpired)) != NULL;)
        snprintf(info.expired[info.nexpired++], sizeof(info.expired[0]), "%s", e);
    json = rp_run_info_to_json(&info);
    free(info.rules);
    free(info.planned);
    return json;
}

const char *ct_setup_checks_text(const ct_run *r)
{
    return ct.auth_off && r->opt.tls ? "TLS (MQTTS, HTTPS), AUTH OFF: logins not checked"
           : ct.auth_off             ? "AUTH OFF: logins not checked"
           : r->opt.tls              ? "TLS (MQTTS, HTTPS), logins and topics checked"
                                     : "logins and topics checked";
}

void ct_setup_trace_run_begin(const ct_run *r, const ct_paths *p)
{
    char broker[160], *json; /* the record keeps its first 127 characters (rp_run_info) */

    snprintf(broker, sizeof(broker), "%s %.40s:%d, %s",
             mc_cloud_broker_embedded(ct.cloud) ? "embedded" : "external",
             mc_cloud_broker_host(ct.cloud),
             r->opt.tls ? mc_cloud_mqtts_port(ct.cloud) : mc_cloud_broker_port(ct.cloud),
             !mc_cloud_plugin(ct.cloud) ? "no login or topic checks" : ct_setup_checks_text(r));
    if (r->opt.cloud)
        snprintf(broker, sizeof(broker), "joined ota-mock-cloud at %.60s, %s", r->opt.cloud,
                 ct_setup_checks_text(r));
    /* Logins go unchecked only where our plugin checks them otherwise. */
    json = ct_setup_run_begin_json(r, p, broker,
                                   ct.auth_off && (r->opt.cloud || mc_cloud_plugin(ct.cloud)));
    mc_trace_event(ct.cloud, OTA_TR_TEST, MC_EV(OTA_EV_RUN_BEGIN), ct.dev.dn, NULL, json,
                   json ? strlen(json) : 0, "run-begin");
    free(json);
}

char *ct_setup_run_end_json(double secs, const char *fw_after, const char *stopped)
{
    cJSON *o = cJSON_CreateObject();
    char *json;

    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "seconds", (double)(long long)(secs * 1000) / 1000);
    cJSON_AddStringToObject(o, "fw_after", fw_after ? fw_after : "");
    if (ct_interrupted)
        cJSON_AddNumberToObject(o, "interrupted", 1);
    if (stopped && *stopped)
        cJSON_AddStringToObject(o, "stopped", stopped);
    json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

void ct_setup_trace_run_end(double secs, const char *stopped)
{
    mc_device_info d;
    char *json;

    memset(&d, 0, sizeof(d));
    mc_device_get(ct.cloud, ct.dev.dn, &d);
    json = ct_setup_run_end_json(secs, d.reported_version, stopped);
    mc_trace_event(ct.cloud, OTA_TR_TEST, MC_EV(OTA_EV_RUN_END), ct.dev.dn, NULL, json,
                   json ? strlen(json) : 0, "run-end");
    free(json);
}

int ct_setup_write_reports(const ct_run *r, const char *trace, rp_report **out, int *worse)
{
    const ct_options *o = &r->opt;
    rp_report *rep = NULL;
    char err[512];
    int rc = 0;

    *worse = 0;
    *out = NULL;
    /* Always loaded: the summary's counts are the reports' own. */
    if (rp_report_load(trace, &rep, err, sizeof(err)) != RP_OK) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return -1;
    }
    if (o->baseline) {
        if (rp_report_compare(rep, o->baseline, &o->thresholds, o->baseline_strict, err,
                              sizeof(err)) != RP_OK) {
            fprintf(stderr, "ota-conformance: --baseline: %s\n", err);
            rc = -1;
        }
        rp_compare_print(rep, stdout);
        *worse = o->baseline_strict && rep->cmp && rep->cmp->worse;
    }
    if (o->junit && rp_report_junit(rep, o->junit) != RP_OK) {
        fprintf(stderr, "ota-conformance: cannot write the JUnit report %s: %s\n", o->junit,
                strerror(errno));
        rc = -1;
    }
    if (o->html && rp_html_write(rep, o->html) != RP_OK) {
        fprintf(stderr, "ota-conformance: cannot write the HTML report %s: %s\n", o->html,
                strerror(errno));
        rc = -1;
    }
    *out = rep;
    return rc;
}

void ct_setup_teardown(ct_paths *p)
{
    dut_close(ct.dut);
    ct.dut = NULL;
    mc_cloud_stop(ct.cloud); /* flushes and closes the trace */
    ct.cloud = NULL;
    rm_tree(p->state_dir);
    rm_tree(p->scratch);
}
