/*
 * The one event loop of ota-fleet: epoll over every device's MQTT socket
 * (libmosquitto without its thread: mosquitto_loop_read, _write and _misc
 * when the socket or the clock says so) and over the sockets of libcurl's
 * multi handle (curl_multi_socket_action). No threads.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mosquitto.h>

#include "fleet.h"

#define TAG_DEV  1ULL
#define TAG_CURL 2ULL
#define MAX_EV   512

static int socketpairs_allowed = 1;

void fl_loop_socketpairs(int allow)
{
    socketpairs_allowed = allow;
}

/*
 * libmosquitto 2.0 opens a socket pair with every connect, so that another
 * thread can wake its own loop thread. ota-fleet runs no such thread: the
 * pair would only cost two descriptors a device (three in all, which stops
 * a 20,000-descriptor process at about 6,600 devices). While devices
 * connect, this program's socketpair() refuses, and libmosquitto carries on
 * without the pair, as it does whenever one cannot be made.
 */
int socketpair(int domain, int type, int protocol, int sv[2])
{
    if (!socketpairs_allowed) {
        errno = EMFILE;
        return -1;
    }
    return (int)syscall(SYS_socketpair, domain, type, protocol, sv);
}

static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sp)
{
    fleet *f = ud;
    struct epoll_event ev = {0};
    (void)e;

    ev.data.u64 = (TAG_CURL << 32) | (uint32_t)s;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(f->epfd, EPOLL_CTL_DEL, s, NULL);
        curl_multi_assign(f->multi, s, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (!sp) {
        if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST)
            epoll_ctl(f->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(f->multi, s, f); /* any non-NULL mark: registered */
    } else {
        epoll_ctl(f->epfd, EPOLL_CTL_MOD, s, &ev);
    }
    return 0;
}

static double curl_due = -1; /* when libcurl wants its timeout action; -1: never */

static int on_curl_timer(CURLM *m, long ms, void *ud)
{
    (void)m;
    (void)ud;
    curl_due = ms < 0 ? -1 : ota_clock_now() + ms / 1000.0;
    return 0;
}

int fl_loop_init(fleet *f, char *err, size_t cap)
{
    f->epfd = epoll_create1(EPOLL_CLOEXEC);
    f->multi = curl_multi_init();
    f->touched = calloc((size_t)f->n, sizeof(int));
    f->http_queue = calloc((size_t)f->n, sizeof(int));
    if (f->epfd < 0 || !f->multi || !f->touched || !f->http_queue) {
        snprintf(err, cap, "cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    return 0;
}

void fl_loop_free(fleet *f)
{
    if (f->multi)
        curl_multi_cleanup(f->multi);
    if (f->epfd >= 0)
        close(f->epfd);
    free(f->touched);
    free(f->http_queue);
    f->multi = NULL;
    f->epfd = -1;
    f->touched = f->http_queue = NULL;
}

void fl_loop_touch(fleet *f, fl_device *d)
{
    if (d->touched)
        return;
    d->touched = 1;
    f->touched[f->ntouched++] = d->idx;
}

/* Watch the device's current socket for reading, and for writing while it has output. */
static void watch(fleet *f, fl_device *d)
{
    int fd = d->mosq ? mosquitto_socket(d->mosq) : -1;
    unsigned want = fd >= 0 ? EPOLLIN | (mosquitto_want_write(d->mosq) ? EPOLLOUT : 0) : 0;
    struct epoll_event ev = {.events = want, .data.u64 = (TAG_DEV << 32) | (uint32_t)d->idx};

    if (fd != d->fd) {
        if (d->fd >= 0)
            epoll_ctl(f->epfd, EPOLL_CTL_DEL, d->fd, NULL); /* fails harmlessly once closed */
        d->fd = fd;
        d->events = 0;
        if (fd >= 0 && epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
            d->events = want;
        return;
    }
    if (fd >= 0 && want != d->events && epoll_ctl(f->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        d->events = want;
}

/* Write what the touched devices queued, then watch their sockets as they now are. */
static void flush_touched(fleet *f)
{
    for (int i = 0; i < f->ntouched; i++) {
        fl_device *d = &f->devs[f->touched[i]];
        d->touched = 0;
        if (d->mosq && mosquitto_socket(d->mosq) >= 0 && mosquitto_want_write(d->mosq))
            mosquitto_loop_write(d->mosq, 1);
        watch(f, d);
    }
    f->ntouched = 0;
}

static void curl_finished(fleet *f)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
        fl_device *d = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        if (d)
            fl_device_http_done(f, d, m->data.result);
    }
}

static void on_device_event(fleet *f, fl_device *d, unsigned events)
{
    if (!d->mosq)
        return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        mosquitto_loop_read(d->mosq, 1);
    if (d->mosq && (events & EPOLLOUT) && mosquitto_socket(d->mosq) >= 0)
        mosquitto_loop_write(d->mosq, 1);
    fl_loop_touch(f, d);
}

void fl_loop_run(fleet *f, double deadline, int (*done)(fleet *f), void (*tick)(fleet *f))
{
    struct epoll_event ev[MAX_EV];
    double next_tick = 0;
    int running;

    while (!done(f) && ota_clock_now() < deadline) {
        double now = ota_clock_now();
        int ms = (int)((next_tick - now) * 1000);
        if (ms < 0)
            ms = 0;
        if (ms > 100)
            ms = 100;
        if (curl_due >= 0 && (curl_due - now) * 1000 < ms)
            ms = curl_due > now ? (int)((curl_due - now) * 1000) : 0;
        int n = epoll_wait(f->epfd, ev, MAX_EV, ms);
        for (int i = 0; i < n; i++) {
            unsigned tag = (unsigned)(ev[i].data.u64 >> 32), id = (uint32_t)ev[i].data.u64;
            if (tag == TAG_DEV && id < (unsigned)f->n) {
                on_device_event(f, &f->devs[id], ev[i].events);
            } else if (tag == TAG_CURL) {
                int mask = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                           (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                           (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(f->multi, (curl_socket_t)id, mask, &running);
            }
        }
        if (curl_due >= 0 && ota_clock_now() >= curl_due) {
            curl_due = -1;
            curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        curl_finished(f);
        now = ota_clock_now();
        if (now >= next_tick) {
            for (int i = 0; i < f->n; i++)
                fl_device_tick(f, &f->devs[i], now);
            curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            curl_finished(f);
            if (tick)
                tick(f);
            next_tick = now + 0.1;
        }
        fl_http_pump(f);
        flush_touched(f);
    }
}
