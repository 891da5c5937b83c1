/* CRC-16/ARC, digests and login signing against the spec's golden vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <string.h>

#include "otaproto/crypto.h"
#include "vectors.h"

static int setup(void **state)
{
    *state = vectors_load();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    cJSON_Delete(*state);
    return 0;
}

static void crc_matches_every_vector(void **state)
{
    const cJSON *v;
    unsigned char buf[1000];
    int n = 0;

    cJSON_ArrayForEach(v, cJSON_GetObjectItem(*state, "crc16_arc"))
    {
        size_t len;
        unsigned want = (unsigned)strtoul(vstr(v, "crc"), NULL, 16);
        if (vstr(v, "data_hex")) {
            len = hex_to_bytes(vstr(v, "data_hex"), buf, sizeof(buf));
        } else {
            len = 1000;
            sample_image(buf, len);
        }
        assert_int_equal(ota_crc16_arc(buf, len), want);
        n++;
    }
    assert_int_equal(n, 4);
    assert_int_equal(ota_crc16_arc("123456789", 9), 0xBB3D);
}

static void crc_update_is_incremental(void **state)
{
    (void)state;
    uint16_t c = ota_crc16_arc_update(0, "1234", 4);
    assert_int_equal(ota_crc16_arc_update(c, "56789", 5), 0xBB3D);
}

/* The definition, one bit at a time: what the tables must agree with. */
static uint16_t crc_bitwise(uint16_t crc, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

/*
 * One byte value at each position of an eight-byte stride indexes every entry
 * of the eight tables once; lengths 0..40 at odd offsets and split updates
 * cover the byte-wise tail and the hand-over between the two loops.
 */
static void crc_tables_match_bitwise_definition(void **state)
{
    uint8_t buf[64];
    (void)state;

    for (int pos = 0; pos < 8; pos++)
        for (int b = 0; b < 256; b++) {
            memset(buf, 0, 8);
            buf[pos] = (uint8_t)b;
            assert_int_equal(ota_crc16_arc(buf, 8), crc_bitwise(0, buf, 8));
            assert_int_equal(ota_crc16_arc_update(0x1234, buf, 8), crc_bitwise(0x1234, buf, 8));
        }
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 97 + 13);
    for (size_t len = 0; len <= 40; len++)
        for (size_t off = 0; off < 8; off++) {
            uint16_t split = ota_crc16_arc_update(ota_crc16_arc(buf + off, len / 3),
                                                  buf + off + len / 3, len - len / 3);
            assert_int_equal(ota_crc16_arc(buf + off, len), crc_bitwise(0, buf + off, len));
            assert_int_equal(split, crc_bitwise(0, buf + off, len));
        }
}

static void digests_match_sample_image(void **state)
{
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(*state, "digest"), 0);
    unsigned char img[1000];
    char hex[65];
    ota_digest *d = NULL;

    sample_image(img, sizeof(img));
    assert_int_equal(ota_digest_hex(OTA_DIGEST_MD5, img, sizeof(img), hex, sizeof(hex)), OTA_OK);
    assert_string_equal(hex, vstr(v, "md5"));
    assert_int_equal(ota_digest_new(OTA_DIGEST_SHA256, &d), OTA_OK);
    ota_digest_update(d, img, 500);
    ota_digest_update(d, img + 500, 500);
    assert_int_equal(ota_digest_final_hex(d, hex, sizeof(hex)), OTA_OK);
    assert_string_equal(hex, vstr(v, "sha256"));
    ota_digest_free(d);
    assert_int_equal(ota_digest_hex(OTA_DIGEST_MD5, img, 1, hex, 10), OTA_ERR_SPACE);
}

static void sign_method_spellings(void **state)
{
    ota_digest_kind k;
    (void)state;
    assert_int_equal(ota_sign_method_parse("Md5", &k), OTA_OK);
    assert_int_equal(k, OTA_DIGEST_MD5);
    assert_int_equal(ota_sign_method_parse("MD5", &k), OTA_OK);
    assert_int_equal(ota_sign_method_parse("Sha256", &k), OTA_OK);
    assert_int_equal(k, OTA_DIGEST_SHA256);
    assert_int_equal(ota_sign_method_parse("SHA1", &k), OTA_ERR_ARG);
    assert_int_equal(ota_sign_method_parse(NULL, &k), OTA_ERR_ARG);
    assert_true(ota_hex_equal("abCD", "ABcd"));
    assert_false(ota_hex_equal("abcd", "abc"));
}

