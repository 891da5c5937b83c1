/*
 * A serial port on another machine, as lab port servers (ser2net, labgrid's
 * exporter, terminal servers) export it: rfc2217://HOST:PORT is telnet with
 * RFC 2217's COM-PORT-OPTION (speed, framing, DTR, RTS and break travel as
 * telnet subnegotiations; data bytes 0xFF are doubled), socket://HOST:PORT
 * is the raw byte stream with no modem lines. It connects, negotiates and
 * decodes; reopening a dropped connection is the adapter's (as for a USB
 * port that re-enumerates). No locking of the remote port: the server owns it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serial_priv.h"
#include "otaproto/clock.h"

#define CONNECT_S   5.0 /* a connect that neither succeeds nor fails by then is unreachable */
#define NEGOTIATE_S 3.0 /* how long an RFC 2217 server has to confirm the speed */
#define CMD_WRITE_S 1.0 /* deadline of a telnet command we send */
#define HOST_MAX    256
#define KEEP_IDLE_S 5 /* TCP keepalive: a server that vanished without a FIN is noticed */
#define KEEP_INTVL  2
#define KEEP_CNT    3

/* Telnet (RFC 854, 855) and its options. */
enum {
    T_SE = 240,
    T_SB = 250,
    T_WILL = 251,
    T_WONT = 252,
    T_DO = 253,
    T_DONT = 254,
    T_IAC = 255,
};
enum { O_BINARY = 0, O_ECHO = 1, O_SGA = 3, O_COMPORT = 44 };
/* RFC 2217 commands, client to server; the server answers with the same code + 100. */
enum {
    C_SET_BAUDRATE = 1,
    C_SET_DATASIZE = 2,
    C_SET_PARITY = 3,
    C_SET_STOPSIZE = 4,
    C_SET_CONTROL = 5,
    C_REPLY = 100,
};
/* SET-CONTROL values */
enum {
    CTL_NO_FLOW = 1,
    CTL_BREAK_ON = 5,
    CTL_BREAK_OFF = 6,
    CTL_DTR_ON = 8,
    CTL_DTR_OFF = 9,
    CTL_RTS_ON = 11,
    CTL_RTS_OFF = 12,
};
enum { PAR_NONE = 1, PAR_ODD = 2, PAR_EVEN = 3 };
/* The decoder's states */
enum { S_DATA = 0, S_IAC, S_WILL, S_WONT, S_DO, S_DONT, S_SB, S_SB_IAC };

/* Every writer of one telnet stream (the reader's answers, commands, lines) goes through here. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

size_t dut_net_write(int fd, const char *buf, size_t len, double deadline)
{
    size_t n;

    pthread_mutex_lock(&write_lock);
    n = dut_port_write(fd, buf, len, deadline);
    pthread_mutex_unlock(&write_lock);
    return n;
}

static int send_bytes(int fd, const unsigned char *b, size_t n)
{
    return dut_net_write(fd, (const char *)b, n, ota_clock_now() + CMD_WRITE_S) == n ? 0 : -1;
}

static int send_opt(int fd, int verb, int opt)
{
    unsigned char b[3] = {T_IAC, (unsigned char)verb, (unsigned char)opt};
    return send_bytes(fd, b, sizeof(b));
}

/* IAC SB COM-PORT-OPTION cmd value... IAC SE, with a value byte 0xFF doubled. */
static int send_comport(int fd, int cmd, const unsigned char *val, size_t n)
{
    unsigned char b[4 + 2 * 4 + 2];
    size_t o = 0;

    b[o++] = T_IAC;
    b[o++] = T_SB;
    b[o++] = O_COMPORT;
    b[o++] = (unsigned char)cmd;
    for (size_t i = 0; i < n && i < 4; i++) {
        b[o++] = val[i];
        if (val[i] == T_IAC)
            b[o++] = T_IAC;
    }
    b[o++] = T_IAC;
    b[o++] = T_SE;
    return send_bytes(fd, b, o);
}

static int send_control(int fd, int value)
{
    unsigned char v = (unsigned char)value;
    return send_comport(fd, C_SET_CONTROL, &v, 1);
}

