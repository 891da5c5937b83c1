/*
 * ota-pty-board: plays a board on a serial port for tests. It makes a pty,
 * points a symlink at its slave side and runs a command on the master side
 * (stdin, stdout and stderr), restarting it as a bootloader would, with a
 * boot banner first; with --reenumerate each restart is a new pty, as a USB
 * board re-enumerates. It relays nothing: the command's fds are the master.
 * A pty has no modem lines; with --modem FILE it follows the lines a port
 * server set (the lines tests/pty_modem_shim.c appends to FILE) as an
 * ESP32's auto-reset circuit does: held in reset while RTS is asserted and
 * DTR is not, booting again when that ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "otaproto/version.h"

#define DEFAULT_BANNER "\r\nboot: ota-pty-board\r\n"
#define CRASH_PAUSE_S  0.2 /* before restarting a command that crashed */
#define GONE_PAUSE_S   0.2 /* PATH is absent this long on --reenumerate (--gone) */
#define GONE_MAX_S     60
#define BANNER_WAIT_MS 1000
#define WAIT_TICK_S    0.02
#define TMP_SUFFIX     ".tmp"

typedef struct {
    const char *link;
    const char *banner;
    int reenumerate;
    double gone; /* --gone SECONDS: how long PATH is absent on a re-enumeration */
    char **cmd;
    const char *modem; /* --modem FILE: the lines a port server set, one "dtr=D rts=R" a line */
    long modem_off;
    int in_reset;
    int master, slave; /* slave: kept open so the master never sees EIO */
    char slave_name[PATH_MAX];
} board;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void nap(double sec)
{
    struct timespec ts = {(time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9)};
    nanosleep(&ts, NULL);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ota-pty-board --link PATH [--reenumerate [--gone SECONDS]] [--banner TEXT] "
               "-- CMD [ARGS...]\n"
               "Plays a board on a serial port for tests: makes a pty, points PATH at it and\n"
               "runs CMD on the other side, restarting it whenever it exits.\n\n"
               "  --link PATH     the symlink the serial adapter opens as the board's port\n"
               "  --reenumerate   each restart is a new pty and PATH is briefly absent, as a\n"
               "                  USB board that re-enumerates\n"
               "  --gone SECONDS  how long PATH is absent at each re-enumeration (default 0.2;\n"
               "                  a board with native USB takes about a second)\n"
               "  --banner TEXT   printed before each start (default \"boot: ota-pty-board\")\n"
               "  --modem FILE    follow the modem lines a port server set (lines \"dtr=D rts=R\"\n"
               "                  appended to FILE): held in reset while RTS is asserted and\n"
               "                  DTR is not (an ESP32's auto-reset wiring)\n"
               "  --version       print the version and exit\n"
               "  --help, -h      this text\n");
}

/* --gone SECONDS: 1 when text is a number of seconds in (0, GONE_MAX_S]. */
static int parse_gone(const char *text, double *out)
{
    char *end;
    double s = strtod(text, &end);

    if (end == text || *end || !(s > 0 && s <= GONE_MAX_S))
        return 0;
    *out = s;
    return 1;
}

static int parse_args(board *b, int argc, char **argv)
{
    int i;

    for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--link") && i + 1 < argc)
            b->link = argv[++i];
        else if (!strcmp(argv[i], "--banner") && i + 1 < argc)
            b->banner = argv[++i];
        else if (!strcmp(argv[i], "--modem") && i + 1 < argc)
            b->modem = argv[++i];
        else if (!strcmp(argv[i], "--reenumerate"))
            b->reenumerate = 1;
        else if (!strcmp(argv[i], "--gone") && i + 1 < argc && parse_gone(argv[i + 1], &b->gone))
            i++;
        else
            return -1;
    }
    if (!b->link || i + 1 >= argc)
        return -1;
    b->cmd = argv + i + 1;
    return 0;
}

