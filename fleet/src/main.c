/*
 * ota-fleet: N simulated devices upgrading at once against one
 * ota-mock-cloud, in one process and one event loop. It registers the
 * devices, logs each in on its own MQTT connection, creates every job, lets
 * each device download (HTTP or MQTT blocks), and prints what came of it:
 * devices done and failed (reasons grouped), messages, bytes, time, and the
 * peak memory of the cloud and of itself.
 *
 * Exit status: 0 every device without a fault plan upgraded, 1 some did
 * not, 2 bad usage, 3 could not start.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>

#include "fleet_cloud.h"
#include "otaproto/datadir.h"
#include "otaproto/version.h"

static struct {
    const char *cloud, *mock_cloud, *cloud_args, *faults, *from, *to, *json;
    double timeout_s;
    int quiet;
} opt = {.from = "1.0.0", .to = "2.0.0", .timeout_s = 600};

static fleet F;
static fl_cloud C;
static ota_data_paths paths;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ota-fleet [options]\n"
            "N simulated devices upgrade at once against one ota-mock-cloud, each with its own\n"
            "MQTT connection and Aliyun login, all in one process and one event loop.\n\n"
            "  --devices N          how many (default 100)\n"
            "  --transport T        mqtt (MQTT blocks, default) or http\n"
            "  --size BYTES         the image (default 65536; 1 to 16000000)\n"
            "  --block-size BYTES   bytes per MQTT block request (default 65536; 256..131072)\n"
            "  --faults LIST        a share of the devices gets a fault plan each, e.g.\n"
            "                       http-truncate-once=10%%,block-bad-crc-once=5%% (plan names as\n"
            "                       GET /scenarios lists them; a plan's transport wins)\n"
            "  --cloud HOST:PORT    use the running ota-mock-cloud with this control API\n"
            "                       (default: start one, and stop it at the end)\n"
            "  --mock-cloud PATH    the ota-mock-cloud to start (default: next to ota-fleet)\n"
            "  --cloud-args \"ARGS\"  more options for the ota-mock-cloud it starts (split at\n"
            "                       spaces), e.g. \"--url-host 192.168.1.10\"\n"
            "  --product-key PK     the devices' productKey (default a1FleetProd)\n"
            "  --prefix NAME        device names NAME00000, NAME00001, ... (default fleet-)\n"
            "  --from V, --to V     the version the devices run and the one pushed (default\n"
            "                       1.0.0 and 2.0.0)\n"
            "  --connect-window N   logins in flight at once (default 200)\n"
            "  --http-parallel N    HTTP downloads at once (default 64)\n"
            "  --timeout S          give up on the devices still busy after S seconds of upgrade\n"
            "                       (default 600)\n"
            "  --json FILE          also write the figures as one JSON object\n"
            "  --quiet              the summary only (no progress bar even on a terminal)\n"
            "  --version, --help\n\n"
            "Exit status: 0 every device without a fault plan upgraded, 1 some did not,\n"
            "2 bad usage, 3 could not start.\n\n"
            "This copy looks for (without options):\n");
    ota_data_describe(&paths, out);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "name=10%,name2=5%": the plans and their shares of the fleet. */
static int parse_faults(const char *text)
{
    char buf[1024], *save = NULL;
    double total = 0;

    snprintf(buf, sizeof(buf), "%s", text);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '='), *end;
        double pct;
        if (!eq || eq == t || F.nplans == FL_MAX_PLANS || (size_t)(eq - t) >= 64)
            return -1;
        pct = strtod(eq + 1, &end);
        if (end == eq + 1 || (strcmp(end, "%") && *end) || pct < 0 || pct > 100)
            return -1;
        snprintf(F.plans[F.nplans].name, sizeof(F.plans[0].name), "%.*s", (int)(eq - t), t);
        F.plans[F.nplans++].share = pct / 100.0;
        total += pct;
    }
    return total <= 100 ? 0 : -1;
}

