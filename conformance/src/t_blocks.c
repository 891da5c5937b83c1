/*
 * MQTT block download: DL-5 (requests well formed and in bounds), DL-6
 * (valid JSON), DL-7 (a bad-CRC block is asked for again), DL-2 (one bad
 * block of each kind and the upgrade still succeeds), FAIL-2/FAIL-2B (a
 * block download that can never finish), FAIL-3 on this transport. The
 * tests of one plan and one outcome are scenario files (CT_SCENARIO rows,
 * run by engine.c through ct_blocks_attempt); the functions need code.
 *
 * Images span several blocks of the size the device asks for (learned once
 * per run), and fault plans name blocks by their order in its requests. A
 * fault that never reached the device is not its failure: the test learns
 * what it saw, tries once more, and otherwise ends inconclusive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define BLOCK_MIN   OTA_BLOCK_MIN
#define BLOCK_MAX   OTA_BLOCK_MAX
#define IMAGE_MIN   4096 /* the smallest image of a block test */
#define PLAN_BLOCKS 4    /* blocks of every block test's image, at least */
#define MANY_BLOCKS 32   /* past this many blocks the default image is too slow: sized instead */
#define IMAGE_MAX   (16LL << 20) /* the largest file MQTT download serves (16 MiB) */

/* A device that answers a block push without asking for a block: how it opts out instead. */
#define NO_BLOCKS_HINT                                                                             \
    " (a device without MQTT block download ignores such a push, no progress and no failure "      \
    "step, and the blocks tests are then N/A: docs/dut-contract.md)"

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
    ct_check("DL-5", n > 0, "the push named dProtocol mqtt, yet the device sent no block request%s",
             NO_BLOCKS_HINT);
}

/* The hint of DL-5's failures when the attempt asked for no block at all. */
static const char *no_blocks_hint(const ct_attempt *a, size_t to)
{
    return ct_scan(a->push_at, to, ct_is_uplink, (void *)"/thing/file/download") < 0
               ? NO_BLOCKS_HINT
               : "";
}

/*
 * Learn the device's block size from its first block request of attempt `a`:
 * a request that ends before the file does asks for a whole block. A file
 * taken in one request teaches nothing (the block is at least the file).
 * Returns 1 when the device asked for any block at all.
 */
static int learn_block_size(const ct_attempt *a, size_t to)
{
    long i = ct_scan(a->push_at, to, ct_is_uplink, (void *)"/thing/file/download");
    ota_block_request q = {0};

    if (i < 0)
        return 0;
    const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
    if (ota_block_request_parse((const char *)r->payload, r->payload_len, &q) == OTA_OK &&
        q.size > 0 && q.offset + q.size < (long long)a->info.size)
        ct.block_size = q.size;
    return 1;
}

/* The end of an attempt's records: where it ended, or everything so far. */
static size_t attempt_end(const ct_attempt *a)
{
    return a->end_at >= 0 ? (size_t)a->end_at + 1 : mc_trace_count(ct.cloud);
}

/* The end of the attempt, described for a message ("" when none). */
static void describe_end(const ct_attempt *a, char *where, size_t cap)
{
    where[0] = '\0';
    if (a->end_at >= 0)
        ct_describe((size_t)a->end_at, where, cap);
}

/*
 * The image for a block test whose plan needs `blocks` blocks. The default
 * image while the block size is unknown (the attempt teaches it), or when it
 * spans enough blocks but not so many that small blocks make the test slow;
 * else `blocks` of the device's blocks (of the largest allowed when a retry
 * still does not know them), never under IMAGE_MIN.
 */
static size_t block_image(int blocks, int retry)
{
    long long b = ct.block_size, n;

    if (b <= 0 && !retry)
        return ct.image_size;
    if (b <= 0)
        b = BLOCK_MAX;
    b = b < BLOCK_MIN ? BLOCK_MIN : b > BLOCK_MAX ? BLOCK_MAX : b;
    if ((long long)ct.image_size >= b * blocks && (long long)ct.image_size <= b * MANY_BLOCKS)
        return ct.image_size;
    n = b * blocks;
    n = n < IMAGE_MIN ? IMAGE_MIN : n > IMAGE_MAX ? IMAGE_MAX : n;
    return (size_t)n;
}

/* Faults of the block server, whose record says they reached the device. */
static int is_block_fault(mc_fault_kind k)
{
    return (k >= MC_FAULT_BLOCK_BAD_CRC && k <= MC_FAULT_BLOCK_TRUNCATE) ||
           k == MC_FAULT_SESSION_KICK || k == MC_FAULT_SESSION_RESTART;
}

/* Blocks a plan needs: those it lets pass, the one it damages, and two after it. */
static int plan_blocks(const mc_fault *f)
{
    return f->skip + 3 > PLAN_BLOCKS ? f->skip + 3 : PLAN_BLOCKS;
}

