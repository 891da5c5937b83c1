/* The adapter interface: dispatch to the kind of adapter behind the handle. */
#include <string.h>

#include "adapter_priv.h"

const char *dut_strerror(int rc)
{
    static const char *const texts[DUT_ERR__COUNT] = {
        "success",
        "invalid argument",
        "out of memory",
        "the device could not be started",
        "no reply before the deadline",
        "the device has no control channel",
        "the device refused the command",
        "the device went away",
    };
    return (rc >= 0 && rc < DUT_ERR__COUNT) ? texts[rc] : "unknown error";
}

const char *dut_event_name(dut_event_kind k)
{
    static const char *const names[DUT_EV__COUNT] = {"start", "ready",  "event", "log",
                                                     "exit",  "killed", "crash"};
    return (unsigned)k < DUT_EV__COUNT ? names[k] : "unknown";
}

const char *dut_reset_method_name(dut_reset_method m)
{
    static const char *const names[DUT_RESET__COUNT] = {"none", "channel", "dtr-rts", "command"};
    return (unsigned)m < DUT_RESET__COUNT ? names[m] : "unknown";
}

int dut_reset_method_parse(const char *name, dut_reset_method *out)
{
    for (int m = 0; name && m < DUT_RESET__COUNT; m++)
        if (!strcmp(name, dut_reset_method_name((dut_reset_method)m))) {
            *out = (dut_reset_method)m;
            return DUT_OK;
        }
    return DUT_ERR_ARG;
}

int dut_command(dut_adapter *a, const char *verb_args, char *reply, size_t cap, double timeout_s)
{
    if (!a || !verb_args)
        return DUT_ERR_ARG;
    return a->ops->command(a, verb_args, reply, cap, timeout_s);
}

int dut_has_channel(dut_adapter *a)
{
    return a ? a->ops->has_channel(a) : 0;
}

int dut_has_cap(dut_adapter *a, const char *cap)
{
    return a && cap ? a->ops->has_cap(a, cap) : 0;
}

int dut_restart(dut_adapter *a)
{
    return a ? a->ops->restart(a) : DUT_ERR_ARG;
}

void dut_last_log(dut_adapter *a, char *buf, size_t cap)
{
    if (cap)
        buf[0] = '\0';
    if (a)
        a->ops->last_log(a, buf, cap);
}

int dut_starts(dut_adapter *a)
{
    return a ? a->ops->starts(a) : 0;
}

void dut_close(dut_adapter *a)
{
    if (a)
        a->ops->close(a);
}
