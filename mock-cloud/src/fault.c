/*
 * Fault plans: each fault fires after `skip` matching events, `count` times
 * (or forever with -1). Decided here, applied by the transport seams.
 */
#include "mock_priv.h"

const char *mc_fault_kind_name(mc_fault_kind k)
{
    static const char *const names[MC_FAULT__COUNT] = {"none", "http-status"};
    return (unsigned)k < MC_FAULT__COUNT ? names[k] : "unknown";
}

int mc_fault_fires(mc_fault *f, int *seen)
{
    int n = (*seen)++;

    if (f->kind == MC_FAULT_NONE || n < f->skip)
        return 0;
    return f->count < 0 || n - f->skip < f->count;
}
