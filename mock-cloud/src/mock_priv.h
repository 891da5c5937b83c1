/* Internals shared by the mock cloud's modules; not installed. */
#ifndef OTAMOCK_PRIV_H
#define OTAMOCK_PRIV_H

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

#include "otamock/mock.h"
#include "otaproto/clock.h"
#include "otaproto/limits.h"

#include "lock.h"

/* Lock lists for EXCLUDES (the order: struct mc_cloud below). */
#define MC_LEAVES(c)    (c)->klock, (c)->clock, (c)->hlock, (c)->rlock
#define MC_NONE_HELD(c) (c)->lock, (c)->tlock, (c)->wlock, MC_LEAVES(c)

struct mosquitto;
struct MHD_Daemon;

typedef struct {
    /* Asked for by the caller (own copies: a restart writes the config again much later). */
    int port, tls_port; /* 0 for a free one; after start, the ports listening */
    char addr[64];      /* listen address; "": 127.0.0.1 */
    char tls_dir[256];  /* ca.pem, server.pem/.key, foreign.pem/.key: a TLS listener; "": none */
    char plugin[4096];  /* otaauth.so; "": a plain broker */
    int auth_off;
    char dialect[32]; /* the plugin's dialect */
    /* Set by the start. */
    pid_t pid;
    char dir[256]; /* temporary folder holding config, log and the plugin's devices file */
    char cloud_password[40];
    char bin[256]; /* the mosquitto it runs */
    int foreign;   /* the TLS listener presents the foreign CA's certificate */
} mc_broker;

/*
 * Start mosquitto on a free loopback port; waits until it accepts
 * connections. With b->plugin set, the broker loads otaauth with a fresh
 * cloud credential (b->cloud_password) and the devices file in b->dir.
 */
int mc_broker_start(const char *bin, mc_broker *b, char *err, size_t errcap);
/* The plugin's devices file, rewritten whole (atomically) from the registry. */
int mc_broker_write_devices(const mc_broker *b, const mc_device_info *d, int n);
void mc_broker_stop(mc_broker *b);
/* Stop the process (persistence saved), stay down down_s, start it again on the same ports. */
int mc_broker_restart_process(mc_broker *b, double down_s, char *err, size_t errcap);

/*
 * A deterministic image (image.c): byte i = (i*31 + 7 + seed) mod 251. It is
 * its size and seed only; its bytes are written on demand, so no job holds
 * its image in memory.
 */
/*
 * A firmware file served from disk (file.c, mc_job_spec.image_path): opened
 * once per file (a path whose size, inode or time changed is a new file),
 * its digests computed once, its bytes read with pread on demand, never
 * copied per job. Entries live until the cloud stops; mc_image_forget closes
 * one once no response is reading it.
 */
typedef struct mc_file {
    struct mc_file *next;
    char *path;
    int fd; /* -1 once forgotten and no reader is left */
    size_t size;
    dev_t dev;
    ino_t ino;
    long long mtime_ns;
    int readers; /* responses reading it now (c->lock) */
    int gone;    /* forgotten: no new job or response may use it */
    char md5_hex[33], sha256_hex[65];
} mc_file;

typedef struct {
    size_t size; /* at most MC_BLOCK_FILE_MAX (and below 4 GiB: mc_image_key packs it) */
    unsigned seed;
    mc_file *file; /* NULL: the generated image of seed; else the file's bytes */
} mc_image;

int mc_image_make(size_t size, unsigned seed, mc_image *out);
/* Bytes [off, off + n) of the image into buf; the caller keeps off + n within its size. */
void mc_image_read(const mc_image *img, size_t off, void *buf, size_t n);
/* The image's digest as lower-case hex; MC_ERR_NOMEM when the digest could not be made. */
int mc_image_digest(const mc_image *img, ota_digest_kind kind, char *hex, size_t cap);
/*
 * The file at path as an entry of the cloud's table (found or opened, its
 * digests computed outside the lock): MC_OK, MC_ERR_IO when it cannot be
 * opened or read (err says why), MC_ERR_ARG when it is over 4 GiB or empty.
 */
int mc_file_get(mc_cloud *c, const char *path, mc_file **out, char *err, size_t errcap);
/*
 * A response starts or stops reading the file (each takes c->lock): the
 * descriptor stays open meanwhile. MC_ERR_NOTFOUND when it was forgotten.
 */
int mc_file_read_start(mc_cloud *c, mc_file *f);
void mc_file_read_stop(mc_cloud *c, mc_file *f);
/* Close and free every entry (mc_cloud_stop). */
void mc_files_free(mc_cloud *c);
/* The image as a trace record's ref_key, and the ref_read that writes its bytes back. */
unsigned long long mc_image_key(const mc_image *img);
void mc_image_read_key(unsigned long long key, long long off, void *buf, size_t n);

