/* The otaauth plugin's pure decisions: logins and the topic namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "otaproto/crypto.h"
#include "policy.h"

static const oa_device devs[] = {
    {"a1B2c3D4e5F", "dev-001", "0123456789abcdef0123456789abcdef"},
    {"a1B2c3D4e5F", "dev-002", "fedcba9876543210fedcba9876543210"},
};

#define CID                                                                                        \
    "a1B2c3D4e5F.dev-001|timestamp=2524608000000,_ss=1,_v=sdk-c-4.0.0,securemode=3,signmethod="    \
    "hmacsha256,ext=3,|"
#define PW "7ED8E8ED1E58797324CF443DB210AAB129888F364A2A704A280E8DF3F754C353"

static void check(const char *cid, const char *user, const char *pw, oa_login_kind want)
{
    oa_login l;
    oa_login_check(devs, 2, "cloud-secret", 0, cid, user, pw, &l);
    if (l.kind != want)
        fail_msg("login %s / %s: got %d (%s), want %d", cid ? cid : "-", user ? user : "-", l.kind,
                 l.reason, want);
}

static void sdk_logins_pass(void **state)
{
    char lower[sizeof(PW)];
    ota_login sha1;
    (void)state;
    check(CID, "dev-001&a1B2c3D4e5F", PW, OA_LOGIN_DEVICE);
    strcpy(lower, PW);
    for (char *p = lower; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
    check(CID, "dev-001&a1B2c3D4e5F", lower, OA_LOGIN_DEVICE);
    ota_login_build("a1B2c3D4e5F", "dev-001", devs[0].secret, OTA_SIGNMETHOD_HMACSHA1, 3,
                    OTA_LOGIN_TIMESTAMP, &sha1);
    check(sha1.client_id, sha1.username, sha1.password, OA_LOGIN_DEVICE);
    check(NULL, "ota-mock-cloud", "cloud-secret", OA_LOGIN_CLOUD);
}

static void bad_logins_are_refused(void **state)
{
    char big[700];
    (void)state;
    check(CID, "dev-001&a1B2c3D4e5F", "00", OA_LOGIN_REFUSED); /* wrong pw */
    check(CID, "dev-002&a1B2c3D4e5F", PW, OA_LOGIN_REFUSED);   /* other dev */
    check("a1B2c3D4e5F.dev-001|timestamp=2524608000001,securemode=3,signmethod=hmacsha256|",
          "dev-001&a1B2c3D4e5F", PW, OA_LOGIN_REFUSED); /* tampered ts */
    check("a1B2c3D4e5F.dev-001|timestamp=2524608000000,securemode=3,signmethod=hmacsha512|",
          "dev-001&a1B2c3D4e5F", PW, OA_LOGIN_REFUSED);      /* bad method */
    check(CID, "dev-009&a1B2c3D4e5F", PW, OA_LOGIN_REFUSED); /* unknown */
    check(CID, "", PW, OA_LOGIN_REFUSED);
    check(CID, NULL, PW, OA_LOGIN_REFUSED);
    check(CID, "dev-001&a1B2c3D4e5F", NULL, OA_LOGIN_REFUSED);
    check("", "dev-001&a1B2c3D4e5F", PW, OA_LOGIN_REFUSED);
    check(CID, "dev-001", PW, OA_LOGIN_REFUSED);
    check(CID, "ota-mock-cloud", PW, OA_LOGIN_REFUSED); /* cloud cred */
    check(CID, "dev-001&a1B2c3D4e5F", "\xff\xfe\x80", OA_LOGIN_REFUSED);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    check(big, "dev-001&a1B2c3D4e5F", PW, OA_LOGIN_REFUSED);
    check(CID, big, PW, OA_LOGIN_REFUSED);
}

static void auth_off_skips_the_signature_only(void **state)
{
    oa_login l;
    (void)state;
    oa_login_check(devs, 2, "x", 1, "anything", "dev-001&a1B2c3D4e5F", "nope", &l);
    assert_int_equal(l.kind, OA_LOGIN_DEVICE);
    oa_login_check(devs, 2, "x", 1, "anything", "dev-009&a1B2c3D4e5F", "nope", &l);
    assert_int_equal(l.kind, OA_LOGIN_REFUSED);
}

static void namespace_rules(void **state)
{
    const char *pk = "pk1", *dn = "dn1";
    (void)state;
    assert_true(oa_acl_allowed(pk, dn, "/ota/device/inform/pk1/dn1", 0));
    assert_true(oa_acl_allowed(pk, dn, "/ota/device/upgrade/pk1/dn1", 1));
    assert_true(oa_acl_allowed(pk, dn, "/ota/device/+/pk1/dn1", 1));
    assert_true(oa_acl_allowed(pk, dn, "/sys/pk1/dn1/thing/deviceinfo/update", 0));
    assert_true(oa_acl_allowed(pk, dn, "/sys/pk1/dn1/#", 1));
    assert_true(oa_acl_allowed(pk, dn, "/sys/pk1/dn1/thing/+/get_reply", 1));
    assert_true(oa_acl_allowed(pk, dn, "/pk1/dn1/user/get", 0));
    assert_true(oa_acl_allowed(pk, dn, "/shadow/update/pk1/dn1", 0));
    assert_false(oa_acl_allowed(pk, dn, "#", 1));
    assert_false(oa_acl_allowed(pk, dn, "/ota/device/+/+/+", 1));
    assert_false(oa_acl_allowed(pk, dn, "/ota/device/#", 1));
    assert_false(oa_acl_allowed(pk, dn, "/ota/device/inform/pk1/dn2", 0));
    assert_false(oa_acl_allowed(pk, dn, "/ota/device/inform/pk1/dn1/x", 0));
    assert_false(oa_acl_allowed(pk, dn, "/sys/+/dn1/thing/ota/firmware/get", 1));
    assert_false(oa_acl_allowed(pk, dn, "/sys/pk1/dn10/thing", 0));
    assert_false(oa_acl_allowed(pk, dn, "/sys/pk1", 0));
    assert_false(oa_acl_allowed(pk, dn, "$ota/events", 1));
    assert_false(oa_acl_allowed(pk, dn, "$SYS/#", 1));
    assert_false(oa_acl_allowed(pk, dn, "ota/device/inform/pk1/dn1", 0));
    assert_false(oa_acl_allowed(pk, dn, "", 0));
    assert_false(oa_acl_allowed(pk, dn, "/shadow/#", 1));
}

