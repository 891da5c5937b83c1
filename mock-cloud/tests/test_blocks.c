/*
 * The block server's pure decision (mc_block_decide), its frames
 * (mc_block_encode) and the block and frame seams of fault.c, without a
 * broker: normal and last blocks, every refusal, and each fault kind that
 * acts on a block download.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mock_priv.h"

#define SIZE 5000

static mc_image img;
static uint8_t bytes[SIZE]; /* the image's bytes, to compare with */

static int group_setup(void **state)
{
    (void)state;
    if (mc_image_make(SIZE, 7, &img) != MC_OK)
        return -1;
    mc_image_read(&img, 0, bytes, SIZE);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return 0;
}

static ota_block_request req(long long stream, long long file, long long size, long long offset)
{
    ota_block_request q;

    memset(&q, 0, sizeof(q));
    q.id.kind = OTA_ID_STRING;
    snprintf(q.id.text, sizeof(q.id.text), "7");
    snprintf(q.file_token, sizeof(q.file_token), "tok");
    q.stream_id = stream;
    q.file_id = file;
    q.size = size;
    q.offset = offset;
    return q;
}

static const mc_block_src open_job = {.found = 1, .open = 1, .size = SIZE};

/* Decide a valid request for `size` bytes at `offset` with the seam's decision for fault f. */
static void decide_with(mc_fault f, long long size, long long offset, mc_block_reply *r)
{
    ota_block_request q = req(100001, 1, size, offset);
    mc_block_seam seam;
    int seen = 0;

    mc_block_decide(OTA_OK, &q, &open_job, NULL, r);
    assert_int_equal(r->refused, 0);
    mc_fault_block_decide(&f, &seen, offset, bytes + r->from, r->len, &seam);
    mc_block_decide(OTA_OK, &q, &open_job, &seam, r);
}

/* Encode and decode a reply; the decoded frame points into *buf (freed by the caller). */
static int round_trip(const mc_block_reply *r, uint8_t **buf, ota_frame *fr, ota_block_header *h)
{
    size_t len = 0;

    *buf = mc_block_encode(r, &img, &len);
    assert_non_null(*buf);
    if (ota_frame_decode(*buf, len, fr) != OTA_OK)
        return -1;
    return ota_block_header_parse(fr->header, fr->header_len, h) == OTA_OK ? 0 : -1;
}

static void a_block_is_served_with_its_crc(void **state)
{
    ota_block_request q = req(100001, 1, 1024, 1024);
    mc_block_reply r;
    ota_block_header h;
    ota_frame fr;
    uint8_t *buf;
    (void)state;

    mc_block_decide(OTA_OK, &q, &open_job, NULL, &r);
    assert_int_equal(r.refused, 0);
    assert_int_equal(r.h.code, 200);
    assert_int_equal(r.from, 1024);
    assert_int_equal(r.len, 1024);
    assert_int_equal(r.copies, 1);
    assert_int_equal(round_trip(&r, &buf, &fr, &h), 0);
    assert_int_equal(fr.crc_ok, 1);
    assert_int_equal(fr.data_len, 1024);
    assert_memory_equal(fr.data, bytes + 1024, 1024);
    assert_string_equal(h.id, "7");
    assert_string_equal(h.msg, "success");
    assert_string_equal(h.file_token, "tok");
    assert_int_equal(h.file_length, SIZE);
    assert_int_equal(h.b_size, 1024);
    assert_int_equal(h.b_offset, 1024);
    free(buf);
}

static void the_last_block_is_short_and_may_be_small(void **state)
{
    ota_block_request q = req(100001, 1, 1024, 4096);
    mc_block_reply r;
    (void)state;

    mc_block_decide(OTA_OK, &q, &open_job, NULL, &r);
    assert_int_equal(r.h.code, 200);
    assert_int_equal(r.len, SIZE - 4096);
    assert_int_equal(r.h.b_size, SIZE - 4096);
    q = req(100001, 1, 100, SIZE - 100); /* under the minimum, but the last block */
    mc_block_decide(OTA_OK, &q, &open_job, NULL, &r);
    assert_int_equal(r.h.code, 200);
    assert_int_equal(r.len, 100);
    q.file_token[0] = '\0';
    mc_block_decide(OTA_OK, &q, &open_job, NULL, &r);
    assert_string_equal(r.h.file_token, "default");
}

