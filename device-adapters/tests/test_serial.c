/*
 * The serial adapter on real ptys: the test plays the board on the master
 * side (a responder thread answers commands by a per-case script), the
 * adapter opens a symlink to the slave. Plus ota-pty-board end to end.
 * Every wait has a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "otadut/dut.h"
#include "otaproto/clock.h"

#define MAX_EVENTS 1024
#define EVENT_TEXT 1024
#define RX_MAX     65536
#define MAX_CALLS  32

static const char *pty_board_bin;

typedef struct {
    dut_event_kind kind;
    char text[EVENT_TEXT];
} event;

typedef struct fixture fixture;
typedef void (*script_fn)(fixture *fx, unsigned seq, const char *verb);

struct fixture {
    char dir[64], link[96];
    int master, slave;
    char slave_name[PATH_MAX];
    dut_adapter *a;

    pthread_mutex_t lock;
    event events[MAX_EVENTS];
    int nevents;

    pthread_t responder;
    int responder_on, stop;
    script_fn script;
    char rx[RX_MAX]; /* everything the adapter sent, for checks */
    size_t rx_len;
};

static void on_event(void *ud, dut_event_kind k, const char *text)
{
    fixture *fx = ud;
    if (getenv("TEST_TRACE")) /* TEST_TRACE=1 shows what the adapter reported */
        fprintf(stderr, "  [%s] %.200s\n", dut_event_name(k), text);
    pthread_mutex_lock(&fx->lock);
    if (fx->nevents < MAX_EVENTS) {
        fx->events[fx->nevents].kind = k;
        snprintf(fx->events[fx->nevents].text, EVENT_TEXT, "%s", text);
        fx->nevents++;
    }
    pthread_mutex_unlock(&fx->lock);
}

/* Events of a kind whose text contains sub (NULL: any). */
static int count_events(fixture *fx, dut_event_kind k, const char *sub)
{
    int n = 0;
    pthread_mutex_lock(&fx->lock);
    for (int i = 0; i < fx->nevents; i++)
        if (fx->events[i].kind == k && (!sub || strstr(fx->events[i].text, sub)))
            n++;
    pthread_mutex_unlock(&fx->lock);
    return n;
}

static int wait_events(fixture *fx, dut_event_kind k, const char *sub, int n, double timeout)
{
    double end = ota_clock_now() + timeout;
    while (ota_clock_now() < end) {
        if (count_events(fx, k, sub) >= n)
            return 1;
        ota_sleep(0.01);
    }
    return 0;
}

static void make_raw(int fd)
{
    struct termios t;
    assert_int_equal(tcgetattr(fd, &t), 0);
    cfmakeraw(&t);
    assert_int_equal(tcsetattr(fd, TCSANOW, &t), 0);
}

/* A fresh pty (the test keeps its slave open, so bytes written early wait there) and the link. */
static void new_pty(fixture *fx)
{
    char tmp[128];
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    assert_int_equal(ptsname_r(m, fx->slave_name, sizeof(fx->slave_name)), 0);
    fx->slave = open(fx->slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(fx->slave >= 0);
    make_raw(fx->slave);
    snprintf(tmp, sizeof(tmp), "%s.tmp", fx->link);
    unlink(tmp);
    assert_int_equal(symlink(fx->slave_name, tmp), 0);
    assert_int_equal(rename(tmp, fx->link), 0);
    pthread_mutex_lock(&fx->lock);
    fx->master = m;
    pthread_mutex_unlock(&fx->lock);
}

static void board_write(fixture *fx, const void *bytes, size_t n)
{
    int fd;
    pthread_mutex_lock(&fx->lock);
    fd = fx->master;
    pthread_mutex_unlock(&fx->lock);
    if (fd >= 0)
        assert_int_equal(write(fd, bytes, n), (ssize_t)n);
}

static void board_say(fixture *fx, const char *text)
{
    board_write(fx, text, strlen(text));
}

/* Commands in what arrived since *pos, handed to the script. */
static void dispatch(fixture *fx, size_t *pos)
{
    for (;;) {
        char line[512];
        unsigned seq;
        char verb[32];
        char *nl = memchr(fx->rx + *pos, '\n', fx->rx_len - *pos);
        size_t len;

        if (!nl)
            return;
        len = (size_t)(nl - (fx->rx + *pos));
        snprintf(line, sizeof(line), "%.*s", (int)len, fx->rx + *pos);
        *pos += len + 1;
        if (sscanf(line, "@%u %31s", &seq, verb) == 2 && fx->script)
            fx->script(fx, seq, verb);
    }
}

static void *responder(void *arg)
{
    fixture *fx = arg;
    size_t pos = 0;

    for (;;) {
        struct pollfd pfd;
        int fd, stop;
        pthread_mutex_lock(&fx->lock);
        fd = fx->master;
        stop = fx->stop;
        pthread_mutex_unlock(&fx->lock);
        if (stop)
            break;
        if (fd < 0) {
            ota_sleep(0.01);
            continue;
        }
        if (RX_MAX - 1 - fx->rx_len < 1024) { /* keep what is not dispatched yet */
            memmove(fx->rx, fx->rx + pos, fx->rx_len - pos);
            fx->rx_len -= pos;
            pos = 0;
            if (RX_MAX - 1 - fx->rx_len < 1024)
                fx->rx_len = 0;
        }
        pfd = (struct pollfd){.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 20) == 1 && (pfd.revents & POLLIN)) {
            ssize_t n = read(fd, fx->rx + fx->rx_len, RX_MAX - 1 - fx->rx_len);
            if (n > 0)
                fx->rx_len += (size_t)n;
            dispatch(fx, &pos);
        }
    }
    return NULL;
}

