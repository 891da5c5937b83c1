/*
 * ota-fleet's side of the cloud: start an ota-mock-cloud (or use a running
 * one), register the fleet's devices in batches, create their jobs in
 * batches while the loop runs, and read back the cloud's verdicts and its
 * process figures. Everything by the control API, except the start.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fleet_cloud.h"

#define START_TIMEOUT_S 20.0
#define BODY_CAP        7000        /* under the control API's 8 KiB body cap */
#define BATCH_BODY_CAP  (64 * 1024) /* a daemon that takes batches takes bodies of MiBs */

/* ---- starting ota-mock-cloud ---- */
static int read_api_line(const char *path, char *api, size_t cap)
{
    char line[512];
    FILE *f = fopen(path, "r");
    int found = 0;

    while (f && !found && fgets(line, sizeof(line), f)) {
        char host[128];
        int port;
        if (sscanf(line, "  API http://%127[^:]:%d", host, &port) == 2 ||
            sscanf(line, "  API    http://%127[^:]:%d", host, &port) == 2) {
            snprintf(api, cap, "%s:%d", host, port);
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

int fl_cloud_start(fl_cloud *c, const char *program, const char *const *extra, char *err,
                   size_t cap)
{
    char log[] = "/tmp/ota-fleet-cloud-XXXXXX";
    const char *argv[32];
    int fd = mkstemp(log), n = 0;
    pid_t parent = getpid();
    double end = ota_clock_now() + START_TIMEOUT_S;

    if (fd < 0) {
        snprintf(err, cap, "cannot make a temporary file: %s", strerror(errno));
        return -1;
    }
    snprintf(c->log, sizeof(c->log), "%s", log);
    argv[n++] = program;
    argv[n++] = "--quiet";
    argv[n++] = "--job-timeout";
    argv[n++] = "0";
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    c->pid = fork();
    if (c->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        dup2(fd, 1);
        close(fd);
        execv(program, (char *const *)argv);
        fprintf(stderr, "ota-fleet: cannot run %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    close(fd);
    if (c->pid < 0) {
        snprintf(err, cap, "cannot start %s: %s", program, strerror(errno));
        return -1;
    }
    while (ota_clock_now() < end) {
        int status;
        if (read_api_line(c->log, c->api, sizeof(c->api)))
            return 0;
        if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
            c->pid = 0;
            snprintf(err, cap, "%s exited at its start (status %d)", program,
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            return -1;
        }
        ota_sleep(0.05);
    }
    snprintf(err, cap, "%s did not print its control API within %.0f s", program, START_TIMEOUT_S);
    return -1;
}

void fl_cloud_stop(fl_cloud *c)
{
    if (c->pid > 0) {
        double end = ota_clock_now() + 10;
        kill(c->pid, SIGTERM);
        while (waitpid(c->pid, NULL, WNOHANG) == 0 && ota_clock_now() < end)
            ota_sleep(0.05);
        if (ota_clock_now() >= end) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
        }
        c->pid = 0;
    }
    if (c->log[0])
        unlink(c->log);
    c->log[0] = '\0';
}

/* ---- what the cloud says about itself ---- */
int fl_cloud_status(fl_cloud *c, char *err, size_t cap)
{
    fl_reply r;
    cJSON *o, *v;
    int rc = -1;

    if (fl_api(c->api, "GET", "/status", NULL, &r, err, cap) != 0)
        return -1;
    o = cJSON_Parse(r.body);
    if (r.status != 200 || !cJSON_IsObject(o)) {
        snprintf(err, cap, "GET /status at %s answered %ld: not an ota-mock-cloud with GET /status",
                 c->api, r.status);
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "pid");
    c->cloud_pid = cJSON_IsNumber(v) ? v->valueint : 0;
    v = cJSON_GetObjectItemCaseSensitive(o, "brokerPid");
    c->broker_pid = cJSON_IsNumber(v) ? v->valueint : 0;
    v = cJSON_GetObjectItemCaseSensitive(o, "mqttHost");
    snprintf(c->mqtt_host, sizeof(c->mqtt_host), "%s",
             cJSON_IsString(v) ? v->valuestring : "127.0.0.1");
    v = cJSON_GetObjectItemCaseSensitive(o, "mqttPort");
    c->mqtt_port = cJSON_IsNumber(v) ? v->valueint : 0;
    rc = c->mqtt_port > 0 ? 0 : -1;
    if (rc)
        snprintf(err, cap, "GET /status at %s names no MQTT port", c->api);
out:
    cJSON_Delete(o);
    fl_reply_free(&r);
    return rc;
}

/* VmHWM and CPU seconds of a process of this machine; -1 when it cannot be read. */
void fl_proc_figures(int pid, long *hwm_kb, double *cpu_s)
{
    char path[64], line[256];
    FILE *f;
    unsigned long ut = 0, st = 0;

    *hwm_kb = -1;
    *cpu_s = -1;
    if (pid <= 0)
        return;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", hwm_kb) == 1)
            break;
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f && fgets(line, sizeof(line), f)) {
        const char *p = strrchr(line, ')'); /* the name may hold spaces */
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    if (f)
        fclose(f);
}

/* ---- registering the devices ---- */
static int post_chunk(fl_cloud *c, const char *path, cJSON *arr, cJSON **reply, char *err,
                      size_t cap)
{
    char *body = cJSON_PrintUnformatted(arr);
    fl_reply r;
    int rc;

    if (!body) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    rc = fl_api(c->api, "POST", path, body, &r, err, cap);
    cJSON_free(body);
    if (rc != 0)
        return -1;
    *reply = cJSON_Parse(r.body);
    if (r.status != 200 && r.status != 201) {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(*reply, "error");
        snprintf(err, cap, "POST %s answered %ld: %s", path, r.status,
                 cJSON_IsString(e) ? e->valuestring : r.body);
        rc = (int)r.status;
    }
    fl_reply_free(&r);
    return rc;
}

int fl_cloud_register(fl_cloud *c, fleet *f, const char *version, char *err, size_t cap)
{
    int i = 0;

    while (i < f->n) {
        cJSON *arr = cJSON_CreateArray(), *reply = NULL;
        size_t used = 2;
        int rc;
        for (; i < f->n && used < BODY_CAP - 200; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "productKey", f->pk);
            cJSON_AddStringToObject(o, "deviceName", f->devs[i].dn);
            cJSON_AddStringToObject(o, "deviceSecret", f->devs[i].secret);
            cJSON_AddStringToObject(o, "firmwareVersion", version);
            cJSON_AddItemToArray(arr, o);
            used += strlen(f->pk) + strlen(f->devs[i].dn) + strlen(version) + 32 + 90;
        }
        rc = post_chunk(c, "/devices", arr, &reply, err, cap);
        cJSON_Delete(arr);
        cJSON_Delete(reply);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- the jobs ---- */
static cJSON *job_body(const fleet *f, const fl_device *d, const char *version)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "device", d->dn);
    cJSON_AddStringToObject(o, "version", version);
    cJSON_AddNumberToObject(o, "size", (double)f->size);
    cJSON_AddNumberToObject(o, "timeout", 0);
    if (d->plan >= 0)
        cJSON_AddStringToObject(o, "plan", f->plans[d->plan].name);
    else
        cJSON_AddStringToObject(o, "transport", f->mqtt ? "mqtt" : "http");
    return o;
}

static int job_id_of(const cJSON *o)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    return cJSON_IsNumber(id) ? id->valueint : 0;
}

/*
 * The next jobs: as one JSON array when the cloud takes batches (a reply that
 * is an array of jobs), else one request each. Returns how many were made,
 * -1 on a refusal (err says why).
 */
int fl_cloud_jobs(fl_cloud *c, fleet *f, int from, int max, const char *version, char *err,
                  size_t cap)
{
    int n = 0;

    if (c->batch != 0) {
        cJSON *arr = cJSON_CreateArray(), *reply = NULL;
        size_t used = 2, cap_body = c->batch == 1 ? BATCH_BODY_CAP : BODY_CAP;
        for (int i = from; i < f->n && n < max && used < cap_body - 300; i++, n++) {
            cJSON_AddItemToArray(arr, job_body(f, &f->devs[i], version));
            used += 200;
        }
        char why[512];
        int rc = post_chunk(c, "/jobs", arr, &reply, why, sizeof(why));
        cJSON_Delete(arr);
        if (rc == 0 && cJSON_IsArray(reply) && cJSON_GetArraySize(reply) == n) {
            for (int k = 0; k < n; k++)
                f->devs[from + k].job_id = job_id_of(cJSON_GetArrayItem(reply, k));
            c->batch = 1;
            cJSON_Delete(reply);
            return n;
        }
        cJSON_Delete(reply);
        if (c->batch == 1 || rc < 0) {
            snprintf(err, cap, "%s", why);
            return -1;
        }
        c->batch = 0; /* this cloud takes one job a request */
        n = 0;
    }
    for (int i = from; i < f->n && n < max; i++, n++) {
        cJSON *o = job_body(f, &f->devs[i], version), *reply = NULL;
        int rc = post_chunk(c, "/jobs", o, &reply, err, cap);
        cJSON_Delete(o);
        f->devs[i].job_id = rc == 0 ? job_id_of(reply) : 0;
        cJSON_Delete(reply);
        if (rc != 0)
            return -1;
    }
    return n;
}

/*
 * The cloud's verdict on each device's job: its state name into
 * d->cloud_state. Returns how many of ours are still open (PENDING or
 * UPGRADING), -1 when the jobs could not be read.
 */
int fl_cloud_verdicts(fl_cloud *c, fleet *f, char (*states)[16], char *err, size_t cap)
{
    fl_reply r;
    cJSON *arr, *j;
    int open = 0;

    if (fl_api(c->api, "GET", "/jobs", NULL, &r, err, cap) != 0)
        return -1;
    arr = cJSON_Parse(r.body);
    fl_reply_free(&r);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        snprintf(err, cap, "GET /jobs did not answer a JSON array");
        return -1;
    }
    /* Jobs are numbered from 1 in creation order: index by id. */
    int nj = cJSON_GetArraySize(arr);
    cJSON **by_id = calloc((size_t)nj + 2, sizeof(*by_id));
    cJSON_ArrayForEach(j, arr)
    {
        int id = job_id_of(j);
        if (by_id && id >= 1 && id <= nj)
            by_id[id] = j;
    }
    for (int i = 0; i < f->n; i++) {
        int id = f->devs[i].job_id;
        cJSON *s = by_id && id >= 1 && id <= nj
                       ? cJSON_GetObjectItemCaseSensitive(by_id[id], "state")
                       : NULL;
        snprintf(states[i], 16, "%s", cJSON_IsString(s) ? s->valuestring : "NONE");
        open += !strcmp(states[i], "PENDING") || !strcmp(states[i], "UPGRADING");
    }
    free(by_id);
    cJSON_Delete(arr);
    return open;
}
