/* What the daemon's files share: the message log and the job requests of the control API. */
#ifndef OTAMOCK_DAEMON_H
#define OTAMOCK_DAEMON_H

#include <cjson/cJSON.h>
#include <microhttpd.h>

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

/* ---- the firmware store (api_firmware.c) ---- */
/* The default of --firmware-max: 64 MiB. */
#define MCD_FIRMWARE_MAX_DEFAULT (64u * 1024u * 1024u)
#define MCD_FIRMWARE_SOURCES_MAX 16

/* A query argument of the request by name; NULL when absent. */
typedef const char *(*mcd_arg_fn)(void *ctx, const char *name);

/* An upload being streamed to the store's folder (POST /firmware). */
typedef struct mcd_upload mcd_upload;

/*
 * The store in dir (made when missing; entries a former run kept there are
 * loaded), or in a temporary folder removed by mcd_firmware_cleanup when dir
 * is NULL. Uploads over max bytes are refused. 0, or -1 with err.
 */
int mcd_firmware_init(const char *dir, size_t max, char *err, size_t cap);
const char *mcd_firmware_dir(void);
size_t mcd_firmware_max(void);
/* --firmware FILE@VERSION: served from FILE itself (never copied, never removed). 0 or -1. */
int mcd_firmware_preload(const char *spec, char *err, size_t cap);
void mcd_firmware_cleanup(void);
/* NULL when out of memory; a failed temporary file is reported by mcd_firmware_post. */
mcd_upload *mcd_upload_begin(void);
/* The next bytes of the body; past --firmware-max they are counted, not kept. */
void mcd_upload_write(mcd_upload *u, const char *data, size_t n);
/* Closes and removes what was not taken into the store; NULL is fine. */
void mcd_upload_free(mcd_upload *u);
/*
 * POST /firmware?version=V[&module=M&name=N&sources=A,B&sign=md5|sha256&diff=0|1]:
 * the HTTP status (201 when stored) and in *out the entry or {"error"}.
 */
unsigned mcd_firmware_post(mcd_upload *u, mcd_arg_fn arg, void *ctx, cJSON **out);
cJSON *mcd_firmware_list(void);
/* GET /firmware/N (rest "N"). */
unsigned mcd_firmware_get(const char *rest, cJSON **out);
/* DELETE /firmware/N: 409 while an open job uses it. */
unsigned mcd_firmware_delete(mc_cloud *c, const char *rest, cJSON **out);

/* What a job needs of a stored firmware; the strings stay valid until exit. */
typedef struct {
    int id;
    const char *path, *version, *module;
    ota_digest_kind sign;
    const char *sources[MCD_FIRMWARE_SOURCES_MAX];
    int nsources; /* 0: any source version */
} mcd_firmware_ref;

/* 0 and *out, or -1 when there is no such firmware (or it was deleted). */
int mcd_firmware_find(int id, mcd_firmware_ref *out);
/* Remember which firmware a job serves (path: mcd_firmware_ref's), for the job's JSON. */
void mcd_firmware_job_note_path(int job_id, const char *path);
/* The firmware a job serves; 0: a generated image. */
int mcd_firmware_of_job(int job_id);

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
 * One job request checked into *s (its strings point into o and the firmware
 * store), and the job of a checked spec made: 0 / 201, or the HTTP status
 * with err (api_jobs.c).
 */
unsigned mcd_job_check(mc_cloud *c, const cJSON *o, const mcd_jobs_api *api, mc_job_spec *s,
                       char *err, size_t cap);
unsigned mcd_job_make(mc_cloud *c, mc_job_spec *s, int *id, char *err, size_t cap);

/* ---- batches (api_batches.c), as the platform's: only devices the package fits get a job ---- */
/*
 * POST /jobs with "devices" (an array of deviceNames, or "online"): one
 * batch. The HTTP status (201) and in *out {"batch": N, "jobs": [ids],
 * "skipped": [{"device", "reason"}]} or {"error"}.
 */
unsigned mcd_batch_post(mc_cloud *c, const cJSON *req, const mcd_jobs_api *api, cJSON **out);
/*
 * GET /batches (rest "") and GET /batches/N[?offset=K&limit=N] (its job rows
 * from K, at most N; default all); POST /batches/N/cancel.
 */
unsigned mcd_batch_get(mc_cloud *c, const char *rest, const char *offset, const char *limit,
                       const mcd_jobs_api *api, cJSON **out);
unsigned mcd_batch_cancel(mc_cloud *c, const char *rest, cJSON **out);