typedef enum {
    MC_EV_PROGRESS = 0, /* a step 0..100 */
    MC_EV_FAIL_STEP,    /* a step -1..-4 */
    MC_EV_INFORM_TARGET,
    MC_EV_INFORM_OTHER,
    MC_EV_SUPERSEDE,
    MC_EV_CANCEL,  /* canceled by mc_job_cancel (the control API) */
    MC_EV_TIMEOUT, /* the job's timer ran out */
    MC_EV__COUNT
} mc_job_event;

typedef enum {
    MC_ACT_NONE = 0,
    MC_ACT_NOTE_START,
    MC_ACT_RECORD_FAIL,
    MC_ACT_RECORD_SUCCESS,
    MC_ACT_NOTE_CANCEL,
    MC_ACT_RECORD_TIMEOUT
} mc_job_action;

/* The job state machine: a pure table lookup. */
mc_job_state mc_job_next(mc_job_state s, mc_job_event ev, mc_job_action *act);

typedef struct {
    int id;
    char dn[OTA_MAX_NAME + 1];
    char module[OTA_MAX_MODULE + 1];
    char version[OTA_MAX_VERSION + 1];
    char file[64];      /* path component of the URL */
    char signature[32]; /* query Signature the URL carries */
    char url[OTA_MAX_URL + 1];
    char digest_hex[65];
    char sha256_hex[65]; /* of the image, whatever the push's digest */
    mc_image image;
    ota_digest_kind digest;
    mc_job_state state;
    int fail_code;
    mc_fault fault;
    int fault_seen;                      /* matching events so far */
    mc_fault then[MC_FAULT_SEQ_MAX - 1]; /* the faults after `fault` (mc_fault_next) */
    int nthen, then_at;
    int mqtt;      /* pushed for MQTT block download */
    int is_diff;   /* pushed with isDiff 1: the image is a differential package */
    int pull_only; /* never pushed, not even on reconnect: only firmware/get finds it */
    long long stream_id;
    int blocks;      /* block requests answered */
    int redeliver;   /* the device lost its connection (or the push) while it was pending */
    char push[2048]; /* the push payload as published */
    size_t trace_at;
    double timeout_s; /* 0: no timer */
    double deadline;  /* mc_now() at which the timer fires */
    int has_step, last_step;
    char reason[160]; /* why it was canceled or timed out */
    int prev_same_dn; /* id of the device's job before this one; 0: none */
} mc_job;

typedef struct {
    mc_device_info info;
    char claim[128]; /* client id of the conformance run that claimed it; "": none */
} mc_device;

/*
 * Fault seams (fault.c). fault.c's table names each kind's seam and holds
 * what it does there; the transports call the hooks below and never ask
 * which kind a plan has. See docs/internals/fault-plans.md.
 */
typedef enum {
    MC_SEAM_NONE = 0,
    MC_SEAM_HTTP,    /* the HTTP response: status, headers, body bytes and pace */
    MC_SEAM_BLOCK,   /* a block reply's header and data, before it is encoded */
    MC_SEAM_FRAME,   /* a block reply's encoded frame, and how many copies go out */
    MC_SEAM_PUSH,    /* the push as published, and the URL it names */
    MC_SEAM_SESSION, /* the device's connection, during a download (HTTP or blocks) */
    MC_SEAM__COUNT
} mc_fault_seam;

mc_fault_seam mc_fault_seam_of(mc_fault_kind k);
const char *mc_fault_seam_name(mc_fault_seam s);
/* 1 when the plan has a fault at all (for notes); says nothing about its seam. */
int mc_fault_active(const mc_fault *f);
/* Does the fault fire for this event? Counts it either way. */
int mc_fault_fires(mc_fault *f, int *seen);
/* A fault of a sequence that has fired its count: the job's next one takes over (lock held). */
void mc_fault_next(mc_job *j);

/* Push seam: what a fault changes in a job's push before it is built. */
typedef struct {
    int size_less;    /* announce the size this many bytes short */
    int wrong_digest; /* sign (and md5) of other bytes */
    int foreign_url;  /* the URL names the HTTPS port with the foreign CA's certificate */
} mc_push_edit;

void mc_fault_push_edit(const mc_fault *f, mc_push_edit *out);
/* Push seam, after the build: rewrite the push text in place (cap bytes), inside the
 * dialect's wrapper object ("data" or "params"). MC_ERR_NOMEM if it
 * no longer fits or does not parse. */
