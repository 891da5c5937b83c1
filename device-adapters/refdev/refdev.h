/*
 * ota-ref-device: a correct Aliyun OTA device per the DUT contract (or, with
 * OTA_DIALECT thingspanel, a ThingsPanel one: token login, the push under
 * params on either spelling of its topic, size "0" and an empty sign taken
 * as unknown and unsigned, a bare progress body, no version report), with bug
 * switches that each break one rule the way real firmware does. Shared state
 * of its modules; one mutex guards everything mutable.
 */
#ifndef REFDEV_H
#define REFDEV_H

#include <pthread.h>

#include "otaproto/otaproto.h"

typedef enum {
    BUG_STEP_NUMBER = 0,    /* progress step sent as a JSON number */
    BUG_NO_FINAL_INFORM,    /* no version report after the upgrade reboot */
    BUG_NO_DIGEST_CHECK,    /* the image is flashed without verifying its digest */
    BUG_WRONG_FAIL_CODE,    /* a digest mismatch reported as -2 */
    BUG_INFORM_EARLY,       /* the target version reported as soon as the push arrives */
    BUG_CRASH_ON_PUSH,      /* the firmware crashes when a push arrives */
    BUG_BAD_SIGN_KEY,       /* the login is signed with a wrong key */
    BUG_USERNAME_OTHER,     /* the username names another device than the clientId */
    BUG_SUBSCRIBE_ALL,      /* subscribes to '#' as well as its own topics */
    BUG_UPGRADE_ONCE,       /* after one upgrade it never takes another push */
    BUG_STALE_DIGEST,       /* the digest context is not reset after a failed check */
    BUG_MD5_ONLY,           /* verifies only the md5 field: SHA-256 pushes go unchecked */
    BUG_SILENT_FAILURE,     /* a failed download is not reported at all */
    BUG_RETRY_BURST,        /* retries a failed download 6 times without a pause */
    BUG_NO_HUNDRED,         /* never reports "100" before rebooting */
    BUG_EMPTY_DESC,         /* failure steps carry an empty desc */
    BUG_CONSTANT_ID,        /* every message has id "0", as 3.x progress does */
    BUG_PERIODIC_INFORM,    /* reports its version every second */
    BUG_STRIP_QUERY,        /* downloads the URL without its query string */
    BUG_REFUSE_SAME,        /* answers a push for the running version with -1 */
    BUG_IGNORE_MODULE,      /* takes pushes for any module as its own */
    BUG_NEED_SUCCESS,       /* drops a push without "message":"success", as 3.x does */
    BUG_STRICT_SIGN,        /* takes only "Md5"/"SHA256"/"Sha256" and lower-case hex, as 4.x */
    BUG_NO_CRC_CHECK,       /* block CRCs are not checked */
    BUG_NO_RESUME,          /* an interrupted HTTP download starts over without Range */
    BUG_OVERLAP_RANGE,      /* resumes 100 bytes before what it has */
    BUG_DOWNLOAD_MINUS4,    /* a download that cannot finish is reported as -4 */
    BUG_RETRY_FOREVER,      /* retries a failed download again and again (10 tries here) */
    BUG_BLOCK_NO_SHA256,    /* SHA-256 is not verified on the MQTT path, as 4.x */
    BUG_SMALL_BLOCKS,       /* asks for 128-byte blocks */
    BUG_TRAILING_COMMA,     /* block requests with a trailing comma, as 4.x */
    BUG_GET_NO_PARAMS,      /* firmware/get without a params object */
    BUG_SECOND_PUSH,        /* a second push during a download stops it without a report */
    BUG_PROGRESS_BACK,      /* a progress step lower than the one before */
    BUG_PROGRESS_FLOOD,     /* progress every 0.3 s */
    BUG_NO_FILES,           /* one-element files[] packages dropped, as 4.x */
    BUG_MULTI_SILENT,       /* multi-file packages ignored without a report */
    BUG_NO_CHUNKED,         /* chunked or length-less responses refused, as both SDKs */
    BUG_SIZE_UNCHECKED,     /* takes more bytes than the pushed size */
    BUG_IMPATIENT,          /* gives up on a download after 1 s without data */
    BUG_ACCEPT_ANY_CERT,    /* TLS without checking the server's certificate */
    BUG_HANG_ON_DISCONNECT, /* a block request lost with the connection: waits forever */
    BUG_RETRY_FLOOD,        /* retries a failed download every 5 ms without end, never reports
                               (a real SDK loops thousands of times a second on a 404) */
    BUG_FLASH_SHORT,        /* a complete response shorter than the pushed size is flashed as
                               the image, unverified */
    BUG_FAIL_THEN_HUNDRED,  /* a failure step, the same again and "100" within milliseconds */
    BUG_NO_MODULE,          /* never names its module in inform or progress */
    BUG_LOOP_OLD_URL,       /* after a failed download: fetches that URL again and again,
                               reports -2 after each, takes no other push */
    BUG_SKIP_BAD_CRC_BLOCK, /* a block with a bad CRC is kept and the next one asked for */
    /* The ThingsPanel dialect's own mistakes (no effect in Aliyun's), after Aliyun's bugs so
     * that their order stays. */
    BUG_TP_PROGRESS_PARAMS, /* progress wrapped in {"id","params":{...}} as in Aliyun */
    BUG_TP_READ_DATA,       /* the package read from "data", as in Aliyun: the push is ignored */
    BUG_TP_SIZE_ZERO,       /* size "0" taken as an empty image: the push is refused (-1) */
    BUG_TP_NEED_SIGN,       /* an empty sign taken as a bad one: verification fails (-3) */
    /* Costs, not mistakes: the device stays conformant and only downloads more (its rule in
     * rd_bugs is RD_CONFORMANT; --baseline must show it). */
    BUG_DOWNLOAD_TWICE, /* downloads the image a second time, to a scratch file, before verifying */
    /* Power loss (the power group): commits that a cut leaves half done. */
    BUG_PWR_VERSION_FIRST, /* the new version written before the image is in place */
    BUG_PWR_IN_PLACE,      /* the image written over the running one, page by page */
    BUG_PWR_TRUST_PARTIAL, /* a download kept across a reboot resumed without checking it is
                              of the pushed image */
    /* More of the ThingsPanel dialect's mistakes, at the end so that the order stays. */
    BUG_TP_INFROM_ONLY,   /* subscribes to the stock server's "infrom" push topic only */
    BUG_TP_NO_VERIFY,     /* a sign is never checked, as if every push were the stock server's */
    BUG_FLASH_OTHER_LATE, /* a push for another module is installed as its own, 2 s late */
    /* Blind spots found by devices built from public bug reports of real OTA code (issue 23),
     * in one block at the end so that the order stays. */
    BUG_RANGE_200_APPENDED,   /* a 200 answering a Range request appended to the partial file */
    BUG_REDOWNLOAD_BAD_IMAGE, /* a download that fails its digest fetched again and again */
    BUG_OFFSET_KEPT,          /* the byte counter of the last download is not cleared: a new
                                 job's first request starts where the old one ended */
    BUG_TARGET_RUNS_OLD,      /* the target version reported while the old image still runs */
    BUG_PROGRESS_OVER_100,    /* after a resume, progress in percent of the remaining bytes */
    /* Images the device checks itself (--image-check), at the end so that the order stays. */
    BUG_IGNORES_IMAGE_CHECK, /* the app header is not checked (SWUpdate's refusal ignored): a
                                broken or foreign image boots */
    BUG_REPORTS_PUSHED_VER,  /* the version reported is the push's, not the image's */
    BUG_DIFF_WRONG_BASE,     /* a diff made against another base is applied and flashed */
    BUG__COUNT
} rd_bug;

