/* ota-fleet's use of ota-mock-cloud (fleet_cloud.c): start or join it, register, jobs, verdicts. */
#ifndef FLEET_CLOUD_H
#define FLEET_CLOUD_H

#include <sys/types.h>

#include "fleet.h"

typedef struct {
    char api[192];  /* HOST:PORT of the control API */
    pid_t pid;      /* the daemon we started; 0: a running one */
    char log[64];   /* its start-up lines */
    int cloud_pid;  /* from GET /status */
    int broker_pid; /* 0: not known (an external broker) */
    char mqtt_host[128];
    int mqtt_port;
    int batch; /* POST /jobs takes an array: -1 not known yet, 0 no, 1 yes */
} fl_cloud;

/* Start `program` (ota-mock-cloud) with extra arguments (NULL-terminated, may be NULL). */
int fl_cloud_start(fl_cloud *c, const char *program, const char *const *extra, char *err,
                   size_t cap);
/* SIGTERM to the daemon we started (SIGKILL after 10 s); nothing for a running one. */
void fl_cloud_stop(fl_cloud *c);
/* GET /status: the pids and the broker's address. */
int fl_cloud_status(fl_cloud *c, char *err, size_t cap);
/* POST /devices in batches of every device of the fleet. */
int fl_cloud_register(fl_cloud *c, fleet *f, const char *version, char *err, size_t cap);
/* Up to max jobs from device `from` on; how many were made, -1 on a refusal. */
int fl_cloud_jobs(fl_cloud *c, fleet *f, int from, int max, const char *version, char *err,
                  size_t cap);
/* Each device's job state (16 bytes each) and how many are still open; -1 on failure. */
int fl_cloud_verdicts(fl_cloud *c, fleet *f, char (*states)[16], char *err, size_t cap);
/* VmHWM (kB) and CPU seconds of a process; -1 each when they cannot be read. */
void fl_proc_figures(int pid, long *hwm_kb, double *cpu_s);

#endif
