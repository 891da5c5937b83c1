/*
 * Power cuts at a process device's flash writes: a thread watches the
 * device's state folder (OTA_STATE_DIR) with inotify and, at the n-th
 * change of one kind the device makes there (a file created, written,
 * renamed into place or deleted: "write download.part"), cancels the
 * device's open jobs and kills it at once with SIGKILL (dut_restart).
 * With n = 0 it only counts and names the changes: the table of cut points
 * an uncut upgrade has. It judges nothing; t_power.c does.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cutter.h"

#define CUTTER_NAMES 64 /* changes named for the table; later ones are only counted */
#define CUTTER_MASK  (IN_CREATE | IN_MODIFY | IN_MOVED_TO | IN_DELETE)

struct ct_cutter {
    int fd, nth, stop, events, fired, seen;
    char key[48]; /* the change to cut at ("rename to version"); "" for any */
    size_t at;    /* the trace count when it cut */
    char names[CUTTER_NAMES][48];
    char what[48];
    pthread_t thread;
    pthread_mutex_t lock;
};

static const char *verb(uint32_t mask)
{
    return mask & IN_CREATE     ? "create"
           : mask & IN_MODIFY   ? "write"
           : mask & IN_MOVED_TO ? "rename to"
                                : "delete";
}

/* One change: count it, name it, and cut when it is the n-th. */
static void on_change(ct_cutter *c, const struct inotify_event *e)
{
    char name[48];

    snprintf(name, sizeof(name), "%s %.32s", verb(e->mask), e->len ? e->name : "?");
    pthread_mutex_lock(&c->lock);
    if (!c->fired) {
        c->events++;
        if (c->events <= CUTTER_NAMES)
            snprintf(c->names[c->events - 1], sizeof(c->names[0]), "%s", name);
        if (c->nth > 0 && (!c->key[0] || !strcmp(c->key, name)) && ++c->seen == c->nth) {
            c->at = mc_trace_count(ct.cloud);
            dut_restart(ct.dut); /* SIGKILL, then the adapter starts it again: a power cycle */
            /* No job is open when it boots again: the cloud must not deliver this one anew. */
            mc_jobs_cancel(ct.cloud, ct.dev.dn);
            c->fired = 1;
            snprintf(c->what, sizeof(c->what), "%s", name);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

static void *watch(void *arg)
{
    ct_cutter *c = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        ssize_t n;
        pthread_mutex_lock(&c->lock);
        int stop = c->stop;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        n = read(c->fd, buf, sizeof(buf));
        for (ssize_t off = 0; n > 0 && off < n;) {
            const struct inotify_event *e = (const struct inotify_event *)(buf + off);
            if (e->mask & CUTTER_MASK)
                on_change(c, e);
            off += (ssize_t)(sizeof(*e) + e->len);
        }
    }
    return NULL;
}

ct_cutter *ct_cutter_start(const char *dir, const char *key, int nth)
{
    ct_cutter *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->nth = nth;
    snprintf(c->key, sizeof(c->key), "%s", key ? key : "");
    c->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (c->fd < 0 || inotify_add_watch(c->fd, dir, CUTTER_MASK) < 0) {
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    if (pthread_create(&c->thread, NULL, watch, c) != 0) {
        pthread_mutex_destroy(&c->lock);
        close(c->fd);
        free(c);
        return NULL;
    }
    return c;
}

int ct_cutter_events(ct_cutter *c)
{
    int n;

    pthread_mutex_lock(&c->lock);
    n = c->events;
    pthread_mutex_unlock(&c->lock);
    return n;
}

int ct_cutter_fired(ct_cutter *c, char *what, size_t cap, size_t *at)
{
    int fired;

    pthread_mutex_lock(&c->lock);
    fired = c->fired;
    if (fired && what)
        snprintf(what, cap, "%s", c->what);
    if (fired && at)
        *at = c->at;
    pthread_mutex_unlock(&c->lock);
    return fired;
}

void ct_cutter_name(ct_cutter *c, int k, char *buf, size_t cap)
{
    pthread_mutex_lock(&c->lock);
    snprintf(buf, cap, "%s", k >= 1 && k <= CUTTER_NAMES && k <= c->events ? c->names[k - 1] : "?");
    pthread_mutex_unlock(&c->lock);
}

void ct_cutter_stop(ct_cutter *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = 1;
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->lock);
    close(c->fd);
    free(c);
}