static void start_responder(fixture *fx, script_fn script)
{
    fx->script = script;
    assert_int_equal(pthread_create(&fx->responder, NULL, responder, fx), 0);
    fx->responder_on = 1;
}

static void stop_responder(fixture *fx)
{
    if (!fx->responder_on)
        return;
    pthread_mutex_lock(&fx->lock);
    fx->stop = 1;
    pthread_mutex_unlock(&fx->lock);
    pthread_join(fx->responder, NULL);
    fx->responder_on = 0;
    fx->stop = 0;
}

/* How often the adapter sent exactly this line. */
static int sent_count(fixture *fx, const char *line)
{
    int n = 0;
    for (const char *p = fx->rx; (p = strstr(p, line)); p += strlen(line))
        n++;
    return n;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    pthread_mutex_init(&fx->lock, NULL);
    fx->master = fx->slave = -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/ota-serial-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->link, sizeof(fx->link), "%s/tty", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[128];

    stop_responder(fx);
    dut_close(fx->a);
    if (fx->master >= 0)
        close(fx->master);
    if (fx->slave >= 0)
        close(fx->slave);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fx->dir);
    pthread_mutex_destroy(&fx->lock);
    free(fx);
    return 0;
}

static void open_adapter(fixture *fx, dut_serial_config *cfg)
{
    dut_callbacks cb = {on_event, fx};
    char err[512] = "";
    int rc;

    cfg->path = fx->link;
    rc = dut_serial_open(cfg, &cb, &fx->a, err, sizeof(err));
    if (rc != DUT_OK)
        fail_msg("dut_serial_open: %s", err);
}

/* A pty, the board's !READY waiting in it, and the adapter reading it. */
static void open_ready(fixture *fx, dut_serial_config *cfg)
{
    new_pty(fx);
    board_say(fx, "\r\nboot: rom\r\n!READY fw=1.0 caps=reset,set\r\n");
    open_adapter(fx, cfg);
    assert_true(wait_events(fx, DUT_EV_READY, "fw=1.0", 1, 2));
    assert_true(dut_has_channel(fx->a));
    assert_true(dut_has_cap(fx->a, "set"));
}

static void say_ok(fixture *fx, unsigned seq, const char *verb)
{
    char line[64];
    (void)verb;
    snprintf(line, sizeof(line), "@%u OK\n", seq);
    board_say(fx, line);
}

static void say_split(fixture *fx, unsigned seq, const char *verb)
{
    char head[32];
    (void)verb;
    snprintf(head, sizeof(head), "@%u O", seq);
    board_say(fx, head);
    ota_sleep(0.05);
    board_say(fx, "K ver");
    ota_sleep(0.05);
    board_say(fx, "sion=7\r\n");
}

static void reply_split_over_writes_is_one_reply(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    char reply[64];

    open_ready(fx, &cfg);
    start_responder(fx, say_split);
    assert_int_equal(dut_command(fx->a, "STATUS", reply, sizeof(reply), 2), DUT_OK);
    assert_string_equal(reply, "version=7");
    assert_int_equal(count_events(fx, DUT_EV_LOG, "@"), 0);
    assert_int_equal(count_events(fx, DUT_EV_START, "open: "), 1);
}

