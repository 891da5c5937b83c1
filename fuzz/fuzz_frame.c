/*
 * libFuzzer target: a download_reply frame as a device receives it
 * (ota_frame_decode) and its JSON header (ota_block_header_parse).
 */
#include "fuzz.h"
#include "otaproto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ota_frame f;
    ota_block_header h;

    if (ota_frame_decode(data, size, &f) != OTA_OK)
        return 0;
    if (f.header_len + f.data_len + 4 != size)
        abort(); /* the parts must add up to the frame */
    (void)ota_block_header_parse(f.header, f.header_len, &h);
    return 0;
}
