/*
 * The serial port under the serial adapter: exclusive open (a UUCP lock file
 * plus TIOCEXCL), raw termios at a checked speed and framing, modem lines
 * and reset sequences. A port on another machine (rfc2217://, socket://)
 * is serial_net.c's, reached through the same calls. It explains every
 * failure in a sentence; it knows nothing about the control channel
 * (adapter_serial.c does).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "serial_priv.h"
#include "otaproto/clock.h"

#define LOCK_DIR_RUN  "/run/lock"
#define LOCK_DIR_TMP  "/tmp"
#define LOCK_TRIES    3 /* attempts to take over a stale lock */
#define PRESET_ESP32  "dtr=0 rts=1 wait=100 rts=0"
#define PRESET_STM32  "rts=1 wait=100 rts=0"
#define SEQ_TEXT_MAX  512
#define COMM_MAX      64
#define LOCK_NAME_MAX 200 /* a device path longer than this shares its lock name prefix */
#define WRITE_POLL_MS 50

typedef struct {
    int baud;
    speed_t speed;
} speed_entry;

static const speed_entry speeds[] = {
    {1200, B1200},       {2400, B2400},       {4800, B4800},       {9600, B9600},
    {19200, B19200},     {38400, B38400},     {57600, B57600},     {115200, B115200},
    {230400, B230400},   {460800, B460800},   {500000, B500000},   {576000, B576000},
    {921600, B921600},   {1000000, B1000000}, {1152000, B1152000}, {1500000, B1500000},
    {2000000, B2000000}, {3000000, B3000000},
};

typedef struct {
    const char *name;
    tcflag_t cflag;
} framing_entry;

static const framing_entry framings[] = {
    {"8N1", CS8},          {"8E1", CS8 | PARENB},          {"8O1", CS8 | PARENB | PARODD},
    {"7E1", CS7 | PARENB}, {"7O1", CS7 | PARENB | PARODD}, {"8N2", CS8 | CSTOPB},
};

#define N_SPEEDS   (sizeof(speeds) / sizeof(speeds[0]))
#define N_FRAMINGS (sizeof(framings) / sizeof(framings[0]))

static const speed_entry *find_speed(int baud)
{
    for (size_t i = 0; i < N_SPEEDS; i++)
        if (speeds[i].baud == (baud ? baud : 115200))
            return &speeds[i];
    return NULL;
}

static const framing_entry *find_framing(const char *framing)
{
    for (size_t i = 0; i < N_FRAMINGS; i++)
        if (!strcmp(framings[i].name, framing ? framing : "8N1"))
            return &framings[i];
    return NULL;
}

int dut_port_settings_check(int baud, const char *framing, char *err, size_t cap)
{
    if (!find_speed(baud)) {
        size_t o = (size_t)snprintf(err, cap, "unsupported speed %d baud (supported:", baud);
        for (size_t i = 0; i < N_SPEEDS && o < cap; i++)
            o += (size_t)snprintf(err + o, cap - o, " %d", speeds[i].baud);
        if (o < cap)
            snprintf(err + o, cap - o, ")");
        return DUT_ERR_ARG;
    }
    if (!find_framing(framing)) {
        snprintf(err, cap, "unsupported framing \"%s\" (supported: 8N1, 8E1, 8O1, 7E1, 7O1, 8N2)",
                 framing);
        return DUT_ERR_ARG;
    }
    return DUT_OK;
}

/* The name of a process from /proc/<pid>/comm, or "?" when it cannot be read. */
static void proc_comm(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    FILE *f;

    snprintf(buf, cap, "?");
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(buf, (int)cap, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

/* Does pid hold an fd on the character device rdev? */
static int pid_has_dev(const char *pid, dev_t rdev)
{
    char dir[64], link[320];
    struct dirent *e;
    struct stat st;
    int found = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%.16s/fd", pid);
    d = opendir(dir);
    if (!d)
        return 0;
    while (!found && (e = readdir(d))) {
        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(link, &st) == 0 && S_ISCHR(st.st_mode) &&
            st.st_rdev == rdev)
            found = 1;
    }
    closedir(d);
    return found;
}

/* The first process (other than us, if another exists) holding dev open; 0 when none. */
static pid_t find_holder(const char *dev)
{
    struct dirent *e;
    struct stat st;
    pid_t self = 0;
    pid_t other = 0;
    DIR *d;

    if (stat(dev, &st) != 0 || !(d = opendir("/proc")))
        return 0;
    while (!other && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]) || !pid_has_dev(e->d_name, st.st_rdev))
            continue;
        if (atoi(e->d_name) == getpid())
            self = getpid();
        else
            other = atoi(e->d_name);
    }
    closedir(d);
    return other ? other : self;
}