static void say_between_logs(fixture *fx, unsigned seq, const char *verb)
{
    char text[128];
    (void)verb;
    snprintf(text, sizeof(text),
             "@%u OK v=1\nI (812) wifi: got ip\n@%u OK v=2\nI (813) ota: idle\n", seq + 98, seq);
    board_say(fx, text);
}

static void log_lines_around_a_reply_in_one_write(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    char reply[64], log[2048];

    open_ready(fx, &cfg);
    start_responder(fx, say_between_logs);
    assert_int_equal(dut_command(fx->a, "PING", reply, sizeof(reply), 2), DUT_OK);
    assert_string_equal(reply, "v=2");
    assert_true(wait_events(fx, DUT_EV_LOG, "ota: idle", 1, 1));
    assert_int_equal(count_events(fx, DUT_EV_LOG, "wifi: got ip"), 1);
    assert_int_equal(count_events(fx, DUT_EV_LOG, "stray reply: @99 OK v=1"), 1);
    dut_last_log(fx->a, log, sizeof(log));
    assert_string_equal(log, "boot: rom\nstray reply: @99 OK v=1\nI (812) wifi: got ip\n"
                             "I (813) ota: idle");
}

/* Every way a reply could be faked by garbage; none of them is one. */
static void say_garbage(fixture *fx, unsigned seq, const char *verb)
{
    char buf[1100];
    int n;

    if (strcmp(verb, "PING")) {
        say_ok(fx, seq, verb);
        return;
    }
    n = snprintf(buf, sizeof(buf), "@%u O", seq);
    board_write(fx, buf, (size_t)n);
    board_write(fx, "\0K\n", 3);
    n = snprintf(buf, sizeof(buf), "\xff\xfe@%u OK\n@%u\rOK\n\r\r\n", seq, seq);
    board_write(fx, buf, (size_t)n);
    memset(buf, 'x', 1000);
    n = snprintf(buf, 7, "@%u OK", seq); /* the 1000-byte line starts like a reply */
    buf[n] = ' ';
    snprintf(buf + 256, 8, "@%u OK ", seq); /* and so does its second piece */
    buf[256 + n + 1] = 'x';
    buf[1000] = '\n';
    board_write(fx, buf, 1001);
}

static void garbage_never_makes_a_reply(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    char reply[64];
    double t0;

    open_ready(fx, &cfg);
    start_responder(fx, say_garbage);
    t0 = ota_clock_now();
    assert_int_equal(dut_command(fx->a, "PING", reply, sizeof(reply), 1), DUT_ERR_TIMEOUT);
    assert_true(ota_clock_now() - t0 < 1.5);
    assert_true(wait_events(fx, DUT_EV_LOG, "@1 O?K", 1, 1));
    assert_true(wait_events(fx, DUT_EV_LOG, "\xff\xfe@1 OK", 1, 1));
    assert_true(wait_events(fx, DUT_EV_LOG, "@1OK", 1, 1));
    /* sent three times (two resends), each time 4 pieces of the long line */
    assert_true(wait_events(fx, DUT_EV_LOG, "xxxx", 4, 1));
    assert_int_equal(dut_command(fx->a, "STATUS", reply, sizeof(reply), 2), DUT_OK);
    assert_int_equal(count_events(fx, DUT_EV_CRASH, NULL), 0);
}

static void say_long(fixture *fx, unsigned seq, const char *verb)
{
    char buf[700];
    int n;
    (void)verb;
    memset(buf, 'a', 600);
    buf[600] = '\n';
    board_write(fx, buf, 601);
    /* a reply of exactly DUT_MAX_LINE bytes is still a reply */
    n = snprintf(buf, sizeof(buf), "@%u OK k=", seq);
    memset(buf + n, 'v', 256 - (size_t)n);
    buf[256] = '\n';
    board_write(fx, buf, 257);
}