int mc_fault_push_apply(const mc_fault *f, const char *wrapper, char *push, size_t cap);

/* HTTP seam: does a fault of a download request's seams (HTTP, session) fire? Counts it. */
int mc_fault_http_fires(mc_fault *f, int *seen);
/*
 * The fault for the request that made it fire (`seen`: the job's count after
 * mc_fault_http_fires): a copy of f, less what acts on its first request only.
 */
void mc_fault_http_request(const mc_fault *f, int seen, mc_fault *out);

/* How the fault that fired for a download shapes the response (kind NONE: not at all). */
typedef struct {
    int status;          /* answer with this status and text instead of the file; 0: the file */
    const char *text;    /* static */
    int ignore_range;    /* 200 and the whole file whatever Range asks */
    long long short_len; /* the file is served as this many bytes long, for any Range; -1: whole */
    int unknown_length;  /* no Content-Length (chunked, or ended by close) */
    int http10;          /* an HTTP/1.0 response */
} mc_http_plan;

void mc_fault_http_plan(const mc_fault *f, mc_http_plan *out);

/* What happens to the next slice of a response body. */
typedef enum {
    MC_SLICE_SEND = 0, /* send the n bytes */
    MC_SLICE_END,      /* end the response with an error: the connection closes */
    MC_SLICE_RESET,    /* reset the connection (RST), then end */
    MC_SLICE_STALL,    /* send nothing while the server runs, then end */
    MC_SLICE_KICK,     /* disconnect the device, then send the n bytes */
    MC_SLICE_RESTART,  /* restart the broker, then send the n bytes */
    MC_SLICE_PAUSE,    /* wait `wait` seconds, then send the n bytes */
    MC_SLICE_PACE      /* wait until `wait` seconds after the body began, then send */
} mc_slice_act;

/*
 * HTTP seam, per slice of the body: body byte `pos` (file offset from + pos),
 * *n bytes wanted (may shrink). f is the body's copy of the fault (a one-shot
 * session fault clears it); *paused the body's pause flag.
 */
mc_slice_act mc_fault_http_slice(mc_fault *f, size_t from, size_t pos, size_t *n, int *paused,
                                 double *wait);
/* HTTP seam, on the bytes of a slice just copied into buf. */
void mc_fault_http_bytes(const mc_fault *f, size_t from, size_t pos, char *buf, size_t n);

/* What the block and frame seams do to a block reply. */
typedef enum {
    MC_FRAME_INTACT = 0,
    MC_FRAME_BAD_CRC,     /* the CRC's first byte xor 0x5A: wrong, data intact */
    MC_FRAME_CRC_SWAPPED, /* the CRC written big-endian */
    MC_FRAME_CUT          /* the CRC and the last data byte lost */
} mc_frame_damage;

/* The block seam's decision for one valid block request. */
typedef enum {
    MC_BLOCK_SEAM_NONE = 0, /* the reply as it is */
    MC_BLOCK_SEAM_REPLY,    /* a block or frame fault fires: it changes the reply */
    MC_BLOCK_SEAM_KICK,     /* disconnect the device instead of replying */
    MC_BLOCK_SEAM_RESTART,  /* restart the broker instead of replying */
    MC_BLOCK_SEAM_MOVED     /* it would change nothing on this block: it moves to the next */
} mc_block_seam_act;

typedef struct {
    mc_block_seam_act act;
    mc_fault fault; /* the plan that fired (act REPLY) */
} mc_block_seam;

/*
 * A decided block reply (blocks.c): the header as sent, the image bytes it
 * carries, and what the seams do to it.
 */
typedef struct {
    int refused;        /* a bad request: an error reply, counted as refused input */
    ota_block_header h; /* code 200, a refusal's code, or an injected one; bSize, bOffset */
    size_t from, len;   /* image bytes the frame carries (len 0: none) */
    long corrupt_at;    /* data byte flipped (xor 0xFF) before the CRC; -1: none */
    mc_frame_damage damage;
    int copies;     /* frames sent: 1; 2 duplicated; 0 none (dropped, or kick/restart) */
    double delay_s; /* seconds the plugin holds it */
    int kick;       /* disconnect the device instead */
    int restart;    /* restart the broker instead */
} mc_block_reply;

/*
 * Block seam, for a valid request at file offset `offset` whose reply would
 * carry data[0..n): counts it and decides (session kinds count the requests
 * at or past `at`; block and frame kinds count every one).
 */
void mc_fault_block_decide(mc_fault *f, int *seen, long long offset, const uint8_t *data, size_t n,
                           mc_block_seam *out);
