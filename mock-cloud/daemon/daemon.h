/* What the daemon's files share: the message log and the job requests of the control API. */
#ifndef OTAMOCK_DAEMON_H
#define OTAMOCK_DAEMON_H

#include <cjson/cJSON.h>

#include "otamock/mock.h"

/* The default of --job-timeout: a lab's upgrade timeout, 30 minutes (0 turns it off). */
#define MCD_JOB_TIMEOUT_DEFAULT 1800.0

/*
 * One line for one trace record, on stdout. Lines repeating one another are
 * printed three times per burst, then left to the trace's summary records,
 * printed as "looping: R requests/s". Topics outside OTA end in "(not OTA)".
 */
void mcd_log_record(const ota_trace_rec *r);
/* The dialect whose topics are OTA's in the log (before the first record; default Aliyun's). */
void mcd_log_dialect(const ota_dialect *d);

/* Seconds from 0 (none) to 30 days, as --job-timeout and "timeout" take them; -1 when not. */
int mcd_seconds_parse(const char *text, double *out);
/*
 * POST /jobs's "timeout": absent (0: the daemon's --job-timeout), a number
 * of seconds, or 0 for none (-1 in the spec). -1 when it is something else.
 */
int mcd_job_timeout_of(const cJSON *v, double *spec_timeout);
/*
 * POST /jobs/N/cancel (rest "N/cancel") or DELETE /jobs/N (rest "N"):
 * the HTTP status, and in *out the JSON body (the caller sends and frees it).
 */
unsigned mcd_job_cancel(mc_cloud *c, const char *rest, int is_delete, cJSON **out);
/* The reason of a CANCELED or TIMED_OUT job as its verdict; NULL for other states. */
const char *mcd_job_verdict(const mc_job_info *j);
/* Timeout, last step and reason into a job's JSON. */
void mcd_job_json_add(cJSON *o, const mc_job_info *j);

/* The most jobs one POST /jobs batch may create. */
#define MCD_JOBS_BATCH_MAX 10000

/* What POST /jobs needs of the daemon. */
typedef struct {
    const char *scenarios_dir;                /* the fault plans "plan" names */
    size_t default_size;                      /* an image's size without "size" */
    cJSON *(*job_json)(const mc_job_info *j); /* a job as the API shows it */
} mcd_jobs_api;

/*
 * POST /jobs: a JSON object creates one job, an array of them a batch
 * (1 to MCD_JOBS_BATCH_MAX, all checked before any is made). The HTTP
 * status (201 when made), and in *out the body the caller sends and frees:
 * the job, the array of jobs, or {"error"} (a batch adds "index", and
 * "created" when some were made before one failed).
 */
unsigned mcd_jobs_post(mc_cloud *c, const char *body, size_t len, const mcd_jobs_api *api,
                       cJSON **out);

/*
 * POST /devices (api_fleet.c): one device profile or an array of up to 1000,
 * registered at once. The HTTP status, and in *out the JSON body.
 */
unsigned mcd_devices_post(mc_cloud *c, const char *body, size_t len, cJSON **out);
/* GET /status: the daemon's and the broker's pids, the broker's address, counts. */
cJSON *mcd_status_json(mc_cloud *c, const char *host);
/* Lift RLIMIT_NOFILE to its hard limit (the broker started afterwards inherits it). */
void mcd_raise_nofile(void);

#endif