static int parse_options(int argc, char **argv)
{
    long v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("ota-fleet %s\n", OTA_VERSION);
            exit(0);
        } else if (!strcmp(a, "--quiet")) {
            opt.quiet = 1;
            used = 0;
        } else if (!val) {
            fprintf(stderr, "ota-fleet: %s needs a value (see --help)\n", a);
            return -1;
        } else if (!strcmp(a, "--devices") && !parse_long(val, 1, 100000, &v)) {
            F.n = (int)v;
        } else if (!strcmp(a, "--transport") && (!strcmp(val, "mqtt") || !strcmp(val, "http"))) {
            F.mqtt = !strcmp(val, "mqtt");
        } else if (!strcmp(a, "--size") && !parse_long(val, 1, 16000000, &v)) {
            F.size = v;
        } else if (!strcmp(a, "--block-size") &&
                   !parse_long(val, OTA_BLOCK_MIN, OTA_BLOCK_MAX, &v)) {
            F.block = v;
        } else if (!strcmp(a, "--faults") && !parse_faults(val)) {
            opt.faults = val;
        } else if (!strcmp(a, "--cloud")) {
            opt.cloud = val;
        } else if (!strcmp(a, "--mock-cloud")) {
            opt.mock_cloud = val;
        } else if (!strcmp(a, "--cloud-args")) {
            opt.cloud_args = val;
        } else if (!strcmp(a, "--product-key") && *val && !strpbrk(val, "/+#.&")) {
            F.pk = val;
        } else if (!strcmp(a, "--prefix") && *val && strlen(val) < 40 && !strpbrk(val, "/+#&")) {
            F.prefix = val;
        } else if (!strcmp(a, "--from") && *val && strlen(val) <= OTA_MAX_VERSION) {
            opt.from = val;
        } else if (!strcmp(a, "--to") && *val && strlen(val) <= OTA_MAX_VERSION) {
            opt.to = val;
        } else if (!strcmp(a, "--connect-window") && !parse_long(val, 1, 100000, &v)) {
            F.connect_window = (int)v;
        } else if (!strcmp(a, "--http-parallel") && !parse_long(val, 1, 100000, &v)) {
            F.http_parallel = (int)v;
        } else if (!strcmp(a, "--timeout") && !parse_long(val, 1, 86400, &v)) {
            opt.timeout_s = (double)v;
        } else if (!strcmp(a, "--json")) {
            opt.json = val;
        } else {
            fprintf(stderr, "ota-fleet: bad option or value: %s %s (see --help)\n", a, val);
            return -1;
        }
        i += used;
    }
    if (!strcmp(opt.from, opt.to)) {
        fprintf(stderr, "ota-fleet: --from and --to must differ\n");
        return -1;
    }
    return 0;
}

/*
 * A device costs one descriptor (its MQTT socket) and one more while it
 * downloads by HTTP. Raise the soft limit to the hard one; say so when even
 * that is not enough.
 */
static int raise_nofile(void)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)F.n + (rlim_t)F.http_parallel + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        fprintf(stderr,
                "ota-fleet: %d devices need about %lu file descriptors; this process may open "
                "%lu (RLIMIT_NOFILE; raise the hard limit: ulimit -Hn, or LimitNOFILE=)\n",
                F.n, (unsigned long)need, (unsigned long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

/* The plans' transports from GET /scenarios: a name it does not list is an error. */
static int check_plans(char *err, size_t cap)
{
    fl_reply r;
    cJSON *arr;
    int rc = 0;

    if (!F.nplans)
        return 0;
    if (fl_api(C.api, "GET", "/scenarios", NULL, &r, err, cap) != 0)
        return -1;
    arr = cJSON_Parse(r.body);
    fl_reply_free(&r);
    for (int p = 0; p < F.nplans && rc == 0; p++) {
        const cJSON *s, *found = NULL;
        cJSON_ArrayForEach(s, arr)
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "plan");
            if (cJSON_IsString(name) && !strcmp(name->valuestring, F.plans[p].name))
                found = s;
        }
        if (!found) {
            snprintf(err, cap, "no fault plan '%s' in this cloud (GET /scenarios lists them)",
                     F.plans[p].name);
            rc = -1;
        } else {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(found, "transport");
            F.plans[p].mqtt = cJSON_IsString(t) && !strcmp(t->valuestring, "mqtt");
        }
    }
    cJSON_Delete(arr);
    return rc;
}

