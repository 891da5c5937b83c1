/* Topic names: build, parse back, and refuse what is not ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "otaproto/topic.h"

static void every_kind_round_trips(void **state)
{
    char buf[OTA_MAX_TOPIC + 1], pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    ota_topic_kind k;
    (void)state;
    for (int i = 0; i < OTA_TOPIC__COUNT; i++) {
        assert_int_equal(
            ota_topic_build((ota_topic_kind)i, "a1B2c3D4e5F", "dev-001", buf, sizeof(buf)), OTA_OK);
        assert_int_equal(ota_topic_parse(buf, &k, pk, dn), OTA_OK);
        assert_int_equal(k, i);
        assert_string_equal(pk, "a1B2c3D4e5F");
        assert_string_equal(dn, "dev-001");
    }
    ota_topic_build(OTA_TOPIC_INFORM, "pk", "dn", buf, sizeof(buf));
    assert_string_equal(buf, "/ota/device/inform/pk/dn");
    ota_topic_build(OTA_TOPIC_FW_GET_REPLY, "pk", "dn", buf, sizeof(buf));
    assert_string_equal(buf, "/sys/pk/dn/thing/ota/firmware/get_reply");
    assert_string_equal(ota_topic_filter(OTA_TOPIC_PROGRESS), "/ota/device/progress/+/+");
}

static void foreign_topics_are_refused(void **state)
{
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1], buf[8];
    ota_topic_kind k;
    (void)state;
    assert_int_equal(ota_topic_parse("/ota/device/inform/pk", &k, pk, dn), OTA_ERR_TOPIC);
    assert_int_equal(ota_topic_parse("/ota/device/inform/pk/dn/x", &k, pk, dn), OTA_ERR_TOPIC);
    assert_int_equal(ota_topic_parse("/ota/device/inform//dn", &k, pk, dn), OTA_ERR_TOPIC);
    assert_int_equal(ota_topic_parse("/sys/pk/dn/thing/event/post", &k, pk, dn), OTA_ERR_TOPIC);
    assert_int_equal(ota_topic_build(OTA_TOPIC_INFORM, "p/k", "dn", buf, sizeof(buf)), OTA_ERR_ARG);
    assert_int_equal(ota_topic_build(OTA_TOPIC_INFORM, "pk", "", buf, sizeof(buf)), OTA_ERR_ARG);
    assert_int_equal(ota_topic_build(OTA_TOPIC_INFORM, "pk", "dn", buf, sizeof(buf)),
                     OTA_ERR_SPACE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_round_trips),
        cmocka_unit_test(foreign_topics_are_refused),
    };
    return cmocka_run_group_tests_name("topic", tests, NULL, NULL);
}
