/* The download_reply frame against the spec's two golden frames, and bad lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "otaproto/frame.h"
#include "vectors.h"

static void golden_frames_encode_and_decode(void **state)
{
    cJSON *v = vectors_load(), *f;
    unsigned char img[1000], want[512], got[512];
    int n = 0;
    (void)state;
    sample_image(img, sizeof(img));
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(v, "download_reply_frame"))
    {
        const char *hdr = vstr(f, "header_json");
        size_t wlen = hex_to_bytes(vstr(f, "frame_hex"), want, sizeof(want)), glen = 0;
        ota_block_header h, parsed;
        ota_frame fr;
        char hbuf[256];

        assert_int_equal(wlen, (size_t)cJSON_GetObjectItem(f, "frame_len")->valueint);
        assert_int_equal(ota_block_header_parse(hdr, strlen(hdr), &h), OTA_OK);
        assert_int_equal(ota_block_header_build(&h, hbuf, sizeof(hbuf)), OTA_OK);
        assert_string_equal(hbuf, hdr);
        assert_int_equal(ota_frame_encode(hbuf, strlen(hbuf), img + h.b_offset, (size_t)h.b_size,
                                          got, sizeof(got), &glen),
                         OTA_OK);
        assert_int_equal(glen, wlen);
        assert_memory_equal(got, want, wlen);
        assert_int_equal(ota_frame_decode(want, wlen, &fr), OTA_OK);
        assert_true(fr.crc_ok);
        assert_int_equal(fr.crc_sent, (unsigned)strtoul(vstr(f, "block_crc"), NULL, 16));
        assert_int_equal(fr.data_len, (size_t)h.b_size);
        assert_int_equal(ota_block_header_parse(fr.header, fr.header_len, &parsed), OTA_OK);
        assert_int_equal(parsed.b_offset, h.b_offset);
        n++;
    }
    assert_int_equal(n, 2);
    cJSON_Delete(v);
}

static void bad_lengths_and_crc_are_caught(void **state)
{
    uint8_t buf[64];
    size_t len = 0;
    ota_frame fr;
    (void)state;
    assert_int_equal(ota_frame_encode("{\"code\":200}", 12, "abcd", 4, buf, sizeof(buf), &len),
                     OTA_OK);
    assert_int_equal(ota_frame_decode(buf, 3, &fr), OTA_ERR_FRAME);
    assert_int_equal(ota_frame_decode(buf, 15, &fr), OTA_ERR_FRAME); /* header runs past */
    buf[0] = 0xFF;
    assert_int_equal(ota_frame_decode(buf, len, &fr), OTA_ERR_FRAME);
    buf[0] = 0;
    buf[1] = 0;
    assert_int_equal(ota_frame_decode(buf, len, &fr), OTA_ERR_FRAME);
    buf[1] = 12;
    buf[len - 1] ^= 0xFF; /* CRC damaged: decodes, but not ok */
    assert_int_equal(ota_frame_decode(buf, len, &fr), OTA_OK);
    assert_false(fr.crc_ok);
    assert_int_equal(ota_frame_encode("{}", 2, "abcd", 4, buf, 8, &len), OTA_ERR_SPACE);
}

static void block_header_errors(void **state)
{
    ota_block_header h;
    (void)state;
    assert_int_equal(ota_block_header_parse("{\"msg\":\"x\"}", 11, &h), OTA_ERR_MISSING);
    assert_int_equal(ota_block_header_parse("{\"code\":200}", 12, &h), OTA_ERR_MISSING);
    assert_int_equal(ota_block_header_parse("{\"code\":\"200\"}", 14, &h), OTA_ERR_TYPE);
    assert_int_equal(ota_block_header_parse("{\"code\":400,\"msg\":\"bad\"}", 24, &h), OTA_OK);
    assert_int_equal(h.code, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_frames_encode_and_decode),
        cmocka_unit_test(bad_lengths_and_crc_are_caught),
        cmocka_unit_test(block_header_errors),
    };
    return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
