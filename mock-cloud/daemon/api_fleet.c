/*
 * What a fleet needs of the control API: POST /devices registers devices in
 * batches (one JSON object or an array of them, as device profiles), and
 * GET /status says where the broker is and which processes to watch (the
 * daemon and its broker: ota-fleet reads their peak memory). It also lifts
 * the descriptor limit before the broker starts, since the broker inherits it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"

#define MCD_DEVICES_MAX 1000 /* devices one POST /devices may name */

static cJSON *error_json(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    return o;
}

/* One element of the body as a profile; err names the element that is wrong. */
static int one_device(const cJSON *item, int i, mc_device_info *out, char *err, size_t cap)
{
    char *text = cJSON_PrintUnformatted(item), why[200];
    int rc;

    if (!text) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    rc = cJSON_IsObject(item) ? mc_device_parse(text, strlen(text), out, why, sizeof(why))
                              : MC_ERR_FIXTURE;
    cJSON_free(text);
    if (rc != MC_OK)
        snprintf(err, cap, "device %d: %s", i,
                 cJSON_IsObject(item) ? why : "must be a JSON object (a device profile)");
    return rc == MC_OK ? 0 : -1;
}

unsigned mcd_devices_post(mc_cloud *c, const char *body, size_t len, cJSON **out)
{
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len), *list, *item;
    mc_device_info *devs = NULL;
    char err[300];
    unsigned status = 400;
    int n, i = 0;

    list = cJSON_IsArray(root) ? root : NULL;
    n = list ? cJSON_GetArraySize(list) : cJSON_IsObject(root) ? 1 : 0;
    if (n < 1 || n > MCD_DEVICES_MAX) {
        *out = error_json("the body must be a device profile or an array of 1 to 1000 of them "
                          "({\"productKey\",\"deviceName\",\"deviceSecret\"})");
        goto done;
    }
    devs = calloc((size_t)n, sizeof(*devs));
    if (!devs) {
        *out = error_json("out of memory");
        status = 500;
        goto done;
    }
    if (list) {
        cJSON_ArrayForEach(item, list)
        {
            if (one_device(item, i, &devs[i], err, sizeof(err)) != 0) {
                *out = error_json(err);
                goto done;
            }
            i++;
        }
    } else if (one_device(root, 0, &devs[0], err, sizeof(err)) != 0) {
        *out = error_json(err);
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (mc_device_claimed(c, devs[i].dn, NULL, 0)) {
            snprintf(err, sizeof(err), "device %d (%s) is claimed by a conformance run", i,
                     devs[i].dn);
            *out = error_json(err);
            status = 409;
            goto done;
        }
    }
    if (mc_devices_add(c, devs, n) != MC_OK) {
        *out = error_json("the cloud could not register the devices");
        status = 500;
        goto done;
    }
    *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(*out, "registered", n);
    cJSON_AddNumberToObject(*out, "devices", mc_device_count(c));
    status = 201;
done:
    free(devs);
    cJSON_Delete(root);
    return status;
}

cJSON *mcd_status_json(mc_cloud *c, const char *host)
{
    cJSON *o = cJSON_CreateObject();
    mc_job_info j;
    int jobs = 0;

    while (mc_job_get(c, jobs + 1, &j) == MC_OK)
        jobs++;
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddNumberToObject(o, "brokerPid", mc_cloud_broker_pid(c));
    cJSON_AddStringToObject(o, "mqttHost", host);
    cJSON_AddNumberToObject(o, "mqttPort", mc_cloud_broker_port(c));
    cJSON_AddNumberToObject(o, "httpPort", mc_cloud_http_port(c));
    cJSON_AddNumberToObject(o, "devices", mc_device_count(c));
    cJSON_AddNumberToObject(o, "jobs", jobs);
    return o;
}

void mcd_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}