/* The record of the plan's fault (the fault it names), for our device. */
static int is_plan_fault(const ota_trace_rec *r, size_t i, void *kind)
{
    const char *name = mc_fault_kind_name(*(const mc_fault_kind *)kind);
    (void)i;

    return r->kind == OTA_TR_FAULT && !strcmp(r->dev, ct.dev.dn) &&
           (r->event == OTA_EV_FAULT || r->event == OTA_EV_BLOCK_FAULT) && !strcmp(r->fault, name);
}

static const char *spec_blocks(mc_job_spec *s, char *v, size_t cap, const char *plan, int retry)
{
    const char *about = "a block download without faults";

    ct_spec_init(s, v, cap);
    if (plan)
        about = ct_spec_scenario(s, plan);
    s->mqtt = 1;
    s->image_size = block_image(plan_blocks(&s->fault), retry);
    return about;
}

/* Why the plan's fault never reached the device, for the inconclusive verdict. */
static void missed(const ct_attempt *a, const mc_job_spec *s, const char *plan, int tries)
{
    char blocks[64] = "the whole file in one";
    const char *retry = "; a retry on an image sized from its block size would be the same";
    int n = 0;

    for (long i = ct_scan(a->push_at, attempt_end(a), ct_is_uplink, (void *)"/thing/file/download");
         i >= 0;
         i = ct_scan((size_t)i + 1, attempt_end(a), ct_is_uplink, (void *)"/thing/file/download"))
        n++;
    if (ct.block_size > 0)
        snprintf(blocks, sizeof(blocks), "%lld bytes each", ct.block_size);
    if (tries > 1)
        retry = ", and that was the retry on an image sized from its block size";
    ct_inconclusive("the fault of plan %s (%s) never reached the device: on a %zu-byte image it "
                    "sent %d block request%s (%s) and the plan acts on its request %d%s",
                    plan, mc_fault_kind_name(s->fault.kind), s->image_size, n, n == 1 ? "" : "s",
                    blocks, s->fault.skip + 1, retry);
}

/*
 * The plan's fault never reached the device although it asked for blocks.
 * Not its failure when it took the whole image (its block size left too few
 * blocks, or it took a path the plan does not cover); but what it sent is
 * still judged (DL-5, FINAL-1), and a download that broke down before the
 * fault came fails DL-5 as a clean one would.
 */
static void check_unfaulted(const ct_attempt *a, const char *about, int request)
{
    char where[400];

    check_requests(a, attempt_end(a));
    ct_final_reported(a);
    if (a->outcome == CT_UP_SUCCEEDED)
        return;
    describe_end(a, where, sizeof(where));
    ct_fail("DL-5",
            "under %s the device never reached its block request %d, yet the block download "
            "without a fault so far did not succeed: got %s %s",
            about, request, ct_outcome_text(a), where);
}

/*
 * Upgrade by MQTT blocks under `plan` (NULL: none), returning its
 * description. When the plan's fault never reached the device although it
 * took the image by blocks, what it asked for is learned and the upgrade
 * tried once more on an image sized from it; a second miss, or a retry that
 * could change nothing, ends the test inconclusive.
 */
static const char *block_upgrade(ct_attempt *a, mc_job_spec *s, char *v, size_t cap,
                                 const char *plan, ota_digest_kind digest, double timeout_s)
{
    const char *about = "";
    size_t before = 0;
    int tries = 0;

    for (; tries < 2; tries++) {
        about = spec_blocks(s, v, cap, plan, tries);
        s->digest = digest;
        if (tries > 0 && s->image_size == before)
            break;
        before = s->image_size;
        ct_upgrade(a, s, timeout_s);
        if (!learn_block_size(a, attempt_end(a)) || !is_block_fault(s->fault.kind) ||
            ct_scan(a->push_at, attempt_end(a), is_plan_fault, &s->fault.kind) >= 0)
            return about;
        check_unfaulted(a, about, s->fault.skip + 1);
    }
    s->image_size = before;
    missed(a, s, plan, tries);
    return about;
}

/*
 * The device's block size for tests that need it before their first attempt:
 * learned by a clean block download when no block test has shown it yet, on
 * a second one longer than any block when the first one fit in one request.
 * 0 when the device asked for no block.
 */
static long long device_block_size(void)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;

    for (int t = 0; ct.block_size <= 0 && t < 2; t++) {
        spec_blocks(&s, v, sizeof(v), NULL, 0);
        if (t > 0)
            s.image_size = BLOCK_MAX + 1;
        ct_upgrade(&a, &s, CT_S(FINAL));
        ct_final_reported(&a);
        if (a.outcome != CT_UP_SUCCEEDED)
            ct_fail("DL-5", "a block download without faults must succeed first: got %s%s",
                    ct_outcome_text(&a), no_blocks_hint(&a, attempt_end(&a)));
        if (!learn_block_size(&a, attempt_end(&a)))
            break;
    }
    return ct.block_size;
}

static void blocks_download_succeeds(void **state)
{
    mc_job_spec s;
    char v[32];
    ct_attempt a;
    (void)state;

    spec_blocks(&s, v, sizeof(v), NULL, 0);
    ct_upgrade(&a, &s, CT_S(FINAL));
    learn_block_size(&a, attempt_end(&a));
    ct_final_reported(&a);
    ct_check("DL-5", a.outcome == CT_UP_SUCCEEDED,
             "the upgrade to %s by MQTT block download must succeed: got %s%s", v,
             ct_outcome_text(&a), no_blocks_hint(&a, attempt_end(&a)));
    check_requests(&a, (size_t)a.end_at);
}

