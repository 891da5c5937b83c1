/*
 * MQTT block download: DL-5 (requests well formed and in bounds), DL-6
 * (valid JSON), DL-7 (a bad-CRC block is asked for again), DL-2 (one bad
 * block of each kind and the upgrade still succeeds), FAIL-2/FAIL-2B (a
 * block download that can never finish), FAIL-3 on this transport.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"

#define BLOCK_MIN 256
#define BLOCK_MAX 131072

/* DL-5 and DL-6 over every block request of an attempt. */
static void check_requests(const ct_attempt *a, size_t to)
{
    char where[400];
    int n = 0;

    for (long i = ct_scan(a->push_at, to, ct_is_uplink, (void *)"/thing/file/download"); i >= 0;
         i = ct_scan((size_t)i + 1, to, ct_is_uplink, (void *)"/thing/file/download")) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        ota_block_request q;
        int rc = ota_block_request_parse((const char *)r->payload, r->payload_len, &q);
        long long size = (long long)a->info.size;

        n++;
        ct_describe((size_t)i, where, sizeof(where));
        ct_check("DL-5", rc == OTA_OK,
                 "a block request must carry id, fileInfo and fileBlock: %s %s", ota_strerror(rc),
                 where);
        ct_check("DL-6", !q.normalized,
                 "block requests should be valid JSON (the cloud repairs a trailing comma) %s",
                 where);
        ct_check("DL-5", q.stream_id == a->info.stream_id && q.file_id == 1,
                 "the request must name the pushed streamId %lld and streamFileId 1, it names "
                 "%lld and %lld %s",
                 a->info.stream_id, q.stream_id, q.file_id, where);
        ct_check("DL-5", q.offset >= 0 && q.offset < size,
                 "offset %lld is outside the file of %lld bytes %s", q.offset, size, where);
        ct_check("DL-5", q.size <= BLOCK_MAX && (q.size >= BLOCK_MIN || q.offset + q.size >= size),
                 "a block must be %d..%d bytes (less only for the last one), asked %lld at "
                 "offset %lld %s",
                 BLOCK_MIN, BLOCK_MAX, q.size, q.offset, where);
    }
    ct_check("DL-5", n > 0, "the push named dProtocol mqtt, yet the device sent no block request");
}

static void spec_blocks(mc_job_spec *s, char *v, size_t cap, const char *plan)
{
    ct_spec_init(s, v, cap);
    if (plan)
        ct_spec_scenario(s, plan);
    s->mqtt = 1;
}

static void blocks_download_succeeds(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    (void)state;

    spec_blocks(&s, v, sizeof(v), NULL);
    ct_upgrade(&a, &s, 60);
    ct_final_reported(&a);
    ct_check("DL-5", a.outcome == CT_UP_SUCCEEDED,
             "the upgrade to %s by MQTT block download must succeed: got %s", v,
             ct_outcome_text(&a));
    check_requests(&a, (size_t)a.end_at);
}

static int fault_on_block(const ota_trace_rec *r, void *arg)
{
    (void)arg;
    return r->kind == OTA_TR_FAULT && !strcmp(r->dev, ct.dev.dn) &&
           strstr(r->info, "on the block at offset") != NULL;
}

/* A block with a bad CRC (or one read wrongly): asked for again, or -2. */
static void bad_crc_is_asked_again(void **state)
{
    const ct_case *c = CT_CASE(state);
    mc_job_spec s;
    char v[32], where[400] = "";
    ct_attempt a;
    long f, next;
    long long off = -1;
    ota_block_request q = {0};

    spec_blocks(&s, v, sizeof(v), c->arg);
    ct_upgrade(&a, &s, 60);
    f = ct_scan(a.push_at, (size_t)a.end_at, fault_on_block, NULL);
    if (f < 0)
        ct_fail("DL-7", "the device never asked for the block the plan damages (%s)", c->arg);
    off = strtoll(strstr(mc_trace_at(ct.cloud, (size_t)f)->info, "offset ") + 7, NULL, 10);
    next = ct_scan((size_t)f + 1, (size_t)a.end_at, ct_is_uplink, (void *)"/thing/file/download");
    if (next >= 0) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)next);
        ota_block_request_parse((const char *)r->payload, r->payload_len, &q);
        ct_describe((size_t)next, where, sizeof(where));
    }
    ct_check("DL-7", (next >= 0 && q.offset == off) || (a.outcome == CT_UP_FAILED && a.step == -2),
             "the block at offset %lld came with a bad CRC: it must be asked for again (or the "
             "download fail with -2), the next request asks for offset %lld %s",
             off, next >= 0 ? q.offset : -1LL, where);
    ct_final_reported(&a);
    ct_check("DL-2", a.outcome == CT_UP_SUCCEEDED,
             "after one bad block the upgrade to %s must still succeed: got %s", v,
             ct_outcome_text(&a));
}

