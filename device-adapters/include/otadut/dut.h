/*
 * libotadut: how the suite meets a device under test. One interface (open,
 * command, restart, close, capabilities, log) with one implementation per
 * kind of device: a process, a board on a serial port (local or over the
 * network), stock firmware met on the network. Adapters never talk to the
 * mock cloud: they hand events to the runner through a callback.
 *
 * Returns: DUT_OK (0) or a dut_err; a function that answers a
 * question (dut_has_channel) returns 1 or 0.
 */
#ifndef OTADUT_DUT_H
#define OTADUT_DUT_H

#include <stddef.h>

#include "otadut/channel.h"

typedef enum {
    DUT_OK = 0,
    DUT_ERR_ARG,
    DUT_ERR_NOMEM,
    DUT_ERR_SPAWN,     /* the process could not be started */
    DUT_ERR_TIMEOUT,   /* no reply before the deadline */
    DUT_ERR_NOCHANNEL, /* the device has not announced a control channel (!READY) */
    DUT_ERR_REFUSED,   /* the device replied ERR */
    DUT_ERR_CLOSED,    /* the device went away while we waited */
    DUT_ERR__COUNT
} dut_err;

const char *dut_strerror(int rc);

typedef enum {
    DUT_EV_START = 0, /* a process started (text: "pid N"); serial: "open: <path>", then
                         "reset: <method>" before each reset */
    DUT_EV_READY,     /* !READY (text: the line) */
    DUT_EV_EVENT,     /* another !EVENT line; serial: "port-lost: <path>", "port-back" */
    DUT_EV_LOG,       /* a log line */
    DUT_EV_EXIT,      /* exit 0: a restart, as a bootloader would */
    DUT_EV_KILLED,    /* stopped by the suite (restart or close) */
    DUT_EV_CRASH,     /* non-zero exit or a signal (text: the status); serial: the port did
                         not come back, or no !READY after a reset (text: why, then the
                         last log lines) */
    DUT_EV__COUNT
} dut_event_kind;

const char *dut_event_name(dut_event_kind k);

typedef struct {
    /* Called from the adapter's thread; must not call back into the adapter. */
    void (*on_event)(void *ud, dut_event_kind kind, const char *text);
    void *ud;
} dut_callbacks;

typedef struct dut_adapter dut_adapter;

typedef struct {
    const char *cmd;        /* run with /bin/sh -c */
    const char *const *env; /* "KEY=VALUE" added to our environment, NULL-terminated */
} dut_process_config;

/*
 * Start the process and its monitor. The monitor restarts it after exit 0
 * (and after a crash, once it is reported). DUT_ERR_SPAWN when it cannot start.
 */
int dut_process_open(const dut_process_config *cfg, const dut_callbacks *cb, dut_adapter **out);

/*
 * The serial adapter (adapter_serial.c): a board on a tty. The control
 * channel and the log share the port; replies are told apart from log text.
 * The adapter never starts the board; it resets it by the configured method.
 */
typedef enum {
    DUT_RESET_NONE = 0, /* cannot reset: dut_restart returns DUT_ERR_NOCHANNEL */
    DUT_RESET_CHANNEL,  /* "RESET" over the control channel */
    DUT_RESET_LINES,    /* a DTR/RTS sequence (reset_seq) */
    DUT_RESET_COMMAND,  /* an external command (reset_cmd), the port released meanwhile */
    DUT_RESET__COUNT
} dut_reset_method;

const char *dut_reset_method_name(dut_reset_method m);
/* DUT_ERR_ARG for a name no method has ("none", "channel", "dtr-rts", "command"). */
int dut_reset_method_parse(const char *name, dut_reset_method *out);

/*
 * Sets the modem lines: 1 asserts, 0 releases, -1 leaves that line as it is
 * (each step of a reset sequence changes one line). Returns 0 or -1 with
 * errno. Replaceable for tests (a pty has no modem lines).
 */
typedef int (*dut_set_lines_fn)(int fd, int dtr, int rts, void *ud);

typedef struct {
    const char *path;    /* /dev/ttyUSB0, /dev/serial/by-id/..., a pty's link; or a port on
                            another machine: rfc2217://HOST:PORT, socket://HOST:PORT (raw TCP,
                            no modem lines) */
    int baud;            /* 0: 115200 */
    const char *framing; /* "8N1" (NULL), "8E1", "8O1", "7E1", "7O1", "8N2" */
    dut_reset_method reset;
    const char *reset_seq;      /* DUT_RESET_LINES: "dtr=0 rts=1 wait=100 rts=0", or a preset
                                   name: "esp32", "stm32-nrst" */
    const char *reset_cmd;      /* DUT_RESET_COMMAND: run with /bin/sh -c */
    double reopen_window_s;     /* how long the port may vanish and come back (0: 10 s) */
    double ready_timeout_s;     /* how long to wait for !READY after a reset (0: 15 s); a device
                                   that spoke the channel before and stays silent is a crash */
    dut_set_lines_fn set_lines; /* NULL: TIOCMSET on the port */
    void *set_lines_ud;
} dut_serial_config;

/*
 * Open the port (raw mode, exclusive: TIOCEXCL plus a lock file) and start
 * its reader thread. On failure err says why in a sentence (missing port,
 * busy port with the holder's pid and name when it can be learned,
 * unsupported framing or speed): DUT_ERR_ARG for a configuration that
 * cannot work (speed, framing, reset sequence, missing reset command),
 * DUT_ERR_SPAWN for a port that cannot be opened, DUT_ERR_NOMEM. cfg is
 * copied; err may be NULL. The port's states are in docs/serial-adapter.md.
 */
int dut_serial_open(const dut_serial_config *cfg, const dut_callbacks *cb, dut_adapter **out,
                    char *err, size_t errcap);

/*
 * The network-only adapter (adapter_network.c): a device we can neither
 * start, command nor reset; only its MQTT connection exists. Commands
 * return DUT_ERR_NOCHANNEL, dut_restart DUT_ERR_NOCHANNEL.
 */
int dut_network_open(const dut_callbacks *cb, dut_adapter **out);

/*
 * Change one "KEY=VALUE" of a process device's environment; it takes effect
 * at its next start (dut_restart). DUT_ERR_ARG for another kind of adapter.
 */
int dut_process_setenv(dut_adapter *a, const char *key_value);

/* Send "VERB k=v ..." and wait for its reply; reply gets the text after OK/ERR. */
int dut_command(dut_adapter *a, const char *verb_args, char *reply, size_t cap, double timeout_s);
/* 1 once the device printed !READY in its current run. */
int dut_has_channel(dut_adapter *a);
/* 1 when the current run's !READY listed the capability. */
int dut_has_cap(dut_adapter *a, const char *cap);
/* Stop the device hard and start it again (a power cycle). */
int dut_restart(dut_adapter *a);
/* The last log lines, oldest first, joined with newlines. */
void dut_last_log(dut_adapter *a, char *buf, size_t cap);
/* How many times the device was started. */
int dut_starts(dut_adapter *a);
/* Stop the device and free everything. NULL is fine. */
void dut_close(dut_adapter *a);

#endif