/* Names, secrets and plans: the first share of devices gets the first plan, and so on. */
static int make_devices(void)
{
    unsigned seed = (unsigned)getpid() ^ (unsigned)(ota_clock_now() * 1000);
    int next = 0;

    F.devs = calloc((size_t)F.n, sizeof(*F.devs));
    if (!F.devs)
        return -1;
    for (int i = 0; i < F.n; i++) {
        fl_device *d = &F.devs[i];
        d->idx = i;
        d->fd = -1;
        d->plan = -1;
        snprintf(d->dn, sizeof(d->dn), "%s%05d", F.prefix, i);
        for (int k = 0; k < 32; k++)
            d->secret[k] = "0123456789abcdef"[rand_r(&seed) & 15];
        snprintf(d->version, sizeof(d->version), "%s", opt.from);
    }
    F.count[FL_DEV_NEW] = F.n;
    for (int p = 0; p < F.nplans; p++) {
        int k = (int)(F.plans[p].share * F.n + 0.5);
        for (int j = 0; j < k && next < F.n; j++)
            F.devs[next++].plan = p;
        F.plans[p].devices = k;
    }
    return 0;
}

/* ---- the run's phases ---- */
static int jobs_made;
static double t_begin, t_bar, t_jobs;
static char run_err[512];

static void bar(fleet *f, const char *what, int of)
{
    int done = f->count[FL_DEV_DONE], failed = f->count[FL_DEV_FAILED], width = 40;
    int filled = of ? (done + failed) * width / of : 0;
    char line[64];

    if (!f->progress || ota_clock_now() - t_bar < 0.25)
        return;
    t_bar = ota_clock_now();
    memset(line, '#', (size_t)filled);
    memset(line + filled, '.', (size_t)(width - filled));
    line[width] = '\0';
    printf("\r%-9s [%s] %d/%d done, %d failed, %d connected, %.1f s ", what, line, done, of, failed,
           f->n - f->count[FL_DEV_NEW] - f->count[FL_DEV_CONNECTING], ota_clock_now() - t_begin);
    fflush(stdout);
}

static int connected_all(fleet *f)
{
    return interrupted || (f->count[FL_DEV_NEW] == 0 && f->count[FL_DEV_CONNECTING] == 0);
}

static void connect_tick(fleet *f)
{
    while (f->next_connect < f->n && f->pending_connacks < f->connect_window)
        fl_device_start(f, &f->devs[f->next_connect++]);
    if (f->progress) {
        int up = f->n - f->count[FL_DEV_NEW] - f->count[FL_DEV_CONNECTING];
        if (ota_clock_now() - t_bar >= 0.25) {
            t_bar = ota_clock_now();
            printf("\rlogin     %d/%d connected, %.1f s ", up, f->n, ota_clock_now() - t_begin);
            fflush(stdout);
        }
    }
}

static int finished_all(fleet *f)
{
    return interrupted ||
           (jobs_made == f->n && f->count[FL_DEV_DONE] + f->count[FL_DEV_FAILED] == f->n);
}

/*
 * Jobs are made in batches on the loop's thread, for up to 80 ms of every
 * 100 ms tick: the devices already pushed are served in between.
 */
static void upgrade_tick(fleet *f)
{
    double until = ota_clock_now() + 0.08;

    while (jobs_made < f->n && !run_err[0] && !interrupted && ota_clock_now() < until) {
        int n = fl_cloud_jobs(&C, f, jobs_made, 100, opt.to, run_err, sizeof(run_err));
        if (n > 0)
            jobs_made += n;
        else
            interrupted = 1;
        if (jobs_made == f->n)
            t_jobs = ota_clock_now();
    }
    bar(f, "upgrade", f->n);
}

