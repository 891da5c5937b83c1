/*
 * OTA jobs: creation (image, digest, signed URL, the push) and the state
 * machine that judges them as the real cloud does. Success only when an
 * inform reports the target version; a negative step records the failure
 * code; progress "100" alone changes nothing. See docs/job-state-machine.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "mock_priv.h"
#include "otaproto/limits.h"

#define MC_MAX_JOBS 100000

static const char *const state_names[MC_JOB__COUNT] = {"PENDING", "UPGRADING", "SUCCEEDED",
                                                       "FAILED",  "CANCELED",  "TIMED_OUT"};

const char *mc_job_state_name(mc_job_state s)
{
    return (unsigned)s < MC_JOB__COUNT ? state_names[s] : "UNKNOWN";
}

static const struct {
    mc_job_state next;
    mc_job_action act;
} open_table[2][MC_EV__COUNT] = {
    [MC_JOB_PENDING] =
        {
            [MC_EV_PROGRESS] = {MC_JOB_UPGRADING, MC_ACT_NOTE_START},
            [MC_EV_FAIL_STEP] = {MC_JOB_FAILED, MC_ACT_RECORD_FAIL},
            [MC_EV_INFORM_TARGET] = {MC_JOB_SUCCEEDED, MC_ACT_RECORD_SUCCESS},
            [MC_EV_INFORM_OTHER] = {MC_JOB_PENDING, MC_ACT_NONE},
            [MC_EV_SUPERSEDE] = {MC_JOB_CANCELED, MC_ACT_NOTE_CANCEL},
            [MC_EV_CANCEL] = {MC_JOB_CANCELED, MC_ACT_NOTE_CANCEL},
            [MC_EV_TIMEOUT] = {MC_JOB_TIMED_OUT, MC_ACT_RECORD_TIMEOUT},
        },
    [MC_JOB_UPGRADING] =
        {
            [MC_EV_PROGRESS] = {MC_JOB_UPGRADING, MC_ACT_NONE},
            [MC_EV_FAIL_STEP] = {MC_JOB_FAILED, MC_ACT_RECORD_FAIL},
            [MC_EV_INFORM_TARGET] = {MC_JOB_SUCCEEDED, MC_ACT_RECORD_SUCCESS},
            [MC_EV_INFORM_OTHER] = {MC_JOB_UPGRADING, MC_ACT_NONE},
            [MC_EV_SUPERSEDE] = {MC_JOB_CANCELED, MC_ACT_NOTE_CANCEL},
            [MC_EV_CANCEL] = {MC_JOB_CANCELED, MC_ACT_NOTE_CANCEL},
            [MC_EV_TIMEOUT] = {MC_JOB_TIMED_OUT, MC_ACT_RECORD_TIMEOUT},
        },
};

mc_job_state mc_job_next(mc_job_state s, mc_job_event ev, mc_job_action *act)
{
    *act = MC_ACT_NONE;
    if (s != MC_JOB_PENDING && s != MC_JOB_UPGRADING) /* terminal states stay */
        return s;
    if ((unsigned)ev >= MC_EV__COUNT)
        return s;
    *act = open_table[s][ev].act;
    return open_table[s][ev].next;
}

/* Why a job ended CANCELED or TIMED_OUT, in the words the control API shows. */
static void note_reason(mc_job *j, mc_job_event ev, mc_job_state was)
{
    if (ev == MC_EV_TIMEOUT && j->has_step)
        snprintf(j->reason, sizeof(j->reason), "timed out after %g s in state %s at step %d",
                 j->timeout_s, mc_job_state_name(was), j->last_step);
    else if (ev == MC_EV_TIMEOUT)
        snprintf(j->reason, sizeof(j->reason),
                 "timed out after %g s in state %s, no progress reported", j->timeout_s,
                 mc_job_state_name(was));
    else if (ev == MC_EV_SUPERSEDE)
        snprintf(j->reason, sizeof(j->reason), "canceled: a newer job for the device replaced it");
    else if (!j->reason[0])
        snprintf(j->reason, sizeof(j->reason), "canceled by the API");
}

/* " (step -2: download failed)": the step's name from the protocol's table. */
static void step_text(int code, char *buf, size_t cap)
{
    const char *name = ota_step_name(code);
    snprintf(buf, cap, " (step %d%s%s)", code, name ? ": " : "", name ? name : "");
}