/* Block and frame seams: apply a fault that fired to a reply about to be encoded. */
void mc_fault_block_apply(const mc_fault *f, mc_block_reply *r);
/* Frame seam: damage an encoded frame of *len bytes. */
void mc_fault_frame_damage(mc_frame_damage d, uint8_t *frame, size_t *len);

/* The block server's limits: the protocol's table (otaproto/limits.h). */
#define MC_BLOCK_MIN      OTA_BLOCK_MIN
#define MC_BLOCK_MAX      OTA_BLOCK_MAX
#define MC_BLOCK_FILE_MAX 16777216

/* What the block server knows of the job a request names (blocks.c's pure input). */
typedef struct {
    int found;   /* a job of this device with this streamId */
    int open;    /* it is PENDING or UPGRADING */
    size_t size; /* its image's size */
} mc_block_src;

/*
 * Decide the reply to one block request, without effects: parse_rc is the
 * request's parse result, src the job it names, seam the fault seam's
 * decision (NULL: not asked yet; the reply is then only checked). Every bad
 * request gets a refusal (code 400 or 404, a msg), never silence.
 */
void mc_block_decide(int parse_rc, const ota_block_request *q, const mc_block_src *src,
                     const mc_block_seam *seam, mc_block_reply *out);
/*
 * The frame of a decided reply, its data read from img (heap, *len bytes;
 * the caller frees it); NULL on no memory. img may be NULL for a reply
 * without data.
 */
uint8_t *mc_block_encode(const mc_block_reply *r, const mc_image *img, size_t *len);

/*
 * The image bytes a frame carries untouched: frame bytes [at, at + len) are
 * the image's from offset off. The trace keeps them by reference (the
 * record's ref_* fields) instead of copying them. len 0: none.
 */
typedef struct {
    size_t at, len;
    long long off;
    unsigned long long key; /* mc_image_key of the image */
} mc_frame_ref;

/* A block reply to publish once the cloud's lock is released. */
typedef struct {
    uint8_t *frame; /* heap; the uplink handler frees it */
    size_t len;
    mc_frame_ref ref; /* where frame holds the image's bytes */
    int copies;       /* 0: none (dropped), 2: duplicated */
    double delay;     /* seconds the plugin holds it */
    int kick;         /* disconnect the device instead */
    int restart;      /* restart the broker instead */
} mc_block_out;

/* A block request from device d (c->lock held): the reply, decided and encoded, into *o. */
void mc_blocks_on_request(mc_cloud *c, mc_device *d, const char *p, size_t len, mc_block_out *o);

/*
 * Locks, and the order they are taken in (docs/internals/locks-and-broker-restart.md).
 * An arrow means "may be held while taking":
 *
 *   lock  ->  tlock  <-  wlock
 *
 * lock (the cloud: devices, jobs; take it with mc_cloud_lock) may take tlock
 * (every mc_trace_add does), never wlock: the trace file is written by
 * mc_cloud_unlock after the lock is released, or by a trace_add made
 * without it. wlock (the trace file) takes tlock briefly to read a record;
 * nothing is taken while tlock is held. klock (ticker), clock (the MQTT
 * client's connection state), hlock (the file server's stop flag) and rlock
 * (broker restarts) are leaves: each guards only its own fields and its
 * holder takes no other lock and waits only on its own condition variable.
 * No thread holds two of lock, clock, hlock, klock and rlock at once.
 *
 * Each is an mc_mutex (lock.h), taken only through mc_cloud_lock,
 * mc_trace_lock, mc_tfile_lock and mc_leaf_lock below, whose EXCLUDES lists
 * are this order for clang's -Wthread-safety (the tsa preset). The fields a
 * lock guards are named in its comment: clang 14 cannot check them in C.
 */
struct mc_cloud {
    mc_mutex lock; /* devices, jobs: mc_cloud_lock / mc_cloud_unlock */
    mc_device *devices;
    int ndevices;
    int *dev_index;       /* open addressing by deviceName: device index + 1, 0 empty */
    size_t dev_index_cap; /* a power of two, at least twice ndevices */
    mc_job **jobs;
    int njobs;
    mc_file *files;       /* firmware files served from disk (file.c) */
    int *job_index;       /* open addressing by deviceName: the id of its newest job, 0 empty */
    size_t job_index_cap; /* a power of two; job_names names use it */
    int job_names;