static void overlong_line_is_cut_into_log_pieces(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    char reply[300];
    int pieces[3] = {0};

    open_ready(fx, &cfg);
    start_responder(fx, say_long);
    assert_int_equal(dut_command(fx->a, "PING", reply, sizeof(reply), 2), DUT_OK);
    assert_int_equal(strlen(reply), 256 - strlen("@1 OK "));
    assert_true(wait_events(fx, DUT_EV_LOG, "aaaa", 3, 1));
    pthread_mutex_lock(&fx->lock);
    for (int i = 0, j = 0; i < fx->nevents && j < 3; i++)
        if (fx->events[i].kind == DUT_EV_LOG && fx->events[i].text[0] == 'a')
            pieces[j++] = (int)strlen(fx->events[i].text);
    pthread_mutex_unlock(&fx->lock);
    assert_int_equal(pieces[0], 256);
    assert_int_equal(pieces[1], 256);
    assert_int_equal(pieces[2], 88);
}

static void missing_reply_times_out_after_resending_same_seq(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    double t0;

    open_ready(fx, &cfg);
    start_responder(fx, NULL);
    t0 = ota_clock_now();
    assert_int_equal(dut_command(fx->a, "PING", NULL, 0, 1.5), DUT_ERR_TIMEOUT);
    assert_true(ota_clock_now() - t0 >= 1.4 && ota_clock_now() - t0 < 2.0);
    ota_sleep(0.1);
    stop_responder(fx);
    assert_true(sent_count(fx, "@1 PING\n") >= 2);
    assert_int_equal(sent_count(fx, "@2 "), 0);
}

/* The board drops off the bus on this command: the master goes away. */
static void vanish(fixture *fx, unsigned seq, const char *verb)
{
    (void)seq;
    if (!strcmp(verb, "PING")) {
        say_ok(fx, seq, verb);
        return;
    }
    pthread_mutex_lock(&fx->lock);
    close(fx->master);
    close(fx->slave);
    fx->master = fx->slave = -1;
    pthread_mutex_unlock(&fx->lock);
}

static void reconnects_when_a_new_pty_appears_under_the_link(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {.reopen_window_s = 3};
    char text[160];
    double t0;

    open_ready(fx, &cfg);
    start_responder(fx, vanish);
    t0 = ota_clock_now();
    assert_int_equal(dut_command(fx->a, "FLASH", NULL, 0, 3), DUT_ERR_CLOSED);
    assert_true(ota_clock_now() - t0 < 1.0);
    snprintf(text, sizeof(text), "port-lost: %s", fx->link);
    assert_true(wait_events(fx, DUT_EV_EVENT, text, 1, 1));
    assert_int_equal(dut_command(fx->a, "PING", NULL, 0, 1), DUT_ERR_CLOSED);
    unlink(fx->link);
    ota_sleep(0.3);
    new_pty(fx);
    assert_true(wait_events(fx, DUT_EV_EVENT, "port-back", 1, 2));
    board_say(fx, "!READY fw=1.1 caps=reset\n");
    assert_true(wait_events(fx, DUT_EV_READY, "fw=1.1", 1, 2));
    assert_int_equal(dut_command(fx->a, "PING", NULL, 0, 2), DUT_OK);
    assert_int_equal(count_events(fx, DUT_EV_CRASH, NULL), 0);
}

static void vanished_port_is_a_crash_after_the_window(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {.reopen_window_s = 0.3};

    open_ready(fx, &cfg);
    board_say(fx, "E (900) brownout detector\n");
    assert_true(wait_events(fx, DUT_EV_LOG, "brownout", 1, 1));
    close(fx->master);
    close(fx->slave);
    fx->master = fx->slave = -1;
    unlink(fx->link);
    assert_true(wait_events(fx, DUT_EV_CRASH, "did not come back within 0.3 s", 1, 2));
    assert_int_equal(count_events(fx, DUT_EV_CRASH, "brownout detector"), 1);
    new_pty(fx); /* a board that comes back later is picked up at the slow pace */
    assert_true(wait_events(fx, DUT_EV_EVENT, "port-back", 1, 2.5));
}

static void slow_reader_does_not_block_a_command(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    char junk[4096];
    double t0;

    open_ready(fx, &cfg);
    memset(junk, 'j', sizeof(junk));
    fcntl(fx->slave, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 10000 && write(fx->slave, junk, sizeof(junk)) > 0; i++)
        ;
    t0 = ota_clock_now();
    assert_int_equal(dut_command(fx->a, "PING", NULL, 0, 1), DUT_ERR_TIMEOUT);
    assert_true(ota_clock_now() - t0 < 1.5);
    for (;;) { /* the board reads again */
        struct pollfd pfd = {.fd = fx->master, .events = POLLIN};
        if (poll(&pfd, 1, 100) != 1 || read(fx->master, junk, sizeof(junk)) <= 0)
            break;
    }
    start_responder(fx, say_ok);
    assert_int_equal(dut_command(fx->a, "PING", NULL, 0, 2), DUT_OK);
}