/* ---- the summary ---- */
typedef struct {
    char text[FL_REASON + 80];
    int count;
} reason_group;

static int by_count(const void *a, const void *b)
{
    return ((const reason_group *)b)->count - ((const reason_group *)a)->count;
}

static void add_reason(reason_group *g, int *ng, const char *text)
{
    for (int i = 0; i < *ng; i++)
        if (!strcmp(g[i].text, text)) {
            g[i].count++;
            return;
        }
    snprintf(g[*ng].text, sizeof(g[0].text), "%s", text);
    g[(*ng)++].count = 1;
}

typedef struct {
    double connect_s, jobs_s, upgrade_s;
    long cloud_kb, broker_kb, self_kb;
    double cloud_cpu, broker_cpu, self_cpu;
    int done, failed, unplanned_failed;
} figures;

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Tally each device against the cloud's verdict; the groups of reasons, sorted. */
static void tally(char (*states)[16], reason_group *g, int *ng, figures *fg)
{
    for (int i = 0; i < F.n; i++) {
        fl_device *d = &F.devs[i];
        char text[FL_REASON + 80];
        const char *plan = d->plan >= 0 ? F.plans[d->plan].name : "no fault";
        int ok = d->state == FL_DEV_DONE && !strcmp(states[i], "SUCCEEDED");
        if (ok) {
            fg->done++;
            if (d->plan >= 0)
                F.plans[d->plan].done++;
            continue;
        }
        fg->failed++;
        fg->unplanned_failed += d->plan < 0;
        if (d->plan >= 0)
            F.plans[d->plan].failed++;
        if (d->state == FL_DEV_FAILED)
            snprintf(text, sizeof(text), "%s: %s (cloud: %s)", plan, d->reason, states[i]);
        else if (d->state == FL_DEV_DONE)
            snprintf(text, sizeof(text), "%s: upgraded, but the cloud says %s", plan, states[i]);
        else
            snprintf(text, sizeof(text), "%s: still %s at the deadline (cloud: %s)", plan,
                     fl_dev_state_name(d->state), states[i]);
        add_reason(g, ng, text);
    }
    qsort(g, (size_t)*ng, sizeof(*g), by_count);
}

static void print_mem(const char *who, long kb, double cpu, int n)
{
    if (kb < 0)
        printf("  %-8s peak memory n/a\n", who);
    else
        printf("  %-8s peak memory %.1f MiB (VmHWM), CPU %.2f s, %.3f ms per device\n", who,
               kb / 1024.0, cpu, n ? cpu * 1000.0 / n : 0);
}

