/*
 * The serial adapter on a port on another machine (serial_net.c), against a
 * scripted server on a loopback TCP port: what goes on the wire (telnet
 * options, RFC 2217 settings, doubled 0xFF, DTR/RTS and break as
 * SET-CONTROL), what comes back decoded, and the sentences for servers that
 * refuse, stay silent or refuse RFC 2217. conformance/tests/ser2net.sh runs
 * the real thing (Debian's ser2net). Every wait has a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../src/serial_priv.h"
#include "otadut/dut.h"
#include "otaproto/clock.h"

#define RX_MAX 8192

typedef enum { SRV_RFC2217 = 0, SRV_SILENT, SRV_REFUSE, SRV_WRONG_SPEED } srv_mode;

typedef struct {
    int listen_fd, port;
    srv_mode mode;
    pthread_t thread;
    pthread_mutex_t lock;
    unsigned char rx[RX_MAX]; /* what the client sent */
    size_t rx_len;
    const unsigned char *greet; /* sent once the speed is confirmed */
    size_t greet_len;
    int stop;
} server;

static int has(server *sv, const unsigned char *what, size_t n)
{
    int found = 0;
    pthread_mutex_lock(&sv->lock);
    for (size_t i = 0; !found && i + n <= sv->rx_len; i++)
        found = !memcmp(sv->rx + i, what, n);
    pthread_mutex_unlock(&sv->lock);
    return found;
}

static int wait_has(server *sv, const unsigned char *what, size_t n, double timeout)
{
    double end = ota_clock_now() + timeout;
    while (ota_clock_now() < end) {
        if (has(sv, what, n))
            return 1;
        ota_sleep(0.01);
    }
    return 0;
}

/* The speed request: IAC SB 44 1 b3 b2 b1 b0 IAC SE; the reply echoes it as 101. */
static void answer_speed(server *sv, int fd, int *answered)
{
    static const unsigned char req[] = {255, 250, 44, 1};
    unsigned char reply[10] = {255, 250, 44, 101, 0, 0, 0, 0, 255, 240};
    int was = *answered;

    pthread_mutex_lock(&sv->lock);
    for (size_t i = 0; !*answered && i + 8 <= sv->rx_len; i++) {
        if (memcmp(sv->rx + i, req, sizeof(req)))
            continue;
        memcpy(reply + 4, sv->rx + i + 4, 4);
        if (sv->mode == SRV_WRONG_SPEED)
            reply[7] ^= 1;
        *answered = 1;
    }
    pthread_mutex_unlock(&sv->lock);
    if (*answered && !was) {
        (void)!write(fd, reply, sizeof(reply));
        if (sv->greet_len)
            (void)!write(fd, sv->greet, sv->greet_len);
    }
}

static void *serve(void *arg)
{
    server *sv = arg;
    static const unsigned char dont_comport[] = {255, 254, 44};
    int fd = -1, answered = 0;

    while (!sv->stop) {
        struct pollfd pfd = {.fd = fd >= 0 ? fd : sv->listen_fd, .events = POLLIN};
        unsigned char buf[1024];
        ssize_t n;
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        if (fd < 0) {
            fd = accept(sv->listen_fd, NULL, NULL);
            if (fd >= 0 && sv->mode == SRV_REFUSE)
                (void)!write(fd, dont_comport, sizeof(dont_comport));
            continue;
        }
        n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        pthread_mutex_lock(&sv->lock);
        if (sv->rx_len + (size_t)n <= RX_MAX) {
            memcpy(sv->rx + sv->rx_len, buf, (size_t)n);
            sv->rx_len += (size_t)n;
        }
        pthread_mutex_unlock(&sv->lock);
        if (sv->mode == SRV_RFC2217 || sv->mode == SRV_WRONG_SPEED)
            answer_speed(sv, fd, &answered);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void start_server(server *sv, srv_mode mode, const char *greet, size_t greet_len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);

    memset(sv, 0, sizeof(*sv));
    sv->mode = mode;
    sv->greet = (const unsigned char *)greet;
    sv->greet_len = greet_len;
    pthread_mutex_init(&sv->lock, NULL);
    sv->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(sv->listen_fd >= 0);
    assert_int_equal(bind(sv->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(sv->listen_fd, 4), 0);
    assert_int_equal(getsockname(sv->listen_fd, (struct sockaddr *)&a, &al), 0);
    sv->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&sv->thread, NULL, serve, sv), 0);
}

