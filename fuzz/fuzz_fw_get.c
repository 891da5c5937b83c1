/* libFuzzer target: /sys/.../thing/ota/firmware/get payloads (ota_fw_get_parse). */
#include "fuzz.h"
#include "otaproto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ota_fw_get m;

    (void)ota_fw_get_parse((const char *)data, size, &m);
    return 0;
}
