/*
 * ota-mock-cloud: the mock cloud on its own, for a person testing a board by
 * hand. It starts the broker (MQTT, and MQTTS with --tls) and the file server
 * (HTTP, and HTTPS with --tls) on fixed ports when asked, loads the devices
 * from fixtures, prints every message as it happens, and takes orders on a
 * small HTTP control API:
 *
 *   GET  /devices          the devices and the version each reported last
 *   GET  /jobs             every job with its state and the cloud's verdict
 *   GET  /jobs/N           one job
 *   POST /jobs             create and push a job (JSON body, see usage())
 *   POST /jobs/N/cancel    cancel an open job (DELETE /jobs/N does the same)
 *   GET  /trace?from=K     the trace from record K on, as JSON lines
 *   GET  /scenarios        the fault plans it can apply
 *   POST /broker/restart?down=S   restart the broker (persistence on), down S seconds
 *   POST /devices/DN/kick  disconnect the device
 *   POST /join, DELETE /join/DN   a conformance run claims a device / gives it back (api_join.c)
 *   POST /devices          register devices, one profile or an array (api_fleet.c)
 *   GET  /status           pids, the broker's address, counts (api_fleet.c)
 *
 * Exit status: 0 stopped by SIGINT or SIGTERM, 2 bad usage, 3 could not start.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "daemon.h"
#include "api_join.h"
#include "otamock/mock.h"
#include "otaproto/datadir.h"
#include "otaproto/limits.h"
#include "otaproto/porthold.h"
#include "otaproto/version.h"

#define MAX_BODY     (2 * 1024 * 1024) /* a batch of MCD_JOBS_BATCH_MAX jobs fits */
#define MAX_PRELOADS 64                /* --firmware options */
#define TRACE_PAGE   2000
#define DEFAULT_SIZE (64 * 1024)
#define LOG_BATCH_NS 20000000L /* 20 ms between the log's batches */
/*
 * Trace records kept in memory (--trace-keep): a daemon runs for weeks, so
 * its memory must not grow with the records; GET /trace serves the newest
 * ones, the --trace file has them all.
 */
#define MCD_TRACE_KEEP 10000

static struct {
    const char *devices, *scenarios, *listen, *certs, *trace, *url_host, *auth, *mosquitto;
    const char *job_timeout, *dialect, *push_topic, *push_values, *trace_keep;
    const char *firmware_dir, *firmware_max, *api_token;
    const char *firmware[MAX_PRELOADS]; /* --firmware FILE@VERSION, in order */
    int nfirmware;
    int mqtt_port, mqtts_port, http_port, https_port, api_port;
    int tls, url_no_port, http_urls, quiet;
} opt;

static mc_cloud *cloud;
static size_t trace_keep = MCD_TRACE_KEEP;
static size_t firmware_max = MCD_FIRMWARE_MAX_DEFAULT;
static char scenarios_dir[PATH_MAX];
/* Where this copy finds its data: next to the program when installed, else the source tree. */
static ota_data_paths data_paths;

