/*
 * The serial adapter: a board on a tty, whose control channel and log share
 * the port. A reader thread splits the input into lines (replies, events,
 * log), notices the port vanishing and reopens the same path when it comes
 * back; commands are resent with the same seq when a reply is late; resets
 * go through the channel, the modem lines or an external command. The port
 * itself (lock, termios, lines) is serial_port.c, or serial_net.c for a port
 * on another machine (a dropped connection is reopened as a vanished USB
 * port is). It never starts the board.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapter_priv.h"
#include "serial_priv.h"
#include "otaproto/clock.h"

#define LOG_KEEP         20   /* last log lines kept for crash reports */
#define TICK_MS          50   /* the reader's poll slice */
#define NODE_CHECK_S     0.5  /* how often the device node is checked */
#define REOPEN_FAST_S    0.1  /* reopen pace within the window */
#define REOPEN_SLOW_S    1.0  /* reopen pace after the window */
#define RESEND_MAX       2    /* resends of a command with the same seq */
#define RESEND_MIN_S     0.5  /* the shortest wait before a resend */
#define RESET_REPLY_S    1.0  /* how long RESET waits for its optional reply */
#define RESET_CMD_S      30.0 /* deadline of a reset command */
#define HOLD_WAIT_S      2.0  /* how long a reset waits for the port to be released */
#define DEFAULT_REOPEN_S 10.0
#define DEFAULT_READY_S  15.0
#define REPORT_MAX       (LOG_KEEP * (DUT_MAX_LINE + 1) + 2 * PATH_MAX + 600)

typedef struct {
    dut_adapter base;
    dut_callbacks cb;
    char *path, *reset_cmd, *framing;
    int baud;
    dut_reset_method reset;
    dut_port_seq seq;
    dut_set_lines_fn set_lines;
    void *set_lines_ud;
    double reopen_window, ready_timeout;

    pthread_t reader;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    dut_port port; /* opened and closed by the reader thread only, under lock */
    int go, closing, hold, held;
    int ready, ever_ready, starts, tx_cut;
    double ready_due; /* after a reset: !READY expected by then (0: not watched) */
    char caps[DUT_MAX_LINE];
    unsigned seq_no, pending_seq;
    int pending_done, pending_rc;
    char pending_reply[DUT_MAX_LINE + 1];
    char log[LOG_KEEP][DUT_MAX_LINE + 1];
    int log_next, log_count;

    /* the reader thread's own state */
    char line[DUT_MAX_LINE + 1];
    size_t line_len;
    int overlong;
    int lost_event, crash_reported;
    double reopen_start, next_try, next_node_check;
    char reopen_err[DUT_PORT_ERR_MAX];
} ser;

static void ser_last_log(dut_adapter *a, char *buf, size_t cap);

static void emit(ser *s, dut_event_kind k, const char *text)
{
    if (s->cb.on_event)
        s->cb.on_event(s->cb.ud, k, text);
}

static void keep_log(ser *s, const char *line)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->log[s->log_next], sizeof(s->log[0]), "%.*s", DUT_MAX_LINE, line);
    s->log_next = (s->log_next + 1) % LOG_KEEP;
    if (s->log_count < LOG_KEEP)
        s->log_count++;
    pthread_mutex_unlock(&s->lock);
}

static void on_log(ser *s, const char *line)
{
    keep_log(s, line);
    emit(s, DUT_EV_LOG, line);
}

/* A crash report: the sentence, then the last log lines. */
static void report_crash(ser *s, const char *sentence)
{
    char *report = malloc(REPORT_MAX);
    size_t n;

    if (!report) {
        emit(s, DUT_EV_CRASH, sentence);
        return;
    }
    n = (size_t)snprintf(report, REPORT_MAX, "%s; last log lines:\n", sentence);
    if (n < REPORT_MAX)
        ser_last_log(&s->base, report + n, REPORT_MAX - n);
    emit(s, DUT_EV_CRASH, report);
    free(report);
}