int dut_net_set_lines(int fd, int dtr, int rts, void *ud)
{
    (void)ud;
    if (dtr >= 0 && send_control(fd, dtr ? CTL_DTR_ON : CTL_DTR_OFF) != 0)
        return -1;
    if (rts >= 0 && send_control(fd, rts ? CTL_RTS_ON : CTL_RTS_OFF) != 0)
        return -1;
    return 0;
}

int dut_net_set_break(int fd, int on)
{
    return send_control(fd, on ? CTL_BREAK_ON : CTL_BREAK_OFF);
}

/* ---- the address ---- */

/* "scheme://HOST:PORT" or "scheme://[V6]:PORT" into host and port; -1 when malformed. */
static int split_url(const char *url, char *host, size_t cap, char *port, size_t pcap)
{
    const char *rest = strstr(url, "://"), *colon, *end;
    size_t hl;

    if (!rest)
        return -1;
    rest += 3;
    if (*rest == '[') {
        end = strchr(rest, ']');
        if (!end || end[1] != ':')
            return -1;
        hl = (size_t)(end - rest - 1);
        rest++;
        colon = end + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - rest);
    }
    if (!hl || hl >= cap || !colon[1] || strlen(colon + 1) >= pcap)
        return -1;
    memcpy(host, rest, hl);
    host[hl] = '\0';
    snprintf(port, pcap, "%s", colon + 1);
    for (const char *c = port; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    return atoi(port) >= 1 && atoi(port) <= 65535 ? 0 : -1;
}

int dut_net_check(const char *url, char *err, size_t cap)
{
    char host[HOST_MAX], port[8];

    if (dut_port_kind_of(url) == DUT_PORT_TTY ||
        split_url(url, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(err, cap,
                 "bad port address \"%s\" (expected rfc2217://HOST:PORT or socket://HOST:PORT, "
                 "PORT 1..65535)",
                 url);
        return DUT_ERR_ARG;
    }
    return DUT_OK;
}

/* ---- connecting ---- */

static void keepalive(int fd)
{
    int on = 1, idle = KEEP_IDLE_S, intvl = KEEP_INTVL, cnt = KEEP_CNT;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* A non-blocking connect to one address, waited for until the deadline; the fd or -1 (errno). */
static int connect_one(const struct addrinfo *ai, double deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int e = 0;
    socklen_t el = sizeof(e);

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        double left = deadline - ota_clock_now();
        int r;
        if (left <= 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r > 0)
            break;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) {
        errno = e ? e : EIO;
        goto fail;
    }
    return fd;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

static int connect_url(const char *url, const char *host, const char *port, char *err, size_t cap)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    double deadline = ota_clock_now() + CONNECT_S;
    int fd = -1, e = 0, g = getaddrinfo(host, port, &hints, &res);

    if (g != 0) {
        snprintf(err, cap, "cannot reach the port server of %s: unknown host %s (%s)", url, host,
                 gai_strerror(g));
        return -1;
    }
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        e = fd < 0 ? errno : 0;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        keepalive(fd);
        return fd;
    }
    if (e == ECONNREFUSED)
        snprintf(err, cap,
                 "the port server of %s refused the connection: nothing listens on %s port %s "
                 "(is ser2net or the lab's exporter running, and is this its port?)",
                 url, host, port);
    else
        snprintf(err, cap, "cannot reach the port server of %s: %s", url,
                 e == ETIMEDOUT ? "no answer within 5 s" : strerror(e));
    return -1;
}

/* ---- the telnet decoder ---- */

static int opt_we_do(int opt)
{
    return opt == O_BINARY || opt == O_SGA || opt == O_COMPORT;
}

/*
 * Answers keep negotiation loops away (RFC 854): we offered BINARY, SGA and
 * COM-PORT-OPTION at the start, so a DO or WILL for those is an answer and
 * needs none; any other option is refused once. ECHO is refused: the
 * board's port must not send our own lines back.
 */
