/*
 * The control API's job timer and cancel: the "timeout" of POST /jobs, the
 * --job-timeout option, POST /jobs/N/cancel and DELETE /jobs/N, and what a
 * canceled or timed-out job shows. The state change itself is the library's
 * (mc_job_cancel, the job's timer).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define MAX_TIMEOUT_S (30.0 * 86400.0)

int mcd_seconds_parse(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);

    if (end == text || *end || !isfinite(v) || v < 0 || v > MAX_TIMEOUT_S)
        return -1;
    *out = v;
    return 0;
}

int mcd_job_timeout_of(const cJSON *v, double *spec_timeout)
{
    *spec_timeout = 0;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > MAX_TIMEOUT_S)
        return -1;
    *spec_timeout = v->valuedouble > 0 ? v->valuedouble : -1;
    return 0;
}

static cJSON *error_json(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    return o;
}

/* "N/cancel" (POST) or "N" (DELETE): the job id, or 0 when the path is not one of them. */
static int job_id_of(const char *rest, int is_delete)
{
    char *end;
    long id = strtol(rest, &end, 10);

    if (end == rest || id <= 0 || id > 1000000000L)
        return 0;
    if (is_delete ? *end != '\0' : strcmp(end, "/cancel") != 0)
        return 0;
    return (int)id;
}

unsigned mcd_job_cancel(mc_cloud *c, const char *rest, int is_delete, cJSON **out)
{
    int id = job_id_of(rest, is_delete);
    mc_job_info j;
    char msg[200];
    int rc;

    if (!id) {
        *out = error_json("unknown request: POST /jobs/N/cancel or DELETE /jobs/N");
        return 404;
    }
    rc = mc_job_cancel(c, id, "canceled by the API");
    if (rc == MC_ERR_NOTFOUND || mc_job_get(c, id, &j) != MC_OK) {
        *out = error_json("no such job");
        return 404;
    }
    if (rc == MC_ERR_STATE) {
        snprintf(msg, sizeof(msg), "job %d is already finished: %s", id,
                 mc_job_state_name(j.state));
        *out = error_json(msg);
        return 409;
    }
    *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(*out, "id", j.id);
    cJSON_AddStringToObject(*out, "state", mc_job_state_name(j.state));
    cJSON_AddStringToObject(*out, "verdict", j.reason);
    return 200;
}

const char *mcd_job_verdict(const mc_job_info *j)
{
    if ((j->state == MC_JOB_CANCELED || j->state == MC_JOB_TIMED_OUT) && j->reason[0])
        return j->reason;
    return NULL;
}

void mcd_job_json_add(cJSON *o, const mc_job_info *j)
{
    cJSON_AddNumberToObject(o, "timeout", j->timeout_s);
    if (j->has_step)
        cJSON_AddNumberToObject(o, "lastStep", j->last_step);
    if (j->reason[0])
        cJSON_AddStringToObject(o, "reason", j->reason);
}

/* ---- POST /jobs: one job (an object) or a batch (an array of them) ---- */

/* Say why into err; the status. */
static unsigned refuse(char *err, size_t cap, unsigned status, const char *why)
{
    snprintf(err, cap, "%s", why);
    return status;
}

