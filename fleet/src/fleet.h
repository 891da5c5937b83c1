/*
 * ota-fleet's internals: N simulated devices in one process, each with its
 * own MQTT connection and login, driven by one epoll loop over their
 * libmosquitto sockets and one libcurl multi handle for their downloads.
 * Uses only libotaproto for the wire format; talks to ota-mock-cloud by its
 * control API.
 */
#ifndef FLEET_H
#define FLEET_H

#include <stddef.h>
#include <stdio.h>

#include <curl/curl.h>

#include "otaproto/otaproto.h"

struct mosquitto;

#define FL_MAX_PLANS    16
#define FL_BLOCK_WAIT_S 5.0 /* a block reply this late is asked for again */
#define FL_BLOCK_TRIES  3   /* tries per block */
#define FL_HTTP_TRIES   3   /* downloads per job, each resuming by Range */
#define FL_HTTP_TIMEOUT 60L /* seconds one download may take */
#define FL_RECONNECT_S  1.0 /* a dropped connection is made again after this */
#define FL_REPORT_GAP_S 3.0 /* intermediate progress at most this often (PROG-5) */
#define FL_REASON       160

typedef enum {
    FL_DEV_NEW = 0,    /* not connected yet */
    FL_DEV_CONNECTING, /* CONNECT sent, no CONNACK yet */
    FL_DEV_IDLE,       /* logged in, version reported, waiting for a push */
    FL_DEV_WAIT_HTTP,  /* pushed, waiting for a download slot */
    FL_DEV_HTTP,       /* downloading by HTTP */
    FL_DEV_BLOCKS,     /* downloading by MQTT blocks */
    FL_DEV_DONE,       /* new version reported */
    FL_DEV_FAILED,     /* a failure step reported (or the run gave up on it) */
    FL_DEV__COUNT
} fl_dev_state;

const char *fl_dev_state_name(fl_dev_state s);

typedef struct {
    char name[64]; /* the fault plan, as GET /scenarios names it */
    double share;  /* 0..1 of the devices */
    int mqtt;      /* the plan's transport */
    int devices;   /* devices given it */
    int done, failed;
} fl_plan;

typedef struct fl_device {
    int idx;
    char dn[OTA_MAX_NAME + 1];
    char secret[33];
    struct mosquitto *mosq;
    int fd;          /* the socket registered with epoll; -1: none */
    unsigned events; /* what epoll watches it for */
    int touched;     /* on the loop's list of devices to flush */
    fl_dev_state state;
    int plan; /* index into the plans, -1: none */
    int job_id;
    int connected, connects;
    int awaiting;        /* a CONNECT out, its CONNACK not in */
    double reconnect_at; /* > 0: connect again at this time */
    char version[OTA_MAX_VERSION + 1];
    /* the upgrade */
    ota_push *push; /* heap while an upgrade runs */
    ota_digest *digest;
    long long got; /* bytes received in order */
    int tries;     /* block or download tries of the current piece */
    double wait_until;
    double last_report;
    int last_pct;
    CURL *easy;
    unsigned long msg_id;
    char reason[FL_REASON];
    double t_push, t_end;
} fl_device;

typedef struct {
    /* options */
    int n;
    int mqtt;
    long size;
    long block;
    const char *pk, *prefix;
    double timeout_s;
    int connect_window; /* CONNECTs without CONNACK at once */
    int http_parallel;
    int progress; /* a progress bar: stdout is a terminal */
    fl_plan plans[FL_MAX_PLANS];
    int nplans;
    /* the cloud */
    char api[192];
    char mqtt_host[128];
    int mqtt_port;
    /* run time */
    fl_device *devs;
    int epfd;
    CURLM *multi;
    int http_running;
    int *touched;
    int ntouched;
    int *http_queue; /* devices waiting for a download slot, FIFO */
    int http_head, http_tail;
    int pending_connacks;
    int next_connect;
    /* counts */
    int count[FL_DEV__COUNT];
    unsigned long msgs_out, msgs_in;
    unsigned long long bytes_out, bytes_in, http_bytes;
    unsigned long blocks, block_retries, http_tries, reconnects;
} fleet;

/* The one loop (loop.c). */
int fl_loop_init(fleet *f, char *err, size_t cap);
void fl_loop_free(fleet *f);
/* Run until done() returns 1 or the deadline; the bar is drawn from here. */
void fl_loop_run(fleet *f, double deadline, int (*done)(fleet *f), void (*tick)(fleet *f));
/* A device's socket changed or it wants to write: flush it once this turn ends. */
void fl_loop_touch(fleet *f, fl_device *d);
/* Libmosquitto opens a socket pair per client for its own thread; ota-fleet has none. */
void fl_loop_socketpairs(int allow);

/* The devices (sim_device.c). */
int fl_device_start(fleet *f, fl_device *d);
void fl_device_free(fl_device *d);
/* Timers: reconnects, block timeouts, keepalives. */
void fl_device_tick(fleet *f, fl_device *d, double now);
/* An HTTP download ended (from the loop's curl handling). */
void fl_device_http_done(fleet *f, fl_device *d, CURLcode cc);
/* Start queued downloads while slots are free. */
void fl_http_pump(fleet *f);
void fl_device_set_state(fleet *f, fl_device *d, fl_dev_state s);

/* The control API (api.c): blocking calls, for setup and the final tally. */
typedef struct {
    long status;
    char *body; /* heap, NUL-terminated */
    size_t len;
} fl_reply;

int fl_api(const char *api, const char *method, const char *path, const char *body, fl_reply *r,
           char *err, size_t cap);
void fl_reply_free(fl_reply *r);
/* Close the kept connection. */
void fl_api_close(void);

#endif