static void busy_port_names_this_process(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    dut_adapter *second = NULL;
    char err[512], want[64];

    open_ready(fx, &cfg);
    cfg.path = fx->link;
    assert_int_equal(dut_serial_open(&cfg, NULL, &second, err, sizeof(err)), DUT_ERR_SPAWN);
    assert_null(second);
    snprintf(want, sizeof(want), "pid %d (test_dut_serial)", (int)getpid());
    assert_non_null(strstr(err, "is busy"));
    assert_non_null(strstr(err, want));
}

/* A lock left by a process that is gone is taken over; ours replaces it. */
static void stale_lock_is_taken_over(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    char lock[128], text[32] = "";
    pid_t dead = fork();
    FILE *f;

    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    new_pty(fx);
    snprintf(lock, sizeof(lock), "/run/lock/LCK..pts_%s", strrchr(fx->slave_name, '/') + 1);
    f = fopen(lock, "w");
    if (!f)
        skip(); /* /run/lock not writable here: the adapter uses /tmp */
    fprintf(f, "%10d\n", (int)dead);
    fclose(f);
    open_adapter(fx, &cfg);
    f = fopen(lock, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof(text), f));
    fclose(f);
    assert_int_equal(atoi(text), (int)getpid());
    dut_close(fx->a);
    fx->a = NULL;
    assert_int_equal(access(lock, F_OK), -1);
}

static void port_errors_say_what_to_do(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {0};
    dut_adapter *a = NULL;
    char err[512], want[256];

    snprintf(want, sizeof(want), "%s/ttyUSB0", fx->dir);
    cfg.path = want;
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_SPAWN);
    snprintf(want, sizeof(want),
             "no such port %s/ttyUSB0: is the board plugged in? ls /dev/serial/by-id/", fx->dir);
    assert_string_equal(err, want);
    cfg.path = "/dev/null";
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_SPAWN);
    assert_string_equal(err, "/dev/null is not a tty (a serial port was expected)");
    assert_int_equal(access("/run/lock/LCK..null", F_OK), -1);
    assert_null(a);
}

static void bad_settings_are_refused_by_name(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {.framing = "9N1"};
    dut_adapter *a = NULL;
    char err[512];

    new_pty(fx);
    cfg.path = fx->link;
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_ARG);
    assert_non_null(strstr(err, "unsupported framing \"9N1\""));
    cfg.framing = "7E1";
    cfg.baud = 12345;
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_ARG);
    assert_non_null(strstr(err, "unsupported speed 12345 baud"));
    cfg.baud = 921600;
    cfg.reset = DUT_RESET_LINES;
    cfg.reset_seq = "dtr=0 foo=1 wait=10";
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_ARG);
    assert_non_null(strstr(err, "bad reset step \"foo=1\""));
    cfg.reset_seq = "rts=2";
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_ARG);
    assert_non_null(strstr(err, "\"rts=2\""));
    cfg.reset = DUT_RESET_COMMAND;
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_ARG);
    assert_null(a);
    cfg.reset = DUT_RESET_NONE;
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_OK);
    assert_int_equal(dut_restart(a), DUT_ERR_NOCHANNEL);
    dut_close(a);
}

typedef struct {
    int n;
    int dtr[MAX_CALLS], rts[MAX_CALLS];
    double at[MAX_CALLS];
} line_calls;

static int record_lines(int fd, int dtr, int rts, void *ud)
{
    line_calls *c = ud;
    (void)fd;
    if (c->n < MAX_CALLS) {
        c->dtr[c->n] = dtr;
        c->rts[c->n] = rts;
        c->at[c->n] = ota_clock_now();
        c->n++;
    }
    return 0;
}

