/*
 * libotamock: the mock Aliyun IoT cloud. It starts (or joins) a Mosquitto
 * broker, tracks devices and their reported versions, creates OTA jobs and
 * pushes them, serves firmware over HTTP, judges each job as the real cloud
 * does, and records every event in the trace. It knows nothing about tests
 * or devices under test; the conformance runner drives it.
 *
 * Returns: MC_OK (0) or an mc_err; a function that answers a question
 * (mc_device_claimed, mc_cloud_plugin) returns 1 or 0, counts are counts.
 */
#ifndef OTAMOCK_MOCK_H
#define OTAMOCK_MOCK_H

#include <stdarg.h>
#include <stddef.h>

#include "otaproto/otaproto.h"

typedef enum {
    MC_OK = 0,
    MC_ERR_ARG,
    MC_ERR_NOMEM,
    MC_ERR_IO,       /* reading fixtures or writing the trace failed */
    MC_ERR_FIXTURE,  /* a device profile is malformed */
    MC_ERR_BROKER,   /* the broker would not start or not accept us */
    MC_ERR_MQTT,     /* libmosquitto refused an operation */
    MC_ERR_HTTP,     /* the file server would not start */
    MC_ERR_NOTFOUND, /* no such device or job */
    MC_ERR_STATE,    /* the job is already finished */
    MC_ERR__COUNT
} mc_err;

const char *mc_strerror(int rc);

typedef struct mc_cloud mc_cloud;

/*
 * What joining a running ota-mock-cloud hands back (mc_cloud_join): its
 * broker, the cloud credential a second cloud client logs in with, a client
 * id of its own, and how its file server is reached. Plain data, no
 * pointers; mc_config.join points at one.
 */
typedef struct {
    char api[192];                  /* HOST:PORT of the control API it joined by */
    char dn[OTA_MAX_NAME + 1];      /* the claimed device */
    char mqtt_host[128];            /* the broker, as this machine reaches it */
    int mqtt_port, mqtts_port;      /* mqtts_port 0: no TLS listener */
    char cloud_user[64];            /* "ota-mock-cloud" */
    char cloud_password[128];       /* the daemon's per-run cloud credential */
    char client_id[128];            /* unique to this join */
    char listen[64];                /* the daemon's listen address */
    char url_host[128];             /* host its download URLs name */
    int url_no_port, tls, auth_off; /* as the daemon was started */
} mc_join_info;

typedef struct {
    const char *broker_host;   /* NULL: start our own Mosquitto on loopback */
    int broker_port;           /* with broker_host */
    const char *devices_dir;   /* folder of device profiles (*.json) */
    const char *trace_path;    /* JSONL trace file; NULL: in memory only */
    const char *mosquitto_bin; /* NULL: "mosquitto" from PATH, then /usr/sbin */
    const char *plugin_path;   /* otaauth.so for the embedded broker; NULL: none */
    int auth_off;              /* with the plugin: accept unsigned device logins */
    /*
     * TLS: a folder with ca.pem, server.pem/.key and foreign.pem/.key (the
     * build makes them). The broker gets a TLS listener, the file server an
     * HTTPS port, and a second HTTPS port presents the foreign certificate
     * (fault http-foreign-cert). NULL: plain TCP and HTTP only.
     */
    const char *tls_dir;
    int https_urls;          /* with tls_dir: download URLs are https */
    const char *listen_addr; /* NULL: 127.0.0.1; "0.0.0.0" for the lab network */
    int mqtt_port, mqtts_port, http_port, https_port; /* 0: a free port chosen at start */
    const char *url_host; /* host in download URLs; NULL: the listen address, or
                             127.0.0.1 when listening on every address */
    int url_no_port;      /* download URLs without a port (the SDK adds its own) */
    /*
     * Join a running ota-mock-cloud (from mc_cloud_join; NULL: not). The cloud
     * logs in to that broker with the cloud credential as a second cloud
     * client, gets the plugin's events and sends downlinks through it as with
     * the embedded broker (mc_cloud_plugin() is 1; kick, drop and delay work),
     * and serves only the devices the caller adds with mc_device_add:
     * devices_dir is not read and other devices' messages are ignored. Its own
     * file server still runs here. broker_host and the broker options are
     * ignored; mc_cloud_stop releases the claim (DELETE /join/DN).
     */
    const mc_join_info *join;
    double job_timeout_s; /* an open job times out after this many seconds; 0: never (the
                             library's default, so a test decides its own waits) */
    /*
     * The dialect (otaproto/dialect.h) by name; NULL: Aliyun. A dialect whose
     * uplinks name no device needs the plugin. push_on: "both" (NULL),
     * "inform" or "infrom", for a dialect with two spellings of the push
     * topic; push_values: "code" (NULL, as a stock server sends them) or "doc".
     */
    const char *dialect;
    const char *push_on;
    const char *push_values;
    /*
     * Records kept in memory at least (0: every one, the library's default).
     * A long-running cloud sets it: older records are let go once they are
     * in the trace file (at once without one), mc_trace_at gives NULL for
     * them, and another thread reads records with mc_trace_copy.
     */
    size_t trace_keep;
} mc_config;

