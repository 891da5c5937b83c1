/*
 * libFuzzer target: a device's CONNECT fields and the topics it uses, as the
 * broker plugin judges them. The input is "clientId\nusername\npassword\ntopic";
 * the login goes through the plugin's decision (oa_login_check, with auth on
 * and off), the clientId parser and the signature check; the topic through the
 * ACL (publish and subscribe) and the topic parser.
 */
#include "fuzz.h"
#include "otaproto/crypto.h"
#include "otaproto/topic.h"
#include "policy.h"

static const oa_device fz_devices[] = {
    {"a1B2c3D4e5F", "dev-001", "0123456789abcdef0123456789abcdef"},
    {"pkTest0001", "dev001", "s3cr3t"},
    {"a1TestPK001", "dut01", "0123456789abcdef0123456789abcdef"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[4], *buf = fz_fields(data, size, f, 4);
    size_t n = sizeof(fz_devices) / sizeof(fz_devices[0]);
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    ota_client_id cid;
    ota_topic_kind kind;
    oa_login l;

    for (int off = 0; off < 2; off++) {
        oa_login_check(fz_devices, n, "cloud-pass", off, f[0], f[1], f[2], &l);
        if (l.kind == OA_LOGIN_DEVICE && !off && !f[2][0])
            abort(); /* a signed login without a password */
        if (l.kind == OA_LOGIN_DEVICE)
            (void)oa_acl_allowed(l.pk, l.dn, f[3], off);
    }
    (void)ota_client_id_parse(f[0], &cid);
    (void)ota_login_verify(f[0], f[1], f[2], fz_devices[0].secret);
    (void)oa_acl_allowed(fz_devices[0].pk, fz_devices[0].dn, f[3], 1);
    (void)ota_topic_parse(f[3], &kind, pk, dn);
    free(buf);
    return 0;
}