static void on_option(dut_port *p, int verb, int opt)
{
    if (verb == T_DO && !opt_we_do(opt))
        send_opt(p->fd, T_WONT, opt);
    else if (verb == T_WILL && opt == O_BINARY)
        p->tn.binary_in = 1;
    else if (verb == T_WILL && opt != O_SGA)
        send_opt(p->fd, T_DONT, opt);
    else if (verb == T_WONT && opt == O_BINARY)
        p->tn.binary_in = 0;
    else if (verb == T_DONT && opt == O_COMPORT)
        p->tn.refused = 1;
}

/* A complete subnegotiation; we keep only the server's confirmation of the speed. */
static void on_sb(dut_port *p)
{
    const unsigned char *b = p->tn.sb;

    if (p->tn.sb_len >= 6 && b[0] == O_COMPORT && b[1] == C_REPLY + C_SET_BAUDRATE)
        p->tn.baud_reply = (int)((unsigned)b[2] << 24 | (unsigned)b[3] << 16 | (unsigned)b[4] << 8 |
                                 (unsigned)b[5]);
}

/* One byte of data (NVT: CR NUL is a CR when the server is not in binary). */
static size_t put_data(dut_port *p, unsigned char c, char *out, size_t o)
{
    int was_cr = p->tn.cr;

    p->tn.cr = c == '\r';
    if (was_cr && c == 0 && !p->tn.binary_in)
        return o;
    out[o] = (char)c;
    return o + 1;
}

/* Decode n raw bytes; data goes to out (room for n); telnet commands are acted on. */
static size_t decode(dut_port *p, const unsigned char *in, size_t n, char *out)
{
    dut_telnet *t = &p->tn;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = in[i];
        switch (t->state) {
        case S_DATA:
            if (c == T_IAC)
                t->state = S_IAC;
            else
                o = put_data(p, c, out, o);
            break;
        case S_IAC:
            t->state = c == T_IAC    ? S_DATA
                       : c == T_WILL ? S_WILL
                       : c == T_WONT ? S_WONT
                       : c == T_DO   ? S_DO
                       : c == T_DONT ? S_DONT
                       : c == T_SB   ? S_SB
                                     : S_DATA; /* NOP, GA, AYT...: nothing for us */
            if (c == T_IAC)
                o = put_data(p, c, out, o);
            if (c == T_SB)
                t->sb_len = 0;
            break;
        case S_WILL:
        case S_WONT:
        case S_DO:
        case S_DONT:
            on_option(p, T_WILL + (t->state - S_WILL), c);
            t->state = S_DATA;
            break;
        case S_SB:
            if (c == T_IAC)
                t->state = S_SB_IAC;
            else if (t->sb_len < DUT_NET_SB_MAX)
                t->sb[t->sb_len++] = c;
            break;
        case S_SB_IAC:
            if (c == T_SE) {
                on_sb(p);
                t->state = S_DATA;
            } else {
                if (t->sb_len < DUT_NET_SB_MAX)
                    t->sb[t->sb_len++] = c; /* IAC IAC inside: a 0xFF value */
                t->state = S_SB;
            }
            break;
        }
    }
    return o;
}

ssize_t dut_net_read(dut_port *p, char *buf, size_t cap)
{
    unsigned char raw[1024];
    ssize_t n;

    if (p->tn.pending_len) {
        size_t k = p->tn.pending_len < cap ? p->tn.pending_len : cap;
        memcpy(buf, p->tn.pending, k);
        memmove(p->tn.pending, p->tn.pending + k, p->tn.pending_len - k);
        p->tn.pending_len -= k;
        return (ssize_t)k;
    }
    n = read(p->fd, raw, cap < sizeof(raw) ? cap : sizeof(raw));
    if (n == 0)
        errno = ECONNRESET;
    if (n <= 0)
        return -1;
    return (ssize_t)decode(p, raw, (size_t)n, buf);
}

/* ---- setting the port up ---- */