/* PATH -> the slave, replaced atomically: a reader never sees a half-made link. */
static int point_link(board *b)
{
    char tmp[PATH_MAX];

    if (snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, b->link) >= (int)sizeof(tmp))
        return -1;
    unlink(tmp);
    if (symlink(b->slave_name, tmp) != 0 || rename(tmp, b->link) != 0) {
        fprintf(stderr, "ota-pty-board: cannot link %s to %s: %s\n", b->link, b->slave_name,
                strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void close_pty(board *b)
{
    if (b->master >= 0)
        close(b->master);
    if (b->slave >= 0)
        close(b->slave);
    b->master = b->slave = -1;
}

static int open_pty(board *b)
{
    struct termios t;

    b->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (b->master < 0 || grantpt(b->master) != 0 || unlockpt(b->master) != 0 ||
        ptsname_r(b->master, b->slave_name, sizeof(b->slave_name)) != 0)
        goto fail;
    b->slave = open(b->slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (b->slave < 0 || tcgetattr(b->slave, &t) != 0)
        goto fail;
    cfmakeraw(&t);
    if (tcsetattr(b->slave, TCSANOW, &t) != 0)
        goto fail;
    return point_link(b);
fail:
    fprintf(stderr, "ota-pty-board: cannot make a pty: %s\n", strerror(errno));
    close_pty(b);
    return -1;
}

/* The ROM's boot banner, unless nobody has read the port for so long that it is full. */
static void write_banner(board *b)
{
    struct pollfd pfd = {.fd = b->master, .events = POLLOUT};
    size_t len = strlen(b->banner);

    if (len && poll(&pfd, 1, BANNER_WAIT_MS) == 1 && (pfd.revents & POLLOUT))
        (void)!write(b->master, b->banner, len);
}

/* Fork the command on the master; an exec failure comes back through a pipe. */
static pid_t spawn(board *b)
{
    pid_t parent = getpid(), pid;
    int report[2], e = 0;

    if (pipe2(report, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(b->master, 0);
        dup2(b->master, 1);
        dup2(b->master, 2);
        execvp(b->cmd[0], b->cmd);
        e = errno;
        (void)!write(report[1], &e, sizeof(e));
        _exit(127);
    }
    close(report[1]);
    if (pid > 0 && read(report[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
        fprintf(stderr, "ota-pty-board: cannot run %s: %s\n", b->cmd[0], strerror(e));
        waitpid(pid, NULL, 0);
        pid = -1;
    }
    close(report[0]);
    return pid;
}

/*
 * New lines of the modem file since the last call; in_reset follows the
 * last of them. Only complete lines count (a writer appends whole ones).
 */
static void follow_modem(board *b)
{
    char line[64];
    FILE *f;

    if (!b->modem || !(f = fopen(b->modem, "r")))
        return;
    if (fseek(f, b->modem_off, SEEK_SET) == 0) {
        while (fgets(line, sizeof(line), f) && strchr(line, '\n')) {
            int dtr, rts;
            b->modem_off += (long)strlen(line);
            if (sscanf(line, "dtr=%d rts=%d", &dtr, &rts) == 2)
                b->in_reset = rts && !dtr;
        }
    }
    fclose(f);
}

/* Wait for the command to end; on a stop request or a reset, kill it. Returns its status. */
static int wait_child(board *b, pid_t pid)
{
    int status = 0;

    while (waitpid(pid, &status, WNOHANG) == 0) {
        follow_modem(b);
        if (stop || b->in_reset) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        nap(WAIT_TICK_S);
    }
    return status;
}

/* A new pty under the same name, with the name absent for a moment in between. */
static int reenumerate(board *b)
{
    unlink(b->link);
    close_pty(b);
    nap(b->gone);
    return stop ? 0 : open_pty(b);
}

static int run(board *b)
{
    while (!stop) {
        pid_t pid;
        int status;

        follow_modem(b);
        if (b->in_reset) { /* the chip is held in reset: nothing runs */
            nap(WAIT_TICK_S);
            continue;
        }
        write_banner(b);
        pid = spawn(b);
        if (pid < 0)
            return 1;
        status = wait_child(b, pid);
        if (stop)
            break;
        if (!b->in_reset && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
            nap(CRASH_PAUSE_S);
        if (b->reenumerate && reenumerate(b) != 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    board b = {.banner = DEFAULT_BANNER, .gone = GONE_PAUSE_S, .master = -1, .slave = -1};
    struct sigaction sa;
    int rc;

    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("ota-pty-board %s\n", OTA_VERSION);
            return 0;
        }
    }
    if (parse_args(&b, argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (open_pty(&b) != 0)
        return 1;
    rc = run(&b);
    unlink(b.link);
    close_pty(&b);
    return rc;
}
