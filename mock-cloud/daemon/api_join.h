/*
 * ota-mock-cloud's join endpoint (daemon/api_join.c): a conformance run claims a
 * device and gets what a second cloud client needs. No HTTP here.
 */
#ifndef OTAMOCK_DAEMON_API_JOIN_H
#define OTAMOCK_DAEMON_API_JOIN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "otamock/mock.h"

/* What the daemon was started with, as the join answer reports it. */
typedef struct {
    const char *listen;   /* --listen */
    const char *url_host; /* --url-host; NULL: the default */
    int url_no_port, tls, auth_off;
} mcd_site;

/*
 * A request under /join: POST /join (body: the device), DELETE /join/DN or
 * POST /join/DN/release. Returns the JSON answer (the caller sends and
 * frees it) and its status in *status; NULL when out of memory.
 */
cJSON *mcd_join_handle(mc_cloud *c, const mcd_site *s, const char *method, const char *url,
                       const char *body, size_t len, unsigned *status);

#endif