static void usage(FILE *f)
{
    fprintf(f, "usage: ota-mock-cloud [options]\n"
               "The mock Aliyun IoT cloud on its own: broker, file server, OTA jobs, faults.\n\n"
               "  --listen ADDR       address of every port (default 127.0.0.1; 0.0.0.0 for the\n"
               "                      lab network)\n"
               "  --mqtt-port N       MQTT port (default: a free one; 1883 is the usual)\n"
               "  --mqtts-port N      MQTT over TLS port, with --tls (8883 is the usual)\n"
               "  --http-port N       file server port (80 for the 3.x SDK, which only downloads\n"
               "                      from port 80)\n"
               "  --https-port N      HTTPS file server port, with --tls (443 is the usual)\n"
               "  --api-port N        control API port (default: a free one)\n"
               "  --tls               MQTTS and HTTPS with the test certificates (the CA is\n"
               "                      ca.pem of --certs); download URLs are https\n"
               "  --http-urls         with --tls: download URLs stay plain http\n"
               "  --certs DIR         the certificates (default: the build's certs/; an installed\n"
               "                      copy makes them on first use in\n"
               "                      $XDG_CACHE_HOME/ota-conformance/certs or ~/.cache/…)\n"
               "  --url-host HOST     host in download URLs (default: the listen address; set it\n"
               "                      to the address the board reaches this machine by)\n"
               "  --url-no-port       download URLs without a port (both Alibaba SDKs take the\n"
               "                      port from their own settings)\n"
               "  --devices DIR       device profiles (default: devices/ of the fixtures folder:\n"
               "                      ../share/ota-conformance next to this program when\n"
               "                      installed, else the source tree's fixtures/)\n"
               "  --scenarios DIR     fault plans (default: scenarios/ of the fixtures folder)\n"
               "  --auth on|off       off: accept device logins without checking their signature\n"
               "                      (default on)\n"
               "  --trace FILE        also write the JSONL trace to FILE\n"
               "  --trace-keep N      trace records kept in memory for GET /trace (default\n"
               "                      10000; 0: all); the file gets every one\n"
               "  --job-timeout S     an open job fails (TIMED_OUT) after S seconds (default\n"
               "                      1800, 30 minutes; 0: never)\n"
               "  --dialect NAME      aliyun (default) or thingspanel: logins by access token\n"
               "                      (the profile's deviceSecret), the push under params\n"
               "  --push-topic WHICH  thingspanel: the push on ota/devices/inform/DN,\n"
               "                      infrom/DN (the stock server's spelling) or both (default)\n"
               "  --push-values V     thingspanel: code (the stock server's \"200\", size \"0\"\n"
               "                      and empty sign; default) or doc (numbers, the digest)\n"
               "  --mosquitto PATH    the broker program (default /usr/sbin/mosquitto when it\n"
               "                      exists, else mosquitto from PATH)\n"
               "  --firmware FILE@VERSION  a firmware in the store from the start (repeatable),\n"
               "                      served from FILE itself\n"
               "  --firmware-dir DIR  keep the store's files in DIR (kept across runs; default:\n"
               "                      a temporary folder removed at exit)\n"
               "  --firmware-max N    the largest upload in bytes, or with K, M or G (binary;\n"
               "                      default 64M); a larger one gets 413\n"
               "  --api-token T       the token the API and the console need (a header:\n"
               "                      Authorization: Bearer T); default: none on a loopback\n"
               "                      --listen, else one generated and printed at start\n"
               "  --quiet             no message log, only the start-up lines and errors\n"
               "  --version           print the version and exit\n"
               "  --help, -h          this text\n\n"
               "The console: http://HOST:API-PORT/ in a browser.\n"
               "Control API (JSON): GET /devices, GET /jobs, GET /jobs/N, GET /scenarios,\n"
               "GET /trace?from=K, POST /broker/restart?down=S, POST /devices/DN/kick,\n"
               "POST /join (a conformance run claims a device; hands out the cloud credential),\n"
               "DELETE /join/DN, GET /status (pids and the broker), POST /devices (device\n"
               "profiles: one, or an array of up to 1000),\n"
               "POST /firmware?version=V&module=M (the file as the raw body; answers its id,\n"
               "size, MD5 and SHA-256), GET /firmware, DELETE /firmware/N,\n"
               "POST /jobs/N/cancel (or DELETE /jobs/N), POST /jobs with\n"
               "  {\"device\":\"ref-device-01\",\"version\":\"2.0.0\",   (required)\n"
               "   \"firmware\":N (a stored firmware instead of version and size),\n"
               "   \"size\":65536, \"digest\":\"md5\"|\"sha256\", \"module\":\"default\",\n"
               "   \"transport\":\"http\"|\"mqtt\", \"plan\":\"http-close-once\",\n"
               "   \"timeout\":600 (seconds; 0: never)}  (optional)\n\n"
               "Exit status: 0 stopped by SIGINT or SIGTERM, 2 bad usage, 3 could not start.\n\n"
               "This copy looks for (without options):\n");
    ota_data_describe(&data_paths, f);
}

static int parse_port(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 65535)
        return -1;
    *out = (int)v;
    return 0;
}

/* A count from 0 to 100,000,000. */
static int parse_count(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || *s == '-' || v > 100000000ULL)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Bytes, with an optional K, M or G (binary), from 1 to 4 GiB - 1. */
static int parse_bytes(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10), unit = 1;

    if (end == s || *s == '-')
        return -1;
    if (*end == 'K' || *end == 'k')
        unit = 1024ULL;
    else if (*end == 'M' || *end == 'm')
        unit = 1024ULL * 1024;
    else if (*end == 'G' || *end == 'g')
        unit = 1024ULL * 1024 * 1024;
    if (unit > 1)
        end++;
    if (*end == 'i' && end[1] == 'B')
        end += 2;
    if (*end || v == 0 || v > 4ULL * 1024 * 1024 * 1024 / unit)
        return -1;
    *out =
        (size_t)(v * unit >= 4ULL * 1024 * 1024 * 1024 ? 4ULL * 1024 * 1024 * 1024 - 1 : v * unit);
    return 0;
}

