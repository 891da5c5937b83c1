/* libFuzzer target: a fault-plan scenario file (mc_scenario_parse). */
#include "fuzz.h"
#include "otamock/mock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_scenario s;
    char err[512];

    if (mc_scenario_parse((const char *)data, size, &s, err, sizeof(err)) == MC_OK &&
        (strnlen(s.name, sizeof(s.name)) == sizeof(s.name) ||
         strnlen(s.about, sizeof(s.about)) == sizeof(s.about)))
        abort();
    return 0;
}