/* {"job":N,"state":..,"from":..,"reason":..} and, for a timeout, "timeout" and the last "step". */
static char *change_json(const mc_job *j, mc_job_state was, mc_job_action act)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    cJSON_AddNumberToObject(o, "job", j->id);
    cJSON_AddStringToObject(o, "state", mc_job_state_name(j->state));
    cJSON_AddStringToObject(o, "from", mc_job_state_name(was));
    cJSON_AddStringToObject(o, "reason", j->reason);
    if (act == MC_ACT_RECORD_TIMEOUT)
        cJSON_AddNumberToObject(o, "timeout", j->timeout_s);
    if (act == MC_ACT_RECORD_TIMEOUT && j->has_step)
        cJSON_AddNumberToObject(o, "step", j->last_step);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* The trace record of a state change; a timeout or cancel carries its reason as JSON too. */
static void trace_change(mc_cloud *c, const mc_job *j, mc_job_state was, mc_job_action act)
{
    char suffix[sizeof(j->reason) + 4] = "", *payload = NULL;

    if (act == MC_ACT_RECORD_FAIL)
        step_text(j->fail_code, suffix, sizeof(suffix));
    if (act == MC_ACT_RECORD_TIMEOUT || act == MC_ACT_NOTE_CANCEL) {
        snprintf(suffix, sizeof(suffix), " (%s)", j->reason);
        payload = change_json(j, was, act);
    }
    mc_trace_add(c, OTA_TR_CLOUD, j->dn, NULL, payload, payload ? strlen(payload) : 0,
                 "job %d %s -> %s%s", j->id, mc_job_state_name(was), mc_job_state_name(j->state),
                 suffix);
    free(payload);
}

/* Feed one event to a job (c->lock held) and perform the action it returns. */
void mc_job_feed(mc_cloud *c, mc_job *j, mc_job_event ev, int code)
{
    mc_job_action act;
    mc_job_state was = j->state;

    assert(mc_cloud_lock_held(c));
    j->state = mc_job_next(j->state, ev, &act);
    if (ev == MC_EV_PROGRESS && (was == MC_JOB_PENDING || was == MC_JOB_UPGRADING)) {
        j->has_step = 1;
        j->last_step = code;
    }
    switch (act) {
    case MC_ACT_RECORD_FAIL:
        j->fail_code = code;
        break;
    case MC_ACT_RECORD_TIMEOUT:
    case MC_ACT_NOTE_CANCEL:
        note_reason(j, ev, was);
        break;
    case MC_ACT_NONE:
        return;
    default:
        break;
    }
    trace_change(c, j, was, act);
}

mc_job *mc_job_find(mc_cloud *c, int id)
{
    assert(mc_cloud_lock_held(c));
    return (id >= 1 && id <= c->njobs) ? c->jobs[id - 1] : NULL;
}

void mc_jobs_free(mc_cloud *c)
{
    for (int i = 0; i < c->njobs; i++)
        free(c->jobs[i]);
    free(c->jobs);
    free(c->job_index);
    c->jobs = NULL;
    c->njobs = 0;
    c->job_index = NULL;
    c->job_index_cap = 0;
    c->job_names = 0;
}

static int is_default(const char *module)
{
    return !module || !*module || !strcmp(module, "default");
}

static unsigned long long epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

/* The image, its digest, and an OSS-like signed URL for it. */
static int job_prepare(mc_cloud *c, mc_job *j, const mc_job_spec *s, mc_file *file)
{
    char text[128], sig[65];
    int rc = file ? MC_OK : mc_image_make(s->image_size, (unsigned)j->id * 7919u, &j->image);

    if (file)
        j->image = (mc_image){.size = file->size, .file = file};

    if (rc == MC_OK)
        rc = mc_image_digest(&j->image, s->digest, j->digest_hex, sizeof(j->digest_hex));
    if (rc == MC_OK && s->digest == OTA_DIGEST_SHA256)
        snprintf(j->sha256_hex, sizeof(j->sha256_hex), "%s", j->digest_hex);
    else if (rc == MC_OK)
        rc = mc_image_digest(&j->image, OTA_DIGEST_SHA256, j->sha256_hex, sizeof(j->sha256_hex));
    if (rc != MC_OK)
        return rc;
    snprintf(j->file, sizeof(j->file), "fw-%d.bin", j->id);
    snprintf(text, sizeof(text), "job%d:%s", j->id, j->version);
    ota_digest_hex(OTA_DIGEST_SHA256, text, strlen(text), sig, sizeof(sig));
    snprintf(j->signature, sizeof(j->signature), "%.24s", sig);
    /* A push-seam fault may name the HTTPS port whose certificate another CA signed. */
    mc_push_edit edit;
    mc_fault_push_edit(&j->fault, &edit);
    int foreign = edit.foreign_url;
    int https = c->https_urls || foreign;
    int port = foreign ? c->foreign_port : https ? c->https_port : c->http_port;
    char at[16] = "";
    if (!c->url_no_port)
        snprintf(at, sizeof(at), ":%d", port);
    snprintf(j->url, sizeof(j->url),
             "%s://%s%s/ota/%d/%s?Expires=%llu&OSSAccessKeyId=LTAI5tMockCloud&Signature=%s",
             https ? "https" : "http", c->url_host, at, j->id, j->file,
             epoch_ms() / 1000ULL + 86400ULL, j->signature);
    return MC_OK;
}