/* The block size the device asks for, from its first request after record `from`; 0 when none. */
static long long first_block_size(size_t from, size_t to)
{
    long i = ct_scan(from, to, ct_is_uplink, (void *)"/thing/file/download");
    ota_block_request q = {0};

    if (i < 0)
        return 0;
    const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
    if (ota_block_request_parse((const char *)r->payload, r->payload_len, &q) != OTA_OK)
        return 0;
    return q.size;
}

/* Did the block requests in [from, to) ask for every byte of a file of `size` bytes? */
static int requests_cover(size_t from, size_t to, long long size)
{
    long long covered = 0;
    int grew = 1;

    /* Requests may come in any order and overlap: sweep until nothing extends the prefix. */
    while (grew && covered < size) {
        grew = 0;
        for (long i = ct_scan(from, to, ct_is_uplink, (void *)"/thing/file/download"); i >= 0;
             i = ct_scan((size_t)i + 1, to, ct_is_uplink, (void *)"/thing/file/download")) {
            const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
            ota_block_request q;
            if (ota_block_request_parse((const char *)r->payload, r->payload_len, &q) != OTA_OK)
                continue;
            if (q.offset <= covered && q.offset + q.size > covered) {
                covered = q.offset + q.size;
                grew = 1;
            }
        }
    }
    return covered >= size;
}

#define TORTURE_BLOCKS 6

/*
 * Torture: the device is disconnected at every block boundary of a
 * six-block image in turn (the block size is the one it asks for). Each
 * attempt must end on the target version with every byte asked for first
 * (FINAL-2), or on the old version (VER-6) with one failure step and nothing
 * after it (PROG-6); never silent (FAIL-2).
 */
static void kick_at_every_block_boundary(void **state)
{
    mc_job_spec s;
    char v[32], where[400], running[OTA_MAX_VERSION + 1];
    ct_attempt a;
    long long block;
    (void)state;

    /* A clean block download first, to learn the device's block size. */
    spec_blocks(&s, v, sizeof(v), NULL);
    ct_upgrade(&a, &s, 60);
    ct_final_reported(&a);
    if (a.outcome != CT_UP_SUCCEEDED)
        ct_fail("DL-5", "a block download without faults must succeed first: got %s",
                ct_outcome_text(&a));
    block = first_block_size(a.push_at, (size_t)a.end_at);
    if (block <= 0)
        ct_fail("DL-5", "the device sent no readable block request");
    for (int k = 0; k < TORTURE_BLOCKS; k++) {
        spec_blocks(&s, v, sizeof(v), NULL);
        s.image_size = (size_t)(block * TORTURE_BLOCKS);
        s.fault = (mc_fault){.kind = MC_FAULT_SESSION_KICK, .at = k * block, .count = 1};
        ct_upgrade(&a, &s, 60);
        ct_final_reported(&a);
        where[0] = '\0';
        if (a.end_at >= 0)
            ct_describe((size_t)a.end_at, where, sizeof(where));
        if (a.outcome == CT_UP_SUCCEEDED) {
            ct_check("FINAL-2",
                     requests_cover(a.push_at, (size_t)a.end_at, (long long)s.image_size),
                     "disconnected at offset %lld, the device reported %s without having asked "
                     "for every block of the %zu-byte image %s",
                     k * block, v, s.image_size, where);
            continue;
        }
        if (a.outcome != CT_UP_FAILED)
            ct_fail("FAIL-2",
                    "disconnected at offset %lld (block %d of %d), the attempt must end on the "
                    "target version or with a failure step: got %s %s",
                    k * block, k + 1, TORTURE_BLOCKS, ct_outcome_text(&a), where);
        ct_running_version(running, sizeof(running));
        ct_check("VER-6", !strcmp(running, a.from_version),
                 "after the failed attempt (disconnected at offset %lld) the device must still run "
                 "%s, it runs %s",
                 k * block, a.from_version, running);
        for (long i = ct_scan((size_t)a.end_at + 1, mc_trace_count(ct.cloud), ct_is_progress, NULL);
             i >= 0; i = ct_scan((size_t)i + 1, mc_trace_count(ct.cloud), ct_is_progress, NULL)) {
            int step;
            if (!ct_step_of(mc_trace_at(ct.cloud, (size_t)i), &step) || step == a.step)
                continue;
            ct_describe((size_t)i, where, sizeof(where));
            ct_fail("PROG-6",
                    "after step \"%d\" (disconnected at offset %lld) the attempt is over: nothing "
                    "but the same code may follow, got %s",
                    a.step, k * block, where);
        }
    }
}

