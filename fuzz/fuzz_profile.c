/*
 * libFuzzer target: a device profile, as the runner reads it
 * (dut_profile_parse, then dut_profile_check) and as the mock cloud's
 * registry reads the same file (mc_device_load).
 */
#include "fuzz.h"
#include "otadut/dut.h"
#include "otadut/profile.h"
#include "otamock/mock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dut_profile p;
    mc_device_info d;
    char err[512], path[64];
    int fd;

    dut_profile_defaults(&p);
    if (dut_profile_parse((const char *)data, size, "fuzz.json", &p, err, sizeof(err)) == DUT_OK)
        (void)dut_profile_check(&p, "fuzz.json", err, sizeof(err));
    fd = fz_memfile(data, size, path, sizeof(path));
    if (fd >= 0) {
        (void)mc_device_load(path, &d, err, sizeof(err));
        close(fd);
    }
    return 0;
}