/* ThingsPanel: the access token is the username; an unknown one is refused, as its broker does. */
static void token_logins(void **state)
{
    oa_login l;
    (void)state;
    oa_token_login_check(devs, 2, "cloud-secret", "fedcba9876543210fedcba9876543210", "", &l);
    assert_int_equal(l.kind, OA_LOGIN_DEVICE);
    assert_string_equal(l.dn, "dev-002");
    oa_token_login_check(devs, 2, "cloud-secret", "fedcba9876543210fedcba9876543210", NULL, &l);
    assert_int_equal(l.kind, OA_LOGIN_DEVICE);
    oa_token_login_check(devs, 2, "cloud-secret", "no-such-token", NULL, &l);
    assert_int_equal(l.kind, OA_LOGIN_REFUSED);
    assert_non_null(strstr(l.reason, "unknown access token"));
    oa_token_login_check(devs, 2, "cloud-secret", "dev-001&a1B2c3D4e5F", PW, &l);
    assert_int_equal(l.kind, OA_LOGIN_REFUSED);
    oa_token_login_check(devs, 2, "cloud-secret", "fedcba9876543210fedcba9876543210", "pw", &l);
    assert_int_equal(l.kind, OA_LOGIN_REFUSED);
    oa_token_login_check(devs, 2, "cloud-secret", "ota-mock-cloud", "cloud-secret", &l);
    assert_int_equal(l.kind, OA_LOGIN_CLOUD);
}

static void thingspanel_topic_rules(void **state)
{
    const ota_dialect *tp = ota_dialect_find("thingspanel");
    (void)state;
    assert_true(oa_dialect_acl_allowed(tp, "pk1", "dn1", "ota/devices/progress", 0));
    assert_true(oa_dialect_acl_allowed(tp, "pk1", "dn1", "ota/devices/inform/dn1", 1));
    assert_true(oa_dialect_acl_allowed(tp, "pk1", "dn1", "ota/devices/infrom/dn1", 1));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "ota/devices/inform/dn2", 1));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "ota/devices/inform/+", 1));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "ota/devices/#", 1));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "/ota/device/progress/pk1/dn1", 0));
    /* The platform's device topics: telemetry, attributes (the suggested version report). */
    assert_true(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/attributes/1700000000", 0));
    assert_true(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/telemetry", 0));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/status/dn1", 0));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/attributes/+", 0));
    assert_true(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/attributes/set/dn1/+", 1));
    assert_true(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/telemetry/control/dn1", 1));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/telemetry/control/dn2", 1));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/+/dn1", 1));
    assert_false(oa_dialect_acl_allowed(tp, "pk1", "dn1", "devices/#", 1));
    /* Aliyun through the same entry point is oa_acl_allowed. */
    assert_true(oa_dialect_acl_allowed(NULL, "pk1", "dn1", "/ota/device/progress/pk1/dn1", 0));
    assert_false(oa_dialect_acl_allowed(NULL, "pk1", "dn1", "ota/devices/progress", 0));
}

static void devices_file_parses(void **state)
{
    oa_device out[3];
    (void)state;
    assert_int_equal(oa_devices_parse("pk\tdn\tsecret\n\njunk line\npk2\tdn2\ts2", out, 3), 2);
    assert_string_equal(out[1].secret, "s2");
    assert_int_equal(oa_devices_parse("a\tb\tc\na\tb\tc\n", out, 1), -1);
}

/* A flood: the cap holds within a second, drops are counted, told once, then counting starts again.
 */
static void rate_caps_and_counts_a_flood(void **state)
{
    oa_rate r = {0};
    unsigned long seen = 0, dropped = 0, passed = 0;
    (void)state;

    for (int i = 0; i < 25; i++)
        passed += (unsigned long)oa_rate_admit(&r, 100.0 + i * 0.01, 10);
    assert_int_equal(passed, 10);
    assert_false(oa_rate_take(&r, 100.5, &seen, &dropped)); /* the second is not over */
    assert_true(oa_rate_take(&r, 101.0, &seen, &dropped));
    assert_int_equal(seen, 25);
    assert_int_equal(dropped, 15);
    assert_false(oa_rate_take(&r, 103.0, &seen, &dropped)); /* told once */
    assert_true(oa_rate_admit(&r, 103.0, 10));
    /* Without drops a window just closes: nothing to tell. */
    for (int i = 0; i < 10; i++)
        assert_true(oa_rate_admit(&r, 105.0, 10));
    assert_false(oa_rate_take(&r, 107.0, &seen, &dropped));
    assert_true(oa_rate_admit(&r, 107.0, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_caps_and_counts_a_flood),
        cmocka_unit_test(sdk_logins_pass),
        cmocka_unit_test(bad_logins_are_refused),
        cmocka_unit_test(auth_off_skips_the_signature_only),
        cmocka_unit_test(namespace_rules),
        cmocka_unit_test(token_logins),
        cmocka_unit_test(thingspanel_topic_rules),
        cmocka_unit_test(devices_file_parses),
    };
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