/* The optional members of a job request; 0, or the HTTP status with err. */
static unsigned spec_options(const cJSON *o, const char *scenarios_dir, mc_job_spec *s, char *err,
                             size_t cap)
{
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size"),
                *dig = cJSON_GetObjectItemCaseSensitive(o, "digest"),
                *mod = cJSON_GetObjectItemCaseSensitive(o, "module"),
                *tr = cJSON_GetObjectItemCaseSensitive(o, "transport"),
                *plan = cJSON_GetObjectItemCaseSensitive(o, "plan");
    mc_scenario sc;
    int rc;

    if (size && s->image_path)
        return refuse(err, cap, 400, "a job has \"firmware\" or \"size\", not both");
    if (size && (!cJSON_IsNumber(size) || size->valuedouble < 1 || size->valuedouble > 16e6))
        return refuse(err, cap, 400, "\"size\" must be a number of bytes from 1 to 16000000");
    if (size)
        s->image_size = (size_t)size->valuedouble;
    if (dig && (!cJSON_IsString(dig) || ota_sign_method_parse(dig->valuestring, &s->digest)))
        return refuse(err, cap, 400, "\"digest\" must be \"md5\" or \"sha256\"");
    if (mod && !cJSON_IsString(mod))
        return refuse(err, cap, 400, "\"module\" must be a string");
    if (mod && s->module && strcmp(mod->valuestring, s->module))
        return refuse(err, cap, 400, "\"module\" differs from the firmware's module");
    if (mod)
        s->module = mod->valuestring;
    if (tr && !(cJSON_IsString(tr) &&
                (!strcmp(tr->valuestring, "http") || !strcmp(tr->valuestring, "mqtt"))))
        return refuse(err, cap, 400, "\"transport\" must be \"http\" or \"mqtt\"");
    s->mqtt = tr && !strcmp(tr->valuestring, "mqtt");
    if (mcd_job_timeout_of(cJSON_GetObjectItemCaseSensitive(o, "timeout"), &s->timeout_s) != 0)
        return refuse(err, cap, 400, "\"timeout\" must be seconds from 0 (never) to 2592000");
    if (!plan)
        return 0;
    if (!cJSON_IsString(plan))
        return refuse(err, cap, 400, "\"plan\" must be the name of a fault plan (GET /scenarios)");
    err[0] = '\0';
    rc = mc_scenario_load(scenarios_dir, plan->valuestring, &sc, err, cap);
    if (rc != MC_OK) {
        if (!err[0])
            snprintf(err, cap, "no such fault plan (GET /scenarios lists them)");
        return rc == MC_ERR_FIXTURE ? 400 : 404;
    }
    s->fault = sc.fault;
    memcpy(s->then, sc.then, sizeof(s->then));
    s->nthen = sc.nthen;
    s->mqtt = tr ? s->mqtt : sc.mqtt;
    return 0;
}

/* One job request into *s (its strings point into o); 0, or the HTTP status with err. */
/*
 * "firmware": N, a stored firmware (api_firmware.c): the job serves its file
 * and takes its version, module and signature method unless the request
 * names the same ones. 0, or the HTTP status with err.
 */
static unsigned spec_firmware(const cJSON *o, mc_job_spec *s, char *err, size_t cap)
{
    const cJSON *fw = cJSON_GetObjectItemCaseSensitive(o, "firmware"),
                *ver = cJSON_GetObjectItemCaseSensitive(o, "version");
    mcd_firmware_ref f;

    if (!fw)
        return 0;
    if (!cJSON_IsNumber(fw) || fw->valuedouble < 1 || fw->valuedouble > 1e9 ||
        fw->valuedouble != (int)fw->valuedouble)
        return refuse(err, cap, 400, "\"firmware\" must be the id of a stored firmware");
    if (mcd_firmware_find((int)fw->valuedouble, &f) != 0)
        return refuse(err, cap, 404, "no such firmware (GET /firmware lists them)");
    if (cJSON_IsString(ver) && strcmp(ver->valuestring, f.version)) {
        snprintf(err, cap, "\"version\" %.64s differs from firmware %d's version %s",
                 ver->valuestring, f.id, f.version);
        return 400;
    }
    s->image_path = f.path;
    s->version = f.version;
    s->module = f.module;
    s->digest = f.sign;
    return 0;
}

static unsigned spec_of(mc_cloud *c, const cJSON *o, const char *scenarios_dir, size_t size,
                        mc_job_spec *s, char *err, size_t cap)
{
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(o, "device"),
                *ver = cJSON_GetObjectItemCaseSensitive(o, "version");
    char holder[128];
    unsigned st;

    memset(s, 0, sizeof(*s));
    if (!cJSON_IsObject(o))
        return refuse(err, cap, 400, "the body must be a JSON object");
    if ((st = spec_firmware(o, s, err, cap)) != 0)
        return st;
    if (!cJSON_IsString(dev) || (!s->image_path && (!cJSON_IsString(ver) || !*ver->valuestring ||
                                                    strlen(ver->valuestring) > OTA_MAX_VERSION)))
        return refuse(err, cap, 400,
                      "\"device\" (a deviceName) and \"version\" (1 to 64 characters) are "
                      "required strings (or \"firmware\": the id of a stored firmware)");
    s->dn = dev->valuestring;
    if (mc_device_claimed(c, s->dn, holder, sizeof(holder)))
        return refuse(err, cap, 409,
                      "the device is claimed by a conformance run (DELETE /join/DN)");
    if (!s->image_path) {
        s->version = ver->valuestring;
        s->image_size = size;
    }
    return spec_options(o, scenarios_dir, s, err, cap);
}

