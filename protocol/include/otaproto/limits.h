/*
 * The protocol's limits and the time bounds of judging.md as named data:
 * one table the suite, the device profiles and the mock cloud read, so that
 * no bound is written twice. Values are seconds before --time-scale.
 */
#ifndef OTAPROTO_LIMITS_H
#define OTAPROTO_LIMITS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The bytes a device may ask for per MQTT block (the last block of a file may be shorter). */
#define OTA_BLOCK_MIN 256
#define OTA_BLOCK_MAX 131072

/* The failure steps a device reports (judging.md FAIL-*). */
#define OTA_STEP_UPGRADE_FAILED  (-1)
#define OTA_STEP_DOWNLOAD_FAILED (-2)
#define OTA_STEP_VERIFY_FAILED   (-3)
#define OTA_STEP_FLASH_FAILED    (-4)

/* "upgrade failed", "download failed", "verify failed", "flash failed"; NULL for other steps. */
const char *ota_step_name(int step);

/*
 * Time bounds. The rules' bounds carry the rule ID as their name ("VER-1"),
 * the suite's own windows a lower-case word ("quiet").
 */
typedef enum {
    OTA_BOUND_INFORM = 0,    /* VER-1: a version report after a boot */
    OTA_BOUND_LOGIN,         /* SEC-1: a login after a boot */
    OTA_BOUND_PULL,          /* PUSH-2: a firmware/get after a boot or reconnect */
    OTA_BOUND_REACT,         /* PUSH-1: a reaction to a push */
    OTA_BOUND_FAILURE,       /* FAIL-2: the failure step of a download that cannot finish */
    OTA_BOUND_FINAL,         /* FINAL-1: the new version after a download */
    OTA_BOUND_PROGRESS_GAP,  /* PROG-5: intermediate progress at most this often */
    OTA_BOUND_RETRY_GAP,     /* FAIL-B: retries at least this far apart */
    OTA_BOUND_RETRY_QUIET,   /* FAIL-B: retries are over after this long without one */
    OTA_BOUND_RETRY_WATCH,   /* FAIL-B: retries after the failure step are watched this long */
    OTA_BOUND_UNUSABLE,      /* FAIL-1: the window for a reaction to a push it cannot use */
    OTA_BOUND_IGNORED,       /* PUSH-5, PUSH-6: the window for a push it must ignore */
    OTA_BOUND_AFTER_FAILURE, /* PROG-6: quiet after a failure step ends the attempt */
    OTA_BOUND_REPORT_AGAIN,  /* VER-7: no second version report within this, unless reconnected */
    OTA_BOUND_RECONNECT,     /* PUSH-8: connected again after the cloud dropped the device */
    OTA_BOUND_TLS_REFUSED,   /* SEC-3: the foreign certificate is presented this long */
    OTA_BOUND_TLS_BACK,      /* SEC-3: connected again this soon after the own certificate */
    OTA_BOUND_QUIET,         /* between tests: the device quiet this long */
    OTA_BOUND_QUIET_MAX,     /* ... waited for at most this long */
    OTA_BOUND_SETTLE,        /* a busy device (an upgrade still running) may take this long */
    OTA_BOUND_CHANNEL,       /* a reply on the control channel */
    OTA_BOUND_STATUS,        /* a STATUS reply while settling between tests */
    OTA_BOUND_CRASH,         /* a dropped connection this soon after a push is a crash */
    OTA_BOUND_FOLLOW,        /* a new job taken up this soon after a report */
    OTA_BOUND_READY,         /* a board that is up prints !READY after its port opens */
    OTA_BOUND_BOOT,          /* a process device connects again after a reboot */
    OTA_BOUND_BOOT_BOARD,    /* a board or network device connects again after a reboot */
    OTA_BOUND__COUNT
} ota_bound_id;

typedef struct {
    const char *name; /* "VER-1", "quiet": what a scenario or a profile names it by */
    double seconds;   /* the bound as the rule states it */
    double judged;    /* the value judged against: below the bound by the clock's slack */
    const char *what; /* one sentence for people */
} ota_bound;

/* The entry of a bound; NULL for an id outside the enum. */
const ota_bound *ota_bound_at(ota_bound_id id);
/* The bound's seconds (before --time-scale); 0 for an id outside the enum. */
double ota_bound_s(ota_bound_id id);
/* The bound named `name` ("FAIL-2"); OTA_ERR_ARG when there is none. */
int ota_bound_find(const char *name, ota_bound_id *out);

#ifdef __cplusplus
}
#endif

#endif
