/*
 * my_ota: the OTA module of an imaginary firmware, built for the host. It is
 * what a firmware team tests with libotamock: it logs in to the Aliyun
 * broker, reports its version, waits for one push, downloads the image,
 * checks its MD5 and reports progress and the new version. A real module
 * would write flash and reboot; this one keeps the image in memory.
 */
#ifndef MY_OTA_H
#define MY_OTA_H

typedef enum {
    MY_OTA_UPDATED = 0, /* the image was good: reported 100 and the new version */
    MY_OTA_FAILED,      /* reported a failure step (-2 download, -3 digest) */
    MY_OTA_NO_JOB,      /* no push came in time */
    MY_OTA_ERROR,       /* could not connect or talk to the broker */
} my_ota_result;

typedef struct {
    const char *host;
    int port;
    const char *product_key, *device_name, *device_secret;
    char version[32]; /* the running version; the new one after MY_OTA_UPDATED */
    double wait_s;    /* how long to wait for a push */
} my_ota_device;

/* One update check: connect, report the version, handle at most one push, disconnect. */
my_ota_result my_ota_check_once(my_ota_device *d);

#endif