/* The push as published: built from the job, then changed by its push-seam fault (fault.c). */
static int job_push(mc_job *j, const mc_job_spec *s, const ota_dialect *dialect, ota_values values)
{
    mc_push_edit edit;
    ota_push p;
    int rc;

    if (s->documented)
        values = OTA_VALUES_DOC;
    mc_fault_push_edit(&j->fault, &edit);
    ota_push_init(&p);
    p.envelope = s->envelope;
    p.id = epoch_ms();
    p.size = (long long)j->image.size - edit.size_less;
    p.has_version = 1;
    p.is_diff = s->is_diff;
    snprintf(p.version, sizeof(p.version), "%s", j->version);
    if (!s->omit_transport && j->mqtt) {
        p.has_dprotocol = 1;
        snprintf(p.dprotocol, sizeof(p.dprotocol), "mqtt");
        p.stream_id = j->stream_id;
        p.stream_file_id = 1;
    } else if (!s->omit_transport) {
        p.has_url = 1;
        snprintf(p.url, sizeof(p.url), "%s", j->url);
    }
    p.has_sign_method = 1;
    snprintf(p.sign_method, sizeof(p.sign_method), "%s",
             s->sign_method_text ? s->sign_method_text : ota_sign_method_name(s->digest));
    if (s->wrong_digest || edit.wrong_digest) {
        /* FAIL-3T: well formed (lower-case, right length) but wrong, in sign and md5 alike. */
        char text[64];
        snprintf(text, sizeof(text), "not the image of job %d", j->id);
        ota_digest_hex(s->digest, text, strlen(text), p.sign, sizeof(p.sign));
    } else {
        snprintf(p.sign, sizeof(p.sign), "%s", j->digest_hex);
    }
    for (char *h = p.sign; s->upper_hex && *h; h++)
        *h = (char)(*h >= 'a' && *h <= 'f' ? *h - 32 : *h);
    if (s->digest == OTA_DIGEST_MD5)
        snprintf(p.md5, sizeof(p.md5), "%.64s", p.sign);
    if (!is_default(j->module)) {
        p.has_module = 1;
        snprintf(p.module, sizeof(p.module), "%s", j->module);
    }
    /* A stock ThingsPanel server sends size "0" and an empty sign, whatever the package. */
    if (values == OTA_VALUES_CODE && dialect->size_zero_unknown)
        p.size = 0;
    if (values == OTA_VALUES_CODE && dialect->sign_empty_skips)
        p.sign[0] = '\0';
    rc = ota_dialect_push_build(dialect, &p, values, j->push, sizeof(j->push)) == OTA_OK
             ? MC_OK
             : MC_ERR_NOMEM;
    if (rc == MC_OK)
        rc = mc_fault_push_apply(&j->fault, dialect->push_key, j->push, sizeof(j->push));
    return rc;
}

