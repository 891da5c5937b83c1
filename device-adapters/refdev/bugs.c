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