    /* trace */
    mc_mutex tlock; /* the records in memory, errors, repeat state */
    pthread_cond_t tcond;
    ota_trace_rec **recs; /* records first .. nrecs - 1 (recs[0] is record `first`) */
    size_t nrecs, caprecs;
    size_t first;   /* records before it were let go (keep) */
    size_t keep;    /* records kept in memory at least; 0: every one (mc_config.trace_keep) */
    mc_mutex wlock; /* the trace file: tfile's writes */
    FILE *tfile;
    size_t nwritten; /* records written to tfile so far (changed under wlock and tlock) */
    int errors;
    double t0;
    struct mc_repeat *repeat; /* repetition per device (trace_repeat.c), under tlock */

    /* The ticker: a thread that runs timers (job timeouts, ends of repeat bursts). */
    mc_mutex klock; /* k_stop; kcond wakes the ticker */
    pthread_cond_t kcond;
    pthread_t ticker;
    int ticker_up, k_stop;
    double job_timeout_s;

    /* The dialect spoken, and for one with two push spellings which and with what value types. */
    const ota_dialect *dialect;
    ota_push_on push_on;
    ota_values push_values;

    /* transports */
    mc_broker broker;
    int embedded;
    char host[128];
    int port;
    struct mosquitto *mosq;
    mc_mutex clock; /* connection state: connected, subscribed, connects, refused */
    pthread_cond_t ccond;
    int connected, subscribed;
    int connects; /* connections of our client so far (it reconnects by itself) */
    int plugin;   /* the broker runs otaauth: downlinks go through it, events come from it */
    int refused;  /* the broker refused our login: its CONNACK code (0: not refused) */
    int joined;   /* a second cloud client of a running ota-mock-cloud (join below) */
    mc_join_info join;
    struct MHD_Daemon *httpd, *httpsd, *foreignd;
    int http_port, https_port, foreign_port;
    char tls_dir[256];
    char listen_addr[64];
    char url_host[128];
    int https_urls, url_no_port;
    int want_http_port, want_https_port;
    mc_mutex hlock; /* guards http_stopping; hcond wakes throttles, pauses, stalls */
    pthread_cond_t hcond;
    int http_stopping;

    /*
     * Broker restarts run on one long-lived thread: the broker dies with the
     * thread that started it (PDEATHSIG follows the thread), so that thread
     * must live as long as the cloud.
     */
    mc_mutex rlock; /* r_*, restarter_up */
    pthread_cond_t rcond;
    pthread_t restarter;
    int restarter_up, r_req, r_busy, r_stop, r_rc;
    unsigned r_done;
    double r_down;
    int r_foreign; /* -1: keep the certificate; 0/1: server's or foreign */
};

void mc_trace_addv(mc_cloud *c, ota_trace_kind kind, const char *dev, const char *topic,
                   const void *payload, size_t len, int binary, const char *fmt, va_list ap);
/* A block reply frame going out: stored with its image bytes by reference (ref; NULL: copied). */
void mc_trace_frame(mc_cloud *c, const char *dev, const char *topic, const void *frame, size_t len,
                    const mc_frame_ref *ref);
void mc_trace_close(mc_cloud *c);
/* keep: the records kept in memory (0: all); older ones go once they are in the file. */
int mc_trace_open(mc_cloud *c, const char *path, size_t keep);
/*
 * Write the records stored so far and not yet in the file, in order (takes
 * wlock, then tlock for each record). Never called with c->lock held: a
 * record added under it waits for mc_cloud_unlock.
 */
void mc_trace_flush(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));

/*
 * Taking the cloud's locks: the order above, as the compiler checks it. Each
 * function that takes a lock EXCLUDES the locks that may not be held while
 * taking it, so with clang -Wthread-safety (the tsa preset) a function that
 * holds tlock and calls mc_cloud_lock, or holds the cloud's lock and calls
 * mc_trace_flush, does not compile. Take the locks only through these, never
 * with mc_mutex_lock on a field.
 */

/*
 * The cloud's lock. mc_cloud_unlock writes the trace records added while it
 * was held, after releasing it, so a slow disk never holds up the cloud.
 * mc_cloud_lock_held: 1 when the calling thread holds c's lock.
 */
void mc_cloud_lock(mc_cloud *c) ACQUIRE(c->lock) EXCLUDES(c->tlock, c->wlock, MC_LEAVES(c));
void mc_cloud_unlock(mc_cloud *c) RELEASE(c->lock) EXCLUDES(c->tlock, c->wlock, MC_LEAVES(c));
int mc_cloud_lock_held(const mc_cloud *c);

/* The trace's lock: under the cloud's lock or wlock, or alone; nothing is taken under it. */
static inline void mc_trace_lock(mc_cloud *c) ACQUIRE(c->tlock) EXCLUDES(MC_LEAVES(c))
{
    mc_mutex_lock(&c->tlock);
}

