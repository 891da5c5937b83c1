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