static void write_json(const figures *fg)
{
    cJSON *o = cJSON_CreateObject();
    FILE *f;
    char *s;

    cJSON_AddNumberToObject(o, "devices", F.n);
    cJSON_AddStringToObject(o, "transport", F.mqtt ? "mqtt" : "http");
    cJSON_AddNumberToObject(o, "size", (double)F.size);
    cJSON_AddNumberToObject(o, "blockSize", (double)F.block);
    cJSON_AddNumberToObject(o, "done", fg->done);
    cJSON_AddNumberToObject(o, "failed", fg->failed);
    cJSON_AddNumberToObject(o, "connectSeconds", fg->connect_s);
    cJSON_AddNumberToObject(o, "upgradeSeconds", fg->upgrade_s);
    cJSON_AddNumberToObject(o, "jobsSeconds", fg->jobs_s);
    cJSON_AddNumberToObject(o, "messagesOut", (double)F.msgs_out);
    cJSON_AddNumberToObject(o, "messagesIn", (double)F.msgs_in);
    cJSON_AddNumberToObject(o, "mqttBytesIn", (double)F.bytes_in);
    cJSON_AddNumberToObject(o, "httpBytes", (double)F.http_bytes);
    cJSON_AddNumberToObject(o, "cloudPeakKiB", (double)fg->cloud_kb);
    cJSON_AddNumberToObject(o, "brokerPeakKiB", (double)fg->broker_kb);
    cJSON_AddNumberToObject(o, "fleetPeakKiB", (double)fg->self_kb);
    cJSON_AddNumberToObject(o, "cloudCpuSeconds", fg->cloud_cpu);
    cJSON_AddNumberToObject(o, "brokerCpuSeconds", fg->broker_cpu);
    cJSON_AddNumberToObject(o, "fleetCpuSeconds", fg->self_cpu);
    s = cJSON_Print(o);
    f = fopen(opt.json, "w");
    if (f && s)
        fprintf(f, "%s\n", s);
    if (f)
        fclose(f);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void summary(figures *fg, char (*states)[16])
{
    reason_group *g = calloc((size_t)F.n + 1, sizeof(*g));
    int ng = 0;

    if (g)
        tally(states, g, &ng, fg);
    printf("ota-fleet: %d devices, %s, %ld-byte image%s\n", F.n, F.mqtt ? "MQTT blocks" : "HTTP",
           F.size, F.nplans ? ", with faults" : "");
    if (F.mqtt)
        printf("  blocks   %ld bytes a request\n", F.block);
    printf("  done     %d\n  failed   %d\n", fg->done, fg->failed);
    for (int i = 0; g && i < ng && i < 20; i++)
        printf("    %6d  %s\n", g[i].count, g[i].text);
    if (ng > 20)
        printf("    (%d more reasons)\n", ng - 20);
    for (int p = 0; p < F.nplans; p++)
        printf("  plan     %s: %d devices, %d upgraded, %d failed\n", F.plans[p].name,
               F.plans[p].devices, F.plans[p].done, F.plans[p].failed);
    printf("  messages %lu sent, %lu received (%.1f MiB), HTTP %.1f MiB; %lu blocks, %lu asked "
           "again, %lu downloads, %lu reconnects\n",
           F.msgs_out, F.msgs_in, F.bytes_in / 1048576.0, F.http_bytes / 1048576.0, F.blocks,
           F.block_retries, F.http_tries, F.reconnects);
    printf("  time     login %.2f s, upgrade %.2f s (first job to last verdict; the jobs made in "
           "%.2f s)\n",
           fg->connect_s, fg->upgrade_s, fg->jobs_s);
    print_mem("cloud", fg->cloud_kb, fg->cloud_cpu, F.n);
    print_mem("broker", fg->broker_kb, fg->broker_cpu, F.n);
    print_mem("fleet", fg->self_kb, fg->self_cpu, F.n);
    if (opt.json)
        write_json(fg);
    free(g);
}

static int start_cloud(char *err, size_t cap)
{
    char prog[PATH_MAX], args[1024], *save = NULL;
    const char *extra[24];
    int n = 0;

    snprintf(args, sizeof(args), "%s", opt.cloud_args ? opt.cloud_args : "");
    for (char *t = strtok_r(args, " ", &save); t && n < 23; t = strtok_r(NULL, " ", &save))
        extra[n++] = t;
    extra[n] = NULL;
    if (opt.cloud) {
        snprintf(C.api, sizeof(C.api), "%s", opt.cloud);
    } else {
        snprintf(prog, sizeof(prog), "%.4000s/ota-mock-cloud", paths.bindir);
        if (fl_cloud_start(&C, opt.mock_cloud ? opt.mock_cloud : prog, extra, err, cap) != 0)
            return -1;
    }
    if (fl_cloud_status(&C, err, cap) != 0)
        return -1;
    snprintf(F.mqtt_host, sizeof(F.mqtt_host), "%s", C.mqtt_host);
    F.mqtt_port = C.mqtt_port;
    return check_plans(err, cap);
}

/* Wait for the cloud's last verdicts (a device's last report may still be on its way). */
static int verdicts(char (*states)[16], char *err, size_t cap)
{
    double end = ota_clock_now() + 15;
    int open;

    do {
        open = fl_cloud_verdicts(&C, &F, states, err, cap);
        if (open <= 0)
            break;
        ota_sleep(0.05);
    } while (ota_clock_now() < end);
    return open < 0 ? -1 : 0;
}

static int run(figures *fg)
{
    char err[512] = "";
    char(*states)[16] = NULL;
    double cloud_cpu0, broker_cpu0, self_cpu0, t0;
    long kb;
    int rc = 3;

    if (make_devices() != 0 || fl_loop_init(&F, err, sizeof(err)) != 0 ||
        start_cloud(err, sizeof(err)) != 0 ||
        fl_cloud_register(&C, &F, opt.from, err, sizeof(err)) != 0)
        goto out;
    t_begin = ota_clock_now();
    fl_loop_run(&F, t_begin + 60 + F.n / 50.0, connected_all, connect_tick);
    fg->connect_s = ota_clock_now() - t_begin;
    if (F.progress)
        printf("\n");
    if (interrupted || F.count[FL_DEV_NEW] + F.count[FL_DEV_CONNECTING]) {
        snprintf(err, sizeof(err), "%d devices %s after %.1f s",
                 F.count[FL_DEV_NEW] + F.count[FL_DEV_CONNECTING],
                 interrupted ? "not logged in yet: interrupted" : "could not log in",
                 fg->connect_s);
        goto out;
    }
    fl_proc_figures(C.cloud_pid, &kb, &cloud_cpu0);
    fl_proc_figures(C.broker_pid, &kb, &broker_cpu0);
    self_cpu0 = self_cpu();
    t0 = ota_clock_now();
    fl_loop_run(&F, t0 + opt.timeout_s, finished_all, upgrade_tick);
    if (F.progress)
        printf("\n");
    if (run_err[0]) {
        snprintf(err, sizeof(err), "%s", run_err);
        goto out;
    }
    states = calloc((size_t)F.n, sizeof(*states));
    if (!states || verdicts(states, err, sizeof(err)) != 0)
        goto out;
    fg->upgrade_s = ota_clock_now() - t0;
    fg->jobs_s = t_jobs > t0 ? t_jobs - t0 : 0;
    fl_proc_figures(C.cloud_pid, &fg->cloud_kb, &fg->cloud_cpu);
    fl_proc_figures(C.broker_pid, &fg->broker_kb, &fg->broker_cpu);
    fl_proc_figures(getpid(), &fg->self_kb, &fg->self_cpu);
    fg->cloud_cpu = fg->cloud_cpu >= 0 ? fg->cloud_cpu - cloud_cpu0 : -1;
    fg->broker_cpu = fg->broker_cpu >= 0 ? fg->broker_cpu - broker_cpu0 : -1;
    fg->self_cpu = self_cpu() - self_cpu0;
    summary(fg, states);
    rc = fg->unplanned_failed || interrupted ? 1 : 0;
out:
    if (rc == 3)
        fprintf(stderr, "ota-fleet: %s\n", err[0] ? err : "could not start");
    free(states);
    return rc;
}

int main(int argc, char **argv)
{
    figures fg = {0};
    int rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    ota_data_locate(&paths);
    F.n = 100;
    F.mqtt = 1;
    F.size = 65536;
    F.block = 65536;
    F.pk = "a1FleetProd";
    F.prefix = "fleet-";
    F.connect_window = 200;
    F.http_parallel = 64;
    F.epfd = -1;
    C.batch = -1;
    if (parse_options(argc, argv) != 0)
        return 2;
    F.progress = !opt.quiet && isatty(1);
    if (raise_nofile() != 0)
        return 3;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    mosquitto_lib_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = run(&fg);
    for (int i = 0; F.devs && i < F.n; i++)
        fl_device_free(&F.devs[i]);
    fl_loop_free(&F);
    fl_cloud_stop(&C);
    fl_api_close();
    free(F.devs);
    curl_global_cleanup();
    mosquitto_lib_cleanup();
    return rc;
}
