/*
 * Batches, as the platform's upgrade batches: POST /jobs with "devices"
 * pushes the package only to the devices it fits (the package's module, one
 * of its source versions, not the version already running) and lists the
 * others as skipped with the reason; GET /batches/N shows the counts by
 * state with the platform's names and a row per device; POST
 * /batches/N/cancel cancels its open jobs. The jobs themselves are made by
 * api_jobs.c, exactly as POST /jobs makes one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

typedef struct {
    char dn[OTA_MAX_NAME + 1];
    char reason[200];
} skip;

typedef struct {
    int id;
    int firmware; /* 0: a generated image */
    char version[OTA_MAX_VERSION + 1];
    char plan[64];
    int mqtt;
    double created; /* mc_now */
    int *jobs, njobs;
    skip *skipped;
    int nskipped;
} batch;

static struct {
    pthread_mutex_t lock;
    batch **list; /* batch N is list[N - 1]; never freed before exit */
    int n;
} bt = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned refuse(cJSON **out, unsigned status, const char *text)
{
    *out = cJSON_CreateObject();
    cJSON_AddStringToObject(*out, "error", text);
    return status;
}

/* The platform's name of a job's state. */
static const char *platform_name(mc_job_state s)
{
    static const char *const names[MC_JOB__COUNT] = {
        [MC_JOB_PENDING] = "pending",     [MC_JOB_UPGRADING] = "upgrading",
        [MC_JOB_SUCCEEDED] = "succeeded", [MC_JOB_FAILED] = "failed",
        [MC_JOB_CANCELED] = "canceled",   [MC_JOB_TIMED_OUT] = "timed out",
    };
    return (unsigned)s < MC_JOB__COUNT ? names[s] : "?";
}

/*
 * Why the package (module, source versions, target version) does not fit
 * the device, in a sentence; "" when it does.
 */
static void fit(mc_cloud *c, const mc_device_info *d, const mc_job_spec *s,
                const mcd_firmware_ref *fw, char *why, size_t cap)
{
    const char *module = s->module && *s->module ? s->module : "default";
    const char *dmod = d->module[0] ? d->module : "default";
    char holder[128];

    why[0] = '\0';
    if (mc_device_claimed(c, d->dn, holder, sizeof(holder))) {
        snprintf(why, cap, "claimed by a conformance run");
    } else if (strcmp(module, dmod)) {
        snprintf(why, cap, "runs module %s; the package is for module %s", dmod, module);
    } else if (fw && fw->nsources && !d->reported_version[0]) {
        snprintf(why, cap,
                 "has not reported a version yet (the package applies to given "
                 "source versions)");
    } else if (fw && fw->nsources) {
        int ok = 0;
        for (int i = 0; i < fw->nsources && !ok; i++)
            ok = !strcmp(fw->sources[i], d->reported_version);
        if (!ok)
            snprintf(why, cap, "reported version %s, not a source version of the package (%s%s)",
                     d->reported_version, fw->sources[0], fw->nsources > 1 ? ", …" : "");
    }
    if (!why[0] && d->reported_version[0] && !strcmp(d->reported_version, s->version))
        snprintf(why, cap, "already runs version %s", s->version);
}

/* The devices the request names: an array of names, or "online" (every online device). */
static cJSON *device_names(mc_cloud *c, const cJSON *devs)
{
    cJSON *names = cJSON_CreateArray();
    mc_device_info d;

    if (cJSON_IsString(devs)) {
        for (int i = 0; mc_device_at(c, i, &d) == MC_OK; i++)
            if (mcd_device_online(d.dn))
                cJSON_AddItemToArray(names, cJSON_CreateString(d.dn));
        return names;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, devs)
    {
        if (!cJSON_IsString(v)) {
            cJSON_Delete(names);
            return NULL;
        }
        cJSON_AddItemToArray(names, cJSON_CreateString(v->valuestring));
    }
    return names;
}

static int add_skip(batch *b, const char *dn, const char *reason)
{
    skip *grown = realloc(b->skipped, (size_t)(b->nskipped + 1) * sizeof(*grown));

    if (!grown)
        return -1;
    b->skipped = grown;
    snprintf(grown[b->nskipped].dn, sizeof(grown[0].dn), "%s", dn);
    snprintf(grown[b->nskipped].reason, sizeof(grown[0].reason), "%s", reason);
    b->nskipped++;
    return 0;
}

static int add_job(batch *b, int id)
{
    int *grown = realloc(b->jobs, (size_t)(b->njobs + 1) * sizeof(*grown));

    if (!grown)
        return -1;
    b->jobs = grown;
    b->jobs[b->njobs++] = id;
    return 0;
}

