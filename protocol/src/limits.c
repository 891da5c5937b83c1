/*
 * The table of time bounds and the names of the failure steps. Data only:
 * who waits how long is the caller's business; here is how long the rules
 * allow.
 */
#include <string.h>

#include "otaproto/base.h"
#include "otaproto/limits.h"

static const ota_bound bounds[OTA_BOUND__COUNT] = {
    [OTA_BOUND_INFORM] = {"VER-1", 10, 10, "a version report within 10 s of a boot"},
    [OTA_BOUND_LOGIN] = {"SEC-1", 10, 10, "a login within 10 s of a boot"},
    [OTA_BOUND_PULL] = {"PUSH-2", 10, 10, "a firmware/get within 10 s of a boot or reconnect"},
    [OTA_BOUND_REACT] = {"PUSH-1", 10, 10, "a download or a progress report within 10 s of a push"},
    [OTA_BOUND_FAILURE] = {"FAIL-2", 60, 60,
                           "a failure step within 60 s when the download cannot complete"},
    [OTA_BOUND_FINAL] = {"FINAL-1", 60, 60, "the new version within 60 s of a download"},
    [OTA_BOUND_PROGRESS_GAP] = {"PROG-5", 3, 2.7,
                                "intermediate progress at most once per 3 s (2.7 s judged)"},
    [OTA_BOUND_RETRY_GAP] = {"FAIL-B", 1, 0.9, "retries at least 1 s apart (0.9 s judged)"},
    [OTA_BOUND_RETRY_QUIET] = {"FAIL-B-quiet", 1.5, 1.5,
                               "retries are over after 1.5 s without a request"},
    [OTA_BOUND_RETRY_WATCH] = {"FAIL-B-watch", 8, 8,
                               "requests after a failure step are watched at most 8 s"},
    [OTA_BOUND_UNUSABLE] = {"FAIL-1", 2, 2,
                            "a push the device cannot use: its reaction is awaited 2 s"},
    [OTA_BOUND_IGNORED] = {"PUSH-5", 1.5, 1.5,
                           "a push the device must ignore: a wrong reaction comes within 1.5 s"},
    [OTA_BOUND_AFTER_FAILURE] = {"PROG-6", 0.5, 0.5,
                                 "after a failure step, 0.5 s of quiet ends the attempt"},
    [OTA_BOUND_REPORT_AGAIN] = {"VER-7", 3, 3,
                                "no second version report within 3 s without a reconnect"},
    [OTA_BOUND_RECONNECT] = {"PUSH-8", 15, 15,
                             "the device connects again within 15 s of the cloud dropping it"},
    [OTA_BOUND_TLS_REFUSED] = {"SEC-3", 3, 3, "the broker presents a foreign certificate for 3 s"},
    [OTA_BOUND_TLS_BACK] = {"SEC-3-back", 15, 15,
                            "the device connects again within 15 s of the broker's own "
                            "certificate"},
    [OTA_BOUND_QUIET] = {"quiet", 0.3, 0.3, "between tests the device is quiet for 0.3 s"},
    [OTA_BOUND_QUIET_MAX] = {"quiet-max", 10, 10, "the quiet between tests is awaited 10 s"},
    [OTA_BOUND_SETTLE] = {"settle", 30, 30,
                          "a device busy with an upgrade has 30 s to finish before the next test"},
    [OTA_BOUND_CHANNEL] = {"channel", 5, 5, "a control-channel command is answered within 5 s"},
    [OTA_BOUND_STATUS] = {"status", 2, 2, "a STATUS command between tests is answered within 2 s"},
    [OTA_BOUND_CRASH] = {"crash", 1, 1,
                         "a connection the device drops within 1 s of a push is a crash"},
    [OTA_BOUND_FOLLOW] = {"follow", 1, 1, "a job still open is taken up within 1 s of a report"},
    [OTA_BOUND_READY] = {"ready", 2, 2,
                         "a board that is up prints !READY within 2 s of its port opening"},
    [OTA_BOUND_BOOT] = {"boot", 10, 10, "a process device connects again within 10 s of a reboot"},
    [OTA_BOUND_BOOT_BOARD] = {"boot-board", 60, 60,
                              "a board or network device connects again within 60 s of a reboot"},
};

const ota_bound *ota_bound_at(ota_bound_id id)
{
    return (unsigned)id < OTA_BOUND__COUNT ? &bounds[id] : NULL;
}

double ota_bound_s(ota_bound_id id)
{
    const ota_bound *b = ota_bound_at(id);
    return b ? b->seconds : 0;
}

int ota_bound_find(const char *name, ota_bound_id *out)
{
    for (int i = 0; name && i < OTA_BOUND__COUNT; i++)
        if (!strcmp(bounds[i].name, name)) {
            *out = (ota_bound_id)i;
            return OTA_OK;
        }
    return OTA_ERR_ARG;
}

const char *ota_step_name(int step)
{
    static const char *const names[] = {"upgrade failed", "download failed", "verify failed",
                                        "flash failed"};
    return step <= OTA_STEP_UPGRADE_FAILED && step >= OTA_STEP_FLASH_FAILED ? names[-step - 1]
                                                                            : NULL;
}
