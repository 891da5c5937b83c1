/* The serial adapter: placeholder until the termios implementation lands. */
#include <stdio.h>

#include "adapter_priv.h"

int dut_serial_open(const dut_serial_config *cfg, const dut_callbacks *cb, dut_adapter **out,
                    char *err, size_t errcap)
{
    (void)cfg;
    (void)cb;
    (void)out;
    snprintf(err, errcap, "the serial adapter is not built yet");
    return DUT_ERR_ARG;
}