/*
 * Start everything: broker (unless joining one), file server, MQTT client
 * subscribed to the uplink topics. On failure nothing is left running and
 * err (may be NULL) says why in a sentence.
 */
int mc_cloud_start(const mc_config *cfg, mc_cloud **out, char *err, size_t errcap);
/* Stop and free everything it started, the broker included. NULL is fine. */
void mc_cloud_stop(mc_cloud *c);

const char *mc_cloud_broker_host(const mc_cloud *c);
int mc_cloud_broker_port(const mc_cloud *c);
/* 1 when the cloud started the broker itself. */
int mc_cloud_broker_embedded(const mc_cloud *c);
int mc_cloud_http_port(const mc_cloud *c);
/* The broker's TLS listener and the HTTPS ports; 0 without tls_dir. */
int mc_cloud_mqtts_port(const mc_cloud *c);
int mc_cloud_https_port(const mc_cloud *c);
int mc_cloud_foreign_https_port(const mc_cloud *c);
/* 1 when the broker runs the otaauth plugin (logins and topics are checked). */
int mc_cloud_plugin(const mc_cloud *c);
/* The embedded broker's process id; 0 on another broker (or while it restarts). */
int mc_cloud_broker_pid(const mc_cloud *c);

/*
 * Restart the embedded broker with persistence on: persistent sessions
 * (clean_session 0) and the QoS 1 messages queued for them survive. It stays
 * down `down_s` seconds and comes back on the same ports; returns when it
 * accepts connections again (the cloud's own client reconnects by itself).
 * MC_ERR_ARG on an external broker.
 */
int mc_broker_restart(mc_cloud *c, double down_s);
/*
 * Restart the broker so that its TLS listener presents the foreign CA's
 * certificate (1) or its own again (0): SEC-3 on the MQTT connection.
 * MC_ERR_ARG without tls_dir or on an external broker.
 */
int mc_broker_present_foreign(mc_cloud *c, int foreign);

/* Session faults through the plugin (MC_ERR_ARG without it). */
int mc_device_kick(mc_cloud *c, const char *dn);
/*
 * Forget every session fault still pending for the device (drops, delays,
 * downlinks held back): nothing of a finished test reaches it later.
 * MC_ERR_ARG without the plugin.
 */
int mc_device_clear(mc_cloud *c, const char *dn);
/* Drop the next downlink message to the device. */
int mc_device_drop_next(mc_cloud *c, const char *dn);
/* Hold the next downlink message to the device for `seconds` (0.1 s resolution). */
int mc_device_delay_next(mc_cloud *c, const char *dn, double seconds);

/* ---- device registry ---- */
typedef struct {
    char pk[OTA_MAX_NAME + 1];
    char dn[OTA_MAX_NAME + 1];
    char secret[OTA_MAX_SECRET + 1];
    char module[OTA_MAX_MODULE + 1];            /* "default" for the default module */
    char firmware_version[OTA_MAX_VERSION + 1]; /* version of a fresh device */
    char reported_version[OTA_MAX_VERSION + 1]; /* last inform; "" before any */
    int informs;
} mc_device_info;