static int parse_options(int argc, char **argv)
{
    static const struct {
        const char *name;
        const char **str;
        int *port;
        int *flag;
    } table[] = {
        {"--listen", &opt.listen, NULL, NULL},
        {"--certs", &opt.certs, NULL, NULL},
        {"--devices", &opt.devices, NULL, NULL},
        {"--scenarios", &opt.scenarios, NULL, NULL},
        {"--trace", &opt.trace, NULL, NULL},
        {"--trace-keep", &opt.trace_keep, NULL, NULL},
        {"--url-host", &opt.url_host, NULL, NULL},
        {"--auth", &opt.auth, NULL, NULL},
        {"--mosquitto", &opt.mosquitto, NULL, NULL},
        {"--job-timeout", &opt.job_timeout, NULL, NULL},
        {"--dialect", &opt.dialect, NULL, NULL},
        {"--push-topic", &opt.push_topic, NULL, NULL},
        {"--push-values", &opt.push_values, NULL, NULL},
        {"--firmware-dir", &opt.firmware_dir, NULL, NULL},
        {"--firmware-max", &opt.firmware_max, NULL, NULL},
        {"--api-token", &opt.api_token, NULL, NULL},
        {"--mqtt-port", NULL, &opt.mqtt_port, NULL},
        {"--mqtts-port", NULL, &opt.mqtts_port, NULL},
        {"--http-port", NULL, &opt.http_port, NULL},
        {"--https-port", NULL, &opt.https_port, NULL},
        {"--api-port", NULL, &opt.api_port, NULL},
        {"--tls", NULL, NULL, &opt.tls},
        {"--url-no-port", NULL, NULL, &opt.url_no_port},
        {"--http-urls", NULL, NULL, &opt.http_urls},
        {"--quiet", NULL, NULL, &opt.quiet},
    };
    for (int i = 1; i < argc; i++) {
        size_t k;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(argv[i], "--version")) {
            printf("ota-mock-cloud %s\n", OTA_VERSION);
            exit(0);
        }
        if (!strcmp(argv[i], "--firmware")) {
            if (i + 1 >= argc || opt.nfirmware == MAX_PRELOADS) {
                fprintf(stderr, "ota-mock-cloud: --firmware needs FILE@VERSION (at most %d)\n",
                        MAX_PRELOADS);
                return -1;
            }
            opt.firmware[opt.nfirmware++] = argv[++i];
            continue;
        }
        for (k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
            if (strcmp(argv[i], table[k].name))
                continue;
            if (table[k].flag) {
                *table[k].flag = 1;
                break;
            }
            if (i + 1 >= argc) {
                fprintf(stderr, "ota-mock-cloud: %s needs a value\n", argv[i]);
                return -1;
            }
            i++;
            if (table[k].str) {
                *table[k].str = argv[i];
            } else if (parse_port(argv[i], table[k].port) != 0) {
                fprintf(stderr, "ota-mock-cloud: %s wants a port from 0 to 65535, got '%s'\n",
                        argv[i - 1], argv[i]);
                return -1;
            }
            break;
        }
        if (k == sizeof(table) / sizeof(table[0])) {
            fprintf(stderr, "ota-mock-cloud: unknown option '%s' (see --help)\n", argv[i]);
            return -1;
        }
    }
    if (opt.auth && strcmp(opt.auth, "on") && strcmp(opt.auth, "off")) {
        fprintf(stderr, "ota-mock-cloud: --auth wants on or off, got '%s'\n", opt.auth);
        return -1;
    }
    double secs;
    if (opt.job_timeout && mcd_seconds_parse(opt.job_timeout, &secs) != 0) {
        fprintf(stderr, "ota-mock-cloud: --job-timeout wants seconds from 0 to 2592000, got '%s'\n",
                opt.job_timeout);
        return -1;
    }
    if (opt.trace_keep && parse_count(opt.trace_keep, &trace_keep) != 0) {
        fprintf(stderr, "ota-mock-cloud: --trace-keep wants a number of records, got '%s'\n",
                opt.trace_keep);
        return -1;
    }
    if (opt.firmware_max && parse_bytes(opt.firmware_max, &firmware_max) != 0) {
        fprintf(stderr,
                "ota-mock-cloud: --firmware-max wants bytes from 1 to 4G (K, M, G: "
                "binary), got '%s'\n",
                opt.firmware_max);
        return -1;
    }
    if (!opt.tls && (opt.mqtts_port || opt.https_port || opt.http_urls)) {
        fprintf(stderr, "ota-mock-cloud: --mqtts-port, --https-port and --http-urls need --tls\n");
        return -1;
    }
    return 0;
}

/* ---- the control API ---- */
typedef mcd_request request;
typedef mcd_call api_call;

static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, char *text,
                             const char *type)
{
    struct MHD_Response *r;
    enum MHD_Result rc;

    if (!text)
        return MHD_NO;
    r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", type);
    rc = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_json(struct MHD_Connection *con, unsigned status, cJSON *o)
{
    char *text = cJSON_Print(o);
    size_t n = text ? strlen(text) : 0;
    char *line = text ? realloc(text, n + 2) : NULL;

    cJSON_Delete(o);
    if (!line) {
        free(text);
        return MHD_NO;
    }
    memcpy(line + n, "\n", 2);
    return reply(con, status, line, "application/json");
}

static enum MHD_Result reply_error(struct MHD_Connection *con, unsigned status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    return reply_json(con, status, o);
}

enum MHD_Result mcd_reply_json(struct MHD_Connection *con, unsigned status, cJSON *o)
{
    return reply_json(con, status, o);
}

enum MHD_Result mcd_reply_error(struct MHD_Connection *con, unsigned status, const char *msg)
{
    return reply_error(con, status, msg);
}

static cJSON *device_json(const mc_device_info *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "productKey", d->pk);
    cJSON_AddStringToObject(o, "deviceName", d->dn);
    cJSON_AddStringToObject(o, "module", d->module[0] ? d->module : "default");
    cJSON_AddStringToObject(o, "firmwareVersion", d->firmware_version);
    cJSON_AddStringToObject(o, "reportedVersion", d->reported_version);
    cJSON_AddNumberToObject(o, "informs", d->informs);
    return o;
}

