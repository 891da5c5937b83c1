/* The bug switches of the reference device and the rule each one breaks. */
#include <string.h>

#include "refdev.h"

const rd_bug_info rd_bugs[BUG__COUNT] = {
    [BUG_STEP_NUMBER] = {"step-number", "PROG-1", "progress step sent as a JSON number"},
    [BUG_NO_FINAL_INFORM] = {"no-final-inform", "FINAL-1",
                             "no version report after the upgrade reboot"},
    [BUG_NO_DIGEST_CHECK] = {"no-digest-check", "FAIL-3", "image flashed without a digest check"},
    [BUG_WRONG_FAIL_CODE] = {"wrong-fail-code", "FAIL-3", "digest mismatch reported as -2"},
    [BUG_INFORM_EARLY] = {"inform-early", "FINAL-2",
                          "target version reported as soon as the push arrives"},
    [BUG_CRASH_ON_PUSH] = {"crash-on-push", "PUSH-1", "the firmware crashes on every push"},
    [BUG_BAD_SIGN_KEY] = {"bad-sign-key", "SEC-1", "login signed with a wrong key"},
    [BUG_USERNAME_OTHER] = {"username-other", "SEC-1",
                            "username names another device than the clientId"},
    [BUG_SUBSCRIBE_ALL] = {"subscribe-all", "SEC-2", "subscribes to '#' besides its own topics"},
    [BUG_UPGRADE_ONCE] = {"upgrade-once", "FINAL-3", "never takes a push after one upgrade"},
    [BUG_STALE_DIGEST] = {"stale-digest", "FAIL-R", "digest context kept after a failed check"},
    [BUG_MD5_ONLY] = {"md5-only", "FAIL-3", "SHA-256 pushes are not verified"},
    [BUG_SILENT_FAILURE] = {"silent-failure", "FAIL-2", "a failed download is not reported"},
    [BUG_RETRY_BURST] = {"retry-burst", "FAIL-B", "6 download tries without a pause"},
    [BUG_NO_HUNDRED] = {"no-hundred", "PROG-7", "no \"100\" before the reboot"},
    [BUG_EMPTY_DESC] = {"empty-desc", "PROG-8", "failure steps with an empty desc"},
    [BUG_CONSTANT_ID] = {"constant-id", "VER-4", "every message has id \"0\""},
    [BUG_PERIODIC_INFORM] = {"periodic-inform", "VER-7", "version reported every second"},
    [BUG_STRIP_QUERY] = {"strip-query", "DL-1", "the URL is fetched without its query"},
    [BUG_REFUSE_SAME] = {"refuse-same-version", "PUSH-6", "-1 for a push of the running version"},
    [BUG_IGNORE_MODULE] = {"ignore-module", "PUSH-5", "pushes for other modules are flashed"},
    [BUG_NEED_SUCCESS] = {"need-success-message", "PUSH-3", "doc-style pushes are dropped"},
    [BUG_STRICT_SIGN] = {"strict-sign-method", "PUSH-4", "\"MD5\" and upper-case hex dropped"},
    [BUG_NO_CRC_CHECK] = {"no-crc-check", "DL-7", "block CRCs are not checked"},
    [BUG_NO_RESUME] = {"no-resume", "DL-3", "an interrupted download starts over without Range"},
    [BUG_OVERLAP_RANGE] = {"overlap-range", "DL-4", "resumes 100 bytes before what it has"},
    [BUG_DOWNLOAD_MINUS4] = {"download-minus-4", "FAIL-2", "a failed download reported as -4"},
    [BUG_RETRY_FOREVER] = {"retry-forever", "FAIL-B", "retries without a bound (10 tries here)"},
    [BUG_BLOCK_NO_SHA256] = {"block-sha256-unchecked", "FAIL-3",
                             "SHA-256 not verified on the MQTT path"},
    [BUG_SMALL_BLOCKS] = {"small-blocks", "DL-5", "asks for 128-byte blocks"},
    [BUG_TRAILING_COMMA] = {"trailing-comma", "DL-6", "block requests with a trailing comma"},
    [BUG_GET_NO_PARAMS] = {"get-no-params", "PUSH-2", "firmware/get without params"},
    [BUG_SECOND_PUSH] = {"second-push-abort", "PUSH-7",
                         "a second push stops the download without a report"},
    [BUG_PROGRESS_BACK] = {"progress-backwards", "PROG-4", "a step lower than the one before"},
    [BUG_PROGRESS_FLOOD] = {"progress-flood", "PROG-5", "progress every 0.3 s"},
    [BUG_NO_FILES] = {"no-files", "PUSH-9", "one-element files[] dropped"},
    [BUG_MULTI_SILENT] = {"multi-file-silent", "PUSH-10", "multi-file packages silently ignored"},
    [BUG_NO_CHUNKED] = {"no-chunked", "DL-9", "chunked or length-less responses refused"},
    [BUG_SIZE_UNCHECKED] = {"size-unchecked", "FAIL-3S", "more bytes than pushed are taken"},
    [BUG_IMPATIENT] = {"impatient", "DL-8", "gives up after 1 s without data"},
    [BUG_ACCEPT_ANY_CERT] = {"accept-any-cert", "SEC-3",
                             "TLS without checking the server certificate (MQTT and HTTPS)"},
    [BUG_RETRY_FLOOD] = {"retry-flood", "FAIL-2",
                         "retries a failed download every 5 ms without end, never reports it"},
    [BUG_FLASH_SHORT] = {"flash-short-file", "DL-2",
                         "flashes a complete but short response as the image, unverified"},
    [BUG_FAIL_THEN_HUNDRED] = {"fail-then-hundred", "PROG-6",
                               "after a failure step: the same again and \"100\" at once"},
    [BUG_NO_MODULE] = {"no-module", "VER-5", "never names its module in inform or progress"},
    [BUG_LOOP_OLD_URL] = {"loop-old-url", "FAIL-B",
                          "after a failed download: the URL again and again, -2 after each"},
    [BUG_HANG_ON_DISCONNECT] = {"hang-on-disconnect", "FAIL-2",
                                "a block request lost with the connection is never sent again; "
                                "the download hangs without a report"},
    [BUG_SKIP_BAD_CRC_BLOCK] = {"skip-bad-crc-block", "DL-7",
                                "a block with a bad CRC is kept; the next block is asked for"},
    [BUG_TP_PROGRESS_PARAMS] = {"tp-progress-params", "TP-PROG-1",
                                "(thingspanel) progress wrapped in params with an id"},
    [BUG_TP_READ_DATA] = {"tp-read-data", "TP-PUSH-1",
                          "(thingspanel) reads the package from data: the push is ignored"},
    [BUG_TP_SIZE_ZERO] = {"tp-size-zero-empty", "TP-PUSH-2",
                          "(thingspanel) size \"0\" taken as an empty image: refused"},
    [BUG_TP_NEED_SIGN] = {"tp-need-sign", "TP-PUSH-3",
                          "(thingspanel) an empty sign taken as a bad one: -3"},
    [BUG_DOWNLOAD_TWICE] = {"download-twice", RD_CONFORMANT,
                            "downloads the image twice before verifying it (twice the bytes, "
                            "no rule broken)"},
    [BUG_PWR_VERSION_FIRST] = {"pwr-version-first", "PWR-2",
                               "the version written before the image is in place"},
    [BUG_PWR_IN_PLACE] = {"pwr-in-place", "PWR-1",
                          "the image written over the running one: a cut leaves it broken"},
    [BUG_PWR_TRUST_PARTIAL] = {"pwr-trust-partial", "PWR-4",
                               "a kept partial download resumed without checking its image"},
    [BUG_TP_INFROM_ONLY] = {"tp-infrom-only", "TP-SUB-1",
                            "(thingspanel) subscribes to the infrom push topic only, not inform"},
    [BUG_TP_NO_VERIFY] = {"tp-no-verify", "TP-PUSH-4",
                          "(thingspanel) a pushed sign is never checked: a wrong image is flashed"},
    [BUG_FLASH_OTHER_LATE] = {"flash-other-module-late", "PUSH-5",
                              "a push for another module is installed as its own, 2 s later"},
    /* Blind spots from public bug reports of real OTA code (issue 23). */
    [BUG_RANGE_200_APPENDED] = {"range-200-appended", "DL-4",
                                "a 200 answering a Range request is appended to the partial "
                                "file"},
    [BUG_REDOWNLOAD_BAD_IMAGE] = {"redownload-bad-image", "FAIL-B",
                                  "an image that fails its digest is downloaded again, 8 times "
                                  "0.2 s apart, before -3"},
    [BUG_OFFSET_KEPT] = {"offset-kept-between-jobs", "DL-4",
                         "the byte counter of the last download is not cleared: a new job's "
                         "first request starts where the old one ended"},
    [BUG_TARGET_RUNS_OLD] = {"reports-target-runs-old", "VER-6",
                             "the target version is written, the old image keeps running"},
    [BUG_PROGRESS_OVER_100] = {"progress-over-100-on-resume", "PROG-1",
                               "after a resume, progress in percent of the remaining bytes "
                               "(above 100)"},
    /* Images the device checks itself (--image-check, --swupdate). */
    [BUG_IGNORES_IMAGE_CHECK] = {"ignores-image-check", "IMG-1",
                                 "(--image-check) the app header is not checked: a broken or "
                                 "foreign image is flashed; (--swupdate) a bundle SWUpdate "
                                 "refuses is unpacked by hand and booted"},
    [BUG_REPORTS_PUSHED_VER] = {"reports-pushed-version", "IMG-2",
                                "(--image-check, --swupdate) reports the pushed version, not the "
                                "image's"},
    [BUG_DIFF_WRONG_BASE] = {"diff-wrong-base-flashed", "DIFF-2",
                             "(--image-check) a diff made against another base is applied and "
                             "flashed"},
};

int rd_bug_parse(const char *name, rd_bug *out)
{
    for (int i = 0; i < BUG__COUNT; i++) {
        if (!strcmp(rd_bugs[i].name, name)) {
            *out = (rd_bug)i;
            return 0;
        }
    }
    return -1;
}

const char *rd_state_name(rd_state s)
{
    static const char *const names[] = {"idle", "downloading", "verifying", "flashing"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}