static void blocks_never_finish(void **state)
{
    char where[400];
    ct_attempt a;
    const char *about = ct_upgrade_plan(&a, "block-drop-always", where, sizeof(where));
    (void)state;

    ct_check("FAIL-2", a.outcome == CT_UP_FAILED,
             "%s: the device must report a failure within %.0f s, got %s %s", about, ct_secs(60),
             ct_outcome_text(&a), where);
    ct_check("FAIL-2B", a.step == -2,
             "a block download that can never finish should be \"-2\" (download failed), got "
             "\"%d\" %s",
             a.step, where);
}

static void wrong_digest_on_blocks(ota_digest_kind k)
{
    mc_job_spec s;
    char v[32], where[400] = "", now[OTA_MAX_VERSION + 1];
    ct_attempt a;

    ct_spec_init(&s, v, sizeof(v));
    ct_spec_scenario(&s, "block-wrong-digest");
    s.digest = k;
    ct_upgrade(&a, &s, 60);
    if (a.end_at >= 0)
        ct_describe((size_t)a.end_at, where, sizeof(where));
    ct_check("FAIL-3", a.outcome == CT_UP_FAILED && a.step == -3,
             "the %s in the push does not match the blocks: expected step \"-3\", got %s %s",
             ota_digest_kind_name(k), ct_outcome_text(&a), where);
    ct_running_version(now, sizeof(now));
    ct_check("FAIL-3", !strcmp(now, a.from_version),
             "an image that failed its digest check must never be flashed: the device runs "
             "\"%s\"",
             now);
}

static void blocks_wrong_md5(void **state)
{
    (void)state;
    wrong_digest_on_blocks(OTA_DIGEST_MD5);
}

static void blocks_wrong_sha256(void **state)
{
    (void)state;
    wrong_digest_on_blocks(OTA_DIGEST_SHA256);
}

static void blocks_corrupt_reports_minus_3(void **state)
{
    char where[400];
    ct_attempt a;
    const char *about = ct_upgrade_plan(&a, "block-corrupt", where, sizeof(where));
    (void)state;

    ct_check("FAIL-3", a.outcome == CT_UP_FAILED && a.step == -3,
             "%s: the CRC cannot see it, the digest must: expected step \"-3\", got %s %s", about,
             ct_outcome_text(&a), where);
}

static const ct_case cases[] = {
    {"blocks_download_succeeds", "blocks", blocks_download_succeeds, "DL-5 DL-6", NULL},
    {"bad_crc_asked_again", "blocks", bad_crc_is_asked_again, "DL-7 DL-2", "block-bad-crc-once"},
    {"crc_big_endian_asked_again", "blocks", bad_crc_is_asked_again, "DL-7 DL-2",
     "block-crc-be-once"},
    {"survives_bsize_mismatch", "blocks", ct_survives_plan, "DL-2", "block-bsize-once"},
    {"survives_wrong_offset", "blocks", ct_survives_plan, "DL-2", "block-offset-once"},
    {"survives_duplicates", "blocks", ct_survives_plan, "DL-2", "block-duplicate"},
    {"survives_dropped_reply", "blocks", ct_survives_plan, "DL-2", "block-drop-once"},
    {"survives_delayed_reply", "blocks", ct_survives_plan, "DL-2", "block-delay"},
    {"survives_error_code", "blocks", ct_survives_plan, "DL-2", "block-error-once"},
    {"survives_truncated_frame", "blocks", ct_survives_plan, "DL-2", "block-truncate-once"},
    {"survives_kick_mid_blocks", "blocks", ct_survives_plan, "DL-2", "session-kick-blocks"},
    {"survives_broker_restart_mid_blocks", "blocks", ct_survives_plan, "DL-2",
     "session-broker-restart-blocks"},
    {"kick_at_every_block_boundary", "blocks", kick_at_every_block_boundary,
     "FINAL-2 VER-6 PROG-6 FAIL-2", NULL},
    {"blocks_never_finish", "blocks", blocks_never_finish, "FAIL-2 FAIL-2B", NULL},
    {"blocks_wrong_md5", "blocks", blocks_wrong_md5, "FAIL-3", NULL},
    {"blocks_wrong_sha256", "blocks", blocks_wrong_sha256, "FAIL-3", NULL},
    {"blocks_corrupt_data", "blocks", blocks_corrupt_reports_minus_3, "FAIL-3", NULL},
};

const ct_group ct_group_blocks = {"blocks", cases, sizeof(cases) / sizeof(cases[0])};