/* ---- the console (events.c, api_console.c) ---- */
/* The thread that follows the trace for the devices' live state. 0, or -1. */
int mcd_events_start(mc_cloud *c);
/* Ask every event stream to end (before the API stops), then stop the thread and free. */
void mcd_events_quit(void);
void mcd_events_stop(void);
/* 1 when the device is connected, as far as the trace tells. */
int mcd_device_online(const char *dn);
/* The desc of the device's last progress report at trace index since or later: 1, else 0. */
int mcd_device_desc(const char *dn, size_t since, char *out, size_t cap);
/* "online", "lastAt" and "lastMessage" into a device's JSON. */
void mcd_device_state_add(cJSON *o, const char *dn);
/*
 * GET /events: the trace records as Server-Sent Events from Last-Event-ID
 * (ids are index + 1), else ?from=K, or from=end (only what comes next);
 * brief (?brief=1): only each record's time, kind and device. NULL when out
 * of memory.
 */
struct MHD_Response *mcd_events_response(mc_cloud *c, const char *from, const char *last_id,
                                         int brief);

/*
 * The API token: given (--api-token), else generated when listen is not a
 * loopback address, else none. 0, or -1 with err.
 */
int mcd_console_token_init(const char *listen, const char *given, char *err, size_t cap);
/* The token, or NULL when none is needed. */
const char *mcd_console_token(void);
/* 1 when the request may go on: no token needed, the page itself, or the right token. */
int mcd_console_authorized(struct MHD_Connection *con, const char *method, const char *url);
/* The page at /, with a Content-Security-Policy that allows nothing from elsewhere. */
struct MHD_Response *mcd_console_page_response(void);
/* GET /devices?limit=N: {"total", "online", "offset", "devices": [...]} (live state added). */
cJSON *mcd_devices_page(mc_cloud *c, const char *offset, const char *limit, const char *q,
                        const char *online, cJSON *(*device_json)(const mc_device_info *d));
/*
 * GET /timeline?job=N: the rows of the job's device from its creation, the
 * failing report marked; ?device=DN: the device's newest rows.
 */
unsigned mcd_timeline(mc_cloud *c, const char *job, const char *device, cJSON **out);

/*
 * POST /devices (api_fleet.c): one device profile or an array of up to 1000,
 * registered at once. The HTTP status, and in *out the JSON body.
 */
unsigned mcd_devices_post(mc_cloud *c, const char *body, size_t len, cJSON **out);
/* GET /status: the daemon's and the broker's pids, the broker's address, counts. */
cJSON *mcd_status_json(mc_cloud *c, const char *host);
/* Lift RLIMIT_NOFILE to its hard limit (the broker started afterwards inherits it). */
void mcd_raise_nofile(void);

/* ---- the control API's requests (main.c) and the console's routes (routes_console.c) ---- */
typedef struct {
    char *body;
    size_t len;
    int too_big;
    mcd_upload *up; /* POST /firmware: the body goes to the store's folder, not here */
    int refused;    /* 401 queued at the first call */
} mcd_request;

/* One request as a route's handler sees it: rest is what follows a route's "*". */
typedef struct {
    const char *method, *url, *rest;
    const mcd_request *req;
} mcd_call;

/* Send o (taken) as JSON with the status; an {"error"} of one sentence. */
enum MHD_Result mcd_reply_json(struct MHD_Connection *con, unsigned status, cJSON *o);
enum MHD_Result mcd_reply_error(struct MHD_Connection *con, unsigned status, const char *msg);

/* The cloud and the job requests the routes below act on. */
void mcd_routes_init(mc_cloud *c, const mcd_jobs_api *api);
enum MHD_Result mcd_route_page(struct MHD_Connection *con, const mcd_call *call);
enum MHD_Result mcd_route_events(struct MHD_Connection *con, const mcd_call *call);
enum MHD_Result mcd_route_timeline(struct MHD_Connection *con, const mcd_call *call);
enum MHD_Result mcd_route_batches(struct MHD_Connection *con, const mcd_call *call);
enum MHD_Result mcd_route_batch_cancel(struct MHD_Connection *con, const mcd_call *call);
enum MHD_Result mcd_route_firmware_post(struct MHD_Connection *con, const mcd_call *call);
enum MHD_Result mcd_route_firmware_get(struct MHD_Connection *con, const mcd_call *call);
enum MHD_Result mcd_route_firmware_delete(struct MHD_Connection *con, const mcd_call *call);
/* 401 for a request without the token, and a trace record with the count so far. */
enum MHD_Result mcd_route_unauthorized(struct MHD_Connection *con, const char *method,
                                       const char *url);

#endif