/* One device of the batch: a job, or a skip with the reason. 0, or the status with err. */
static unsigned one_device(mc_cloud *c, batch *b, const cJSON *req, const char *dn,
                           const mcd_jobs_api *api, char *err, size_t cap)
{
    cJSON *o = cJSON_Duplicate(req, 1);
    const cJSON *fwv = cJSON_GetObjectItemCaseSensitive(req, "firmware");
    mcd_firmware_ref fw;
    mc_device_info d;
    mc_job_spec s;
    char why[200];
    unsigned st;
    int id;

    cJSON_DeleteItemFromObjectCaseSensitive(o, "devices");
    cJSON_AddStringToObject(o, "device", dn);
    st = mcd_job_check(c, o, api, &s, err, cap);
    if (st == 409 || (!st && mc_device_get(c, dn, &d) != MC_OK)) {
        add_skip(b, dn, st == 409 ? "claimed by a conformance run" : "no such device");
        st = 0;
        goto out;
    }
    if (st)
        goto out;
    fit(c, &d, &s,
        cJSON_IsNumber(fwv) && mcd_firmware_find((int)fwv->valuedouble, &fw) == 0 ? &fw : NULL, why,
        sizeof(why));
    if (why[0]) {
        add_skip(b, dn, why);
        goto out;
    }
    st = mcd_job_make(c, &s, &id, err, cap);
    if (st == 201) {
        st = 0;
        add_job(b, id);
    }
out:
    cJSON_Delete(o);
    return st;
}

unsigned mcd_batch_post(mc_cloud *c, const cJSON *req, const mcd_jobs_api *api, cJSON **out)
{
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(req, "devices"), *v;
    cJSON *names = NULL, *ids, *skipped;
    batch *b = calloc(1, sizeof(*b));
    char err[256];
    unsigned st = 0;

    if (!b)
        return refuse(out, 500, "out of memory");
    if (!(cJSON_IsString(devs) && !strcmp(devs->valuestring, "online")) && !cJSON_IsArray(devs))
        st = refuse(out, 400,
                    "\"devices\" must be an array of deviceNames or \"online\" (every online "
                    "device)");
    else if (!(names = device_names(c, devs)))
        st = refuse(out, 400, "\"devices\" must hold deviceNames (strings)");
    else if (cJSON_GetArraySize(names) < 1 || cJSON_GetArraySize(names) > MCD_JOBS_BATCH_MAX)
        st = refuse(out, 400,
                    cJSON_IsString(devs) ? "no device is online"
                                         : "a batch names 1 to 10000 devices");
    cJSON_ArrayForEach(v, names)
    {
        if (st)
            break;
        if ((st = one_device(c, b, req, v->valuestring, api, err, sizeof(err))) != 0)
            refuse(out, st, err); /* the request itself is bad: the first device says so */
    }
    cJSON_Delete(names);
    if (st && !b->njobs) {
        free(b->jobs);
        free(b->skipped);
        free(b);
        return st;
    }
    if (st) /* jobs were made before a device failed: keep the batch, say so */
        cJSON_Delete(*out);
    const cJSON *fw = cJSON_GetObjectItemCaseSensitive(req, "firmware"),
                *ver = cJSON_GetObjectItemCaseSensitive(req, "version"),
                *plan = cJSON_GetObjectItemCaseSensitive(req, "plan");
    mcd_firmware_ref f;
    b->firmware = cJSON_IsNumber(fw) ? (int)fw->valuedouble : 0;
    snprintf(b->version, sizeof(b->version), "%s",
             b->firmware && mcd_firmware_find(b->firmware, &f) == 0 ? f.version
             : cJSON_IsString(ver)                                  ? ver->valuestring
                                                                    : "");
    snprintf(b->plan, sizeof(b->plan), "%s", cJSON_IsString(plan) ? plan->valuestring : "");
    b->created = mc_now(c);
    pthread_mutex_lock(&bt.lock);
    batch **grown = realloc(bt.list, (size_t)(bt.n + 1) * sizeof(*grown));
    if (grown) {
        bt.list = grown;
        bt.list[bt.n++] = b;
        b->id = bt.n;
    }
    pthread_mutex_unlock(&bt.lock);
    if (!grown)
        return refuse(out, 500, "out of memory");
    *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(*out, "batch", b->id);
    ids = cJSON_AddArrayToObject(*out, "jobs");
    for (int i = 0; i < b->njobs; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(b->jobs[i]));
    skipped = cJSON_AddArrayToObject(*out, "skipped");
    for (int i = 0; i < b->nskipped; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "device", b->skipped[i].dn);
        cJSON_AddStringToObject(s, "reason", b->skipped[i].reason);
        cJSON_AddItemToArray(skipped, s);
    }
    if (st)
        cJSON_AddStringToObject(*out, "error", err);
    return 201;
}