int mc_device_count(mc_cloud *c);
int mc_device_at(mc_cloud *c, int i, mc_device_info *out);
int mc_device_get(mc_cloud *c, const char *dn, mc_device_info *out);
/* One profile from JSON text; MC_ERR_FIXTURE (err says why) when it is not a usable one. */
int mc_device_parse(const char *json, size_t len, mc_device_info *out, char *err, size_t errcap);
/* Read one profile file without a running cloud (for the runner's --device). */
int mc_device_load(const char *path, mc_device_info *out, char *err, size_t errcap);
/* Add a device profile to a running cloud (replacing one of the same name). */
int mc_device_add(mc_cloud *c, const mc_device_info *d);
/*
 * Add n profiles at once (each replacing one of the same name): the broker
 * plugin's devices file is rewritten once, not n times, so a fleet of
 * thousands registers in one go. MC_ERR_ARG for a NULL list with n > 0.
 */
int mc_devices_add(mc_cloud *c, const mc_device_info *list, int n);

/* ---- joining a running ota-mock-cloud ---- */
/*
 * POST /join to the control API of a running ota-mock-cloud at api
 * ("HOST:PORT"): it registers dev (replacing a device of that name), stops
 * serving it itself (the device is claimed) and answers with what *out
 * holds. MC_ERR_BROKER when the API is not there, MC_ERR_ARG when it refused
 * (err has its reason), MC_ERR_HTTP when the answer is not one; err says why
 * in a sentence. Call mc_cloud_release (or let mc_cloud_stop do it) when done.
 */
int mc_cloud_join(const char *api, const mc_device_info *dev, mc_join_info *out, char *err,
                  size_t errcap);
/* DELETE /join/DN: the daemon serves the device again. A device no longer claimed is MC_OK. */
int mc_cloud_release(const char *api, const char *dn, char *err, size_t errcap);

/* ---- claims: the serving side of a join (ota-mock-cloud) ---- */
/*
 * Claim a device for the client `holder` (a client id): from now on this
 * cloud only logs the device's uplinks, marked as claimed, and acts on none;
 * its open jobs are canceled. MC_ERR_NOTFOUND for an unknown device,
 * MC_ERR_ARG when another holder has it.
 */
int mc_device_claim(mc_cloud *c, const char *dn, const char *holder);
/* Serve the device again. MC_ERR_NOTFOUND when it was not claimed. */
int mc_device_release(mc_cloud *c, const char *dn);
/* 1 when claimed; the holder's client id into holder (may be NULL). */
int mc_device_claimed(mc_cloud *c, const char *dn, char *holder, size_t cap);
/*
 * The cloud credential of the embedded broker's plugin (the password of the
 * user "ota-mock-cloud"); NULL without the plugin or on another broker. It
 * lets anyone holding it act as the cloud: hand it out with care.
 */
const char *mc_cloud_credential(const mc_cloud *c);

/* ---- trace ---- */
/* Seconds since the cloud started, on the monotonic clock. */
double mc_now(const mc_cloud *c);
size_t mc_trace_count(mc_cloud *c);
/*
 * A record; the pointer stays valid until mc_cloud_stop. With
 * mc_config.trace_keep set, NULL for a record no longer kept, and the
 * pointer stays valid only until the record is let go: read with
 * mc_trace_copy from a thread other than the one adding records.
 */
const ota_trace_rec *mc_trace_at(mc_cloud *c, size_t i);
/*
 * A copy of record i into *out (ota_trace_rec_copy; clear it with
 * ota_trace_rec_clear): MC_ERR_NOTFOUND when it is no longer kept (or not
 * yet there), MC_ERR_NOMEM.
 */
int mc_trace_copy(mc_cloud *c, size_t i, ota_trace_rec *out);
/* The oldest record still kept (0 unless mc_config.trace_keep let some go). */
size_t mc_trace_first(mc_cloud *c);
/*
 * Repetition is collapsed per device: an HTTP request, an MQTT message in or
 * out, an error or a fault identical to a recent one of the same device
 * (kind, topic, info and payload; not the time) is kept MC_TRACE_KEEP_REPEATS
 * times in a burst, then only counted. While such a burst goes on, once a
 * second, and when it ends, one summary record stands for what was counted:
 * kind OTA_TR_CLOUD, event OTA_EV_REPEATED with the counted records' event
 * (`of`) and N (`count`), info "repeated N times in S s (R/s): <what>", payload
 * {"repeat":N,"seconds":S,"rate":R,"of":"<what>","records":M} (M: every
 * record left out, the replies included). A burst of one record ends when it
 * pauses for MC_TRACE_REPEAT_GAP seconds. So a device looping forever costs
 * a bounded number of records, in memory and in the file.
 */