static const char *verdict_of(const mc_job_info *j, char *buf, size_t cap)
{
    if (mcd_job_verdict(j))
        return mcd_job_verdict(j);
    switch (j->state) {
    case MC_JOB_PENDING:
        return "pushed; the device has not reported progress yet";
    case MC_JOB_UPGRADING:
        return "upgrading: progress reported, the new version not yet";
    case MC_JOB_SUCCEEDED:
        if (mc_cloud_dialect(cloud)->success == OTA_SUCCESS_STEP_100)
            snprintf(buf, cap, "succeeded: the device reported step \"100\" (version %s)",
                     j->version);
        else
            snprintf(buf, cap, "succeeded: the device reported version %s", j->version);
        return buf;
    case MC_JOB_FAILED:
        snprintf(buf, cap, "failed: the device reported step \"%d\" (%s)", j->fail_code,
                 ota_step_name(j->fail_code) ? ota_step_name(j->fail_code) : "?");
        return buf;
    case MC_JOB_CANCELED:
        return "canceled: a newer job for the device replaced it";
    default:
        return "?";
    }
}

static cJSON *job_json(const mc_job_info *j)
{
    cJSON *o = cJSON_CreateObject();
    char buf[160];

    cJSON_AddNumberToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "device", j->dn);
    cJSON_AddStringToObject(o, "version", j->version);
    cJSON_AddStringToObject(o, "state", mc_job_state_name(j->state));
    if (mc_job_platform_state(cloud, j))
        cJSON_AddStringToObject(o, "platformState", mc_job_platform_state(cloud, j));
    if (j->state == MC_JOB_FAILED)
        cJSON_AddNumberToObject(o, "failCode", j->fail_code);
    cJSON_AddStringToObject(o, "verdict", verdict_of(j, buf, sizeof(buf)));
    cJSON_AddStringToObject(o, "transport", j->mqtt ? "mqtt" : "http");
    if (j->mqtt) {
        cJSON_AddNumberToObject(o, "streamId", (double)j->stream_id);
        cJSON_AddNumberToObject(o, "blocksServed", j->blocks);
    } else {
        cJSON_AddStringToObject(o, "url", j->url);
    }
    cJSON_AddNumberToObject(o, "size", (double)j->size);
    cJSON_AddStringToObject(o, "digest", j->digest_hex);
    if (mcd_firmware_of_job(j->id))
        cJSON_AddNumberToObject(o, "firmware", mcd_firmware_of_job(j->id));
    mcd_job_json_add(o, j);
    return o;
}

static enum MHD_Result get_devices(struct MHD_Connection *con, const api_call *call)
{
    const char *limit = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "limit");
    cJSON *a;
    mc_device_info d;
    (void)call;

    if (limit) /* a page, with the live state (the console) */
        return reply_json(
            con, 200,
            mcd_devices_page(
                cloud, MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "offset"), limit,
                MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "q"),
                MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "online"), device_json));
    a = cJSON_CreateArray();

    for (int i = 0; mc_device_at(cloud, i, &d) == MC_OK; i++)
        cJSON_AddItemToArray(a, device_json(&d));
    return reply_json(con, 200, a);
}

static enum MHD_Result get_jobs(struct MHD_Connection *con, const api_call *call)
{
    cJSON *a = cJSON_CreateArray();
    mc_job_info j;
    (void)call;

    for (int id = 1; mc_job_get(cloud, id, &j) == MC_OK; id++)
        cJSON_AddItemToArray(a, job_json(&j));
    return reply_json(con, 200, a);
}

static enum MHD_Result get_job(struct MHD_Connection *con, const api_call *call)
{
    char *end;
    long id = strtol(call->rest, &end, 10);
    mc_job_info j;

    if (*end || id <= 0 || mc_job_get(cloud, (int)id, &j) != MC_OK)
        return reply_error(con, 404, "no such job");
    return reply_json(con, 200, job_json(&j));
}

static enum MHD_Result get_scenarios(struct MHD_Connection *con, const api_call *call)
{
    cJSON *a = cJSON_CreateArray();
    DIR *d = opendir(scenarios_dir);
    struct dirent *e;
    (void)call;

    while (d && (e = readdir(d)) != NULL) {
        char name[256], err[256];
        size_t n = strlen(e->d_name);
        mc_scenario sc;
        if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(n - 5), e->d_name);
        if (mc_scenario_load(scenarios_dir, name, &sc, err, sizeof(err)) != MC_OK)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "plan", sc.name);
        cJSON_AddStringToObject(o, "transport", sc.mqtt ? "mqtt" : "http");
        cJSON_AddStringToObject(o, "about", sc.about);
        cJSON_AddItemToArray(a, o);
    }
    if (d)
        closedir(d);
    return reply_json(con, 200, a);
}