_Static_assert(BUG__COUNT <= 128, "rd_dev.bugs holds 128 bug switches");

/* The rule of a switch that breaks none (a cost): the self-check expects it to pass. */
#define RD_CONFORMANT "conformant"

/* rd.http_only: 1 ignores a push for MQTT block download, this answers it with "-1". */
#define RD_HTTP_ONLY_REFUSES 2

typedef struct {
    const char *name;
    const char *rule; /* the judging.md rule the suite must cite, or RD_CONFORMANT */
    const char *what;
} rd_bug_info;

extern const rd_bug_info rd_bugs[BUG__COUNT];
int rd_bug_parse(const char *name, rd_bug *out);

/* MQTT block requests: the default size, and DL-5's bounds for --block-size. */
#define RD_BLOCK     5120
#define RD_BLOCK_MIN OTA_BLOCK_MIN
#define RD_BLOCK_MAX OTA_BLOCK_MAX

typedef enum { RD_IDLE = 0, RD_DOWNLOADING, RD_VERIFYING, RD_FLASHING } rd_state;
const char *rd_state_name(rd_state s);

/* A block reply queued for the worker; `good` when the link thread already checked it. */
typedef struct {
    unsigned char *frame;
    size_t len, cap;
    int good;          /* the reply for the block at `off`, code 200, size and CRC right, and
                          written to the part file */
    long long off;     /* with good */
    size_t data_at, n; /* with good: where its data lies in frame, and how many bytes */
} rd_blk;

