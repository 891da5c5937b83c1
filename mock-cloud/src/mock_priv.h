/* Internals shared by the mock cloud's modules; not installed. */
#ifndef OTAMOCK_PRIV_H
#define OTAMOCK_PRIV_H

#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

#include "otamock/mock.h"
#include "otaproto/clock.h"

struct mosquitto;
struct MHD_Daemon;

typedef struct {
    /* Asked for by the caller (own copies: a restart writes the config again much later). */
    int port, tls_port; /* 0 for a free one; after start, the ports listening */
    char addr[64];      /* listen address; "": 127.0.0.1 */
    char tls_dir[256];  /* ca.pem, server.pem/.key, foreign.pem/.key: a TLS listener; "": none */
    char plugin[4096];  /* otaauth.so; "": a plain broker */
    int auth_off;
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

typedef struct {
    unsigned char *data;
    size_t size;
} mc_image;

/* Deterministic image: byte i = (i*31 + 7 + seed) mod 251. */
int mc_image_make(size_t size, unsigned seed, mc_image *out);
void mc_image_free(mc_image *img);

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
    mc_image image;
    ota_digest_kind digest;
    mc_job_state state;
    int fail_code;
    mc_fault fault;
    int fault_seen; /* matching events so far */
    int mqtt;       /* pushed for MQTT block download */
    int pull_only;  /* never pushed, not even on reconnect: only firmware/get finds it */
    long long stream_id;
    int blocks;      /* block requests answered */
    int redeliver;   /* the device lost its connection (or the push) while it was pending */
    char push[2048]; /* the push payload as published */
    size_t trace_at;
    double timeout_s; /* 0: no timer */
    double deadline;  /* mc_now() at which the timer fires */
    int has_step, last_step;
    char reason[160]; /* why it was canceled or timed out */
} mc_job;

typedef struct {
    mc_device_info info;
    char claim[128]; /* client id of the conformance run that claimed it; "": none */
} mc_device;

/* Fault seam: does the fault fire for this event? Counts it either way. */
int mc_fault_fires(mc_fault *f, int *seen);
static inline int mc_fault_is_http(mc_fault_kind k)
{
    return k >= MC_FAULT_HTTP_STATUS && k <= MC_FAULT_HTTP_EXPIRE;
}
static inline int mc_fault_is_block(mc_fault_kind k)
{
    return k >= MC_FAULT_BLOCK_BAD_CRC && k <= MC_FAULT_BLOCK_TRUNCATE;
}

struct mc_cloud {
    pthread_mutex_t lock; /* devices, jobs */
    mc_device *devices;
    int ndevices;
    mc_job **jobs;
    int njobs;

    /* trace */
    pthread_mutex_t tlock;
    pthread_cond_t tcond;
    ota_trace_rec **recs;
    size_t nrecs, caprecs;
    FILE *tfile;
    int errors;
    double t0;
    struct mc_repeat *repeat; /* repetition per device (trace_repeat.c), under tlock */

    /* The ticker: a thread that runs timers (job timeouts, ends of repeat bursts). */
    pthread_mutex_t klock;
    pthread_cond_t kcond;
    pthread_t ticker;
    int ticker_up, k_stop;
    double job_timeout_s;

    /* transports */
    mc_broker broker;
    int embedded;
    char host[128];
    int port;
    struct mosquitto *mosq;
    pthread_mutex_t clock; /* connection state */
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
    pthread_mutex_t hlock; /* guards http_stopping; hcond wakes throttles, pauses, stalls */
    pthread_cond_t hcond;
    int http_stopping;

    /*
     * Broker restarts run on one long-lived thread: the broker dies with the
     * thread that started it (PDEATHSIG follows the thread), so that thread
     * must live as long as the cloud.
     */
    pthread_mutex_t rlock;
    pthread_cond_t rcond;
    pthread_t restarter;
    int restarter_up, r_req, r_busy, r_stop, r_rc;
    unsigned r_done;
    double r_down;
    int r_foreign; /* -1: keep the certificate; 0/1: server's or foreign */
};

