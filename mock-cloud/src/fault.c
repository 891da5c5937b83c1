/*
 * Fault plans: each fault fires after `skip` matching events, `count` times
 * (or forever with -1). Decided here, applied by the transport seams. Plans
 * are data (fixtures/scenarios, one JSON file each), read by mc_scenario_parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mock_priv.h"

#define MC_SCENARIO_MAX 8192

static const char *const names[MC_FAULT__COUNT] = {
    "none",
    "http-status",
    "http-truncate",
    "http-close",
    "http-reset",
    "http-corrupt",
    "http-throttle",
    "http-pause",
    "http-stall",
    "http-no-length",
    "http-chunked",
    "http-ignore-range",
    "http-expire",
    "block-bad-crc",
    "block-corrupt",
    "block-crc-be",
    "block-bsize",
    "block-offset",
    "block-duplicate",
    "block-drop",
    "block-delay",
    "block-error",
    "block-truncate",
    "push-wrong-digest",
    "push-wrong-size",
    "push-missing",
    "push-wrong-types",
    "push-malformed",
    "push-files",
    "session-kick",
    "http-foreign-cert",
    "session-broker-restart",
};

const char *mc_fault_kind_name(mc_fault_kind k)
{
    return (unsigned)k < MC_FAULT__COUNT ? names[k] : "unknown";
}

int mc_fault_kind_parse(const char *name, mc_fault_kind *out)
{
    for (int k = 0; k < MC_FAULT__COUNT; k++)
        if (name && !strcmp(name, names[k])) {
            *out = (mc_fault_kind)k;
            return MC_OK;
        }
    return MC_ERR_NOTFOUND;
}

int mc_fault_fires(mc_fault *f, int *seen)
{
    int n = (*seen)++;

    if (f->kind == MC_FAULT_NONE || n < f->skip)
        return 0;
    return f->count < 0 || n - f->skip < f->count;
}

/* An optional whole number in [lo, hi]; 0 when absent or fine. */
static int num(const cJSON *o, const char *key, long long lo, long long hi, long long *out,
               char *err, size_t errcap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        snprintf(err, errcap, "\"%s\" must be a whole number from %lld to %lld", key, lo, hi);
        return -1;
    }
    *out = (long long)v->valuedouble;
    return 0;
}

static int parse_fault(const cJSON *f, mc_fault *out, char *err, size_t errcap)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(f, "kind");
    long long skip = 0, count = 1;

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(f) || !cJSON_IsString(kind)) {
        snprintf(err, errcap, "\"fault\" must be an object with a \"kind\" string");
        return MC_ERR_FIXTURE;
    }
    if (mc_fault_kind_parse(kind->valuestring, &out->kind) != MC_OK) {
        snprintf(err, errcap, "unknown fault kind \"%.40s\"", kind->valuestring);
        return MC_ERR_FIXTURE;
    }
    if (num(f, "at", 0, 1LL << 40, &out->at, err, errcap) ||
        num(f, "value", -1000000, 1LL << 40, &out->value, err, errcap) ||
        num(f, "skip", 0, 1000000, &skip, err, errcap) ||
        num(f, "count", -1, 1000000, &count, err, errcap))
        return MC_ERR_FIXTURE;
    if (count == 0) {
        snprintf(err, errcap, "\"count\" 0 would never fire: use -1 for a persistent fault");
        return MC_ERR_FIXTURE;
    }
    out->skip = (int)skip;
    out->count = (int)count;
    return MC_OK;
}

int mc_scenario_parse(const char *json, size_t len, mc_scenario *out, char *err, size_t errcap)
{
    cJSON *o;
    const cJSON *name, *about, *tr;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > MC_SCENARIO_MAX) {
        snprintf(err, errcap, "scenario of %zu bytes is over the %d-byte cap", len,
                 MC_SCENARIO_MAX);
        return MC_ERR_FIXTURE;
    }
    o = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(o)) {
        snprintf(err, errcap, "scenario is not a JSON object");
        cJSON_Delete(o);
        return MC_ERR_FIXTURE;
    }
    name = cJSON_GetObjectItemCaseSensitive(o, "name");
    about = cJSON_GetObjectItemCaseSensitive(o, "about");
    tr = cJSON_GetObjectItemCaseSensitive(o, "transport");
    rc = MC_ERR_FIXTURE;
    if (!cJSON_IsString(name) || !*name->valuestring ||
        strlen(name->valuestring) >= sizeof(out->name))
        snprintf(err, errcap, "\"name\" must be a string of 1 to %zu characters",
                 sizeof(out->name) - 1);
    else if (tr && !(cJSON_IsString(tr) &&
                     (!strcmp(tr->valuestring, "http") || !strcmp(tr->valuestring, "mqtt"))))
        snprintf(err, errcap, "\"transport\" must be \"http\" or \"mqtt\"");
    else
        rc = parse_fault(cJSON_GetObjectItemCaseSensitive(o, "fault"), &out->fault, err, errcap);
    if (rc == MC_OK) {
        snprintf(out->name, sizeof(out->name), "%s", name->valuestring);
        if (cJSON_IsString(about))
            snprintf(out->about, sizeof(out->about), "%s", about->valuestring);
        out->mqtt = tr && !strcmp(tr->valuestring, "mqtt");
    }
    cJSON_Delete(o);
    return rc;
}

int mc_scenario_load(const char *dir, const char *name, mc_scenario *out, char *err, size_t errcap)
{
    char path[1024], *buf;
    FILE *f;
    size_t n;
    int rc;

    if (!dir || !name || strchr(name, '/') || !*name)
        return MC_ERR_ARG;
    snprintf(path, sizeof(path), "%s/%s.json", dir, name);
    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "no scenario %s", path);
        return MC_ERR_NOTFOUND;
    }
    buf = malloc(MC_SCENARIO_MAX + 1);
    n = buf ? fread(buf, 1, MC_SCENARIO_MAX + 1, f) : 0;
    fclose(f);
    if (!buf)
        return MC_ERR_NOMEM;
    rc = mc_scenario_parse(buf, n, out, err, errcap);
    free(buf);
    if (rc == MC_OK && strcmp(out->name, name)) {
        snprintf(err, errcap, "%s names itself \"%s\"", path, out->name);
        rc = MC_ERR_FIXTURE;
    }
    return rc;
}
