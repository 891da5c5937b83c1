/*
 * Internals of the serial adapter: the port itself (serial_port.c: exclusive
 * open, lock file, termios, modem lines, reset sequences; serial_net.c: a
 * port on another machine, rfc2217:// or socket://), used by the adapter's
 * thread and commands (adapter_serial.c). Not a public interface.
 */
#ifndef OTADUT_SERIAL_PRIV_H
#define OTADUT_SERIAL_PRIV_H

#include <limits.h>
#include <stddef.h>

#include "otadut/dut.h"

#define DUT_PORT_MAX_STEPS   32    /* steps in one reset sequence */
#define DUT_PORT_MAX_WAIT_MS 10000 /* the longest wait=MS step */
#define DUT_PORT_ERR_MAX     512   /* room for an error sentence */
#define DUT_NET_SB_MAX       64   /* a telnet subnegotiation we keep (RFC 2217 replies are short) */
#define DUT_NET_PENDING_MAX  8192 /* data that came while an RFC 2217 port was being set up */

typedef enum {
    DUT_PORT_TTY = 0, /* a device file */
    DUT_PORT_RFC2217, /* rfc2217://HOST:PORT: telnet with COM-PORT-OPTION (serial_net.c) */
    DUT_PORT_SOCKET,  /* socket://HOST:PORT: raw TCP, no modem lines */
} dut_port_kind;

/* The telnet side of an RFC 2217 port: the decoder's state between reads. */
typedef struct {
    int state;                        /* where the decoder is in an IAC sequence */
    unsigned char sb[DUT_NET_SB_MAX]; /* the subnegotiation being read */
    size_t sb_len;
    int cr;                            /* the last data byte was CR (NVT: CR NUL is CR) */
    int binary_in;                     /* the server sends binary (WILL BINARY agreed) */
    int refused;                       /* the server refused COM-PORT-OPTION */
    int baud_reply;                    /* the baud rate the server confirmed; 0 before */
    char pending[DUT_NET_PENDING_MAX]; /* data read while waiting for that reply */
    size_t pending_len;
} dut_telnet;

typedef struct {
    dut_port_kind kind;
    int fd;                   /* -1 while closed */
    int locked;               /* lock_path is ours and must be removed */
    char dev[PATH_MAX];       /* the device node the path resolved to */
    char lock_path[PATH_MAX]; /* /run/lock/LCK..<name> or /tmp/LCK..<name> */
    dut_telnet tn;            /* DUT_PORT_RFC2217 only */
} dut_port;

/* One step of a reset sequence: a line to set (the other is -1) or a wait. */
typedef struct {
    int dtr, rts; /* 0 or 1; -1: leave the line as it is */
    int brk;      /* 1: start a break, 0: end it; -1: no break step */
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
 * The kind of port a path names: DUT_PORT_RFC2217 or DUT_PORT_SOCKET for
 * "rfc2217://" and "socket://", else DUT_PORT_TTY.
 */
dut_port_kind dut_port_kind_of(const char *path);
/*
 * Read what the port has: data bytes into buf (telnet commands of an RFC
 * 2217 port are answered and removed). Returns the data bytes (0: none this
 * time), or -1 with errno: EAGAIN or EINTR to try again, anything else (0
 * bytes read is ECONNRESET) means the port is gone.
 */
ssize_t dut_port_read(dut_port *p, char *buf, size_t cap);
/* 1 when data read ahead (while an RFC 2217 port was set up) waits for dut_port_read. */
int dut_port_has_pending(const dut_port *p);
/*
 * Write a line of the control channel: all of buf before the deadline, on
 * fd (a duplicate of the port's). An RFC 2217 port doubles 0xFF (telnet's
 * IAC). Returns the bytes of buf written.
 */
size_t dut_port_send(dut_port_kind kind, int fd, const char *buf, size_t len, double deadline);

/* ---- serial_net.c: a port on another machine ---- */
/*
 * Connect to rfc2217://HOST:PORT or socket://HOST:PORT; for RFC 2217,
 * negotiate telnet's options and set the speed and framing, waiting for the
 * server to confirm the speed. DUT_ERR_ARG for a malformed address,
 * DUT_ERR_SPAWN with one sentence in err for a server that refuses, cannot
 * be reached or does not speak RFC 2217; the port stays closed then.
 */
int dut_net_open(dut_port *p, const char *url, int baud, const char *framing, char *err,
                 size_t cap);
/* Check the address only (host and port present, a known scheme); DUT_ERR_ARG with err. */
int dut_net_check(const char *url, char *err, size_t cap);
/* dut_port_read for an RFC 2217 port: data out, telnet commands answered. */
ssize_t dut_net_read(dut_port *p, char *buf, size_t cap);
/* The dut_set_lines_fn of an RFC 2217 port: SET-CONTROL DTR and RTS over telnet. */
int dut_net_set_lines(int fd, int dtr, int rts, void *ud);
/* A break on (1) or off (0): SET-CONTROL over telnet. 0, or -1 with errno. */
int dut_net_set_break(int fd, int on);
/* Write all of buf (already escaped) under the lock every writer of a telnet stream takes. */
size_t dut_net_write(int fd, const char *buf, size_t len, double deadline);

/*
 * Write all of buf before the monotonic deadline, polling for room.
 * Returns the bytes written (less than len on a deadline or an error).
 */
size_t dut_port_write(int fd, const char *buf, size_t len, double deadline);

/* Parse "dtr=0 rts=1 wait=100 ..." or a preset name; DUT_ERR_ARG naming the bad step. */
int dut_port_seq_parse(const char *text, dut_port_seq *out, char *err, size_t cap);
/*
 * Run the steps through fn (break steps through the port kind's break);
 * 0, or -1 with errno from the first failing call.
 */
int dut_port_seq_run(const dut_port_seq *seq, dut_port_kind kind, int fd, dut_set_lines_fn fn,
                     void *ud);
/* The default dut_set_lines_fn: TIOCMGET, change DTR and RTS (-1: keep), TIOCMSET. */
int dut_port_set_lines(int fd, int dtr, int rts, void *ud);

/* Run cmd with /bin/sh -c, killed (its process group) after deadline_s; 0 on exit 0, else -1. */
int dut_port_run_cmd(const char *cmd, double deadline_s);

#endif