static size_t name_hash(const char *s)
{
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/*
 * A device's jobs form a chain, newest first (prev_same_dn), whose head the
 * index holds by device name: a fleet's every message finds its job without
 * a scan of every job. The slot of dn (c->lock held, the index not empty).
 */
static int *index_slot(const mc_cloud *c, const char *dn) REQUIRES(c->lock)
{
    size_t mask = c->job_index_cap - 1, k;

    assert(mc_cloud_lock_held(c));
    assert(c->job_index_cap > 0); /* a power of two: mask is all ones below it */
    for (k = name_hash(dn) & mask; c->job_index[k]; k = (k + 1) & mask)
        if (!strcmp(c->jobs[c->job_index[k] - 1]->dn, dn))
            break;
    return &c->job_index[k];
}

/* The id of the device's newest job, 0 when it has none. */
static int newest_job(const mc_cloud *c, const char *dn) REQUIRES(c->lock)
{
    return c->job_index_cap ? *index_slot(c, dn) : 0;
}

/* Make room for one more device name: rebuild at twice the size (heads stay the newest). */
static int index_room(mc_cloud *c) REQUIRES(c->lock)
{
    size_t cap = c->job_index_cap ? c->job_index_cap : 64;
    int *old = c->job_index;

    if (2 * (size_t)(c->job_names + 1) <= c->job_index_cap)
        return MC_OK;
    while (2 * (size_t)(c->job_names + 1) > cap)
        cap *= 2;
    c->job_index = calloc(cap, sizeof(int));
    if (!c->job_index) {
        c->job_index = old;
        return MC_ERR_NOMEM;
    }
    free(old);
    c->job_index_cap = cap;
    for (int i = 0; i < c->njobs; i++)
        *index_slot(c, c->jobs[i]->dn) = c->jobs[i]->id;
    return MC_OK;
}

/* Feed ev to every job of dn (of one module; NULL: any), oldest first, as a scan of all did. */
static void feed_device_jobs(mc_cloud *c, const char *dn, const char *module, mc_job_event ev)
    REQUIRES(c->lock)
{
    int n = 0, *ids;

    for (int id = newest_job(c, dn); id; id = c->jobs[id - 1]->prev_same_dn)
        n++;
    ids = n ? malloc((size_t)n * sizeof(*ids)) : NULL;
    n = 0;
    for (int id = newest_job(c, dn); ids && id; id = c->jobs[id - 1]->prev_same_dn)
        ids[n++] = id;
    while (n-- > 0) {
        mc_job *o = c->jobs[ids[n] - 1];
        if (!module || !strcmp(o->module, module))
            mc_job_feed(c, o, ev, 0);
    }
    free(ids);
}

static void supersede_open_jobs(mc_cloud *c, const char *dn, const char *module) REQUIRES(c->lock)
{
    feed_device_jobs(c, dn, module, MC_EV_SUPERSEDE);
}

static int job_add(mc_cloud *c, mc_job *j) REQUIRES(c->lock)
{
    mc_job **n;
    int *head;

    if (c->njobs >= MC_MAX_JOBS || index_room(c) != MC_OK)
        return MC_ERR_NOMEM;
    n = realloc(c->jobs, (size_t)(c->njobs + 1) * sizeof(*n));
    if (!n)
        return MC_ERR_NOMEM;
    c->jobs = n;
    c->jobs[c->njobs++] = j;
    head = index_slot(c, j->dn);
    j->prev_same_dn = *head;
    c->job_names += *head == 0;
    *head = j->id;
    return MC_OK;
}

int mc_job_create(mc_cloud *c, const mc_job_spec *s, int *job_id)
{
    char topics[2][OTA_MAX_TOPIC + 1], push[2048];
    mc_device *d;
    mc_file *file = NULL;
    mc_job *j;
    int rc, ntopics = 0;

    if (!c || !s || !s->dn || !s->version || !*s->version || strlen(s->version) > OTA_MAX_VERSION ||
        (unsigned)s->digest >= OTA_DIGEST__COUNT)
        return MC_ERR_ARG;
    if (mc_fault_needs_tls(&s->fault) && !c->foreign_port)
        return MC_ERR_ARG; /* no HTTPS without the TLS folder */
    if (s->image_path) {
        char err[400];
        rc = mc_file_get(c, s->image_path, &file, err, sizeof(err));
        if (rc != MC_OK) {
            mc_trace_add(c, OTA_TR_ERROR, s->dn, NULL, NULL, 0, "job not created: %s", err);
            return rc;
        }
    }
    j = calloc(1, sizeof(*j));
    if (!j)
        return MC_ERR_NOMEM;
    mc_cloud_lock(c);
    d = mc_registry_find(c, NULL, s->dn);
    if (!d) {
        rc = MC_ERR_NOTFOUND;
        goto out;
    }
    j->id = c->njobs + 1;
    snprintf(j->dn, sizeof(j->dn), "%s", s->dn);
    snprintf(j->module, sizeof(j->module), "%s", is_default(s->module) ? "default" : s->module);
    snprintf(j->version, sizeof(j->version), "%s", s->version);
    j->digest = s->digest;
    j->fault = s->fault;
    j->nthen = s->nthen > 0 && s->nthen < MC_FAULT_SEQ_MAX ? s->nthen : 0;
    memcpy(j->then, s->then, sizeof(j->then[0]) * (size_t)j->nthen);
    j->mqtt = s->mqtt;
    j->is_diff = s->is_diff;
    j->pull_only = s->no_publish;
    j->stream_id = 100000LL + j->id;
    j->timeout_s = s->timeout_s > 0 ? s->timeout_s : s->timeout_s < 0 ? 0 : c->job_timeout_s;
    j->deadline = j->timeout_s > 0 ? mc_now(c) + j->timeout_s : 0;
    rc = job_prepare(c, j, s, file);
    if (rc == MC_OK)
        rc = job_push(j, s, c->dialect, c->push_values);
    if (rc != MC_OK)
        goto out;
    supersede_open_jobs(c, j->dn, j->module);
    rc = job_add(c, j);
    if (rc != MC_OK)
        goto out;
    ntopics = mc_push_topics(c, &d->info, topics);
    memcpy(push, j->push, sizeof(push));
    mc_trace_add(c, OTA_TR_CLOUD, j->dn, NULL, NULL, 0,
                 "job %d created: version %s, %zu bytes%s%s by %s, %s %s, %s envelope%s%s%s%s",
                 j->id, j->version, j->image.size, file ? " of " : "", file ? file->path : "",
                 j->mqtt ? "MQTT blocks" : "HTTP", ota_digest_kind_name(s->digest),
                 s->wrong_digest ? "wrong digest" : j->digest_hex, ota_envelope_name(s->envelope),
                 s->omit_transport ? ", no url" : "", mc_fault_active(&s->fault) ? ", fault " : "",
                 mc_fault_active(&s->fault) ? mc_fault_kind_name(s->fault.kind) : "",
                 j->nthen ? " and a sequence after it" : "");
    if (j->timeout_s > 0)
        mc_trace_add(c, OTA_TR_CLOUD, j->dn, NULL, NULL, 0, "job %d times out after %g s", j->id,
                     j->timeout_s);
    j->trace_at = mc_trace_count(c);
    *job_id = j->id;
    j = NULL;
out:
    mc_cloud_unlock(c);
    free(j);
    for (int i = 0; rc == MC_OK && !s->no_publish && i < ntopics; i++)
        rc = mc_mqtt_publish(c, s->dn, topics[i], push, 1);
    return rc;
}

int mc_push_topics(const mc_cloud *c, const mc_device_info *d, char topics[2][OTA_MAX_TOPIC + 1])
{
    int n = 0;

    if (c->push_on != OTA_PUSH_ON_ALT || !c->dialect->push_alt)
        n += ota_dialect_topic_build(c->dialect, OTA_TOPIC_UPGRADE, 0, d->pk, d->dn, topics[n],
                                     OTA_MAX_TOPIC + 1) == OTA_OK;
    if (c->push_on != OTA_PUSH_ON_DOC && c->dialect->push_alt)
        n += ota_dialect_topic_build(c->dialect, OTA_TOPIC_UPGRADE, 1, d->pk, d->dn, topics[n],
                                     OTA_MAX_TOPIC + 1) == OTA_OK;
    return n;
}

void mc_jobs_cancel(mc_cloud *c, const char *dn)
{
    mc_cloud_lock(c);
    feed_device_jobs(c, dn, NULL, MC_EV_SUPERSEDE);
    mc_cloud_unlock(c);
    mc_device_clear(c, dn); /* and what the plugin still holds for it */
}

static int is_open(const mc_job *j)
{
    return j->state == MC_JOB_PENDING || j->state == MC_JOB_UPGRADING;
}

int mc_job_cancel(mc_cloud *c, int id, const char *reason)
{
    mc_job *j;
    int rc = MC_OK;

    if (!c)
        return MC_ERR_ARG;
    mc_cloud_lock(c);
    j = mc_job_find(c, id);
    if (!j) {
        rc = MC_ERR_NOTFOUND;
    } else if (!is_open(j)) {
        rc = MC_ERR_STATE;
    } else {
        snprintf(j->reason, sizeof(j->reason), "%s", reason ? reason : "canceled by the API");
        mc_job_feed(c, j, MC_EV_CANCEL, 0);
    }
    mc_cloud_unlock(c);
    return rc;
}

/* The timer event: every open job whose deadline passed times out. */
void mc_jobs_tick(mc_cloud *c)
{
    double now = mc_now(c);

    mc_cloud_lock(c);
    for (int i = 0; i < c->njobs; i++) {
        mc_job *j = c->jobs[i];
        if (j->deadline > 0 && now >= j->deadline && is_open(j))
            mc_job_feed(c, j, MC_EV_TIMEOUT, 0);
    }
    mc_cloud_unlock(c);
}

/* Task states per dialect, by job state; [MC_JOB__COUNT] is a PENDING job not yet pushed. */
static const char *const platform_states[OTA_DIALECT__COUNT][MC_JOB__COUNT + 1] = {
    [OTA_DIALECT_THINGSPANEL] =
        {
            [MC_JOB_PENDING] = "pushed",
            [MC_JOB_UPGRADING] = "upgrading",
            [MC_JOB_SUCCEEDED] = "succeeded",
            [MC_JOB_FAILED] = "failed",
            [MC_JOB_CANCELED] = "cancelled",
            [MC_JOB_TIMED_OUT] = "failed",
            [MC_JOB__COUNT] = "pending",
        },
};

const char *mc_job_platform_state(const mc_cloud *c, const mc_job_info *j)
{
    int id = (int)(c->dialect - ota_dialect_get(OTA_DIALECT_ALIYUN));
    int s = j->state == MC_JOB_PENDING && !j->pushed ? MC_JOB__COUNT : (int)j->state;

    if (id < 0 || id >= OTA_DIALECT__COUNT || s < 0 || s > MC_JOB__COUNT)
        return NULL;
    return platform_states[id][s];
}

const ota_dialect *mc_cloud_dialect(const mc_cloud *c)
{
    return c->dialect;
}

int mc_job_get(mc_cloud *c, int id, mc_job_info *out)
{
    mc_job *j;
    int rc = MC_ERR_NOTFOUND;

    mc_cloud_lock(c);
    j = mc_job_find(c, id);
    if (j) {
        memset(out, 0, sizeof(*out));
        out->id = j->id;
        out->state = j->state;
        out->fail_code = j->fail_code;
        snprintf(out->dn, sizeof(out->dn), "%s", j->dn);
        snprintf(out->version, sizeof(out->version), "%s", j->version);
        snprintf(out->url, sizeof(out->url), "%s", j->url);
        out->size = j->image.size;
        snprintf(out->digest_hex, sizeof(out->digest_hex), "%s", j->digest_hex);
        snprintf(out->sha256_hex, sizeof(out->sha256_hex), "%s", j->sha256_hex);
        out->trace_at = j->trace_at;
        out->mqtt = j->mqtt;
        out->stream_id = j->stream_id;
        out->blocks = j->blocks;
        out->timeout_s = j->timeout_s;
        out->has_step = j->has_step;
        out->last_step = j->last_step;
        snprintf(out->reason, sizeof(out->reason), "%s", j->reason);
        out->pushed = !j->pull_only && !j->redeliver;
        out->is_diff = j->is_diff;
        rc = MC_OK;
    }
    mc_cloud_unlock(c);
    return rc;
}

/* The newest open job of a device for a module (c->lock held), or NULL. */
mc_job *mc_job_open_any(mc_cloud *c, const char *dn)
{
    assert(mc_cloud_lock_held(c));
    for (int i = c->njobs - 1; i >= 0; i--)
        if (!strcmp(c->jobs[i]->dn, dn) && is_open(c->jobs[i]))
            return c->jobs[i];
    return NULL;
}

mc_job *mc_job_open_for(mc_cloud *c, const char *dn, const char *module)
{
    assert(mc_cloud_lock_held(c));
    const char *m = is_default(module) ? "default" : module;
    for (int id = newest_job(c, dn); id; id = c->jobs[id - 1]->prev_same_dn) {
        mc_job *j = c->jobs[id - 1];
        if (!strcmp(j->module, m) && is_open(j))
            return j;
    }
    return NULL;
}
