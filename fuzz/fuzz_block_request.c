/*
 * libFuzzer target: the block request (ota_block_request_parse) and what the
 * block server decides and encodes from it for an open 1000-byte job
 * (mc_block_decide, mc_block_encode): a served block must lie inside the
 * image, carry its bytes and a CRC that checks.
 */
#include "fuzz.h"
#include "mock_priv.h"
#include "otaproto/frame.h"
#include "otaproto/msg.h"

#define FZ_IMAGE 1000

static void check_served(const mc_block_reply *r, const mc_image *img, const uint8_t *image)
{
    size_t len = 0;
    uint8_t *frame = mc_block_encode(r, img, &len);
    ota_frame f;

    if (!frame)
        return;
    if (ota_frame_decode(frame, len, &f) != OTA_OK || !f.crc_ok)
        abort();
    if (r->h.code == 200 &&
        (r->h.b_offset < 0 || r->h.b_offset + (long long)f.data_len > FZ_IMAGE ||
         memcmp(f.data, image + r->h.b_offset, f.data_len)))
        abort();
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t image[FZ_IMAGE];
    mc_image img = {.size = FZ_IMAGE, .seed = 0};
    ota_block_request q;
    mc_block_src src = {.found = 1, .open = 1, .size = FZ_IMAGE};
    mc_block_reply r;
    int rc;

    for (size_t i = 0; i < FZ_IMAGE; i++)
        image[i] = (uint8_t)((i * 31 + 7) % 251);
    memset(&q, 0, sizeof(q));
    rc = ota_block_request_parse((const char *)data, size, &q);
    memset(&r, 0, sizeof(r));
    mc_block_decide(rc, &q, &src, NULL, &r);
    check_served(&r, &img, image);
    return 0;
}