/*
 * Asking ahead (upgrade.c): the block the worker waits for, and the request
 * for the next one the link thread sent when a good reply came.
 */
typedef struct {
    int on; /* an MQTT block download is running */
    int fd; /* its part file */
    long long stream_id, file_id, size, block;
    long long off, len; /* the worker's block; off -1: none yet */
    long long next;     /* the block asked for ahead; -1: none */
    int links;          /* rd.links when it was asked for */
} rd_ahead;

typedef struct {
    /* configuration, read-only after boot */
    char host[256];
    int port;
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1], secret[OTA_MAX_SECRET + 1];
    char module[OTA_MAX_MODULE + 1]; /* "" for the default module */
    char state_dir[512];
    char ca_file[512];
    int tls;
    char image_sha256[65];      /* of the image in flash (its trailer), "" for the factory image */
    unsigned long long bugs[2]; /* one bit per rd_bug: room for 128 */
    const ota_dialect *dialect; /* OTA_DIALECT or --dialect; Aliyun by default */
    int no_channel;             /* behave as a device without the control channel */
    int short_fails;    /* variant: a complete but short response ends the download with -2 */
    int no_subscribe;   /* variant: subscribes to nothing (the cloud delivers) */
    int resume_aligned; /* variant: a resumed HTTP download drops the partial 2 KiB buffer */
    int http_only;      /* variant: no MQTT block download; such pushes are ignored, or
                           answered "-1" (RD_HTTP_ONLY_REFUSES) */
    char stock_version[OTA_MAX_VERSION + 1]; /* variant --stock-version-first: the factory
                                                version, reported at every boot before the
                                                running one (a HAL's stock report, as a 3.x
                                                build sent); "" when off */
    int deaf_after_report; /* variant: a push within 0.5 s of its own failure report is lost
                              (the suite waits 1 s after a terminal step: judging.md) */
    int detached_retries;  /* variant: a failed HTTP download leaves a detached thread behind
                              that fetches its URL again now and then, as Link SDK 4.x's download
                              threads do, while the device takes new pushes */
    int persistent;        /* variant: clean session off, as the 3.x device SDK connects: the
                              broker keeps its session and QoS 1 messages across reconnects */
    int slow_resume;       /* variant: no step "0" before blocks, a lost block request asked again
                              only after a 10 s block timeout */
    int redownload_once;   /* variant: after a digest mismatch, download the image once more a
                              second later and install it when that copy verifies */
    long long block_size;  /* bytes per MQTT block request (--block-size) */
    double reboot_after_failure; /* variant: seconds from a failure report to a reboot, 0: none */
    int image_check;    /* variant: images carry an app header (appimage.h) the device checks, its
                           version comes from the header, and it takes diffs (isDiff) */
    char swu_cert[512]; /* variant --swupdate CERT: downloads installed by SWUpdate into A/B
                           slot files, their signature checked against CERT; "" when off */

    pthread_mutex_t lock;
    char version[OTA_MAX_VERSION + 1];
    rd_state state;
    int inject_flash;
    int exit_requested; /* 1: leave with status 0 (a reboot) */
    int going_down;     /* (--reboot-after-failure) a reboot is due: pushes are lost */
    double deaf_until;  /* (--deaf-after-report) pushes before this time are lost */
    int just_upgraded;  /* this boot follows an upgrade */
    unsigned long next_id;
    struct mosquitto *mosq;
    pthread_t worker;
    int worker_running, worker_joinable;
    ota_push job; /* the push being worked on */
    pthread_cond_t pub_cond;
    int pub_mid, pub_acked;
    /* block replies waiting for the worker (a small ring) */
    pthread_cond_t blk_cond;
    rd_blk blk[4];
    int blk_head, blk_count;
    rd_ahead ahead;
    int alt_sub_mid; /* the SUBSCRIBE of the push topic's other spelling */
    int links;       /* subscribed sessions so far: a change means the connection came back */
    int pushes_during_download; /* (bug second-push) */
} rd_dev;

