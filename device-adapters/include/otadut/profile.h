/*
 * Device profiles: one JSON file that says everything about a device under
 * test (identity, adapter, endpoints, capabilities, reset, time bounds,
 * serial settings). Parsing and checking only; docs/device-profiles.md is
 * the reference for every field. Pure: no device is touched.
 */
#ifndef OTADUT_PROFILE_H
#define OTADUT_PROFILE_H

#include <stddef.h>

#include "otadut/dut.h"

#define DUT_PROFILE_MAX_FILE (64 * 1024)
#define DUT_PROFILE_MAX_CMD  1024

typedef enum {
    DUT_ADAPTER_REFERENCE = 0, /* ota-ref-device, run as a process by the suite */
    DUT_ADAPTER_PROCESS,       /* any host build, run with /bin/sh -c */
    DUT_ADAPTER_SERIAL,        /* a board on a serial port */
    DUT_ADAPTER_NETWORK,       /* nothing but its MQTT connection */
    DUT_ADAPTER__COUNT
} dut_adapter_kind;

const char *dut_adapter_kind_name(dut_adapter_kind k);
int dut_adapter_kind_parse(const char *name, dut_adapter_kind *out);

/*
 * The time bounds judging.md lets a profile change (seconds, before
 * --time-scale). The defaults are the protocol's table (otaproto/limits.h).
 */
typedef struct {
    double inform; /* VER-1: inform after a boot (OTA_BOUND_INFORM) */
    double react;  /* PUSH-1: a reaction to a push (OTA_BOUND_REACT) */
    double
        failure; /* FAIL-2: the failure step of a download that cannot finish (OTA_BOUND_FAILURE) */
    double final; /* FINAL-1: the new version after a download (OTA_BOUND_FINAL) */
    double boot;  /* how long a reboot may take until the device connects again
                     (OTA_BOUND_BOOT for a process, OTA_BOUND_BOOT_BOARD for a board or a
                     network device) */
} dut_bounds;

/*
 * The user's own firmware (the profile's "firmware" object, docs/device-profiles.md):
 * prebuilt files per version, or a command that builds the image for a version,
 * how the suite moves among versions, and whether the device checks its images.
 */
#define DUT_FW_MAX_FILES 16
typedef enum { DUT_FW_DEFAULT = 0, DUT_FW_UPWARD, DUT_FW_ALTERNATE } dut_fw_versions;

typedef struct {
    char version[65];
    char file[512];  /* as given, relative paths made relative to the profile's folder */
    char module[65]; /* "" : the profile's module */
} dut_fw_file;

typedef struct {
    int present; /* the profile (or the command line) has a firmware section */
    dut_fw_file files[DUT_FW_MAX_FILES];
    int nfiles;
    char build[DUT_PROFILE_MAX_CMD];   /* {version} {out} {module} {size} */
    dut_fw_versions versions;          /* DEFAULT: upward with build, alternate with files */
    int checks;                        /* the device checks its images (IMG rules apply) */
    char foreign[DUT_PROFILE_MAX_CMD]; /* {version} {out}: an image it must refuse */
    char diff[DUT_PROFILE_MAX_CMD];    /* {from} {to} {from_file} {to_file} {out}: a diff package */
    int reflash;                       /* run flashCommand at the start of a run */
    char cache[512];                   /* keep built images here between runs; "": per run */
} dut_firmware;

/* "upward" or "alternate": what versions resolves to for this section. */
const char *dut_fw_versions_name(const dut_firmware *fw);

typedef struct {
    /* identity */
    char pk[65], dn[65], secret[129], module[65], firmware_version[65];
    char dialect[16];
    /* how we meet it */
    dut_adapter_kind adapter;
    char command[DUT_PROFILE_MAX_CMD]; /* process: the command line; "" for reference */
    int compiled_in; /* process: its identity and module are built in; it ignores OTA_* */
    /* endpoints the suite must use; 0 / "" means "choose" */
    char listen[64];
    int mqtt_port, mqtts_port, http_port, https_port;
    char url_host[256];
    int url_port; /* 1: URLs carry the port (default); 0: port-less URLs */
    int tls;      /* 1: MQTTS and HTTPS */
    /* what it can do */
    char caps[256]; /* comma-separated control-channel capabilities it declares */
    dut_reset_method reset;
    char reset_seq[256];
    char reset_cmd[DUT_PROFILE_MAX_CMD];
    char power_cmd[DUT_PROFILE_MAX_CMD]; /* a power cycle (relay, USB hub), "" when none */
    char flash_cmd[DUT_PROFILE_MAX_CMD];
    double time_scale;
    dut_bounds bounds;
    /* serial */
    char serial_port[512];
    int baud;
    char framing[8];
    double reopen_window, ready_timeout;
    dut_firmware fw;
} dut_profile;

/* The defaults of a profile that names nothing but an identity: the reference device. */
void dut_profile_defaults(dut_profile *p);
/*
 * Parse a profile. `name` (the file) is only used in messages. On failure
 * err names the file, the field and what is wrong; DUT_ERR_ARG.
 */
int dut_profile_parse(const char *json, size_t len, const char *name, dut_profile *out, char *err,
                      size_t errcap);
/* Read and parse a file; DUT_ERR_ARG with err when unreadable or malformed. */
int dut_profile_load(const char *path, dut_profile *out, char *err, size_t errcap);
/*
 * Check the profile as a whole once command-line overrides are applied
 * (a serial adapter needs a port, a process one a command, ...).
 */
int dut_profile_check(const dut_profile *p, const char *name, char *err, size_t errcap);

#endif