/* The pid in a lock file (ASCII, UUCP style); 0 when unreadable or empty. */
static pid_t lock_pid(const char *lock_path)
{
    char text[32] = "";
    ssize_t n;
    int fd = open(lock_path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    return (pid_t)atoi(text);
}

static int pid_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/*
 * A live lock in either lock folder makes the port busy, whichever folder
 * the other program preferred. A lock whose pid is dead is stale: removed.
 */
static int lock_check(const char *name, const char *dev, char *err, size_t cap)
{
    static const char *const dirs[] = {LOCK_DIR_RUN, LOCK_DIR_TMP};

    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX], comm[COMM_MAX];
        pid_t pid;

        snprintf(path, sizeof(path), "%s/LCK..%s", dirs[i], name);
        if (access(path, F_OK) != 0)
            continue;
        pid = lock_pid(path);
        if (!pid_alive(pid)) {
            unlink(path);
            continue;
        }
        proc_comm(pid, comm, sizeof(comm));
        snprintf(err, cap, "port %s is busy: pid %d (%s) holds the lock %s", dev, (int)pid, comm,
                 path);
        return DUT_ERR_SPAWN;
    }
    return DUT_OK;
}

/* Create the lock file with O_EXCL, in /run/lock when we may write there, else in /tmp. */
static int lock_create(dut_port *p, const char *name)
{
    static const char *const dirs[] = {LOCK_DIR_RUN, LOCK_DIR_TMP};
    char text[16];
    int n = snprintf(text, sizeof(text), "%10d\n", (int)getpid());

    for (size_t i = 0; i < 2; i++) {
        int fd;
        snprintf(p->lock_path, sizeof(p->lock_path), "%s/LCK..%s", dirs[i], name);
        fd = open(p->lock_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST)
            return -1;
        if (fd < 0)
            continue;
        if (write(fd, text, (size_t)n) != n) {
            close(fd);
            unlink(p->lock_path);
            continue;
        }
        close(fd);
        p->locked = 1;
        return 0;
    }
    errno = EACCES;
    return -1;
}

/* Lock name: the device path without "/dev/", slashes made '_' (ttyUSB0, pts_3). */
static int lock_take(dut_port *p, char *err, size_t cap)
{
    char name[LOCK_NAME_MAX];
    const char *rel = strncmp(p->dev, "/dev/", 5) ? p->dev + 1 : p->dev + 5;

    snprintf(name, sizeof(name), "%.*s", LOCK_NAME_MAX - 1, rel);
    for (char *c = name; *c; c++)
        if (*c == '/')
            *c = '_';
    for (int i = 0; i < LOCK_TRIES; i++) {
        int rc = lock_check(name, p->dev, err, cap);
        if (rc != DUT_OK)
            return rc;
        if (lock_create(p, name) == 0)
            return DUT_OK;
        if (errno != EEXIST)
            break;
    }
    snprintf(err, cap, "cannot create a lock file for %s in " LOCK_DIR_RUN " or " LOCK_DIR_TMP,
             p->dev);
    return DUT_ERR_SPAWN;
}

static void lock_release(dut_port *p)
{
    if (p->locked && lock_pid(p->lock_path) == getpid())
        unlink(p->lock_path);
    p->locked = 0;
}

static int missing(const char *path, char *err, size_t cap)
{
    snprintf(err, cap, "no such port %s: is the board plugged in? ls /dev/serial/by-id/", path);
    return DUT_ERR_SPAWN;
}

static int open_error(dut_port *p, const char *path, int e, char *err, size_t cap)
{
    char comm[COMM_MAX];
    pid_t holder;

    switch (e) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return missing(path, err, cap);
    case EACCES:
    case EPERM:
        snprintf(err, cap,
                 "permission denied on %s: add yourself to the dialout group "
                 "(sudo usermod -aG dialout $USER, then log in again)",
                 p->dev);
        return DUT_ERR_SPAWN;
    case EBUSY:
        holder = find_holder(p->dev);
        proc_comm(holder, comm, sizeof(comm));
        if (holder > 0)
            snprintf(err, cap, "port %s is busy: pid %d (%s) has it open", p->dev, (int)holder,
                     comm);
        else
            snprintf(err, cap, "port %s is busy (opened exclusively by another program)", p->dev);
        return DUT_ERR_SPAWN;
    default:
        snprintf(err, cap, "cannot open %s: %s", p->dev, strerror(e));
        return DUT_ERR_SPAWN;
    }
}