extern rd_dev rd;

static inline int rd_has_bug(rd_bug b)
{
    return (int)((rd.bugs[b / 64] >> (b % 64)) & 1ULL);
}

/* Logging goes to stderr, which the adapter captures as device log. */
void rd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A channel line on stdout ("@seq OK ...", "!READY ..."). */
void rd_chan(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* link.c: MQTT */
int rd_link_start(void);
void rd_link_stop(void);
void rd_report_version(const char *version);
/* Publish progress; wait for the broker's ack when `sync` (the last word before a reboot). */
void rd_report_step(int step, const char *desc, int sync);

/* Publish a block request (MQTT block download); 0 when it went out. */
int rd_request_block(long long stream_id, long long file_id, long long size, long long offset);
/* Ask for a pending job (firmware/get), as at boot. */
void rd_ask_for_job(void);

/* upgrade.c */
void rd_upgrade_on_push(const char *payload, size_t len);
/* A download_reply frame arrived: queue it for the download. */
void rd_upgrade_on_block(const void *frame, size_t len);
void rd_upgrade_join(void);

/* flash.c: the image, its commit, the bootloader's check, kept partial downloads */
/* At boot: finish a commit a cut interrupted, check the image; -1 with why when it is broken. */
int rd_flash_boot(char *why, size_t cap);
/* Write the verified image in `part` and the version (atomic unless a pwr-* bug); -1 with why. */
int rd_flash_write(const char *part, const char *version, char *why, size_t cap);
/* The image in flash without its trailer (malloc'd; empty for the factory image); NULL: broken. */
unsigned char *rd_flash_image(size_t *len);
/*
 * Before a download to `part`: the bytes of a partial download of this push kept from an
 * earlier attempt or boot (resume from there), or 0 (any other partial removed).
 */
long long rd_partial_take(const ota_push *p, const char *part);

/* install.c: an image the device checks itself (--image-check) */
/*
 * Before the flash: with --image-check apply a diff and check the app header;
 * 0 with the version to install (the header's; without --image-check the
 * push's), -1 with why (the attempt ends in -3).
 */
int rd_image_install(const ota_push *p, const char *part, char *version, size_t vcap, char *why,
                     size_t cap);
/*
 * At boot with --image-check: the version in the header of the image in flash;
 * -1: none (the factory image, or reports-pushed-version). An image that fails
 * its check does not boot: the device aborts, as a bricked board hangs.
 */
int rd_image_boot_version(char *version, size_t vcap);

/* swupdate.c: an embedded-Linux gateway (--swupdate CERT) */
/*
 * Hand the verified bundle in `part` to SWUpdate for the inactive slot: 0 with
 * the version its root file system names (the push's with
 * reports-pushed-version), -1 with why when SWUpdate refuses it (-3).
 */
int rd_swu_install(const ota_push *p, const char *part, char *version, size_t vcap, char *why,
                   size_t cap);
/* After the flash commit: boot the slot the last install wrote; -1 with why. */
int rd_swu_commit(char *why, size_t cap);
/* At boot: the version the active slot names; -1: none (the factory image). */
int rd_swu_boot(char *version, size_t vcap);

/* state files */
int rd_state_write(const char *name, const char *text);
/* A rename or an unlink in OTA_STATE_DIR is durable once the folder is synced. */
void rd_state_sync(void);
int rd_state_read(const char *name, char *buf, size_t cap);
void rd_state_path(const char *name, char *buf, size_t cap);

#endif