static inline void mc_trace_unlock(mc_cloud *c) RELEASE(c->tlock)
{
    mc_mutex_unlock(&c->tlock);
}

/* The trace file's lock: never under the cloud's lock or the trace's; it takes tlock. */
static inline void mc_tfile_lock(mc_cloud *c) ACQUIRE(c->wlock)
    EXCLUDES(c->lock, c->tlock, MC_LEAVES(c))
{
    mc_mutex_lock(&c->wlock);
}

static inline void mc_tfile_unlock(mc_cloud *c) RELEASE(c->wlock)
{
    mc_mutex_unlock(&c->wlock);
}

/*
 * A leaf (klock, clock, hlock or rlock): taken with no other lock held and
 * released with mc_mutex_unlock; its holder takes nothing else.
 */
static inline void mc_leaf_lock(mc_cloud *c, mc_mutex *m) ACQUIRE(m) EXCLUDES(MC_NONE_HELD(c))
{
    (void)c; /* named for the analysis, and for the assert */
    assert(m == &c->klock || m == &c->clock || m == &c->hlock || m == &c->rlock);
    mc_mutex_lock(m);
}

/*
 * Repetition (trace_repeat.c), all with tlock held. mc_repeat_admit decides
 * for one record about to be stored: 1 store it, 0 leave it out (counted).
 * *summary, when set, is a record to store first (the caller owns it), and
 * mc_repeat_more then hands over the device's other summaries (one per
 * repeated request) until NULL.
 * mc_repeat_kept tells it the record it admitted is now stored at `r`,
 * record number idx. mc_repeat_evict: the records before number `below`
 * are about to be freed; a slot holding one keeps its own copy.
 * mc_repeat_due hands over one summary that is due by time, or NULL.
 */
int mc_repeat_admit(mc_cloud *c, const ota_trace_rec *r, ota_trace_rec **summary)
    REQUIRES(c->tlock);
void mc_repeat_kept(mc_cloud *c, const ota_trace_rec *r, size_t idx) REQUIRES(c->tlock);
void mc_repeat_evict(mc_cloud *c, size_t below) REQUIRES(c->tlock);
ota_trace_rec *mc_repeat_more(mc_cloud *c, double now) REQUIRES(c->tlock);
ota_trace_rec *mc_repeat_due(mc_cloud *c, double now) REQUIRES(c->tlock);
/* At mc_trace_close, no other thread left: without tlock. */
void mc_repeat_free(mc_cloud *c);
/* Write the summaries that are due (takes tlock); the ticker calls it. */
void mc_trace_tick(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));

/* The ticker thread (tick.c): start after the trace is open, stop before anything is freed. */
int mc_ticker_start(mc_cloud *c);
void mc_ticker_stop(mc_cloud *c);
/* Time out open jobs whose timer ran out (takes c->lock). */
void mc_jobs_tick(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));

/* An uplink on a topic outside OTA (topics.c): traced for a known device, else ignored. */
void mc_cloud_on_other_topic(mc_cloud *c, const char *topic, const void *payload, size_t len);

/* A whole file of at most cap bytes, NUL-terminated, heap; NULL when unreadable or larger. */
char *mc_slurp(const char *path, size_t cap);

int mc_registry_load(mc_cloud *c, const char *dir, char *err, size_t errcap);
/* The device of that name (pk NULL: any product), or NULL (c->lock held). */
mc_device *mc_registry_find(mc_cloud *c, const char *pk, const char *dn) REQUIRES(c->lock);
/* Give the broker plugin the current registry (no-op without the plugin). */
int mc_registry_sync(mc_cloud *c);
/* Free the devices and their name index (registry.c). */
void mc_registry_free(mc_cloud *c);
/* An event from the broker plugin ($ota/events). */
void mc_cloud_on_broker_event(mc_cloud *c, const void *payload, size_t len);

/* Restart the broker from a transport seam without blocking it (once at a time). */
void mc_broker_restart_async(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));

int mc_http_start(mc_cloud *c, char *err, size_t errcap);
void mc_http_stop(mc_cloud *c);