/* Raw mode, the speed and framing, no flow control, modem lines ignored. */
static int configure(int fd, int baud, const char *framing)
{
    const speed_entry *sp = find_speed(baud);
    const framing_entry *fr = find_framing(framing);
    struct termios t;

    if (!sp || !fr || tcgetattr(fd, &t) != 0)
        return -1;
    cfmakeraw(&t);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    t.c_cflag |= fr->cflag | CLOCAL | CREAD;
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY | INPCK);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, sp->speed) != 0 || cfsetospeed(&t, sp->speed) != 0)
        return -1;
    return tcsetattr(fd, TCSANOW, &t);
}

/*
 * The lock comes before the open: opening a serial port raises DTR and RTS,
 * which resets many boards, and a busy port must not be disturbed.
 */
int dut_port_open(dut_port *p, const char *path, int baud, const char *framing, char *err,
                  size_t cap)
{
    int rc;

    p->fd = -1;
    p->locked = 0;
    p->kind = dut_port_kind_of(path);
    if (p->kind != DUT_PORT_TTY)
        return dut_net_open(p, path, baud, framing, err, cap);
    if (!realpath(path, p->dev)) {
        int e = errno;
        snprintf(p->dev, sizeof(p->dev), "%s", path);
        return e == ENOMEM ? DUT_ERR_NOMEM : open_error(p, path, e, err, cap);
    }
    rc = lock_take(p, err, cap);
    if (rc != DUT_OK)
        return rc;
    p->fd = open(p->dev, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (p->fd < 0) {
        rc = open_error(p, path, errno, err, cap);
        goto out;
    }
    if (!isatty(p->fd)) {
        snprintf(err, cap, "%s is not a tty (a serial port was expected)", p->dev);
        rc = DUT_ERR_SPAWN;
        goto out;
    }
    if (ioctl(p->fd, TIOCEXCL) != 0 || configure(p->fd, baud, framing) != 0) {
        snprintf(err, cap, "cannot configure %s: %s", p->dev, strerror(errno));
        rc = DUT_ERR_SPAWN;
        goto out;
    }
    return DUT_OK;
out:
    dut_port_close(p);
    return rc;
}

void dut_port_close(dut_port *p)
{
    if (p->fd >= 0) {
        if (p->kind == DUT_PORT_TTY)
            ioctl(p->fd, TIOCNXCL);
        close(p->fd);
    }
    p->fd = -1;
    lock_release(p);
}

dut_port_kind dut_port_kind_of(const char *path)
{
    if (path && !strncmp(path, "rfc2217://", 10))
        return DUT_PORT_RFC2217;
    if (path && !strncmp(path, "socket://", 9))
        return DUT_PORT_SOCKET;
    return DUT_PORT_TTY;
}

ssize_t dut_port_read(dut_port *p, char *buf, size_t cap)
{
    ssize_t n;

    if (p->kind == DUT_PORT_RFC2217)
        return dut_net_read(p, buf, cap);
    n = read(p->fd, buf, cap);
    if (n == 0) {
        errno = ECONNRESET;
        return -1;
    }
    return n;
}

int dut_port_has_pending(const dut_port *p)
{
    return p->kind == DUT_PORT_RFC2217 && p->tn.pending_len > 0;
}

size_t dut_port_send(dut_port_kind kind, int fd, const char *buf, size_t len, double deadline)
{
    char esc[2 * 1024];
    size_t o = 0, i;

    if (kind != DUT_PORT_RFC2217)
        return dut_port_write(fd, buf, len, deadline);
    /* A control-channel line is text: 0xFF is rare, but it must reach the board as itself. */
    for (i = 0; i < len && o + 2 <= sizeof(esc); i++) {
        esc[o++] = buf[i];
        if ((unsigned char)buf[i] == 0xFF)
            esc[o++] = buf[i];
    }
    return dut_net_write(fd, esc, o, deadline) == o ? i : 0;
}

/* A break on a tty; an RFC 2217 port sends it to the server. */
static int set_break(dut_port_kind kind, int fd, int on)
{
    if (kind == DUT_PORT_RFC2217)
        return dut_net_set_break(fd, on);
    return ioctl(fd, on ? TIOCSBRK : TIOCCBRK);
}

size_t dut_port_write(int fd, const char *buf, size_t len, double deadline)
{
    size_t done = 0;

    while (done < len) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        double left = deadline - ota_clock_now();
        int ms = left <= 0 ? 0 : (left * 1000 < WRITE_POLL_MS ? (int)(left * 1000) : WRITE_POLL_MS);
        ssize_t n;

        if (left <= 0)
            break;
        if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
            break;
        if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
            break;
        if (!(pfd.revents & POLLOUT))
            continue;
        n = write(fd, buf + done, len - done);
        if (n > 0)
            done += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            break;
    }
    return done;
}