/* Our side of the options, then the speed and framing; the server's answers come later. */
static int offer(dut_port *p, int baud, const char *framing)
{
    const char *f = framing ? framing : "8N1";
    unsigned char speed[4] = {(unsigned char)(baud >> 24), (unsigned char)(baud >> 16),
                              (unsigned char)(baud >> 8), (unsigned char)baud};
    unsigned char size = (unsigned char)(f[0] - '0');
    unsigned char parity = f[1] == 'E' ? PAR_EVEN : f[1] == 'O' ? PAR_ODD : PAR_NONE;
    unsigned char stop = (unsigned char)(f[2] - '0');

    if (send_opt(p->fd, T_WILL, O_COMPORT) || send_opt(p->fd, T_WILL, O_BINARY) ||
        send_opt(p->fd, T_DO, O_BINARY) || send_opt(p->fd, T_WILL, O_SGA) ||
        send_opt(p->fd, T_DO, O_SGA))
        return -1;
    if (send_comport(p->fd, C_SET_BAUDRATE, speed, 4) ||
        send_comport(p->fd, C_SET_DATASIZE, &size, 1) ||
        send_comport(p->fd, C_SET_PARITY, &parity, 1) ||
        send_comport(p->fd, C_SET_STOPSIZE, &stop, 1))
        return -1;
    return send_control(p->fd, CTL_NO_FLOW);
}

/* Read until the server confirms the speed; data meanwhile is kept for the first read. */
static int await_speed(dut_port *p, const char *url, int baud, char *err, size_t cap)
{
    double deadline = ota_clock_now() + NEGOTIATE_S;
    unsigned char raw[1024];
    char data[1024];

    while (!p->tn.baud_reply && !p->tn.refused) {
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        double left = deadline - ota_clock_now();
        ssize_t n;
        size_t k;
        if (left <= 0) {
            snprintf(err, cap,
                     "the port server of %s took the connection but did not answer RFC 2217's "
                     "COM-PORT-OPTION within %g s: for a raw TCP port use socket://",
                     url, NEGOTIATE_S);
            return -1;
        }
        if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        n = read(p->fd, raw, sizeof(raw));
        if (n <= 0 && (n == 0 || (errno != EAGAIN && errno != EINTR))) {
            snprintf(err, cap,
                     "the port server of %s closed the connection while the port was set up "
                     "(its serial device may be missing or busy)",
                     url);
            return -1;
        }
        k = n > 0 ? decode(p, raw, (size_t)n, data) : 0;
        if (k > sizeof(p->tn.pending) - p->tn.pending_len)
            k = sizeof(p->tn.pending) - p->tn.pending_len; /* older than the port: dropped */
        memcpy(p->tn.pending + p->tn.pending_len, data, k);
        p->tn.pending_len += k;
    }
    if (p->tn.refused) {
        snprintf(err, cap,
                 "the port server of %s refused RFC 2217 (COM-PORT-OPTION): for a raw "
                 "TCP port use socket://",
                 url);
        return -1;
    }
    if (p->tn.baud_reply != baud) {
        snprintf(err, cap, "the port server of %s set %d baud when %d was asked", url,
                 p->tn.baud_reply, baud);
        return -1;
    }
    return 0;
}

int dut_net_open(dut_port *p, const char *url, int baud, const char *framing, char *err, size_t cap)
{
    char host[HOST_MAX], port[8];
    int rc;

    p->fd = -1;
    p->locked = 0;
    p->kind = dut_port_kind_of(url);
    memset(&p->tn, 0, sizeof(p->tn));
    snprintf(p->dev, sizeof(p->dev), "%s", url);
    rc = dut_net_check(url, err, cap);
    if (rc != DUT_OK)
        return rc;
    split_url(url, host, sizeof(host), port, sizeof(port));
    p->fd = connect_url(url, host, port, err, cap);
    if (p->fd < 0)
        return DUT_ERR_SPAWN;
    if (p->kind == DUT_PORT_SOCKET)
        return DUT_OK;
    baud = baud ? baud : 115200;
    if (offer(p, baud, framing) != 0) {
        snprintf(err, cap, "the port server of %s closed the connection at once", url);
        goto fail;
    }
    if (await_speed(p, url, baud, err, cap) != 0)
        goto fail;
    return DUT_OK;
fail:
    close(p->fd);
    p->fd = -1;
    return DUT_ERR_SPAWN;
}