/* Called with c->lock held: find a job by id. */
mc_job *mc_job_find(mc_cloud *c, int id) REQUIRES(c->lock);
/* MQTT side: dispatch one uplink message (called from the libmosquitto thread). */
void mc_cloud_on_uplink(mc_cloud *c, const char *topic, const void *payload, size_t len);
/* Where the plugin copies uplinks that name no device: MC_UP_PREFIX "<pk>/<dn>/<topic>". */
#define MC_UP_PREFIX "$ota/up/"
int mc_mqtt_start(mc_cloud *c, char *err, size_t errcap);
/* 1 once a connection after the first `after` ones has its SUBACKs; 0 at the deadline. */
int mc_mqtt_wait_subscribed(mc_cloud *c, int after) EXCLUDES(MC_NONE_HELD(c));
/* Our client's connections so far. */
int mc_mqtt_connects(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));
void mc_mqtt_stop(mc_cloud *c);
int mc_mqtt_publish(mc_cloud *c, const char *dev, const char *topic, const char *payload, int qos);
/*
 * A binary payload (block frames); the trace file shows it as hex. ref (NULL:
 * none) says which bytes are the image's, kept in memory by reference.
 */
int mc_mqtt_publish_bin(mc_cloud *c, const char *dev, const char *topic, const void *data,
                        size_t len, const mc_frame_ref *ref, int qos);

/* Join mode: take the joined broker and credential (before anything can fail). */
void mc_join_apply(mc_cloud *c, const mc_join_info *j);
/* Join mode: give the claimed device back (DELETE /join/DN); once, traced. */
void mc_join_leave(mc_cloud *c);
/*
 * Claims at the uplink seam (c->lock held; d NULL for an unknown device):
 * 1 when the message is not this cloud's to act on, logged as such or, for
 * another device of a cloud we joined, not at all.
 */
int mc_claim_skip_uplink(mc_cloud *c, mc_device *d, const char *topic, const void *payload,
                         size_t len) REQUIRES(c->lock);
/*
 * Claims at the broker-event seam: releases the claims of a cloud client
 * that disconnected; 1 when a joined cloud should ignore the event (it names
 * none of its devices).
 */
int mc_claim_skip_event(mc_cloud *c, const char *what, const char *dn, const char *client_id);

/* Job helpers (c->lock held). */
void mc_job_feed(mc_cloud *c, mc_job *j, mc_job_event ev, int code) REQUIRES(c->lock);
/* The push topics of device d in the cloud's dialect (one, or both spellings); the count. */
int mc_push_topics(const mc_cloud *c, const mc_device_info *d, char topics[2][OTA_MAX_TOPIC + 1]);
mc_job *mc_job_open_for(mc_cloud *c, const char *dn, const char *module) REQUIRES(c->lock);
/* The device's newest open job of any module (a dialect whose cloud ignores the module). */
mc_job *mc_job_open_any(mc_cloud *c, const char *dn) REQUIRES(c->lock);
void mc_jobs_free(mc_cloud *c);

/*
 * Functions declared earlier (or in otamock/mock.h) that take a lock
 * themselves, again with the locks their caller may not hold (or that need
 * one, declared before struct mc_cloud), so the
 * compiler checks their call sites against the order too. A trace record
 * may be added under the cloud's lock (it takes tlock), under nothing else.
 */
void mc_trace_add(mc_cloud *c, ota_trace_kind kind, const char *dev, const char *topic,
                  const void *payload, size_t len, const char *fmt, ...)
    EXCLUDES(c->tlock, c->wlock, MC_LEAVES(c));
void mc_trace_event(mc_cloud *c, ota_trace_kind kind, const mc_trace_ev *ev, const char *dev,
                    const char *topic, const void *payload, size_t len, const char *fmt, ...)
    EXCLUDES(c->tlock, c->wlock, MC_LEAVES(c));
void mc_trace_addv(mc_cloud *c, ota_trace_kind kind, const char *dev, const char *topic,
                   const void *payload, size_t len, int binary, const char *fmt, va_list ap)
    EXCLUDES(c->tlock, c->wlock, MC_LEAVES(c));
void mc_trace_frame(mc_cloud *c, const char *dev, const char *topic, const void *frame, size_t len,
                    const mc_frame_ref *ref) EXCLUDES(c->tlock, c->wlock, MC_LEAVES(c));
void mc_blocks_on_request(mc_cloud *c, mc_device *d, const char *p, size_t len, mc_block_out *o)
    REQUIRES(c->lock);
int mc_file_get(mc_cloud *c, const char *path, mc_file **out, char *err, size_t errcap)
    EXCLUDES(MC_NONE_HELD(c));