#define MC_TRACE_KEEP_REPEATS 50
#define MC_TRACE_REPEAT_GAP   1.0
/* Block until more than `seen` records exist or mc_now() reaches deadline; returns the count. */
size_t mc_trace_wait(mc_cloud *c, size_t seen, double deadline);
/* Append a record (runner-side events: device log lines, restarts, tests). */
void mc_trace_add(mc_cloud *c, ota_trace_kind kind, const char *dev, const char *topic,
                  const void *payload, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/*
 * The event a record stands for, and its fields (see ota_trace_rec): what
 * code decides on, while the text stays for people. offset is -1 when the
 * event has none; MC_EV(e) is an event without fields.
 */
typedef struct {
    ota_trace_event event;
    const char *client; /* broker events: the clientId; NULL: none */
    const char *fault;  /* OTA_EV_FAULT, OTA_EV_BLOCK_FAULT: the fault kind's name */
    long long offset, last;
    int status;
} mc_trace_ev;
#define MC_EV(e) (&(mc_trace_ev){.event = (e), .offset = -1, .last = -1})
/* mc_trace_add with an event (ev NULL: none). */
void mc_trace_event(mc_cloud *c, ota_trace_kind kind, const mc_trace_ev *ev, const char *dev,
                    const char *topic, const void *payload, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* Bad input refused so far (malformed JSON, unknown devices, bad requests). */
int mc_trace_errors(mc_cloud *c);

/* ---- fault plans, applied at the transport seams ---- */
/*
 * Each kind acts at one seam. HTTP kinds count download requests, block
 * kinds count block requests, push kinds change the push as published,
 * the session kind acts on the device's connection during a download.
 * `at` is a byte offset (or a block's file offset), `value` the kind's
 * number (status, bytes/s, milliseconds, reply code).
 */
typedef enum {
    MC_FAULT_NONE = 0,
    MC_FAULT_HTTP_STATUS,       /* answer with status `value` */
    MC_FAULT_HTTP_TRUNCATE,     /* a complete response of only `at` bytes (a short file) */
    MC_FAULT_HTTP_CLOSE,        /* close the connection when the body reaches file offset `at`
                                   (a response starting past it: at once) */
    MC_FAULT_HTTP_RESET,        /* reset (RST) the connection at file offset `at`, likewise */
    MC_FAULT_HTTP_CORRUPT,      /* the byte at file offset `at` xor 0xFF */
    MC_FAULT_HTTP_THROTTLE,     /* `value` bytes per second */
    MC_FAULT_HTTP_PAUSE,        /* pause `value` ms when the body reaches `at` */
    MC_FAULT_HTTP_STALL,        /* bytes up to file offset `at`, then nothing while it lasts */
    MC_FAULT_HTTP_NO_LENGTH,    /* no Content-Length: an HTTP/1.0 body ended by close */
    MC_FAULT_HTTP_CHUNKED,      /* chunked transfer encoding */
    MC_FAULT_HTTP_IGNORE_RANGE, /* 200 and the whole file whatever Range asks */
    MC_FAULT_HTTP_EXPIRE,     /* the URL has expired: 403 "Request has expired" (skip: uses left) */
    MC_FAULT_BLOCK_BAD_CRC,   /* CRC wrong, data intact */
    MC_FAULT_BLOCK_CORRUPT,   /* data corrupted, CRC computed over the corrupted data */
    MC_FAULT_BLOCK_CRC_BE,    /* CRC written big-endian */
    MC_FAULT_BLOCK_BSIZE,     /* header bSize one more than the data */
    MC_FAULT_BLOCK_OFFSET,    /* header bOffset names the previous block */
    MC_FAULT_BLOCK_DUPLICATE, /* the reply sent twice */
    MC_FAULT_BLOCK_DROP,      /* no reply */
    MC_FAULT_BLOCK_DELAY,     /* the reply held `value` ms */
    MC_FAULT_BLOCK_ERROR,     /* header code `value`, no data */
    MC_FAULT_BLOCK_TRUNCATE,  /* the frame cut before its CRC */
    MC_FAULT_PUSH_WRONG_DIGEST, /* a well-formed digest of other bytes */
    MC_FAULT_PUSH_WRONG_SIZE,   /* size one less than the image */
    MC_FAULT_PUSH_MISSING,      /* no version and no size */
    MC_FAULT_PUSH_WRONG_TYPES,  /* size as a string, version as a number */
    MC_FAULT_PUSH_MALFORMED,    /* the JSON cut in half */
    MC_FAULT_PUSH_FILES,        /* url/size/sign inside files[] with `value` elements */
    MC_FAULT_SESSION_KICK,      /* disconnect the device once `at` bytes were served (blocks:
                                   at the request for `at` or later, after `skip` of them) */
    MC_FAULT_HTTP_FOREIGN_CERT, /* the URL names the HTTPS port whose certificate another CA
                                   signed (needs tls_dir) */
    MC_FAULT_SESSION_RESTART,   /* restart the broker (persistence on) once `at` bytes were
                                   served (blocks: as SESSION_KICK); embedded broker only */
    MC_FAULT__COUNT
} mc_fault_kind;

const char *mc_fault_kind_name(mc_fault_kind k);
/* MC_ERR_NOTFOUND for a name no kind has. */
int mc_fault_kind_parse(const char *name, mc_fault_kind *out);

typedef struct {
    mc_fault_kind kind;
    long long at;    /* byte offset, see the kinds */
    long long value; /* status, bytes/s, ms or reply code, see the kinds */
    int skip;        /* let this many matching events pass first */
    int count;       /* fire this many times; -1 persistent */
} mc_fault;

/* 1 when a job with this fault needs the cloud's TLS folder (mc_config.tls_dir). */
int mc_fault_needs_tls(const mc_fault *f);

/*
 * A sequence of faults: the first is the job's `fault`; when it has fired
 * `count` times the next of `then` takes over (its `skip` and `count`
 * counted afresh), so with count 1 each one acts on one download request
 * (HTTP GET or block request), in order, and the requests after the last
 * are served plainly. Only the last may be persistent (count -1).
 */
#define MC_FAULT_SEQ_MAX 8

/*
 * A fault plan as data: {"name":..,"about":..,"transport":"http"|"mqtt",
 * "fault":{"kind":..,"at":..,"value":..,"skip":..,"count":..}}, or instead
 * of "fault" a sequence "faults":[{..},{..}] (MC_FAULT_SEQ_MAX). The file
 * fixtures/scenarios/<name>.json. err says what is wrong in a sentence.
 */
typedef struct {
    char name[64];
    char about[200];
    int mqtt; /* the job is pushed for MQTT block download */
    mc_fault fault;
    mc_fault then[MC_FAULT_SEQ_MAX - 1]; /* "faults": [fault, then...]; see MC_FAULT_SEQ_MAX */
    int nthen;
} mc_scenario;

int mc_scenario_parse(const char *json, size_t len, mc_scenario *out, char *err, size_t errcap);
int mc_scenario_load(const char *dir, const char *name, mc_scenario *out, char *err, size_t errcap);

/* ---- OTA jobs ---- */
typedef enum {
    MC_JOB_PENDING = 0, /* pushed, no progress yet */
    MC_JOB_UPGRADING,   /* first progress seen */
    MC_JOB_SUCCEEDED,   /* inform reported the target version */
    MC_JOB_FAILED,      /* a negative step */
    MC_JOB_CANCELED,    /* superseded by a newer job, or canceled by mc_job_cancel */
    MC_JOB_TIMED_OUT,   /* still open when its timeout ran out */
    MC_JOB__COUNT
} mc_job_state;

const char *mc_job_state_name(mc_job_state s);

typedef struct {
    const char *dn;
    const char *version;
    const char *module; /* NULL or "default": the default module */
    size_t image_size;
    ota_digest_kind digest;
    ota_envelope envelope;
    int omit_transport;           /* neither url nor dProtocol: an unusable push */
    int wrong_digest;             /* a well-formed but wrong digest in sign and md5 */
    const char *sign_method_text; /* another spelling of signMethod ("MD5", "Sha256"); NULL: live */
    int upper_hex;                /* digests in upper-case hex (the documentation allows it) */
    mc_fault fault;               /* applied at this job's seams */
    int mqtt;                     /* push for MQTT block download (dProtocol mqtt, no url) */
    int no_publish;               /* leave it pending for firmware/get (never pushed, not even
                                     on reconnect) */
    double timeout_s;             /* 0: the cloud's job_timeout_s; > 0: seconds from creation;
                                     < 0: never */
    int documented;               /* a dialect with two value types (ThingsPanel): this push
                                     has the documented ones (numeric code and size, the
                                     digest in sign) whatever the cloud's push_values */
    const char *image_path;       /* a firmware file served from disk instead of a generated
                                     image (image_size is then ignored): opened once per file
                                     and read on demand, never copied per job; every fault
                                     plan applies to it. NULL: generated. The caller keeps
                                     the file unchanged while jobs use it (a changed file is
                                     a new image for later jobs) */
    int is_diff;                  /* the push says isDiff 1: the image is a differential package */
    mc_fault then[MC_FAULT_SEQ_MAX - 1]; /* a sequence: the faults after `fault`, in order
                                            (MC_FAULT_SEQ_MAX); nthen of them */
    int nthen;
} mc_job_spec;

typedef struct {
    int id;
    mc_job_state state;
    int fail_code; /* the negative step, when FAILED */
    char dn[OTA_MAX_NAME + 1];
    char version[OTA_MAX_VERSION + 1];
    char url[OTA_MAX_URL + 1];
    size_t size;
    char digest_hex[65]; /* of the real image */
    char sha256_hex[65]; /* SHA-256 of the real image, whatever the push's digest */
    size_t trace_at;     /* trace index of the push */
    int mqtt;            /* pushed for MQTT block download */
    long long stream_id; /* its streamId (streamFileId is 1) */
    int blocks;          /* valid block requests answered so far */
    double timeout_s;    /* seconds from creation to TIMED_OUT; 0: never */
    int has_step;        /* a progress step 0..100 came */
    int last_step;       /* the last one, with has_step */
    char reason[160];    /* why it is CANCELED or TIMED_OUT, in a sentence; "" otherwise */
    int pushed;          /* the push went out to a connected device (not pull-only, not
                            waiting for the device to come back) */
    int is_diff;         /* pushed with isDiff 1: sha256_hex is the package's, not the image
                            the device rebuilds from it */
} mc_job_info;

/* Create the job, supersede the device's older open job, and publish the push. */
int mc_job_create(mc_cloud *c, const mc_job_spec *spec, int *job_id);
int mc_job_get(mc_cloud *c, int job_id, mc_job_info *out);
/*
 * The job's state as the platform of the cloud's dialect names its task
 * states (ThingsPanel: pending, pushed, upgrading, succeeded, failed,
 * cancelled); NULL for a dialect without its own (Aliyun: mc_job_state_name).
 */
const char *mc_job_platform_state(const mc_cloud *c, const mc_job_info *j);
/* The dialect the cloud speaks; never NULL. */
const ota_dialect *mc_cloud_dialect(const mc_cloud *c);
/*
 * Cancel one open job (state CANCELED, `reason` kept as its reason; NULL:
 * "canceled by the API"). MC_ERR_NOTFOUND for no such job, MC_ERR_STATE when
 * it is already finished.
 */
int mc_job_cancel(mc_cloud *c, int job_id, const char *reason);
/* Cancel every open job of a device (between tests: no job outlives its test). */
void mc_jobs_cancel(mc_cloud *c, const char *dn);
/*
 * Stop serving a firmware file of mc_job_spec.image_path (before deleting
 * it): its descriptor is closed once no response reads it, and the URLs and
 * blocks of the finished jobs that used it answer "not found". MC_ERR_STATE
 * when an open job uses it (*job_id, may be NULL, names one), MC_OK when the
 * cloud never opened it.
 */
int mc_image_forget(mc_cloud *c, const char *path, int *job_id);

#endif