static void refuse(const ota_block_request *q, const mc_block_src *src, int parse_rc, int code,
                   const char *why)
{
    mc_block_reply r;
    mc_block_seam seam = {.act = MC_BLOCK_SEAM_REPLY,
                          .fault = {.kind = MC_FAULT_BLOCK_DROP, .count = -1}};

    mc_block_decide(parse_rc, q, src, &seam, &r); /* a refusal never meets a fault */
    assert_int_equal(r.refused, 1);
    assert_int_equal(r.h.code, code);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.copies, 1);
    assert_non_null(strstr(r.h.msg, why));
}

static void bad_requests_get_an_error_reply(void **state)
{
    ota_block_request q;
    (void)state;

    q = req(100001, 1, 1024, SIZE);
    refuse(&q, &open_job, OTA_OK, 400, "outside the file of 5000 bytes");
    q = req(100001, 1, MC_BLOCK_MAX + 1, 0);
    refuse(&q, &open_job, OTA_OK, 400, "is over 131072");
    q = req(100001, 1, MC_BLOCK_MIN - 1, 0);
    refuse(&q, &open_job, OTA_OK, 400, "under 256 and not the last block");
    q = req(100001, 2, 1024, 0);
    refuse(&q, &open_job, OTA_OK, 400, "has no file 2");
    q = req(100001, 1, 1024, 0);
    refuse(&q, &open_job, OTA_ERR_RANGE, 400, "malformed block request");
}

static void an_unknown_or_finished_stream_is_404(void **state)
{
    ota_block_request q = req(424242, 1, 1024, 0);
    mc_block_src none = {0}, finished = {.found = 1, .open = 0, .size = SIZE};
    mc_block_reply r;
    (void)state;

    refuse(&q, &none, OTA_OK, 404, "no open download with streamId 424242");
    refuse(&q, &finished, OTA_OK, 404, "no open download");
    mc_block_decide(OTA_OK, &q, &none, NULL, &r);
    assert_string_equal(r.h.id, "7");
}

static void block_seam_faults_change_header_and_data(void **state)
{
    mc_block_reply r;
    ota_block_header h;
    ota_frame fr;
    uint8_t *buf;
    (void)state;

    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_CORRUPT, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.corrupt_at, 500);
    assert_int_equal(round_trip(&r, &buf, &fr, &h), 0);
    assert_int_equal(fr.crc_ok, 1); /* computed over the corrupted data */
    assert_int_equal(fr.data[500], bytes[500] ^ 0xFF);
    assert_memory_equal(fr.data, bytes, 500);
    free(buf);

    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_BSIZE, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.h.b_size, 1001);
    assert_int_equal(r.len, 1000);

    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_OFFSET, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.h.b_offset, 1000);
    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_OFFSET, .count = 1}, 1000, 2000, &r);
    assert_int_equal(r.h.b_offset, 1000);
    assert_int_equal(r.from, 2000);

    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_ERROR, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.h.code, 500);
    assert_string_equal(r.h.msg, "injected error");
    assert_int_equal(r.len, 0);
    assert_int_equal(r.h.b_size, 0);
    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_ERROR, .value = 503, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.h.code, 503);
    assert_int_equal(r.refused, 0); /* injected, not a refusal of bad input */
}

