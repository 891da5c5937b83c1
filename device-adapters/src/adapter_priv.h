/* The adapter interface behind dut.h; each kind of adapter fills in the ops. */
#ifndef OTADUT_ADAPTER_PRIV_H
#define OTADUT_ADAPTER_PRIV_H

#include "otadut/dut.h"

typedef struct {
    const char *name;
    int (*command)(dut_adapter *a, const char *verb_args, char *reply, size_t cap,
                   double timeout_s);
    int (*has_channel)(dut_adapter *a);
    int (*has_cap)(dut_adapter *a, const char *cap);
    int (*restart)(dut_adapter *a);
    void (*last_log)(dut_adapter *a, char *buf, size_t cap);
    int (*starts)(dut_adapter *a);
    void (*close)(dut_adapter *a);
} dut_ops;

struct dut_adapter {
    const dut_ops *ops;
};

#endif