static void on_reply(ser *s, const dut_line *l, const char *raw)
{
    const char *rest = strchr(raw, ' ');
    int matched = 0;

    rest = rest ? strchr(rest + 1, ' ') : NULL; /* after "@seq OK" */
    pthread_mutex_lock(&s->lock);
    if (s->pending_seq && l->seq == s->pending_seq && !s->pending_done) {
        snprintf(s->pending_reply, sizeof(s->pending_reply), "%s",
                 l->kind == DUT_LINE_ERR ? raw : (rest ? rest + 1 : ""));
        s->pending_rc = l->kind == DUT_LINE_OK ? DUT_OK : DUT_ERR_REFUSED;
        s->pending_done = matched = 1;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    if (!matched) {
        char text[DUT_MAX_LINE + 32];
        snprintf(text, sizeof(text), "stray reply: %s", raw);
        on_log(s, text);
    }
}

static void on_ready(ser *s, const dut_line *l, const char *raw)
{
    const char *caps = dut_line_arg(l, "caps");

    pthread_mutex_lock(&s->lock);
    s->ready = s->ever_ready = 1;
    s->ready_due = 0;
    snprintf(s->caps, sizeof(s->caps), "%s", caps ? caps : "");
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    emit(s, DUT_EV_READY, raw);
}

static void on_line(ser *s, const char *line)
{
    dut_line l;

    dut_line_parse(line, &l);
    if (l.kind == DUT_LINE_OK || l.kind == DUT_LINE_ERR)
        on_reply(s, &l, line);
    else if (l.kind == DUT_LINE_EVENT && !strcmp(l.word, "READY"))
        on_ready(s, &l, line);
    else if (l.kind == DUT_LINE_EVENT)
        emit(s, DUT_EV_EVENT, line);
    else
        on_log(s, line);
}

/* End of a line: a whole one is parsed; the last piece of a cut one is log. */
static void end_line(ser *s)
{
    s->line[s->line_len] = '\0';
    if (s->overlong && s->line_len)
        on_log(s, s->line);
    else if (s->line_len)
        on_line(s, s->line);
    s->line_len = 0;
    s->overlong = 0;
}

/*
 * Bytes to lines. CR is dropped, NUL becomes '?' (so it can neither end a
 * line early nor join the halves of a reply), empty lines are skipped, and
 * a line longer than DUT_MAX_LINE is cut into pieces that are all log.
 */
static void feed(ser *s, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == '\r')
            continue;
        if (c == '\n') {
            end_line(s);
            continue;
        }
        if (s->line_len == DUT_MAX_LINE) {
            s->line[s->line_len] = '\0';
            on_log(s, s->line);
            s->line_len = 0;
            s->overlong = 1;
        }
        s->line[s->line_len++] = c ? c : '?';
    }
}

static void fail_pending(ser *s, int rc)
{
    if (s->pending_seq && !s->pending_done) {
        s->pending_done = 1;
        s->pending_rc = rc;
    }
    pthread_cond_broadcast(&s->cond);
}

/* Close the port; what was left of a line is the device's last words. */
static void release_port(ser *s)
{
    if (s->line_len) {
        s->overlong = 1;
        end_line(s);
    }
    pthread_mutex_lock(&s->lock);
    dut_port_close(&s->port);
    fail_pending(s, DUT_ERR_CLOSED);
    pthread_mutex_unlock(&s->lock);
}

static void start_reopening(ser *s, int lost_event)
{
    s->reopen_start = s->next_try = ota_clock_now();
    s->lost_event = lost_event;
    s->crash_reported = 0;
    s->reopen_err[0] = '\0';
}

static void port_lost(ser *s)
{
    char text[PATH_MAX + 32];

    release_port(s);
    start_reopening(s, 1);
    s->next_try += REOPEN_FAST_S;
    snprintf(text, sizeof(text), "port-lost: %s", s->path);
    emit(s, DUT_EV_EVENT, text);
}

static void reopen_failed(ser *s, double now)
{
    if (!s->crash_reported && now - s->reopen_start >= s->reopen_window) {
        char text[PATH_MAX + DUT_PORT_ERR_MAX + 96];
        snprintf(text, sizeof(text),
                 "the port %s vanished and did not come back within %g s (last error: %s)", s->path,
                 s->reopen_window, s->reopen_err);
        s->crash_reported = 1;
        report_crash(s, text);
    }
    s->next_try = now + (s->crash_reported ? REOPEN_SLOW_S : REOPEN_FAST_S);
}

