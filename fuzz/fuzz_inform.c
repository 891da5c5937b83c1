/* libFuzzer target: /ota/device/inform payloads (ota_inform_parse). */
#include "fuzz.h"
#include "otaproto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ota_inform m;

    if (ota_inform_parse((const char *)data, size, &m) == OTA_OK) {
        /* What came out is text the cloud prints into traces and reports. */
        if (strnlen(m.version, sizeof(m.version)) == sizeof(m.version) ||
            strnlen(m.module, sizeof(m.module)) == sizeof(m.module) ||
            strnlen(m.id.text, sizeof(m.id.text)) == sizeof(m.id.text))
            abort();
    }
    return 0;
}