static void stop_server(server *sv)
{
    sv->stop = 1;
    pthread_join(sv->thread, NULL);
    close(sv->listen_fd);
    pthread_mutex_destroy(&sv->lock);
}

static void url_of(const server *sv, const char *scheme, char *url, size_t cap)
{
    snprintf(url, cap, "%s://127.0.0.1:%d", scheme, sv->port);
}

static void negotiates_settings_and_decodes_data(void **state)
{
    /* The board's data with a doubled 0xFF and an option request in the middle. */
    static const char greet[] = "hel\xff\xfflo\xff\xfd\x18 board\n";
    static const unsigned char will_comport[] = {255, 251, 44};
    static const unsigned char speed_57600[] = {255, 250, 44, 1, 0, 0, 0xe1, 0x00, 255, 240};
    static const unsigned char parity_even[] = {255, 250, 44, 3, 3, 255, 240};
    static const unsigned char wont_ttype[] = {255, 252, 0x18};
    char url[64], err[DUT_PORT_ERR_MAX] = "", got[64] = "";
    size_t got_len = 0;
    double end;
    dut_port p;
    server sv;

    (void)state;
    start_server(&sv, SRV_RFC2217, greet, sizeof(greet) - 1);
    url_of(&sv, "rfc2217", url, sizeof(url));
    assert_int_equal(dut_port_open(&p, url, 57600, "8E1", err, sizeof(err)), DUT_OK);
    assert_int_equal(p.kind, DUT_PORT_RFC2217);
    assert_true(has(&sv, will_comport, sizeof(will_comport)));
    assert_true(has(&sv, speed_57600, sizeof(speed_57600)));
    assert_true(has(&sv, parity_even, sizeof(parity_even)));
    end = ota_clock_now() + 3;
    while (got_len < 13 && ota_clock_now() < end) {
        struct pollfd pfd = {.fd = p.fd, .events = POLLIN};
        ssize_t n;
        if (!dut_port_has_pending(&p) && poll(&pfd, 1, 50) <= 0)
            continue;
        n = dut_port_read(&p, got + got_len, sizeof(got) - 1 - got_len);
        if (n > 0)
            got_len += (size_t)n;
    }
    ota_sleep(0.2); /* nothing more may come */
    if (dut_port_has_pending(&p) ||
        poll(&(struct pollfd){.fd = p.fd, .events = POLLIN}, 1, 0) > 0) {
        ssize_t n = dut_port_read(&p, got + got_len, sizeof(got) - 1 - got_len);
        got_len += n > 0 ? (size_t)n : 0;
    }
    assert_int_equal(got_len, 13);
    assert_memory_equal(got, "hel\xfflo board\n", 13);
    /* An option we do not know is refused. */
    assert_true(wait_has(&sv, wont_ttype, sizeof(wont_ttype), 3));
    dut_port_close(&p);
    stop_server(&sv);
}

static void lines_break_and_0xff_go_out_as_telnet(void **state)
{
    static const unsigned char dtr_off[] = {255, 250, 44, 5, 9, 255, 240};
    static const unsigned char rts_on[] = {255, 250, 44, 5, 11, 255, 240};
    static const unsigned char brk_on[] = {255, 250, 44, 5, 5, 255, 240};
    static const unsigned char line[] = {'@', '1', ' ', 0xff, 0xff, '\n'};
    char url[64], err[DUT_PORT_ERR_MAX] = "";
    dut_port_seq seq;
    dut_port p;
    server sv;

    (void)state;
    start_server(&sv, SRV_RFC2217, NULL, 0);
    url_of(&sv, "rfc2217", url, sizeof(url));
    assert_int_equal(dut_port_open(&p, url, 115200, "8N1", err, sizeof(err)), DUT_OK);
    assert_int_equal(dut_port_seq_parse("dtr=0 rts=1 brk=1 wait=1 brk=0", &seq, err, sizeof(err)),
                     DUT_OK);
    assert_int_equal(dut_port_seq_run(&seq, p.kind, p.fd, dut_net_set_lines, NULL), 0);
    assert_int_equal(dut_port_send(p.kind, p.fd, "@1 \xff\n", 5, ota_clock_now() + 2), 5);
    assert_true(wait_has(&sv, dtr_off, sizeof(dtr_off), 3));
    assert_true(wait_has(&sv, rts_on, sizeof(rts_on), 3));
    assert_true(wait_has(&sv, brk_on, sizeof(brk_on), 3));
    assert_true(wait_has(&sv, line, sizeof(line), 3));
    dut_port_close(&p);
    stop_server(&sv);
}

