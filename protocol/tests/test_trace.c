/* The trace record: encode, decode, binary payloads, and broken lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "otaproto/trace.h"

static void text_record_round_trips(void **state)
{
    ota_trace_rec r = {0}, d;
    char *line = NULL;
    (void)state;
    r.t = 1.234567;
    r.kind = OTA_TR_MQTT_IN;
    strcpy(r.dev, "dev-001");
    strcpy(r.topic, "/ota/device/progress/pk/dev-001");
    r.payload = (unsigned char *)"{\"params\":{\"step\":\"5\",\"desc\":\"a\\\"b\\n\"}}";
    r.payload_len = strlen((char *)r.payload);
    strcpy(r.info, "progress 5");
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    assert_null(strchr(line, '\n'));
    assert_int_equal(ota_trace_decode(line, strlen(line), &d), OTA_OK);
    assert_int_equal(d.kind, OTA_TR_MQTT_IN);
    assert_true(d.t > 1.2345 && d.t < 1.2346);
    assert_string_equal(d.dev, r.dev);
    assert_string_equal(d.topic, r.topic);
    assert_string_equal(d.info, r.info);
    assert_int_equal(d.payload_len, r.payload_len);
    assert_memory_equal(d.payload, r.payload, r.payload_len);
    ota_trace_rec_clear(&d);
    free(line);
}

static void binary_record_round_trips(void **state)
{
    unsigned char bin[] = {0, 0x6e, 0xff, 0x10, 0};
    ota_trace_rec r = {0}, d;
    char *line = NULL;
    (void)state;
    r.kind = OTA_TR_MQTT_OUT;
    r.payload = bin;
    r.payload_len = sizeof(bin);
    r.binary = 1;
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    assert_non_null(strstr(line, "\"payload_hex\":\"006eff1000\""));
    assert_int_equal(ota_trace_decode(line, strlen(line), &d), OTA_OK);
    assert_true(d.binary);
    assert_int_equal(d.payload_len, sizeof(bin));
    assert_memory_equal(d.payload, bin, sizeof(bin));
    ota_trace_rec_clear(&d);
    free(line);
}

static void event_fields_round_trip(void **state)
{
    ota_trace_rec r = {0}, d;
    char *line = NULL;
    (void)state;
    r.kind = OTA_TR_BROKER;
    r.event = OTA_EV_CONNECT;
    strcpy(r.info, "connect:  client pk.dn|securemode=3|");
    assert_int_equal(ota_trace_set_client(&r, "pk.dn|securemode=3|"), OTA_OK);
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    assert_non_null(strstr(line, "\"event\":\"connect\""));
    assert_null(strstr(line, "\"offset\"")); /* a connect has no offset */
    assert_int_equal(ota_trace_decode(line, strlen(line), &d), OTA_OK);
    assert_int_equal(d.event, OTA_EV_CONNECT);
    assert_string_equal(d.client, "pk.dn|securemode=3|");
    assert_int_equal(d.offset, -1);
    ota_trace_rec_clear(&d);
    ota_trace_rec_clear(&r);
    free(line);

    memset(&r, 0, sizeof(r));
    r.kind = OTA_TR_HTTP;
    r.event = OTA_EV_HTTP_DONE;
    r.offset = 0;
    r.last = 4095;
    r.status = 206;
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    assert_int_equal(ota_trace_decode(line, strlen(line), &d), OTA_OK);
    assert_int_equal(d.event, OTA_EV_HTTP_DONE);
    assert_int_equal(d.offset, 0);
    assert_int_equal(d.last, 4095);
    assert_int_equal(d.status, 206);
    ota_trace_rec_clear(&d);
    free(line);

    memset(&r, 0, sizeof(r));
    r.kind = OTA_TR_CLOUD;
    r.event = OTA_EV_REPEATED;
    r.of = OTA_EV_HTTP_GET;
    r.count = 1234;
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    assert_int_equal(ota_trace_decode(line, strlen(line), &d), OTA_OK);
    assert_int_equal(d.of, OTA_EV_HTTP_GET);
    assert_int_equal(d.count, 1234);
    free(line);
}

static void plain_records_have_no_event(void **state)
{
    ota_trace_rec d;
    ota_trace_event e;
    (void)state;
    assert_int_equal(ota_trace_decode("{\"t\":1,\"kind\":\"log\",\"info\":\"crash\"}", 35, &d),
                     OTA_OK);
    assert_int_equal(d.event, OTA_EV_NONE); /* the words "crash" are not an event */
    assert_int_equal(ota_trace_decode("{\"t\":1,\"kind\":\"log\",\"event\":\"nope\"}", 35, &d),
                     OTA_ERR_RANGE);
    for (int i = 0; i < OTA_EV__COUNT; i++) {
        assert_int_equal(ota_trace_event_parse(ota_trace_event_name((ota_trace_event)i), &e),
                         OTA_OK);
        assert_int_equal(e, i);
    }
    assert_string_equal(ota_trace_event_name(OTA_EV__COUNT), "unknown");
}

static void broken_lines_are_refused(void **state)
{
    ota_trace_rec d;
    (void)state;
    assert_int_equal(ota_trace_decode("{\"t\":1", 6, &d), OTA_ERR_JSON);
    assert_int_equal(ota_trace_decode("{\"t\":1}", 7, &d), OTA_ERR_MISSING);
    assert_int_equal(ota_trace_decode("{\"t\":\"1\",\"kind\":\"log\"}", 22, &d), OTA_ERR_TYPE);
    assert_int_equal(ota_trace_decode("{\"t\":1,\"kind\":\"nope\"}", 21, &d), OTA_ERR_RANGE);
    assert_int_equal(ota_trace_decode("{\"t\":1,\"kind\":\"log\",\"payload_hex\":\"abc\"}", 40, &d),
                     OTA_ERR_TYPE);
    assert_null(d.payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_record_round_trips),     cmocka_unit_test(binary_record_round_trips),
        cmocka_unit_test(broken_lines_are_refused),    cmocka_unit_test(event_fields_round_trip),
        cmocka_unit_test(plain_records_have_no_event),
    };
    return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
