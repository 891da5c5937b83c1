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
