/*
 * The network-only adapter: stock firmware we can neither start, command
 * nor reset. Only its MQTT connection exists, which the runner watches on
 * the broker; this adapter answers every command with "no channel" and
 * every reset with "cannot", so the tests that need them become N/A.
 */
#include <stdlib.h>

#include "adapter_priv.h"

typedef struct {
    dut_adapter base;
} network;

static int net_command(dut_adapter *a, const char *verb_args, char *reply, size_t cap,
                       double timeout_s)
{
    (void)a;
    (void)verb_args;
    (void)timeout_s;
    if (reply && cap)
        reply[0] = '\0';
    return DUT_ERR_NOCHANNEL;
}

static int net_has_channel(dut_adapter *a)
{
    (void)a;
    return 0;
}

static int net_has_cap(dut_adapter *a, const char *cap)
{
    (void)a;
    (void)cap;
    return 0;
}

static int net_restart(dut_adapter *a)
{
    (void)a;
    return DUT_ERR_NOCHANNEL;
}

static void net_last_log(dut_adapter *a, char *buf, size_t cap)
{
    (void)a;
    if (cap)
        buf[0] = '\0';
}

static int net_starts(dut_adapter *a)
{
    (void)a;
    return 0;
}

static void net_close(dut_adapter *a)
{
    free(a);
}

static const dut_ops network_ops = {
    "network",   net_command,  net_has_channel, net_has_cap,
    net_restart, net_last_log, net_starts,      net_close,
};

int dut_network_open(const dut_callbacks *cb, dut_adapter **out)
{
    network *n;

    (void)cb; /* nothing to report: the broker sees everything this device does */
    if (!out)
        return DUT_ERR_ARG;
    n = calloc(1, sizeof(*n));
    if (!n)
        return DUT_ERR_NOMEM;
    n->base.ops = &network_ops;
    *out = &n->base;
    return DUT_OK;
}