/* One reopen attempt when it is due; the same path, resolved anew. */
static void try_reopen(ser *s)
{
    double now = ota_clock_now();
    dut_port p;

    if (now < s->next_try) {
        double left = s->next_try - now;
        ota_sleep(left < TICK_MS / 1000.0 ? left : TICK_MS / 1000.0);
        return;
    }
    if (dut_port_open(&p, s->path, s->baud, s->framing, s->reopen_err, sizeof(s->reopen_err)) !=
        DUT_OK) {
        reopen_failed(s, now);
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->port = p;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    s->next_node_check = now + NODE_CHECK_S;
    if (s->lost_event)
        emit(s, DUT_EV_EVENT, "port-back");
    s->lost_event = 0;
}

/* A USB port can vanish without a hangup reaching us: check the node itself. */
static int node_gone(ser *s)
{
    struct stat now_st, open_st;
    double now = ota_clock_now();

    if (now < s->next_node_check || s->port.kind != DUT_PORT_TTY)
        return 0;
    s->next_node_check = now + NODE_CHECK_S;
    if (fstat(s->port.fd, &open_st) != 0 || stat(s->path, &now_st) != 0)
        return 1;
    return now_st.st_rdev != open_st.st_rdev;
}

static void read_tick(ser *s)
{
    char buf[1024];
    struct pollfd pfd = {.fd = s->port.fd, .events = POLLIN};
    int r = dut_port_has_pending(&s->port) ? 1 : poll(&pfd, 1, TICK_MS);

    if (r > 0 && (dut_port_has_pending(&s->port) || (pfd.revents & POLLIN))) {
        ssize_t n = dut_port_read(&s->port, buf, sizeof(buf));
        if (n > 0)
            feed(s, buf, (size_t)n);
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            port_lost(s);
    } else if (r > 0) { /* POLLHUP, POLLERR or POLLNVAL without data */
        port_lost(s);
    } else if (node_gone(s)) {
        port_lost(s);
    }
}

/* While a reset command runs the port is released; the window counts from its end. */
static void hold_tick(ser *s)
{
    if (s->port.fd >= 0)
        release_port(s);
    pthread_mutex_lock(&s->lock);
    s->held = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    start_reopening(s, 0);
    ota_sleep(TICK_MS / 1000.0);
}

static void check_ready_due(ser *s)
{
    char text[160];
    int late;

    pthread_mutex_lock(&s->lock);
    late = s->ready_due > 0 && !s->ready && ota_clock_now() > s->ready_due;
    if (late)
        s->ready_due = 0;
    pthread_mutex_unlock(&s->lock);
    if (!late)
        return;
    snprintf(text, sizeof(text), "no !READY within %g s after a reset (%s)", s->ready_timeout,
             dut_reset_method_name(s->reset));
    report_crash(s, text);
}

static void *reader(void *arg)
{
    ser *s = arg;

    pthread_mutex_lock(&s->lock);
    while (!s->go) /* dut_serial_open reports the open first */
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    for (;;) {
        int closing, hold;
        pthread_mutex_lock(&s->lock);
        closing = s->closing;
        hold = s->hold;
        pthread_mutex_unlock(&s->lock);
        if (closing)
            break;
        if (hold)
            hold_tick(s);
        else if (s->port.fd < 0)
            try_reopen(s);
        else
            read_tick(s);
        check_ready_due(s);
    }
    return NULL;
}

/*
 * Write one line on a duplicate of the port's fd, so the reader may close
 * the port meanwhile. A line cut by the deadline makes the next one start
 * with a newline, so the device sees garbage once, not a joined command.
 * Returns -1 when the port is closed.
 */
static int send_line(ser *s, const char *line, size_t len, double deadline)
{
    char buf[DUT_MAX_LINE + 4];
    size_t o = 0, done;
    dut_port_kind kind;
    int fd;

    pthread_mutex_lock(&s->lock);
    fd = s->port.fd >= 0 ? fcntl(s->port.fd, F_DUPFD_CLOEXEC, 0) : -1;
    kind = s->port.kind;
    if (s->tx_cut)
        buf[o++] = '\n';
    pthread_mutex_unlock(&s->lock);
    if (fd < 0)
        return -1;
    memcpy(buf + o, line, len);
    done = dut_port_send(kind, fd, buf, o + len, deadline);
    close(fd);
    pthread_mutex_lock(&s->lock);
    if (done == o + len)
        s->tx_cut = 0;
    else if (done > 0)
        s->tx_cut = 1;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/*
 * Send "@seq verb_args" and wait for its reply. When it is late, the same
 * line goes out again (at most `resends` times): a UART may drop a line,
 * and a device that got both answers twice, the second one is stray.
 */
static int exchange(ser *s, const char *verb_args, char *reply, size_t cap, double timeout_s,
                    int resends)
{
    char line[DUT_MAX_LINE + 2];
    double end = ota_clock_now() + timeout_s, next_send = 0;
    double slice = timeout_s / 3 > RESEND_MIN_S ? timeout_s / 3 : RESEND_MIN_S;
    int n, sends = 0, rc = DUT_ERR_TIMEOUT;

    pthread_mutex_lock(&s->lock);
    s->pending_seq = ++s->seq_no;
    s->pending_done = 0;
    n = snprintf(line, sizeof(line), "@%u %s\n", s->pending_seq, verb_args);
    if (n < 0 || (size_t)n > DUT_MAX_LINE + 1) {
        rc = DUT_ERR_ARG;
        goto out;
    }
    while (!s->pending_done && ota_clock_now() < end) {
        if (sends <= resends && ota_clock_now() >= next_send) {
            pthread_mutex_unlock(&s->lock);
            int sent = send_line(s, line, (size_t)n, end);
            pthread_mutex_lock(&s->lock);
            if (sent < 0 && !s->pending_done) {
                rc = DUT_ERR_CLOSED;
                goto out;
            }
            sends++;
            next_send = ota_clock_now() + slice;
            continue;
        }
        ota_cond_wait_until(&s->cond, &s->lock,
                            sends <= resends && next_send < end ? next_send : end);
    }
    if (s->pending_done)
        rc = s->pending_rc;
out:
    if (reply && cap)
        snprintf(reply, cap, "%s", s->pending_done ? s->pending_reply : "");
    s->pending_seq = 0;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int ser_command(dut_adapter *a, const char *verb_args, char *reply, size_t cap,
                       double timeout_s)
{
    ser *s = (ser *)a;
    int ready, open;

    if (reply && cap)
        reply[0] = '\0';
    pthread_mutex_lock(&s->lock);
    ready = s->ready;
    open = s->port.fd >= 0;
    pthread_mutex_unlock(&s->lock);
    if (!ready)
        return DUT_ERR_NOCHANNEL;
    if (!open)
        return DUT_ERR_CLOSED;
    return exchange(s, verb_args, reply, cap, timeout_s, RESEND_MAX);
}

static int ser_has_channel(dut_adapter *a)
{
    ser *s = (ser *)a;
    int r;
    pthread_mutex_lock(&s->lock);
    r = s->ready;
    pthread_mutex_unlock(&s->lock);
    return r;
}

static int ser_has_cap(dut_adapter *a, const char *cap)
{
    ser *s = (ser *)a;
    size_t n = strlen(cap);
    int found = 0;

    pthread_mutex_lock(&s->lock);
    for (const char *c = s->caps; s->ready && *c;) {
        size_t len = strcspn(c, ",");
        if (len == n && !strncmp(c, cap, n))
            found = 1;
        c += len + (c[len] ? 1 : 0);
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

/* Release the port, run the command, and wait for the reader to reopen the port. */
static int reset_by_command(ser *s)
{
    double end = ota_clock_now() + HOLD_WAIT_S;
    int rc, open;

    pthread_mutex_lock(&s->lock);
    s->hold = 1;
    s->held = 0;
    while (!s->held)
        if (ota_cond_wait_until(&s->cond, &s->lock, end) != 0)
            break;
    pthread_mutex_unlock(&s->lock);
    rc = dut_port_run_cmd(s->reset_cmd, RESET_CMD_S) == 0 ? DUT_OK : DUT_ERR_SPAWN;
    pthread_mutex_lock(&s->lock);
    s->hold = s->held = 0;
    end = ota_clock_now() + s->reopen_window + TICK_MS / 1000.0;
    while (s->port.fd < 0)
        if (ota_cond_wait_until(&s->cond, &s->lock, end) != 0)
            break;
    open = s->port.fd >= 0;
    pthread_mutex_unlock(&s->lock);
    return rc != DUT_OK ? rc : (open ? DUT_OK : DUT_ERR_CLOSED);
}

static int reset_by_lines(ser *s)
{
    dut_port_kind kind;
    int fd, rc;

    pthread_mutex_lock(&s->lock);
    fd = s->port.fd >= 0 ? fcntl(s->port.fd, F_DUPFD_CLOEXEC, 0) : -1;
    kind = s->port.kind;
    pthread_mutex_unlock(&s->lock);
    if (fd < 0)
        return DUT_ERR_CLOSED;
    rc = dut_port_seq_run(&s->seq, kind, fd, s->set_lines, s->set_lines_ud) == 0 ? DUT_OK
                                                                                 : DUT_ERR_SPAWN;
    close(fd);
    return rc;
}

/*
 * RESET once, never resent: a device that rebooted before answering would
 * take a second RESET as a second reboot. Its reply is optional, and the
 * port vanishing meanwhile is the reboot itself (a USB board re-enumerating).
 */
static int reset_by_channel(ser *s)
{
    int open;

    pthread_mutex_lock(&s->lock);
    open = s->port.fd >= 0;
    pthread_mutex_unlock(&s->lock);
    if (!open)
        return DUT_ERR_CLOSED;
    exchange(s, "RESET", NULL, 0, RESET_REPLY_S, 0);
    return DUT_OK;
}

/* The channel is down from here until the next !READY. */
static int ser_restart(dut_adapter *a)
{
    ser *s = (ser *)a;
    char text[64];
    int rc = DUT_OK;

    if (s->reset == DUT_RESET_NONE)
        return DUT_ERR_NOCHANNEL;
    pthread_mutex_lock(&s->lock);
    s->starts++;
    s->ready = 0;
    s->ready_due = 0;
    s->caps[0] = '\0';
    s->log_count = 0; /* a report on this run shows its own lines */
    pthread_mutex_unlock(&s->lock);
    snprintf(text, sizeof(text), "reset: %s", dut_reset_method_name(s->reset));
    emit(s, DUT_EV_START, text);
    if (s->reset == DUT_RESET_CHANNEL)
        rc = reset_by_channel(s);
    else if (s->reset == DUT_RESET_LINES)
        rc = reset_by_lines(s);
    else
        rc = reset_by_command(s);
    pthread_mutex_lock(&s->lock);
    if (rc == DUT_OK && s->ever_ready && !s->ready)
        s->ready_due = ota_clock_now() + s->ready_timeout;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void ser_last_log(dut_adapter *a, char *buf, size_t cap)
{
    ser *s = (ser *)a;
    size_t o = 0;

    if (cap)
        buf[0] = '\0';
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->log_count; i++) {
        int idx = (s->log_next - s->log_count + i + LOG_KEEP) % LOG_KEEP;
        int n = snprintf(buf + o, cap - o, "%s%s", i ? "\n" : "", s->log[idx]);
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
    pthread_mutex_unlock(&s->lock);
}

static int ser_starts(dut_adapter *a)
{
    ser *s = (ser *)a;
    int n;
    pthread_mutex_lock(&s->lock);
    n = s->starts;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void ser_free(ser *s)
{
    free(s->path);
    free(s->reset_cmd);
    free(s->framing);
    free(s);
}

static void ser_close(dut_adapter *a)
{
    ser *s = (ser *)a;

    pthread_mutex_lock(&s->lock);
    s->closing = 1;
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->reader, NULL);
    dut_port_close(&s->port);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    ser_free(s);
}

static const dut_ops serial_ops = {
    "serial",    ser_command,  ser_has_channel, ser_has_cap,
    ser_restart, ser_last_log, ser_starts,      ser_close,
};

/* Everything about the configuration that can be wrong, before the port is touched. */
static int check_config(const dut_serial_config *cfg, dut_port_seq *seq, char *err, size_t cap)
{
    int rc;

    if (!cfg->path || !*cfg->path) {
        snprintf(err, cap,
                 "no serial port given (expected a path such as /dev/ttyUSB0, or "
                 "rfc2217://HOST:PORT or socket://HOST:PORT)");
        return DUT_ERR_ARG;
    }
    rc = dut_port_settings_check(cfg->baud, cfg->framing, err, cap);
    if (rc == DUT_OK && dut_port_kind_of(cfg->path) != DUT_PORT_TTY)
        rc = dut_net_check(cfg->path, err, cap);
    if (rc != DUT_OK)
        return rc;
    if (cfg->reset == DUT_RESET_LINES && dut_port_kind_of(cfg->path) == DUT_PORT_SOCKET &&
        !cfg->set_lines) {
        snprintf(err, cap,
                 "%s is a raw TCP port without modem lines, so reset method \"dtr-rts\" cannot "
                 "work: reset by \"channel\" or \"command\", or export the port with RFC 2217 "
                 "(rfc2217://)",
                 cfg->path);
        return DUT_ERR_ARG;
    }
    if ((unsigned)cfg->reset >= DUT_RESET__COUNT) {
        snprintf(err, cap, "unknown reset method %d", (int)cfg->reset);
        return DUT_ERR_ARG;
    }
    if (cfg->reset == DUT_RESET_LINES)
        return dut_port_seq_parse(cfg->reset_seq, seq, err, cap);
    if (cfg->reset == DUT_RESET_COMMAND && (!cfg->reset_cmd || !*cfg->reset_cmd)) {
        snprintf(err, cap, "reset method \"command\" needs a reset command");
        return DUT_ERR_ARG;
    }
    return DUT_OK;
}

static ser *ser_new(const dut_serial_config *cfg, const dut_callbacks *cb)
{
    ser *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->base.ops = &serial_ops;
    s->cb = cb ? *cb : (dut_callbacks){0};
    s->port.fd = -1;
    s->baud = cfg->baud ? cfg->baud : 115200;
    s->reset = cfg->reset;
    s->set_lines = cfg->set_lines                                    ? cfg->set_lines
                   : dut_port_kind_of(cfg->path) == DUT_PORT_RFC2217 ? dut_net_set_lines
                                                                     : dut_port_set_lines;
    s->set_lines_ud = cfg->set_lines_ud;
    s->reopen_window = cfg->reopen_window_s > 0 ? cfg->reopen_window_s : DEFAULT_REOPEN_S;
    s->ready_timeout = cfg->ready_timeout_s > 0 ? cfg->ready_timeout_s : DEFAULT_READY_S;
    s->starts = 1;
    s->path = strdup(cfg->path);
    s->framing = strdup(cfg->framing ? cfg->framing : "8N1");
    s->reset_cmd = cfg->reset_cmd ? strdup(cfg->reset_cmd) : NULL;
    if (!s->path || !s->framing || (cfg->reset_cmd && !s->reset_cmd)) {
        ser_free(s);
        return NULL;
    }
    return s;
}

static int start_reader(ser *s)
{
    pthread_mutex_init(&s->lock, NULL);
    ota_cond_init_mono(&s->cond);
    if (pthread_create(&s->reader, NULL, reader, s) == 0)
        return DUT_OK;
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    return DUT_ERR_NOMEM;
}

int dut_serial_open(const dut_serial_config *cfg, const dut_callbacks *cb, dut_adapter **out,
                    char *err, size_t errcap)
{
    char scratch[DUT_PORT_ERR_MAX], text[PATH_MAX + 16];
    dut_port_seq seq = {0};
    ser *s = NULL;
    int rc;

    if (!err || !errcap) {
        err = scratch;
        errcap = sizeof(scratch);
    }
    err[0] = '\0';
    if (!cfg || !out) {
        snprintf(err, errcap, "no serial configuration given");
        return DUT_ERR_ARG;
    }
    rc = check_config(cfg, &seq, err, errcap);
    if (rc != DUT_OK)
        return rc;
    s = ser_new(cfg, cb);
    if (!s) {
        snprintf(err, errcap, "out of memory");
        return DUT_ERR_NOMEM;
    }
    s->seq = seq;
    rc = dut_port_open(&s->port, s->path, s->baud, s->framing, err, errcap);
    if (rc != DUT_OK)
        goto out;
    s->next_node_check = ota_clock_now() + NODE_CHECK_S;
    rc = start_reader(s);
    if (rc != DUT_OK) {
        snprintf(err, errcap, "cannot start the reader thread for %s", s->path);
        goto out;
    }
    snprintf(text, sizeof(text), "open: %s", s->path);
    emit(s, DUT_EV_START, text);
    pthread_mutex_lock(&s->lock);
    s->go = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
out:
    if (rc != DUT_OK) {
        dut_port_close(&s->port);
        ser_free(s);
        return rc;
    }
    *out = &s->base;
    return DUT_OK;
}