/* Run one reset sequence and check the calls: pairs of (dtr, rts), -1 = unchanged. */
static void expect_lines(fixture *fx, const char *seq, const int *want, int n, int gap_after)
{
    line_calls calls = {0};
    dut_serial_config cfg = {.reset = DUT_RESET_LINES, .ready_timeout_s = 0.3};

    cfg.reset_seq = seq;
    cfg.set_lines = record_lines;
    cfg.set_lines_ud = &calls;
    open_adapter(fx, &cfg);
    assert_int_equal(dut_restart(fx->a), DUT_OK);
    assert_int_equal(calls.n, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(calls.dtr[i], want[2 * i]);
        assert_int_equal(calls.rts[i], want[2 * i + 1]);
    }
    if (gap_after >= 0) {
        double gap = calls.at[gap_after + 1] - calls.at[gap_after];
        assert_true(gap >= 0.095 && gap < 0.5);
    }
    assert_int_equal(dut_starts(fx->a), 2);
    assert_int_equal(count_events(fx, DUT_EV_START, "reset: dtr-rts"), 1);
    dut_close(fx->a);
    fx->a = NULL;
    pthread_mutex_lock(&fx->lock);
    fx->nevents = 0;
    pthread_mutex_unlock(&fx->lock);
}

static void reset_sequences_drive_dtr_and_rts_in_order(void **state)
{
    fixture *fx = *state;
    static const int esp32[] = {0, -1, -1, 1, -1, 0};
    static const int stm32[] = {-1, 1, -1, 0};
    static const int custom[] = {1, -1, -1, 1, 0, -1};

    new_pty(fx);
    expect_lines(fx, "esp32", esp32, 3, 1);
    expect_lines(fx, "stm32-nrst", stm32, 2, 0);
    expect_lines(fx, "dtr=1 wait=20 rts=1 dtr=0", custom, 3, -1);
}

static void silent_board_after_reset_is_a_crash(void **state)
{
    fixture *fx = *state;
    line_calls calls = {0};
    dut_serial_config cfg = {.reset = DUT_RESET_LINES, .reset_seq = "stm32-nrst"};

    cfg.ready_timeout_s = 0.3;
    cfg.set_lines = record_lines;
    cfg.set_lines_ud = &calls;
    open_ready(fx, &cfg);
    assert_int_equal(dut_restart(fx->a), DUT_OK);
    assert_false(dut_has_channel(fx->a));
    assert_int_equal(dut_command(fx->a, "PING", NULL, 0, 1), DUT_ERR_NOCHANNEL);
    assert_true(
        wait_events(fx, DUT_EV_CRASH, "no !READY within 0.3 s after a reset (dtr-rts)", 1, 2));
    board_say(fx, "!READY fw=2 caps=\n");
    assert_true(wait_events(fx, DUT_EV_READY, "fw=2", 1, 2));
    assert_true(dut_has_channel(fx->a));
}

static void reset_command_runs_with_the_port_released(void **state)
{
    fixture *fx = *state;
    dut_serial_config cfg = {.reset = DUT_RESET_COMMAND};
    char name[64], cmd[512], result[16] = "", path[128];
    FILE *f;

    new_pty(fx);
    snprintf(name, sizeof(name), "LCK..pts_%s", strrchr(fx->slave_name, '/') + 1);
    snprintf(cmd, sizeof(cmd),
             "if test -e /run/lock/%s || test -e /tmp/%s; then echo held; else echo free; fi "
             "> %s/result",
             name, name, fx->dir);
    cfg.reset_cmd = cmd;
    board_say(fx, "!READY fw=1 caps=reset\n");
    open_adapter(fx, &cfg);
    assert_true(wait_events(fx, DUT_EV_READY, NULL, 1, 2));
    snprintf(path, sizeof(path), "/run/lock/%s", name);
    if (access(path, F_OK) != 0)
        snprintf(path, sizeof(path), "/tmp/%s", name);
    assert_int_equal(access(path, F_OK), 0); /* held while open */
    assert_int_equal(dut_restart(fx->a), DUT_OK);
    assert_int_equal(count_events(fx, DUT_EV_START, "reset: command"), 1);
    snprintf(path, sizeof(path), "%s/result", fx->dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(result, sizeof(result), f));
    fclose(f);
    assert_string_equal(result, "free\n");
    assert_int_equal(count_events(fx, DUT_EV_EVENT, "port-lost"), 0);
    board_say(fx, "!READY fw=2 caps=reset\n");
    start_responder(fx, say_ok);
    assert_true(wait_events(fx, DUT_EV_READY, "fw=2", 1, 2));
    assert_int_equal(dut_command(fx->a, "PING", NULL, 0, 2), DUT_OK);
}

