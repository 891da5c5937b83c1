/*
 * libFuzzer target: the normalising pass that repairs what real devices send
 * before cJSON sees it (ota_json_normalize), with the output bound the header
 * promises (6 * len + 1), and with a buffer one byte short of what it wrote.
 */
#include "fuzz.h"
#include "otaproto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = 6 * size + 1;
    char *out = malloc(cap);
    int changed = 0;

    if (!out)
        return 0;
    if (ota_json_normalize((const char *)data, size, out, cap, &changed) == OTA_OK) {
        size_t n = strlen(out);
        char *tight = malloc(n);
        /* One byte short of what it needed: it must refuse, not write past the end. */
        if (tight && ota_json_normalize((const char *)data, size, tight, n, &changed) == OTA_OK)
            abort();
        free(tight);
    }
    free(out);
    return 0;
}