static enum MHD_Result get_trace(struct MHD_Connection *con, const api_call *call)
{
    const char *from_text = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "from");
    size_t from = from_text ? strtoul(from_text, NULL, 10) : 0, n = mc_trace_count(cloud);
    size_t first = mc_trace_first(cloud), used = 0, cap = 4096, end;
    char *out = malloc(cap), next[32];
    struct MHD_Response *r;
    enum MHD_Result rc;
    (void)call;

    if (!out)
        return MHD_NO;
    out[0] = '\0';
    if (from < first)
        from = first; /* older records were let go (--trace-keep): the file has them */
    end = n > from && n - from > TRACE_PAGE ? from + TRACE_PAGE : n;
    for (size_t i = from; i < end; i++) {
        char *line = NULL;
        ota_trace_rec rec;
        if (mc_trace_copy(cloud, i, &rec) != MC_OK)
            continue;
        rc = ota_trace_encode(&rec, &line) == OTA_OK ? MHD_YES : MHD_NO;
        ota_trace_rec_clear(&rec);
        if (rc != MHD_YES)
            continue;
        size_t l = strlen(line);
        if (used + l + 2 > cap) {
            char *grown = realloc(out, 2 * (used + l + 2));
            if (!grown) {
                free(line);
                break;
            }
            out = grown;
            cap = 2 * (used + l + 2);
        }
        memcpy(out + used, line, l);
        out[used + l] = '\n';
        used += l + 1;
        out[used] = '\0';
        free(line);
    }
    r = MHD_create_response_from_buffer(used, out, MHD_RESPMEM_MUST_FREE);
    snprintf(next, sizeof(next), "%zu", from > end ? from : end);
    MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
    MHD_add_response_header(r, "X-Next-From", next); /* ask again from here */
    rc = MHD_queue_response(con, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result post_job(struct MHD_Connection *con, const api_call *call)
{
    mcd_jobs_api api = {scenarios_dir, DEFAULT_SIZE, job_json};
    cJSON *o = NULL;
    unsigned status = mcd_jobs_post(cloud, call->req->body, call->req->len, &api, &o);

    return reply_json(con, status, o);
}

static enum MHD_Result post_restart(struct MHD_Connection *con, const api_call *call)
{
    const char *text = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "down");
    char *end = NULL;
    double down = text ? strtod(text, &end) : 0;
    cJSON *o;
    (void)call;

    if (text && (*end || down < 0 || down > 60))
        return reply_error(con, 400, "down wants seconds from 0 to 60");
    if (mc_broker_restart(cloud, down) != MC_OK)
        return reply_error(con, 500, "the broker did not come back (see the log)");
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "broker", "restarted");
    cJSON_AddNumberToObject(o, "port", mc_cloud_broker_port(cloud));
    return reply_json(con, 200, o);
}

static enum MHD_Result post_kick(struct MHD_Connection *con, const api_call *call)
{
    const char *rest = call->rest;
    char dn[OTA_MAX_NAME + 1];
    size_t n = strcspn(rest, "/");
    mc_device_info d;
    cJSON *o;

    if (n == 0 || n > OTA_MAX_NAME || strcmp(rest + n, "/kick"))
        return reply_error(con, 404, "unknown request: POST /devices/DN/kick");
    snprintf(dn, sizeof(dn), "%.*s", (int)n, rest);
    if (mc_device_get(cloud, dn, &d) != MC_OK)
        return reply_error(con, 404, "no such device (GET /devices lists them)");
    if (mc_device_kick(cloud, dn) != MC_OK)
        return reply_error(con, 500, "the broker plugin did not take the kick");
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kicked", dn);
    return reply_json(con, 200, o);
}

static enum MHD_Result api_join(struct MHD_Connection *con, const api_call *call)
{
    mcd_site s = {opt.listen, opt.url_host, opt.url_no_port, opt.tls,
                  opt.auth && !strcmp(opt.auth, "off")};
    unsigned status = 500;
    cJSON *o = mcd_join_handle(cloud, &s, call->method, call->url, call->req->body, call->req->len,
                               &status);

    return o ? reply_json(con, status, o) : MHD_NO;
}

static enum MHD_Result post_devices(struct MHD_Connection *con, const api_call *call)
{
    cJSON *o = NULL;
    unsigned status = mcd_devices_post(cloud, call->req->body, call->req->len, &o);
    return reply_json(con, status, o);
}

static enum MHD_Result get_status(struct MHD_Connection *con, const api_call *call)
{
    const char *host = strcmp(opt.listen, "0.0.0.0") ? opt.listen : "127.0.0.1";
    (void)call;
    return reply_json(con, 200, mcd_status_json(cloud, host));
}

static enum MHD_Result cancel_job(struct MHD_Connection *con, const api_call *call)
{
    cJSON *o = NULL;
    unsigned status = mcd_job_cancel(cloud, call->rest, !strcmp(call->method, "DELETE"), &o);
    return reply_json(con, status, o);
}

