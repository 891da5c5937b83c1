/*
 * libFuzzer target: a scenario file, as both its readers take it: the mock
 * cloud's fault plan (mc_scenario_parse) and the runner's expectation
 * (ct_expect_parse).
 */
#include "engine.h"
#include "fuzz.h"
#include "otamock/mock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_scenario s;
    ct_expect e;
    char err[512];

    if (mc_scenario_parse((const char *)data, size, &s, err, sizeof(err)) == MC_OK &&
        (strnlen(s.name, sizeof(s.name)) == sizeof(s.name) ||
         strnlen(s.about, sizeof(s.about)) == sizeof(s.about)))
        abort();
    (void)ct_expect_parse((const char *)data, size, &e, err, sizeof(err));
    return 0;
}