static void frame_seam_faults_change_the_frame(void **state)
{
    mc_block_reply r;
    ota_block_header h;
    ota_frame fr;
    uint8_t *buf;
    size_t len, whole;
    (void)state;

    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_BAD_CRC, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.damage, MC_FRAME_BAD_CRC);
    assert_int_equal(round_trip(&r, &buf, &fr, &h), 0);
    assert_int_equal(fr.crc_ok, 0);
    assert_memory_equal(fr.data, bytes, 1000); /* data intact */
    free(buf);

    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_CRC_BE, .count = 1}, 1000, 0, &r);
    assert_int_equal(round_trip(&r, &buf, &fr, &h), 0);
    uint16_t crc = ota_crc16_arc(bytes, 1000);
    assert_int_equal(fr.crc_sent, (uint16_t)((crc >> 8) | (crc << 8)));
    free(buf);

    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_TRUNCATE, .count = 1}, 1000, 0, &r);
    buf = mc_block_encode(&r, &img, &len);
    free(buf);
    r.damage = MC_FRAME_INTACT;
    buf = mc_block_encode(&r, &img, &whole);
    free(buf);
    assert_int_equal(len, whole - 3);

    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_DUPLICATE, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.copies, 2);
    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_DROP, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.copies, 0);
    decide_with((mc_fault){.kind = MC_FAULT_BLOCK_DELAY, .value = 1500, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.copies, 1);
    assert_true(r.delay_s > 1.49 && r.delay_s < 1.51);
}

static void session_faults_replace_the_reply(void **state)
{
    mc_fault kick = {.kind = MC_FAULT_SESSION_KICK, .at = 2000, .count = 1};
    mc_block_seam seam;
    mc_block_reply r;
    int seen = 0;
    (void)state;

    /* before `at`: not counted, the reply goes out */
    mc_fault_block_decide(&kick, &seen, 1000, bytes, 1000, &seam);
    assert_int_equal(seam.act, MC_BLOCK_SEAM_NONE);
    assert_int_equal(seen, 0);
    mc_fault_block_decide(&kick, &seen, 2000, bytes, 1000, &seam);
    assert_int_equal(seam.act, MC_BLOCK_SEAM_KICK);
    ota_block_request q = req(100001, 1, 1000, 2000);
    mc_block_decide(OTA_OK, &q, &open_job, &seam, &r);
    assert_int_equal(r.kick, 1);
    assert_int_equal(r.copies, 0);
    mc_fault_block_decide(&kick, &seen, 3000, bytes, 1000, &seam);
    assert_int_equal(seam.act, MC_BLOCK_SEAM_NONE); /* count 1: once */

    decide_with((mc_fault){.kind = MC_FAULT_SESSION_RESTART, .count = 1}, 1000, 0, &r);
    assert_int_equal(r.restart, 1);
    assert_int_equal(r.copies, 0);
}

static void skip_and_count_decide_which_blocks(void **state)
{
    mc_fault f = {.kind = MC_FAULT_BLOCK_DROP, .skip = 1, .count = 2};
    mc_block_seam seam;
    int seen = 0;
    const mc_block_seam_act want[] = {MC_BLOCK_SEAM_NONE, MC_BLOCK_SEAM_REPLY, MC_BLOCK_SEAM_REPLY,
                                      MC_BLOCK_SEAM_NONE};
    (void)state;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        mc_fault_block_decide(&f, &seen, (long long)i * 1000, bytes, 1000, &seam);
        assert_int_equal(seam.act, want[i]);
    }
    /* a fault of another seam never acts on a block */
    f = (mc_fault){.kind = MC_FAULT_HTTP_CLOSE, .count = -1};
    mc_fault_block_decide(&f, &seen, 0, bytes, 1000, &seam);
    assert_int_equal(seam.act, MC_BLOCK_SEAM_NONE);
}

/*
 * FAIL-3T: a corrupted byte stays corrupted for the whole job. The third
 * request fires it (skip 2, count 1); the file byte it damaged is damaged in
 * every later reply that holds it, whatever block size asks for it, and no
 * other reply is touched: a second download meets the same bad image.
 */
static void corrupt_block_stays_corrupt_for_the_job(void **state)
{
    mc_fault f = {.kind = MC_FAULT_BLOCK_CORRUPT, .skip = 2, .count = 1};
    mc_block_seam seam;
    int seen = 0;
    (void)state;

    for (long long off = 0; off < 4000; off += 1000) {
        mc_fault_block_decide(&f, &seen, off, bytes, 1000, &seam);
        assert_int_equal(seam.act, off == 2000 ? MC_BLOCK_SEAM_REPLY : MC_BLOCK_SEAM_NONE);
    }
    /* the download again, from the start: the same byte (2500), nothing else */
    for (long long off = 0; off < 4000; off += 1000) {
        mc_fault_block_decide(&f, &seen, off, bytes, 1000, &seam);
        assert_int_equal(seam.act, off == 2000 ? MC_BLOCK_SEAM_REPLY : MC_BLOCK_SEAM_NONE);
    }
    /* in a block of another size that holds it, at its place in that block */
    mc_fault_block_decide(&f, &seen, 2400, bytes, 256, &seam);
    assert_int_equal(seam.act, MC_BLOCK_SEAM_REPLY);
    mc_block_reply r;
    ota_block_request q = req(100001, 1, 256, 2400);
    mc_block_decide(OTA_OK, &q, &open_job, &seam, &r);
    assert_int_equal(r.corrupt_at, 100);
}