/* Create the job of spec s: 201 with *id, or the HTTP status with err. */
static unsigned create(mc_cloud *c, mc_job_spec *s, int *id, char *err, size_t cap)
{
    int rc = mc_job_create(c, s, id);

    if (rc == MC_OK) {
        if (s->image_path)
            mcd_firmware_job_note_path(*id, s->image_path);
        return 201;
    }
    if (rc == MC_ERR_NOTFOUND)
        return refuse(err, cap, 404, "no such device (GET /devices lists them)");
    if (rc == MC_ERR_IO && s->image_path)
        return refuse(err, cap, 409, "the firmware's file cannot be read (deleted meanwhile?)");
    snprintf(err, cap, "%s",
             mc_fault_needs_tls(&s->fault) ? "the plan needs TLS: start ota-mock-cloud with --tls"
                                           : "the cloud refused the job");
    return 400;
}

static cJSON *error_at(long index, const char *msg, cJSON *created)
{
    char text[400];
    cJSON *o = cJSON_CreateObject();

    snprintf(text, sizeof(text), "job %ld of the batch: %s", index, msg);
    cJSON_AddStringToObject(o, "error", text);
    cJSON_AddNumberToObject(o, "index", (double)index);
    if (created)
        cJSON_AddItemToObject(o, "created", created);
    return o;
}

/*
 * A batch: every request is checked before any job is made, so a bad one
 * makes none (its index says which). The jobs are then made in order; a
 * device that vanished meanwhile stops the batch, and the answer lists the
 * ids made so far under "created".
 */
static unsigned post_batch(mc_cloud *c, const cJSON *a, const mcd_jobs_api *api, cJSON **out)
{
    int n = cJSON_GetArraySize(a), i = 0;
    mc_job_spec *specs;
    mc_device_info d;
    mc_job_info j;
    const cJSON *o;
    cJSON *jobs, *ids;
    char err[256];
    unsigned st = 0;
    int id;

    if (n < 1 || n > MCD_JOBS_BATCH_MAX) {
        snprintf(err, sizeof(err), "a batch holds 1 to %d jobs, this one %d", MCD_JOBS_BATCH_MAX,
                 n);
        *out = error_json(err);
        return 400;
    }
    specs = calloc((size_t)n, sizeof(*specs));
    if (!specs) {
        *out = error_json("out of memory");
        return 500;
    }
    cJSON_ArrayForEach(o, a)
    {
        st = spec_of(c, o, api->scenarios_dir, api->default_size, &specs[i], err, sizeof(err));
        if (!st && mc_device_get(c, specs[i].dn, &d) != MC_OK)
            st = refuse(err, sizeof(err), 404, "no such device (GET /devices lists them)");
        if (st)
            break;
        i++;
    }
    if (st) {
        *out = error_at(i, err, NULL);
        free(specs);
        return st;
    }
    jobs = cJSON_CreateArray();
    ids = cJSON_CreateArray();
    for (i = 0; i < n && (st = create(c, &specs[i], &id, err, sizeof(err))) == 201; i++) {
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(id));
        if (mc_job_get(c, id, &j) == MC_OK)
            cJSON_AddItemToArray(jobs, api->job_json(&j));
    }
    free(specs);
    if (st == 201) {
        cJSON_Delete(ids);
        *out = jobs;
        return 201;
    }
    cJSON_Delete(jobs);
    *out = error_at(i, err, ids);
    return st;
}

unsigned mcd_job_check(mc_cloud *c, const cJSON *o, const mcd_jobs_api *api, mc_job_spec *s,
                       char *err, size_t cap)
{
    return spec_of(c, o, api->scenarios_dir, api->default_size, s, err, cap);
}

unsigned mcd_job_make(mc_cloud *c, mc_job_spec *s, int *id, char *err, size_t cap)
{
    return create(c, s, id, err, cap);
}

unsigned mcd_jobs_post(mc_cloud *c, const char *body, size_t len, const mcd_jobs_api *api,
                       cJSON **out)
{
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    mc_job_spec s;
    mc_job_info j;
    char err[256];
    unsigned st;
    int id;

    if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "devices")) {
        st = mcd_batch_post(c, root, api, out);
    } else if (cJSON_IsArray(root)) {
        st = post_batch(c, root, api, out);
    } else if ((st = spec_of(c, root, api->scenarios_dir, api->default_size, &s, err,
                             sizeof(err))) != 0 ||
               (st = create(c, &s, &id, err, sizeof(err))) != 201) {
        if (!cJSON_IsObject(root))
            snprintf(err, sizeof(err),
                     "the body must be a JSON object (one job) or an array of "
                     "them (a batch)");
        *out = error_json(err);
    } else if (mc_job_get(c, id, &j) == MC_OK) {
        *out = api->job_json(&j);
    } else {
        *out = error_json("the job vanished");
        st = 500;
    }
    cJSON_Delete(root);
    return st;
}
