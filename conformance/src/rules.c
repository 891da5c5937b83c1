/*
 * The rules of docs/judging.md with their tiers. The runner refuses a test
 * that cites an ID not listed here. (The catalogue as data, with coverage,
 * is the next step; the tiers here are the document's.)
 */
#include <string.h>

#include "ct.h"

static const ct_rule rules[] = {
    {"VER-1", CT_MUST, 0, "inform within 10 s of every boot, with a non-empty string version"},
    {"VER-2", CT_MUST, 0, "id is an integer or a decimal string in 0..4294967295"},
    {"VER-3", CT_SHOULD, 0, "id is a string"},
    {"VER-4", CT_SHOULD, 0, "id values differ between messages of one boot"},
    {"VER-5", CT_MUST, 0, "module equals the device's module; absent or \"default\" for default"},
    {"VER-6", CT_MUST, 0, "the reported version is the one running"},
    {"VER-7", CT_SHOULD, 0, "no periodic re-reporting"},
    {"PUSH-1", CT_MUST, 0, "a live-cloud push starts the upgrade within 10 s"},
    {"PUSH-2", CT_MUST, 0, "firmware/get is well formed and its reply starts the upgrade"},
    {"PUSH-3", CT_SHOULD, 1, "a doc-style push is acted on"},
    {"PUSH-4", CT_SHOULD, 1, "every signMethod spelling and upper-case hex are accepted"},
    {"PUSH-5", CT_MUST, 0, "a push for another module is never flashed"},
    {"PUSH-6", CT_MUST, 0, "a push for the running version changes nothing"},
    {"PUSH-7", CT_MUST, 0, "a second push during a download never corrupts the device"},
    {"PUSH-8", CT_MUST, 0, "a pending job is delivered again on reconnect and completes"},
    {"PUSH-9", CT_SHOULD, 1, "a one-element files[] package is processed"},
    {"PUSH-10", CT_SHOULD, 0, "a multi-file package is processed or refused with -1"},
    {"PROG-1", CT_MUST, 0, "step is a string holding a decimal integer in -4..100"},
    {"PROG-2", CT_MUST, 0, "desc, when present, is a string of at most 128 characters"},
    {"PROG-3", CT_MUST, 0, "progress module follows VER-5"},
    {"PROG-4", CT_SHOULD, 0, "within one request the step never decreases"},
    {"PROG-5", CT_SHOULD, 0, "intermediate reports at most once per 3 s"},
    {"PROG-6", CT_MUST, 0, "one negative step per failed attempt, nothing positive after it"},
    {"PROG-7", CT_SHOULD, 0, "a successful upgrade reports 100 before restarting"},
    {"PROG-8", CT_SHOULD, 0, "a failure step carries a non-empty desc"},
    {"FAIL-2", CT_MUST, 0, "a download that cannot complete is reported as -2 within 60 s"},
    {"FAIL-2B", CT_SHOULD, 0, "an MQTT block download that can never finish is -2"},
    {"FAIL-3", CT_MUST, 0, "a digest mismatch is -3 and the image is never flashed"},
    {"FAIL-3S", CT_SHOULD, 0, "a size mismatch is -2 or -3"},
    {"FAIL-4", CT_MUST, 0, "an injected flash-write failure is -4, old version kept"},
    {"FAIL-1", CT_SHOULD, 0, "an unusable push is answered with -1 or ignored, never -2/-3/-4"},
    {"FAIL-R", CT_MUST, 0, "after any failure the next upgrade succeeds"},
    {"FAIL-B", CT_SHOULD, 0, "retries are bounded (3) and spaced (1 s)"},
    {"FINAL-1", CT_MUST, 0, "after the upgrade, inform reports exactly the target version"},
    {"FINAL-2", CT_MUST, 0, "the target version is never reported before the image is written"},
    {"FINAL-3", CT_MUST, 0, "two upgrades back to back both succeed"},
    {"DL-1", CT_MUST, 0, "the URL's path and query are requested exactly as pushed"},
    {"DL-2", CT_MUST, 0, "one transient fault does not stop the upgrade"},
    {"DL-3", CT_SHOULD, 0, "an interrupted HTTP download resumes with Range"},
    {"DL-4", CT_MUST, 0, "Range requests do not overlap"},
    {"DL-5", CT_MUST, 0, "block requests are well formed and in bounds"},
    {"DL-6", CT_SHOULD, 1, "block requests are valid JSON"},
    {"DL-7", CT_MUST, 0, "a block with a bad CRC is never used"},
    {"DL-8", CT_MUST, 0, "a slow download completes"},
    {"DL-9", CT_SHOULD, 1, "chunked encoding and a missing Content-Length are handled"},
    {"SEC-1", CT_MUST, 0, "the login is signed correctly"},
    {"SEC-2", CT_MUST, 0, "the device stays inside its own topic namespace"},
    {"SEC-3", CT_MUST, 0, "over TLS a certificate from an unknown CA is refused"},
    {"SEC-4", CT_SHOULD, 0, "securemode says 2 over TLS and 3 over TCP"},
};

const ct_rule *ct_rule_at(size_t i)
{
    return i < sizeof(rules) / sizeof(rules[0]) ? &rules[i] : NULL;
}

const ct_rule *ct_rule_find(const char *id)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (!strcmp(rules[i].id, id))
            return &rules[i];
    return NULL;
}

const char *ct_tier_name(ct_tier t)
{
    return t == CT_MUST ? "MUST" : "SHOULD";
}