static int fault_on_block(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return r->kind == OTA_TR_FAULT && !strcmp(r->dev, ct.dev.dn) && r->event == OTA_EV_BLOCK_FAULT;
}

/*
 * A block with a bad CRC (or one read wrongly): asked for again, or -2.
 * Moving on to the next offset breaks DL-7 even though the plan left the
 * data intact (the digest check cannot catch that).
 */
static void bad_crc_is_asked_again(void **state)
{
    const ct_case *c = CT_CASE(state);
    mc_job_spec s;
    char v[32], where[400] = "";
    ct_attempt a;
    long f, next;
    long long off = -1;
    ota_block_request q = {0};

    block_upgrade(&a, &s, v, sizeof(v), c->arg, OTA_DIGEST_MD5, CT_S(FINAL));
    f = ct_scan(a.push_at, attempt_end(&a), fault_on_block, NULL);
    if (f < 0) {
        check_requests(&a, attempt_end(&a)); /* no block request at all: DL-5 */
        ct_inconclusive("the fault of plan %s never reached the device", c->arg);
    }
    off = mc_trace_at(ct.cloud, (size_t)f)->offset;
    next = ct_scan((size_t)f + 1, attempt_end(&a), ct_is_uplink, (void *)"/thing/file/download");
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

    block = device_block_size();
    if (block <= 0)
        ct_fail("DL-5", "the device sent no block request that shows its block size");
    for (int k = 0; k < TORTURE_BLOCKS; k++) {
        spec_blocks(&s, v, sizeof(v), NULL, 0);
        s.image_size = (size_t)(block * TORTURE_BLOCKS);
        s.fault = (mc_fault){.kind = MC_FAULT_SESSION_KICK, .at = k * block, .count = 1};
        ct_upgrade(&a, &s, CT_S(FINAL));
        ct_final_reported(&a);
        where[0] = '\0';
        if (a.end_at >= 0)
            ct_describe((size_t)a.end_at, where, sizeof(where));
        if (a.outcome == CT_UP_SUCCEEDED) {
            ct_check("FINAL-2", requests_cover(a.push_at, (size_t)a.end_at, (long long)a.info.size),
                     "disconnected at offset %lld, the device reported %s without having asked "
                     "for every block of the %zu-byte image %s",
                     k * block, v, a.info.size, where);
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
            if (ct_step_of(mc_trace_at(ct.cloud, (size_t)i), &step) != 0 || step == a.step)
                continue;
            ct_describe((size_t)i, where, sizeof(where));
            ct_fail("PROG-6",
                    "after step \"%d\" (disconnected at offset %lld) the attempt is over: nothing "
                    "but the same code may follow, got %s",
                    a.step, k * block, where);
        }
    }
}

/*
 * A scenario test on MQTT blocks (engine.c): a plan whose fault the block
 * server applies goes through block_upgrade (images sized from the device's
 * block size, one retry when the fault missed); one that changes the push
 * is a single attempt.
 */
const char *ct_blocks_attempt(ct_attempt *a, mc_job_spec *s, char *v, size_t cap,
                              const ct_expect *e)
{
    const char *about;

    if (is_block_fault(e->sc.fault.kind))
        return block_upgrade(a, s, v, cap, e->plan, e->digest, ota_bound_s(e->bound));
    about = spec_blocks(s, v, cap, e->plan, 0);
    s->digest = e->digest;
    ct_upgrade(a, s, ota_bound_s(e->bound));
    return about;
}

static const ct_case cases[] = {
    {"blocks_download_succeeds", "blocks", blocks_download_succeeds, "DL-5 DL-6", NULL},
    {"bad_crc_asked_again", "blocks", bad_crc_is_asked_again, "DL-7 DL-2", "block-bad-crc-once"},
    {"crc_big_endian_asked_again", "blocks", bad_crc_is_asked_again, "DL-7 DL-2",
     "block-crc-be-once"},
    CT_SCENARIO("block-bsize-once"),
    CT_SCENARIO("block-offset-once"),
    CT_SCENARIO("block-duplicate"),
    CT_SCENARIO("block-drop-once"),
    CT_SCENARIO("block-delay"),
    CT_SCENARIO("block-error-once"),
    CT_SCENARIO("block-truncate-once"),
    CT_SCENARIO("session-kick-blocks"),
    CT_SCENARIO("session-broker-restart-blocks"),
    {"kick_at_every_block_boundary", "blocks", kick_at_every_block_boundary,
     "FINAL-2 VER-6 PROG-6 FAIL-2", NULL},
    CT_SCENARIO("block-drop-always"),
    CT_SCENARIO("block-wrong-digest"),
    CT_SCENARIO("block-wrong-sha256"),
    CT_SCENARIO("block-corrupt"),
};

const ct_group ct_group_blocks = {"blocks", cases, sizeof(cases) / sizeof(cases[0])};