static void servers_that_cannot_serve_are_one_sentence(void **state)
{
    char url[64], err[DUT_PORT_ERR_MAX];
    double t0;
    dut_port p;
    server sv;
    int port;

    (void)state;
    /* Nothing listens. */
    start_server(&sv, SRV_SILENT, NULL, 0);
    port = sv.port;
    stop_server(&sv);
    snprintf(url, sizeof(url), "rfc2217://127.0.0.1:%d", port);
    assert_int_equal(dut_port_open(&p, url, 0, NULL, err, sizeof(err)), DUT_ERR_SPAWN);
    assert_non_null(strstr(err, "refused the connection: nothing listens on 127.0.0.1 port"));
    assert_int_equal(p.fd, -1);
    /* A raw TCP server that never answers RFC 2217. */
    start_server(&sv, SRV_SILENT, NULL, 0);
    url_of(&sv, "rfc2217", url, sizeof(url));
    t0 = ota_clock_now();
    assert_int_equal(dut_port_open(&p, url, 0, NULL, err, sizeof(err)), DUT_ERR_SPAWN);
    assert_true(ota_clock_now() - t0 < 5);
    assert_non_null(strstr(err, "did not answer RFC 2217's COM-PORT-OPTION within 3 s: for a raw "
                                "TCP port use socket://"));
    /* The same server is fine as socket://. */
    url_of(&sv, "socket", url, sizeof(url));
    stop_server(&sv);
    start_server(&sv, SRV_SILENT, NULL, 0);
    url_of(&sv, "socket", url, sizeof(url));
    assert_int_equal(dut_port_open(&p, url, 0, NULL, err, sizeof(err)), DUT_OK);
    assert_int_equal(p.kind, DUT_PORT_SOCKET);
    dut_port_close(&p);
    stop_server(&sv);
    /* A server that refuses the option, and one that sets another speed. */
    start_server(&sv, SRV_REFUSE, NULL, 0);
    url_of(&sv, "rfc2217", url, sizeof(url));
    assert_int_equal(dut_port_open(&p, url, 0, NULL, err, sizeof(err)), DUT_ERR_SPAWN);
    assert_non_null(strstr(err, "refused RFC 2217 (COM-PORT-OPTION)"));
    stop_server(&sv);
    start_server(&sv, SRV_WRONG_SPEED, NULL, 0);
    url_of(&sv, "rfc2217", url, sizeof(url));
    assert_int_equal(dut_port_open(&p, url, 115200, NULL, err, sizeof(err)), DUT_ERR_SPAWN);
    assert_non_null(strstr(err, "baud when 115200 was asked"));
    stop_server(&sv);
}

static void bad_addresses_and_raw_tcp_resets_are_refused(void **state)
{
    static const char *const bad[] = {
        "rfc2217://",       "rfc2217://host",       "rfc2217://host:",    "socket://:4000",
        "rfc2217://host:0", "rfc2217://host:70000", "socket://host:40x0", "rfc2217://[::1:4000"};
    dut_serial_config cfg = {0};
    dut_adapter *a = NULL;
    char err[DUT_PORT_ERR_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.path = bad[i];
        assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_ARG);
        assert_non_null(strstr(err, "bad port address"));
    }
    assert_int_equal(dut_net_check("rfc2217://[::1]:4000", err, sizeof(err)), DUT_OK);
    cfg.path = "socket://127.0.0.1:4000";
    cfg.reset = DUT_RESET_LINES;
    cfg.reset_seq = "esp32";
    assert_int_equal(dut_serial_open(&cfg, NULL, &a, err, sizeof(err)), DUT_ERR_ARG);
    assert_non_null(strstr(err, "raw TCP port without modem lines"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(negotiates_settings_and_decodes_data),
        cmocka_unit_test(lines_break_and_0xff_go_out_as_telnet),
        cmocka_unit_test(servers_that_cannot_serve_are_one_sentence),
        cmocka_unit_test(bad_addresses_and_raw_tcp_resets_are_refused),
    };
    return cmocka_run_group_tests_name("dut_serial_net", tests, NULL, NULL);
}