#define SHELL_BOARD                                                                                \
    "echo '!READY fw=1 caps=reset'; while read seq verb rest; do case $verb in "                   \
    "PING) echo \"$seq OK\";; RESET) exit 0;; *) echo \"$seq ERR unknown-verb\";; esac; done"

static pid_t start_pty_board(fixture *fx, int reenumerate)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (reenumerate)
            execl(pty_board_bin, "ota-pty-board", "--link", fx->link, "--reenumerate", "--", "sh",
                  "-c", SHELL_BOARD, (char *)NULL);
        else
            execl(pty_board_bin, "ota-pty-board", "--link", fx->link, "--", "sh", "-c", SHELL_BOARD,
                  (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && access(fx->link, F_OK) != 0; i++)
        ota_sleep(0.01);
    return pid;
}

static void stop_pty_board(fixture *fx, pid_t pid)
{
    int status = 0;

    dut_close(fx->a);
    fx->a = NULL;
    kill(pid, SIGTERM);
    for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++)
        ota_sleep(0.01);
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("ota-pty-board did not stop on SIGTERM");
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(access(fx->link, F_OK), -1);
}

static void pty_board_round_trip(fixture *fx, int reenumerate)
{
    dut_serial_config cfg = {.reset = DUT_RESET_CHANNEL, .reopen_window_s = 3};
    pid_t pid = start_pty_board(fx, reenumerate);
    char reply[64];

    open_adapter(fx, &cfg);
    assert_true(wait_events(fx, DUT_EV_READY, NULL, 1, 3));
    assert_true(wait_events(fx, DUT_EV_LOG, "boot: ota-pty-board", 1, 1));
    assert_int_equal(dut_command(fx->a, "PING", reply, sizeof(reply), 2), DUT_OK);
    assert_int_equal(dut_command(fx->a, "NOPE", reply, sizeof(reply), 2), DUT_ERR_REFUSED);
    assert_int_equal(dut_restart(fx->a), DUT_OK);
    assert_int_equal(count_events(fx, DUT_EV_START, "reset: channel"), 1);
    assert_true(wait_events(fx, DUT_EV_READY, NULL, 2, 3));
    assert_int_equal(dut_command(fx->a, "PING", reply, sizeof(reply), 2), DUT_OK);
    assert_int_equal(dut_starts(fx->a), 2);
    assert_int_equal(count_events(fx, DUT_EV_EVENT, "port-lost"), reenumerate);
    assert_int_equal(count_events(fx, DUT_EV_EVENT, "port-back"), reenumerate);
    assert_int_equal(count_events(fx, DUT_EV_CRASH, NULL), 0);
    stop_pty_board(fx, pid);
}

static void pty_board_restarts_the_device_on_reset(void **state)
{
    pty_board_round_trip(*state, 0);
}

static void pty_board_reenumerates_on_reset(void **state)
{
    pty_board_round_trip(*state, 1);
}

int main(int argc, char **argv)
{
    static char sibling[PATH_MAX];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reply_split_over_writes_is_one_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(log_lines_around_a_reply_in_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_never_makes_a_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(overlong_line_is_cut_into_log_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_reply_times_out_after_resending_same_seq, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reconnects_when_a_new_pty_appears_under_the_link, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(vanished_port_is_a_crash_after_the_window, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_reader_does_not_block_a_command, setup, teardown),
        cmocka_unit_test_setup_teardown(busy_port_names_this_process, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_lock_is_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(port_errors_say_what_to_do, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_settings_are_refused_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_sequences_drive_dtr_and_rts_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(silent_board_after_reset_is_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_command_runs_with_the_port_released, setup, teardown),
        cmocka_unit_test_setup_teardown(pty_board_restarts_the_device_on_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(pty_board_reenumerates_on_reset, setup, teardown),
    };

    if (argc > 1) {
        pty_board_bin = argv[1];
    } else { /* the tool sits next to the test in bin/ */
        ssize_t n = readlink("/proc/self/exe", sibling, sizeof(sibling) - 32);
        char *slash;
        sibling[n > 0 ? n : 0] = '\0';
        slash = strrchr(sibling, '/');
        snprintf(slash ? slash + 1 : sibling, 32, "ota-pty-board");
        pty_board_bin = sibling;
    }
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