static void login_passwords_match_vectors(void **state)
{
    static const struct {
        ota_signmethod m;
        const char *key;
    } ms[] = {{OTA_SIGNMETHOD_HMACSHA256, "password_hmacsha256"},
              {OTA_SIGNMETHOD_HMACSHA1, "password_hmacsha1"},
              {OTA_SIGNMETHOD_HMACMD5, "password_hmacmd5"}};
    const cJSON *v;

    cJSON_ArrayForEach(v, cJSON_GetObjectItem(*state, "login"))
    {
        for (size_t i = 0; i < 3; i++) {
            ota_login l;
            assert_int_equal(ota_login_build(vstr(v, "productKey"), vstr(v, "deviceName"),
                                             vstr(v, "deviceSecret"), ms[i].m, 3,
                                             vstr(v, "timestamp"), &l),
                             OTA_OK);
            assert_string_equal(l.password, vstr(v, ms[i].key));
            assert_string_equal(l.username, vstr(v, "username"));
            assert_int_equal(
                ota_login_verify(l.client_id, l.username, l.password, vstr(v, "deviceSecret")),
                OTA_OK);
        }
        /* The SDK's own clientId with the 4.x trailing ",|". */
        assert_int_equal(ota_login_verify(vstr(v, "clientId_securemode3"), vstr(v, "username"),
                                          vstr(v, "password_hmacsha256"), vstr(v, "deviceSecret")),
                         OTA_OK);
    }
}

static void login_observed_3x_verifies(void **state)
{
    const cJSON *v =
        cJSON_GetArrayItem(cJSON_GetObjectItem(*state, "login_observed_on_the_wire"), 0);
    char lower[129];

    assert_int_equal(ota_login_verify(vstr(v, "clientId"), vstr(v, "username"), vstr(v, "password"),
                                      vstr(v, "deviceSecret")),
                     OTA_OK);
    snprintf(lower, sizeof(lower), "%s", vstr(v, "password"));
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    assert_int_equal(
        ota_login_verify(vstr(v, "clientId"), vstr(v, "username"), lower, vstr(v, "deviceSecret")),
        OTA_OK);
}

static void login_refuses_bad_input(void **state)
{
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(*state, "login"), 0);
    const char *cid = vstr(v, "clientId_securemode3"), *user = vstr(v, "username");
    const char *pw = vstr(v, "password_hmacsha256"), *secret = vstr(v, "deviceSecret");
    char big[600];
    ota_client_id c;

    assert_int_equal(ota_login_verify(cid, user, pw, "wrong-secret"), OTA_ERR_SIGN);
    assert_int_equal(ota_login_verify(cid, "other&a1B2c3D4e5F", pw, secret), OTA_ERR_SIGN);
    assert_int_equal(ota_login_verify(cid, "no-ampersand", pw, secret), OTA_ERR_ARG);
    assert_int_equal(
        ota_login_verify("a1B2c3D4e5F.dev-001|signmethod=hmacsha512|", user, pw, secret),
        OTA_ERR_ARG);
    assert_int_equal(ota_login_verify("a1B2c3D4e5F.dev-001|timestamp=2524608000001,securemode=3,"
                                      "signmethod=hmacsha256|",
                                      user, pw, secret),
                     OTA_ERR_SIGN);
    assert_int_equal(ota_login_verify("a1B2c3D4e5F.dev-001", user, pw, secret), OTA_ERR_ARG);
    assert_int_equal(ota_login_verify("a1B2c3D4e5F.dev-001|securemode=3|", user, pw, secret),
                     OTA_ERR_MISSING);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(ota_client_id_parse(big, &c), OTA_ERR_TOO_LONG);
    assert_int_equal(ota_client_id_parse("|securemode=2,signmethod=hmacmd5|", &c), OTA_OK);
    assert_true(c.assigned);
    assert_int_equal(c.securemode, 2);
    assert_int_equal(c.signmethod, OTA_SIGNMETHOD_HMACMD5);
}

static void client_id_names_its_device(void **state)
{
    (void)state;
    assert_true(ota_client_id_names("pk1.dev-1|securemode=3|", "pk1", "dev-1"));
    assert_true(ota_client_id_names("pk1.dev-1|", "pk1", "dev-1")); /* whatever follows */
    assert_false(ota_client_id_names("pk1.dev-10|securemode=3|", "pk1", "dev-1"));
    assert_false(ota_client_id_names("pk1.dev-1", "pk1", "dev-1"));
    assert_false(ota_client_id_names("pk2.dev-1|", "pk1", "dev-1"));
    assert_false(ota_client_id_names("|securemode=2|", "pk1", "dev-1"));
    assert_false(ota_client_id_names(NULL, "pk1", "dev-1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_matches_every_vector),
        cmocka_unit_test(crc_update_is_incremental),
        cmocka_unit_test(crc_tables_match_bitwise_definition),
        cmocka_unit_test(digests_match_sample_image),
        cmocka_unit_test(sign_method_spellings),
        cmocka_unit_test(login_passwords_match_vectors),
        cmocka_unit_test(login_observed_3x_verifies),
        cmocka_unit_test(login_refuses_bad_input),
        cmocka_unit_test(client_id_names_its_device),
    };
    return cmocka_run_group_tests_name("crypto", tests, setup, teardown);
}
