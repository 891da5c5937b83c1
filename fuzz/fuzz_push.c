/*
 * libFuzzer target: upgrade pushes and get_replies in both envelopes
 * (ota_push_parse), which a device-side user of libotaproto reads from the
 * network; a parsed push is built again, as the mock does with a fault edit.
 */
#include "fuzz.h"
#include "otaproto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ota_push p;
    char out[4096];

    if (ota_push_parse((const char *)data, size, &p) != OTA_OK)
        return 0;
    if (ota_push_build(&p, out, sizeof(out)) == OTA_OK) {
        ota_push q;
        if (ota_push_parse(out, strlen(out), &q) != OTA_OK)
            abort(); /* what we build from a parsed push must parse */
    }
    return 0;
}
