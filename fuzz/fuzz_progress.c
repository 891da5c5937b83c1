/* libFuzzer target: /ota/device/progress payloads (ota_progress_parse). */
#include "fuzz.h"
#include "otaproto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ota_progress m;
    int rc = ota_progress_parse((const char *)data, size, &m);

    if (rc == OTA_OK && (m.step < -4 || m.step > 100))
        abort(); /* a step outside -4..100 must come back as OTA_ERR_RANGE */
    if (rc == OTA_OK && (strnlen(m.desc, sizeof(m.desc)) == sizeof(m.desc) ||
                         strnlen(m.module, sizeof(m.module)) == sizeof(m.module)))
        abort();
    return 0;
}