void mc_trace_addv(mc_cloud *c, ota_trace_kind kind, const char *dev, const char *topic,
                   const void *payload, size_t len, int binary, const char *fmt, va_list ap);
void mc_trace_close(mc_cloud *c);
int mc_trace_open(mc_cloud *c, const char *path);

/*
 * Repetition (trace_repeat.c), all with tlock held. mc_repeat_admit decides
 * for one record about to be stored: 1 store it, 0 leave it out (counted).
 * *summary, when set, is a record to store first (the caller owns it).
 * mc_repeat_kept tells it the record it admitted is now stored at `r`.
 * mc_repeat_due hands over one summary that is due by time, or NULL.
 */
int mc_repeat_admit(mc_cloud *c, const ota_trace_rec *r, ota_trace_rec **summary);
void mc_repeat_kept(mc_cloud *c, const ota_trace_rec *r);
ota_trace_rec *mc_repeat_due(mc_cloud *c, double now);
void mc_repeat_free(mc_cloud *c);
/* Write the summaries that are due (takes tlock); the ticker calls it. */
void mc_trace_tick(mc_cloud *c);

/* The ticker thread (tick.c): start after the trace is open, stop before anything is freed. */
int mc_ticker_start(mc_cloud *c);
void mc_ticker_stop(mc_cloud *c);
/* Time out open jobs whose timer ran out (takes c->lock). */
void mc_jobs_tick(mc_cloud *c);

/* An uplink on a topic outside OTA (topics.c): traced for a known device, else ignored. */
void mc_cloud_on_other_topic(mc_cloud *c, const char *topic, const void *payload, size_t len);

/* A whole file of at most cap bytes, NUL-terminated, heap; NULL when unreadable or larger. */
char *mc_slurp(const char *path, size_t cap);

int mc_registry_load(mc_cloud *c, const char *dir, char *err, size_t errcap);
mc_device *mc_registry_find(mc_cloud *c, const char *pk, const char *dn);
/* Give the broker plugin the current registry (no-op without the plugin). */
int mc_registry_sync(mc_cloud *c);
/* An event from the broker plugin ($ota/events). */
void mc_cloud_on_broker_event(mc_cloud *c, const void *payload, size_t len);

/* Restart the broker from a transport seam without blocking it (once at a time). */
void mc_broker_restart_async(mc_cloud *c);

int mc_http_start(mc_cloud *c, char *err, size_t errcap);
void mc_http_stop(mc_cloud *c);

/* Called with c->lock held: find a job by id. */
mc_job *mc_job_find(mc_cloud *c, int id);
/* MQTT side: dispatch one uplink message (called from the libmosquitto thread). */
void mc_cloud_on_uplink(mc_cloud *c, const char *topic, const void *payload, size_t len);
int mc_mqtt_start(mc_cloud *c, char *err, size_t errcap);
/* 1 once a connection after the first `after` ones has its SUBACKs; 0 at the deadline. */
int mc_mqtt_wait_subscribed(mc_cloud *c, int after);
/* Our client's connections so far. */
int mc_mqtt_connects(mc_cloud *c);
void mc_mqtt_stop(mc_cloud *c);
int mc_mqtt_publish(mc_cloud *c, const char *dev, const char *topic, const char *payload, int qos);
/* A binary payload (block frames); the trace keeps it as hex. */
int mc_mqtt_publish_bin(mc_cloud *c, const char *dev, const char *topic, const void *data,
                        size_t len, int qos);

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
                         size_t len);
/*
 * Claims at the broker-event seam: releases the claims of a cloud client
 * that disconnected; 1 when a joined cloud should ignore the event (it names
 * none of its devices).
 */
int mc_claim_skip_event(mc_cloud *c, const char *what, const char *dn, const char *client_id);

/* Job helpers (c->lock held). */
void mc_job_feed(mc_cloud *c, mc_job *j, mc_job_event ev, int code);
mc_job *mc_job_open_for(mc_cloud *c, const char *dn, const char *module);
void mc_jobs_free(mc_cloud *c);
#endif