/* Two bytes whose CRC reads the same in both byte orders. */
static void symmetric_pair(uint8_t out[2])
{
    for (unsigned v = 0; v < 65536; v++) {
        out[0] = (uint8_t)(v >> 8);
        out[1] = (uint8_t)v;
        uint16_t crc = ota_crc16_arc(out, 2);
        if ((crc >> 8) == (crc & 0xFF))
            return;
    }
    fail_msg("no two bytes with a symmetric CRC");
}

static void crc_be_moves_past_a_symmetric_crc(void **state)
{
    mc_fault f = {.kind = MC_FAULT_BLOCK_CRC_BE, .count = 1};
    mc_block_seam seam;
    uint8_t sym[2];
    int seen = 0;
    (void)state;

    symmetric_pair(sym);
    mc_fault_block_decide(&f, &seen, 0, sym, 2, &seam);
    assert_int_equal(seam.act, MC_BLOCK_SEAM_MOVED);
    assert_int_equal(seen, 0); /* not counted: the next block gets it */
    mc_fault_block_decide(&f, &seen, 1000, bytes, 1000, &seam);
    assert_int_equal(seam.act, MC_BLOCK_SEAM_REPLY);
}

static void every_kind_has_a_name_and_a_seam(void **state)
{
    mc_fault_kind k;
    (void)state;

    assert_int_equal(mc_fault_seam_of(MC_FAULT_NONE), MC_SEAM_NONE);
    for (int i = 1; i < MC_FAULT__COUNT; i++) {
        assert_int_not_equal(mc_fault_seam_of((mc_fault_kind)i), MC_SEAM_NONE);
        assert_string_not_equal(mc_fault_kind_name((mc_fault_kind)i), "unknown");
        assert_int_equal(mc_fault_kind_parse(mc_fault_kind_name((mc_fault_kind)i), &k), MC_OK);
        assert_int_equal(k, i);
        assert_string_not_equal(mc_fault_seam_name(mc_fault_seam_of((mc_fault_kind)i)), "unknown");
    }
    assert_int_equal(mc_fault_seam_of(MC_FAULT_BLOCK_CORRUPT), MC_SEAM_BLOCK);
    assert_int_equal(mc_fault_seam_of(MC_FAULT_BLOCK_DROP), MC_SEAM_FRAME);
    assert_int_equal(mc_fault_seam_of(MC_FAULT_SESSION_KICK), MC_SEAM_SESSION);
    assert_true(mc_fault_needs_tls(&(mc_fault){.kind = MC_FAULT_HTTP_FOREIGN_CERT}));
    assert_false(mc_fault_needs_tls(&(mc_fault){.kind = MC_FAULT_HTTP_STATUS}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_block_is_served_with_its_crc),
        cmocka_unit_test(the_last_block_is_short_and_may_be_small),
        cmocka_unit_test(bad_requests_get_an_error_reply),
        cmocka_unit_test(an_unknown_or_finished_stream_is_404),
        cmocka_unit_test(block_seam_faults_change_header_and_data),
        cmocka_unit_test(frame_seam_faults_change_the_frame),
        cmocka_unit_test(session_faults_replace_the_reply),
        cmocka_unit_test(skip_and_count_decide_which_blocks),
        cmocka_unit_test(corrupt_block_stays_corrupt_for_the_job),
        cmocka_unit_test(crc_be_moves_past_a_symmetric_crc),
        cmocka_unit_test(every_kind_has_a_name_and_a_seam),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