/*
 * The control API's routes, tried in order: a method (NULL: any) and a path,
 * exact or, ending in "*", a prefix whose remainder the handler gets as rest.
 */
typedef struct {
    const char *method;
    const char *path;
    enum MHD_Result (*handle)(struct MHD_Connection *con, const api_call *call);
} api_route;

static const api_route routes[] = {
    {"GET", "/", mcd_route_page},
    {"GET", "/index.html", mcd_route_page},
    {"GET", "/events", mcd_route_events},
    {"GET", "/timeline", mcd_route_timeline},
    {"GET", "/batches", mcd_route_batches},
    {"GET", "/batches/*", mcd_route_batches},
    {"POST", "/batches/*", mcd_route_batch_cancel}, /* N/cancel */
    {"GET", "/devices", get_devices},
    {"GET", "/jobs", get_jobs},
    {"GET", "/jobs/*", get_job},
    {"GET", "/trace", get_trace},
    {"GET", "/scenarios", get_scenarios},
    {"POST", "/jobs", post_job},
    {"POST", "/jobs/*", cancel_job}, /* N/cancel */
    {"DELETE", "/jobs/*", cancel_job},
    {"POST", "/broker/restart", post_restart},
    {"POST", "/devices", post_devices},
    {"GET", "/status", get_status},
    {"POST", "/devices/*", post_kick}, /* DN/kick */
    {"GET", "/firmware", mcd_route_firmware_get},
    {"GET", "/firmware/*", mcd_route_firmware_get},
    {"POST", "/firmware", mcd_route_firmware_post},
    {"DELETE", "/firmware/*", mcd_route_firmware_delete},
    {NULL, "/join", api_join}, /* api_join.c answers every method itself */
    {NULL, "/join/*", api_join},
};

/* The remainder of url after path, or NULL when the route's path does not match. */
static const char *route_match(const char *path, const char *url)
{
    size_t n = strlen(path);

    if (n && path[n - 1] == '*')
        return strncmp(url, path, n - 1) ? NULL : url + n - 1;
    return strcmp(url, path) ? NULL : url + n;
}

static enum MHD_Result route(struct MHD_Connection *con, api_call *call)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const api_route *r = &routes[i];
        if (r->method && strcmp(r->method, call->method))
            continue;
        call->rest = route_match(r->path, call->url);
        if (call->rest)
            return r->handle(con, call);
    }
    return reply_error(con, 404,
                       "unknown request: GET /devices, /jobs, /jobs/N, /scenarios, /status, "
                       "/firmware, /batches/N, /events, /timeline?job=N, /trace?from=K; POST "
                       "/jobs, /jobs/N/cancel, /batches/N/cancel, /firmware, "
                       "/broker/restart?down=S, /devices, /devices/DN/kick, /join; DELETE "
                       "/jobs/N, /firmware/N, /join/DN");
}

