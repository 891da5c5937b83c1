/*
 * Internals of the serial adapter: the port itself (serial_port.c: exclusive
 * open, lock file, termios, modem lines, reset sequences), used by the
 * adapter's thread and commands (adapter_serial.c). Not a public interface.
 */
#ifndef OTADUT_SERIAL_PRIV_H
#define OTADUT_SERIAL_PRIV_H

#include <limits.h>
#include <stddef.h>

#include "otadut/dut.h"

#define DUT_PORT_MAX_STEPS   32    /* steps in one reset sequence */
#define DUT_PORT_MAX_WAIT_MS 10000 /* the longest wait=MS step */
#define DUT_PORT_ERR_MAX     512   /* room for an error sentence */

typedef struct {
    int fd;                   /* -1 while closed */
    int locked;               /* lock_path is ours and must be removed */
    char dev[PATH_MAX];       /* the device node the path resolved to */
    char lock_path[PATH_MAX]; /* /run/lock/LCK..<name> or /tmp/LCK..<name> */
} dut_port;

/* One step of a reset sequence: a line to set (the other is -1) or a wait. */
typedef struct {
    int dtr, rts; /* 0 or 1; -1: leave the line as it is */
    int wait_ms;  /* > 0 for a wait step */
} dut_port_step;

typedef struct {
    dut_port_step steps[DUT_PORT_MAX_STEPS];
    int n;
} dut_port_seq;

/* DUT_ERR_ARG with a sentence in err for a speed or framing we do not support. */
int dut_port_settings_check(int baud, const char *framing, char *err, size_t cap);

/*
 * Lock, open and configure the port behind path (a symlink is followed
 * anew on every call). On failure the port stays closed and unlocked,
 * err says why and the code is DUT_ERR_SPAWN (DUT_ERR_NOMEM, DUT_ERR_ARG).
 */
int dut_port_open(dut_port *p, const char *path, int baud, const char *framing, char *err,
                  size_t cap);
/* Close the port and remove our lock file. Safe on a closed port. */
void dut_port_close(dut_port *p);

/*
 * Write all of buf before the monotonic deadline, polling for room.
 * Returns the bytes written (less than len on a deadline or an error).
 */
size_t dut_port_write(int fd, const char *buf, size_t len, double deadline);

/* Parse "dtr=0 rts=1 wait=100 ..." or a preset name; DUT_ERR_ARG naming the bad step. */
int dut_port_seq_parse(const char *text, dut_port_seq *out, char *err, size_t cap);
/* Run the steps through fn; 0, or -1 with errno from the first failing fn call. */
int dut_port_seq_run(const dut_port_seq *seq, int fd, dut_set_lines_fn fn, void *ud);
/* The default dut_set_lines_fn: TIOCMGET, change DTR and RTS (-1: keep), TIOCMSET. */
int dut_port_set_lines(int fd, int dtr, int rts, void *ud);

/* Run cmd with /bin/sh -c, killed (its process group) after deadline_s; 0 on exit 0, else -1. */
int dut_port_run_cmd(const char *cmd, double deadline_s);

#endif
