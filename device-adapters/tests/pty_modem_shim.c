/*
 * A test shim loaded into a port server (LD_PRELOAD, ser2net in
 * conformance/tests/ser2net.sh): a pty has no modem lines, so the kernel
 * refuses TIOCMGET, TIOCMSET, TIOCMBIS and TIOCMBIC on it. Here those calls
 * succeed on a pty as on a UART, and every change of DTR, RTS or break is
 * appended as a line ("dtr=0 rts=1", "brk=1") to the file $OTA_MODEM_LOG,
 * which ota-pty-board --modem follows as the board's reset wiring. Every
 * other ioctl, and every one on a real serial port, goes to the kernel.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

/* Lines as a UART has them after open: DTR and RTS asserted. One pty per server here. */
static int lines = TIOCM_DTR | TIOCM_RTS;

static void log_line(const char *text)
{
    const char *path = getenv("OTA_MODEM_LOG");
    int fd;

    if (!path || !*path)
        return;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    (void)!write(fd, text, strlen(text)); /* one write: a reader never sees half a line */
    close(fd);
}

static void log_lines(int before)
{
    char text[32];

    if (before == lines)
        return;
    snprintf(text, sizeof(text), "dtr=%d rts=%d\n", !!(lines & TIOCM_DTR), !!(lines & TIOCM_RTS));
    log_line(text);
}

/* The modem-line requests the kernel refused on a pty, done on our copy of the lines. */
static int emulate(unsigned long req, int *arg)
{
    int before = lines;

    switch (req) {
    case TIOCMGET:
        *arg = lines;
        return 0;
    case TIOCMSET:
        lines = *arg & (TIOCM_DTR | TIOCM_RTS);
        break;
    case TIOCMBIS:
        lines |= *arg & (TIOCM_DTR | TIOCM_RTS);
        break;
    case TIOCMBIC:
        lines &= ~(*arg & (TIOCM_DTR | TIOCM_RTS));
        break;
    default:
        return -1;
    }
    log_lines(before);
    return 0;
}

int ioctl(int fd, unsigned long req, ...)
{
    static ioctl_fn real;
    va_list ap;
    void *arg;
    int rc;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!real)
        real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    rc = real(fd, req, arg);
    if (rc == 0 && (req == TIOCSBRK || req == TIOCCBRK))
        log_line(req == TIOCSBRK ? "brk=1\n" : "brk=0\n");
    if (rc != 0 && errno == ENOTTY && arg && isatty(fd) &&
        (req == TIOCMGET || req == TIOCMSET || req == TIOCMBIS || req == TIOCMBIC))
        rc = emulate(req, arg);
    return rc;
}
