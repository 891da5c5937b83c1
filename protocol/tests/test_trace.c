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

/* A reference's bytes: byte i of key k at offset o is (k + o + i) & 0xFF. */
static void ref_bytes(unsigned long long key, long long off, void *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)buf)[i] = (unsigned char)((key + (unsigned long long)off + i) & 0xFF);
}

/* A payload held partly by reference is written whole: the line is that of the copy. */
static void referenced_bytes_are_written_whole(void **state)
{
    unsigned char whole[10] = {0xAA, 0xBB, 0, 0, 0, 0, 0, 0, 0xCC, 0xDD},
                  kept[4] = {0xAA, 0xBB, 0xCC, 0xDD};
    ota_trace_rec full = {0}, byref = {0}, copy, d;
    char *a = NULL, *b = NULL, *c = NULL;
    (void)state;
    ref_bytes(5, 100, whole + 2, 6);
    full.kind = byref.kind = OTA_TR_MQTT_OUT;
    full.binary = byref.binary = 1;
    full.payload = whole;
    full.payload_len = sizeof(whole);
    byref.payload = kept;
    byref.payload_len = sizeof(kept);
    byref.ref_at = 2;
    byref.ref_len = 6;
    byref.ref_off = 100;
    byref.ref_key = 5;
    byref.ref_read = ref_bytes;
    assert_int_equal(ota_trace_payload_size(&byref), sizeof(whole));
    assert_int_equal(ota_trace_encode(&full, &a), OTA_OK);
    assert_int_equal(ota_trace_encode(&byref, &b), OTA_OK);
    assert_string_equal(a, b);
    assert_int_equal(ota_trace_rec_copy(&byref, &copy), OTA_OK);
    assert_ptr_not_equal(copy.payload, byref.payload);
    assert_int_equal(ota_trace_encode(&copy, &c), OTA_OK);
    assert_string_equal(a, c);
    assert_int_equal(ota_trace_decode(b, strlen(b), &d), OTA_OK);
    assert_int_equal(d.payload_len, sizeof(whole));
    assert_int_equal(d.ref_len, 0);
    assert_memory_equal(d.payload, whole, sizeof(whole));
    ota_trace_rec_clear(&d);
    ota_trace_rec_clear(&copy);
    free(a);
    free(b);
    free(c);
}

/* 1 when s is valid UTF-8 throughout. */
static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        size_t n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 : 4;
        if (*s >= 0x80 && (*s < 0xC2 || *s > 0xF4))
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((s[i] & 0xC0) != 0x80)
                return 0;
        s += n;
    }
    return 1;
}

/*
 * Bytes that are not UTF-8 never go raw into the line: each is U+FFFD,
 * counted in bad_utf8, and the count survives a decode and encode again.
 * Valid multi-byte text stays as it is.
 */
static void invalid_utf8_is_replaced_and_counted(void **state)
{
    /* \xff \xfe: never UTF-8; \xc3\x28: a lead byte without its continuation;
     * \xed\xa0\x80: a surrogate; \xc0\xaf: overlong. "é" stays. */
    const char *bad = "{\"desc\":\"bad \xff\xfe \xc3\x28 \xed\xa0\x80 \xc0\xaf caf\xc3\xa9\"}";
    ota_trace_rec r = {0}, d;
    char *line = NULL, *again = NULL;
    (void)state;
    r.kind = OTA_TR_MQTT_IN;
    strcpy(r.dev, "dev-\xff");
    r.payload = (unsigned char *)bad;
    r.payload_len = strlen(bad);
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    assert_true(valid_utf8((const unsigned char *)line));
    assert_non_null(strstr(line, "bad \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd("));
    assert_non_null(strstr(line, "caf\xc3\xa9"));
    assert_non_null(strstr(line, "\"dev\":\"dev-\xef\xbf\xbd\""));
    /* ff, fe, c3, then ed a0 80 and c0 af byte by byte: 8 in the payload, 1 in the name. */
    assert_non_null(strstr(line, "\"bad_utf8\":9"));
    assert_int_equal(ota_trace_decode(line, strlen(line), &d), OTA_OK);
    assert_int_equal(d.bad_utf8, 9);
    assert_int_equal(ota_trace_encode(&d, &again), OTA_OK);
    assert_string_equal(line, again);
    ota_trace_rec_clear(&d);
    free(line);
    free(again);
    /* Valid text has no count. */
    r.payload = (unsigned char *)"{\"desc\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}";
    r.payload_len = strlen((char *)r.payload);
    strcpy(r.dev, "dev-1");
    assert_int_equal(ota_trace_encode(&r, &line), OTA_OK);
    assert_null(strstr(line, "bad_utf8"));
    assert_non_null(strstr(line, "\xf0\x9f\x98\x80"));
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_record_round_trips),
        cmocka_unit_test(binary_record_round_trips),
        cmocka_unit_test(broken_lines_are_refused),
        cmocka_unit_test(event_fields_round_trip),
        cmocka_unit_test(plain_records_have_no_event),
        cmocka_unit_test(referenced_bytes_are_written_whole),
        cmocka_unit_test(invalid_utf8_is_replaced_and_counted),
    };
    return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