/* The batch of rest ("N" or "N/cancel" when tail is "/cancel"); NULL when none. */
static batch *batch_of(const char *rest, const char *tail)
{
    char *end;
    long id = strtol(rest, &end, 10);
    batch *b = NULL;

    if (end == rest || strcmp(end, tail))
        return NULL;
    pthread_mutex_lock(&bt.lock);
    if (id >= 1 && id <= bt.n)
        b = bt.list[id - 1];
    pthread_mutex_unlock(&bt.lock);
    return b;
}

/*
 * The batch's summary; with rows, its jobs (as the API shows them, plus
 * desc) from offset, at most limit of them, and its skips.
 */
static cJSON *batch_json(mc_cloud *c, const batch *b, const mcd_jobs_api *api, int rows,
                         long offset, long limit)
{
    cJSON *o = cJSON_CreateObject(), *counts = cJSON_CreateObject(), *jobs = NULL;
    int n[MC_JOB__COUNT] = {0};
    mc_job_info j;

    cJSON_AddNumberToObject(o, "id", b->id);
    if (b->firmware)
        cJSON_AddNumberToObject(o, "firmware", b->firmware);
    cJSON_AddStringToObject(o, "version", b->version);
    cJSON_AddStringToObject(o, "plan", b->plan);
    cJSON_AddNumberToObject(o, "created", b->created);
    if (rows)
        jobs = cJSON_AddArrayToObject(o, "jobs");
    for (int i = 0; i < b->njobs; i++) {
        if (mc_job_get(c, b->jobs[i], &j) != MC_OK)
            continue;
        n[j.state]++;
        if (!rows || i < offset || i >= offset + limit)
            continue;
        cJSON *r = api->job_json(&j);
        char desc[OTA_TRACE_MAX_INFO + 1];
        cJSON_AddStringToObject(r, "batchState", platform_name(j.state));
        if (mcd_device_desc(j.dn, j.trace_at, desc, sizeof(desc)))
            cJSON_AddStringToObject(r, "desc", desc);
        cJSON_AddItemToArray(jobs, r);
    }
    for (int s = 0; s < MC_JOB__COUNT; s++)
        cJSON_AddNumberToObject(counts, platform_name((mc_job_state)s), n[s]);
    cJSON_AddNumberToObject(counts, "skipped", b->nskipped);
    cJSON_AddItemToObject(o, "counts", counts);
    cJSON_AddNumberToObject(o, "total", b->njobs);
    if (rows) {
        cJSON_AddNumberToObject(o, "offset", (double)offset);
        cJSON *sk = cJSON_AddArrayToObject(o, "skipped");
        for (int i = 0; i < b->nskipped; i++) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "device", b->skipped[i].dn);
            cJSON_AddStringToObject(s, "reason", b->skipped[i].reason);
            cJSON_AddItemToArray(sk, s);
        }
    }
    return o;
}

unsigned mcd_batch_get(mc_cloud *c, const char *rest, const char *offset, const char *limit,
                       const mcd_jobs_api *api, cJSON **out)
{
    long off = offset ? strtol(offset, NULL, 10) : 0, lim = limit ? strtol(limit, NULL, 10) : 0;

    batch *b;

    if (!*rest) {
        *out = cJSON_CreateArray();
        pthread_mutex_lock(&bt.lock);
        int n = bt.n;
        pthread_mutex_unlock(&bt.lock);
        for (int i = n; i >= 1 && i > n - 100; i--) { /* the newest 100 */
            pthread_mutex_lock(&bt.lock);
            b = bt.list[i - 1];
            pthread_mutex_unlock(&bt.lock);
            cJSON_AddItemToArray(*out, batch_json(c, b, api, 0, 0, 0));
        }
        return 200;
    }
    b = batch_of(rest, "");
    if (!b)
        return refuse(out, 404, "no such batch (GET /batches lists them)");
    *out = batch_json(c, b, api, 1, off > 0 ? off : 0, lim > 0 ? lim : MCD_JOBS_BATCH_MAX);
    return 200;
}

unsigned mcd_batch_cancel(mc_cloud *c, const char *rest, cJSON **out)
{
    batch *b = batch_of(rest, "/cancel");
    int n = 0;

    if (!b)
        return refuse(out, 404, "unknown request: POST /batches/N/cancel");
    for (int i = 0; i < b->njobs; i++)
        n += mc_job_cancel(c, b->jobs[i], "canceled with its batch") == MC_OK;
    *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(*out, "batch", b->id);
    cJSON_AddNumberToObject(*out, "canceled", n);
    return 200;
}