int mc_file_read_start(mc_cloud *c, mc_file *f) EXCLUDES(MC_NONE_HELD(c));
void mc_file_read_stop(mc_cloud *c, mc_file *f) EXCLUDES(MC_NONE_HELD(c));
int mc_image_forget(mc_cloud *c, const char *path, int *job_id) EXCLUDES(MC_NONE_HELD(c));
int mc_registry_sync(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));
int mc_job_create(mc_cloud *c, const mc_job_spec *spec, int *job_id) EXCLUDES(MC_NONE_HELD(c));
int mc_job_get(mc_cloud *c, int job_id, mc_job_info *out) EXCLUDES(MC_NONE_HELD(c));
int mc_job_cancel(mc_cloud *c, int job_id, const char *reason) EXCLUDES(MC_NONE_HELD(c));
void mc_jobs_cancel(mc_cloud *c, const char *dn) EXCLUDES(MC_NONE_HELD(c));
int mc_device_count(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));
int mc_device_at(mc_cloud *c, int i, mc_device_info *out) EXCLUDES(MC_NONE_HELD(c));
int mc_device_get(mc_cloud *c, const char *dn, mc_device_info *out) EXCLUDES(MC_NONE_HELD(c));
int mc_devices_add(mc_cloud *c, const mc_device_info *list, int n) EXCLUDES(MC_NONE_HELD(c));
int mc_device_claim(mc_cloud *c, const char *dn, const char *holder) EXCLUDES(MC_NONE_HELD(c));
int mc_device_release(mc_cloud *c, const char *dn) EXCLUDES(MC_NONE_HELD(c));
int mc_device_claimed(mc_cloud *c, const char *dn, char *holder, size_t cap)
    EXCLUDES(MC_NONE_HELD(c));
/* Publishing, kicks and restarts happen after the cloud's lock is released. */
int mc_mqtt_publish(mc_cloud *c, const char *dev, const char *topic, const char *payload, int qos)
    EXCLUDES(MC_NONE_HELD(c));
int mc_mqtt_publish_bin(mc_cloud *c, const char *dev, const char *topic, const void *data,
                        size_t len, const mc_frame_ref *ref, int qos) EXCLUDES(MC_NONE_HELD(c));
int mc_device_kick(mc_cloud *c, const char *dn) EXCLUDES(MC_NONE_HELD(c));
int mc_device_clear(mc_cloud *c, const char *dn) EXCLUDES(MC_NONE_HELD(c));
int mc_device_drop_next(mc_cloud *c, const char *dn) EXCLUDES(MC_NONE_HELD(c));
int mc_device_delay_next(mc_cloud *c, const char *dn, double seconds) EXCLUDES(MC_NONE_HELD(c));
/* The transports' entry points take the cloud's lock themselves. */
void mc_cloud_on_uplink(mc_cloud *c, const char *topic, const void *payload, size_t len)
    EXCLUDES(MC_NONE_HELD(c));
void mc_cloud_on_broker_event(mc_cloud *c, const void *payload, size_t len)
    EXCLUDES(MC_NONE_HELD(c));
void mc_cloud_on_other_topic(mc_cloud *c, const char *topic, const void *payload, size_t len)
    EXCLUDES(MC_NONE_HELD(c));
int mc_claim_skip_event(mc_cloud *c, const char *what, const char *dn, const char *client_id)
    EXCLUDES(MC_NONE_HELD(c));
int mc_broker_restart(mc_cloud *c, double down_s) EXCLUDES(MC_NONE_HELD(c));
int mc_broker_present_foreign(mc_cloud *c, int foreign) EXCLUDES(MC_NONE_HELD(c));
size_t mc_trace_count(mc_cloud *c) EXCLUDES(c->tlock, MC_LEAVES(c));
size_t mc_trace_wait(mc_cloud *c, size_t seen, double deadline) EXCLUDES(MC_NONE_HELD(c));
const ota_trace_rec *mc_trace_at(mc_cloud *c, size_t i) EXCLUDES(c->tlock, MC_LEAVES(c));
int mc_trace_copy(mc_cloud *c, size_t i, ota_trace_rec *out) EXCLUDES(c->tlock, MC_LEAVES(c));
size_t mc_trace_first(mc_cloud *c) EXCLUDES(c->tlock, MC_LEAVES(c));
int mc_trace_errors(mc_cloud *c) EXCLUDES(c->tlock, MC_LEAVES(c));
/* Start and stop: no lock of the cloud held. */
int mc_registry_load(mc_cloud *c, const char *dir, char *err, size_t errcap)
    EXCLUDES(MC_NONE_HELD(c));
int mc_http_start(mc_cloud *c, char *err, size_t errcap) EXCLUDES(MC_NONE_HELD(c));
void mc_http_stop(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));
void mc_ticker_stop(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));
void mc_cloud_stop(mc_cloud *c) EXCLUDES(MC_NONE_HELD(c));
#endif