/* One "key=value" step; -1 when it is not one we know. */
static int parse_step(const char *tok, dut_port_step *st)
{
    char *end;
    long v;

    st->dtr = st->rts = st->brk = -1;
    st->wait_ms = 0;
    if (!strncmp(tok, "dtr=", 4) || !strncmp(tok, "rts=", 4) || !strncmp(tok, "brk=", 4)) {
        if ((tok[4] != '0' && tok[4] != '1') || tok[5])
            return -1;
        *(tok[0] == 'd' ? &st->dtr : tok[0] == 'r' ? &st->rts : &st->brk) = tok[4] - '0';
        return 0;
    }
    if (strncmp(tok, "wait=", 5) || !isdigit((unsigned char)tok[5]))
        return -1;
    v = strtol(tok + 5, &end, 10);
    if (*end || v <= 0 || v > DUT_PORT_MAX_WAIT_MS)
        return -1;
    st->wait_ms = (int)v;
    return 0;
}

static const char *preset(const char *text)
{
    if (!strcmp(text, "esp32"))
        return PRESET_ESP32;
    if (!strcmp(text, "stm32-nrst"))
        return PRESET_STM32;
    return text;
}

int dut_port_seq_parse(const char *text, dut_port_seq *out, char *err, size_t cap)
{
    char buf[SEQ_TEXT_MAX], *save = NULL;
    const char *steps = preset(text ? text : "");

    out->n = 0;
    if (snprintf(buf, sizeof(buf), "%s", steps) >= (int)sizeof(buf)) {
        snprintf(err, cap, "reset sequence too long (at most %d characters)", SEQ_TEXT_MAX - 1);
        return DUT_ERR_ARG;
    }
    for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (out->n == DUT_PORT_MAX_STEPS) {
            snprintf(err, cap, "reset sequence has more than %d steps", DUT_PORT_MAX_STEPS);
            return DUT_ERR_ARG;
        }
        if (parse_step(tok, &out->steps[out->n]) != 0) {
            snprintf(err, cap,
                     "bad reset step \"%s\" in \"%s\" (expected dtr=0|1, rts=0|1, brk=0|1, wait=MS "
                     "with MS 1..%d, or a preset: esp32, stm32-nrst)",
                     tok, steps, DUT_PORT_MAX_WAIT_MS);
            return DUT_ERR_ARG;
        }
        out->n++;
    }
    if (out->n == 0) {
        snprintf(err, cap,
                 "empty reset sequence (expected steps such as \"rts=1 wait=100 "
                 "rts=0\", or a preset: esp32, stm32-nrst)");
        return DUT_ERR_ARG;
    }
    return DUT_OK;
}

int dut_port_seq_run(const dut_port_seq *seq, dut_port_kind kind, int fd, dut_set_lines_fn fn,
                     void *ud)
{
    for (int i = 0; i < seq->n; i++) {
        const dut_port_step *st = &seq->steps[i];
        if (st->wait_ms > 0) {
            ota_sleep((double)st->wait_ms / 1000.0);
        } else if (st->brk >= 0) {
            if (set_break(kind, fd, st->brk) != 0)
                return -1;
        } else if (fn(fd, st->dtr, st->rts, ud) != 0) {
            return -1;
        }
    }
    return 0;
}

int dut_port_set_lines(int fd, int dtr, int rts, void *ud)
{
    int bits;

    (void)ud;
    if (ioctl(fd, TIOCMGET, &bits) != 0)
        return -1;
    if (dtr >= 0)
        bits = dtr ? (bits | TIOCM_DTR) : (bits & ~TIOCM_DTR);
    if (rts >= 0)
        bits = rts ? (bits | TIOCM_RTS) : (bits & ~TIOCM_RTS);
    return ioctl(fd, TIOCMSET, &bits);
}

/*
 * Run cmd with /bin/sh -c in its own process group (stdin from /dev/null,
 * stdout to our stderr); after deadline_s the whole group is killed.
 */
int dut_port_run_cmd(const char *cmd, double deadline_s)
{
    double end = ota_clock_now() + deadline_s;
    pid_t parent = getpid(), pid = fork();
    int status = 0;

    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(null, 0);
        dup2(2, 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (ota_clock_now() > end) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        ota_sleep(0.02); /* no wait for a child with a deadline: poll */
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