static enum MHD_Result on_api(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    request *req = *con_cls;
    (void)cls;
    (void)version;

    if (!req) { /* first call: headers only */
        req = calloc(1, sizeof(*req));
        *con_cls = req;
        if (req && !mcd_console_authorized(con, method, url)) {
            req->refused = 1;
            return mcd_route_unauthorized(con, method, url);
        }
        if (req && !strcmp(method, "POST") && !strcmp(url, "/firmware")) {
            const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoull(cl, NULL, 10) > mcd_firmware_max())
                return reply_error(con, 413,
                                   "the firmware is larger than the store's limit "
                                   "(--firmware-max)");
            req->up = mcd_upload_begin();
            if (!req->up)
                return MHD_NO;
        }
        return req ? MHD_YES : MHD_NO;
    }
    if (req->refused) { /* the body of a refused request is read and dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size && req->up) {
        mcd_upload_write(req->up, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->len + *upload_size > MAX_BODY) {
            req->too_big = 1;
        } else {
            char *grown = realloc(req->body, req->len + *upload_size + 1);
            if (!grown)
                return MHD_NO;
            req->body = grown;
            memcpy(req->body + req->len, upload, *upload_size);
            req->len += *upload_size;
            req->body[req->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_big)
        return reply_error(con, 413, "the body is larger than 2 MiB");
    return route(con, &(api_call){method, url, NULL, req});
}

static void on_api_done(void *cls, struct MHD_Connection *con, void **con_cls,
                        enum MHD_RequestTerminationCode why)
{
    request *req = *con_cls;
    (void)cls;
    (void)con;
    (void)why;
    if (req) {
        mcd_upload_free(req->up);
        free(req->body);
        free(req);
    }
    *con_cls = NULL;
}

static struct MHD_Daemon *start_api(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;

    if (inet_pton(AF_INET, opt.listen, &a.sin_addr) != 1)
        return NULL;
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, on_api, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                         MHD_OPTION_NOTIFY_COMPLETED, on_api_done, NULL,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    *port = info ? info->port : 0;
    return d;
}

/* ---- start-up ---- */
/*
 * The fixtures, the certificates and the plugin the options leave to us; an
 * installed copy makes its test certificates on first use. 0, or 3 after
 * saying why.
 */
static int find_data(char *devices, size_t dcap, char *certs, size_t ccap)
{
    char err[512];

    snprintf(devices, dcap, "%s", opt.devices ? opt.devices : "");
    if (!opt.devices)
        snprintf(devices, dcap, "%.4000s/devices", data_paths.fixtures);
    if (opt.scenarios)
        snprintf(scenarios_dir, sizeof(scenarios_dir), "%s", opt.scenarios);
    else
        snprintf(scenarios_dir, sizeof(scenarios_dir), "%.4000s/scenarios", data_paths.fixtures);
    snprintf(certs, ccap, "%s", opt.certs ? opt.certs : data_paths.certs);
    opt.certs = certs;
    if (access(data_paths.plugin, R_OK) != 0) {
        fprintf(stderr, "ota-mock-cloud: the broker plugin %s is missing (build the project)\n",
                data_paths.plugin);
        return 3;
    }
    if (opt.tls && ota_data_certs_ensure(&data_paths, certs, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-mock-cloud: %s\n", err);
        return 3;
    }
    return 0;
}

/* Dialects that log in by access token: the profile's deviceSecret is the token. */
static void print_token_devices(void)
{
    const ota_dialect *dl = mc_cloud_dialect(cloud);
    char push[OTA_MAX_TOPIC + 1], progress[OTA_MAX_TOPIC + 1];
    mc_device_info d;

    printf("  dialect %s: logins by access token, progress from the connection\n", dl->name);
    for (int i = 0; mc_device_at(cloud, i, &d) == MC_OK; i++) {
        if (ota_dialect_topic_build(dl, OTA_TOPIC_UPGRADE, 0, d.pk, d.dn, push, sizeof(push)) ||
            ota_dialect_topic_build(dl, OTA_TOPIC_PROGRESS, 0, d.pk, d.dn, progress,
                                    sizeof(progress)))
            continue;
        printf("  device %s: username '%s' (access token), no password; push on %s, progress "
               "to %s\n",
               d.dn, d.secret, push, progress);
    }
    fflush(stdout);
}

static void print_banner(int api_port, double job_timeout_s)
{
    const char *host = strcmp(opt.listen, "0.0.0.0") ? opt.listen : "127.0.0.1";
    mc_device_info d;

    printf("ota-mock-cloud: listening on %s\n", opt.listen);
    printf("  MQTT   %d%s\n", mc_cloud_broker_port(cloud),
           mc_cloud_plugin(cloud) && (!opt.auth || strcmp(opt.auth, "off"))
               ? (mc_cloud_dialect(cloud)->auth == OTA_AUTH_TOKEN
                      ? " (logins by access token)"
                      : " (logins checked the Aliyun way)")
               : " (logins NOT checked: --auth off)");
    if (opt.tls)
        printf("  MQTTS  %d\n  HTTPS  %d (CA: %s/ca.pem)\n", mc_cloud_mqtts_port(cloud),
               mc_cloud_https_port(cloud), opt.certs);
    printf("  HTTP   %d\n", mc_cloud_http_port(cloud));
    int https = opt.tls && !opt.http_urls;
    char port[16] = "";
    if (!opt.url_no_port)
        snprintf(port, sizeof(port), ":%d",
                 https ? mc_cloud_https_port(cloud) : mc_cloud_http_port(cloud));
    printf("  URLs   %s://%s%s/ota/<job>/fw-<job>.bin?Expires=…&Signature=…\n",
           https ? "https" : "http", opt.url_host ? opt.url_host : host, port);
    printf("  API    http://%s:%d  (GET /devices, /jobs, /jobs/N, /scenarios, /trace; POST /jobs, "
           "/jobs/N/cancel)\n",
           host, api_port);
    if (mcd_console_token())
        printf("  console http://%s:%d/#token=%s  (every API request needs the header "
               "'Authorization: Bearer %s')\n",
               host, api_port, mcd_console_token(), mcd_console_token());
    else
        printf("  console http://%s:%d/  (open it in a browser)\n", host, api_port);
    printf("  store  %s (firmware: POST /firmware, at most %zu bytes)\n", mcd_firmware_dir(),
           mcd_firmware_max());
    if (job_timeout_s > 0)
        printf("  jobs   time out after %g s (--job-timeout)\n", job_timeout_s);
    else
        printf("  jobs   never time out (--job-timeout 0)\n");
    if (mc_cloud_dialect(cloud)->auth == OTA_AUTH_TOKEN) {
        print_token_devices();
        return;
    }
    for (int i = 0; mc_device_at(cloud, i, &d) == MC_OK; i++) {
        ota_login l;
        if (ota_login_build(d.pk, d.dn, d.secret, OTA_SIGNMETHOD_HMACSHA256, opt.tls ? 2 : 3,
                            OTA_LOGIN_TIMESTAMP, &l) != OTA_OK)
            continue;
        printf("  device %s (product %s): clientId '%s' username '%s' password %s\n", d.dn, d.pk,
               l.client_id, l.username, l.password);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    char devices[PATH_MAX], certs[PATH_MAX], err[512] = "";
    mc_config cfg = {0};
    struct MHD_Daemon *api = NULL;
    sigset_t stop;
    int api_port, sig = 0;
    size_t seen = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    ota_data_locate(&data_paths);
    if (parse_options(argc, argv) != 0)
        return 2;
    if (!opt.listen)
        opt.listen = "127.0.0.1";
    if (find_data(devices, sizeof(devices), certs, sizeof(certs)) != 0)
        return 3;
    if (mcd_console_token_init(opt.listen, opt.api_token, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-mock-cloud: %s\n", err);
        return 2;
    }
    if (mcd_firmware_init(opt.firmware_dir, firmware_max, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-mock-cloud: %s\n", err);
        return 3;
    }
    for (int i = 0; i < opt.nfirmware; i++) {
        if (mcd_firmware_preload(opt.firmware[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "ota-mock-cloud: %s\n", err);
            mcd_firmware_cleanup();
            return 3;
        }
    }
    /* Signals are taken by the main thread only: block them before any thread starts. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    mcd_raise_nofile(); /* a fleet: a descriptor per device here and in the broker */

    cfg.devices_dir = devices;
    cfg.trace_path = opt.trace;
    cfg.mosquitto_bin = opt.mosquitto;
    cfg.plugin_path = data_paths.plugin;
    cfg.auth_off = opt.auth && !strcmp(opt.auth, "off");
    cfg.listen_addr = opt.listen;
    cfg.mqtt_port = opt.mqtt_port;
    cfg.http_port = opt.http_port;
    cfg.url_host = opt.url_host;
    cfg.url_no_port = opt.url_no_port;
    cfg.job_timeout_s = MCD_JOB_TIMEOUT_DEFAULT;
    cfg.dialect = opt.dialect;
    cfg.push_on = opt.push_topic;
    cfg.push_values = opt.push_values;
    cfg.trace_keep = trace_keep;
    if (opt.job_timeout)
        mcd_seconds_parse(opt.job_timeout, &cfg.job_timeout_s);
    if (opt.tls) {
        cfg.tls_dir = certs;
        cfg.https_urls = !opt.http_urls;
        cfg.mqtts_port = opt.mqtts_port;
        cfg.https_port = opt.https_port;
    }
    if (mc_cloud_start(&cfg, &cloud, err, sizeof(err)) != MC_OK) {
        fprintf(stderr, "ota-mock-cloud: %s\n", err);
        mcd_firmware_cleanup();
        return 3;
    }
    mcd_events_start(cloud);
    mcd_routes_init(cloud, &(mcd_jobs_api){scenarios_dir, DEFAULT_SIZE, job_json});
    api_port = opt.api_port;
    api = start_api(&api_port);
    if (!api) {
        char who[128] = "";
        if (opt.api_port && ota_port_holder(opt.api_port, who, sizeof(who)) < 0)
            who[0] = '\0';
        fprintf(stderr, "ota-mock-cloud: the control API would not start on %s port %d%s%s\n",
                opt.listen, opt.api_port, who[0] ? ": it is taken by " : "", who);
        mcd_events_stop();
        mc_cloud_stop(cloud);
        mcd_firmware_cleanup();
        return 3;
    }
    mcd_log_dialect(mc_cloud_dialect(cloud));
    print_banner(api_port, cfg.job_timeout_s);
    /*
     * The log: every record as it comes, until SIGINT or SIGTERM. It wakes for a batch at most
     * LOG_BATCH_NS apart, not for every record: a block download stores two records per block,
     * and a wake-up for each cost the MQTT thread the trace lock and the CPU it runs on. With
     * --quiet nothing is printed and nothing needs waking.
     */
    while (!sig) {
        struct timespec pause = {0, opt.quiet ? 200000000L : LOG_BATCH_NS};
        if (!opt.quiet) {
            size_t n = mc_trace_wait(cloud, seen, mc_now(cloud) + 0.2), missed = 0;
            ota_trace_rec rec;
            for (; seen < n; seen++) {
                if (mc_trace_copy(cloud, seen, &rec) != MC_OK) {
                    missed++; /* let go before the log came to it (--trace-keep) */
                    continue;
                }
                mcd_log_record(&rec);
                ota_trace_rec_clear(&rec);
            }
            if (missed)
                printf("%9.3f (%zu records not printed: let go before the log came to them; the "
                       "--trace file has them, --trace-keep keeps more)\n",
                       mc_now(cloud), missed);
        }
        sig = sigtimedwait(&stop, NULL, &pause);
        if (sig < 0)
            sig = 0;
    }
    printf("ota-mock-cloud: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mcd_events_quit(); /* event streams end, then the API can stop */
    MHD_stop_daemon(api);
    mcd_events_stop();
    mc_cloud_stop(cloud);
    mcd_firmware_cleanup();
    return 0;
}
