/* Device profiles: placeholder until the parser lands. */
#include "adapter_priv.h"

int dut_profile_placeholder(void);
int dut_profile_placeholder(void)
{
    return 0;
}
