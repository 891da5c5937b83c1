/*
 * --jobs N: the selected tests shared out over N device instances, each in
 * its own worker process with its own broker, mock cloud, device and trace.
 * The parent hands out one test at a time to whichever worker is free (so a
 * slow test never holds up a queue), the longest first (order.c), and
 * prints results as they come.
 *
 * The run's trace: as each test ends, the parent appends the worker's new
 * trace lines (that test's records) to it at once, so a run killed half-way
 * still leaves every finished test in the trace. At the end the trace is
 * rewritten in catalogue order, and the reports are built from it as for a
 * run with one device.
 *
 * The wire between parent and worker is lines on two pipes:
 *   parent -> worker: "<index>\n" (run that test), "quit\n"
 *   worker -> parent: "ready\n", "done <index> <test JSON>\n", "fw <version>\n",
 *                     "boot <test JSON>\n" (its device never came up: VER-1's failure),
 *                     "lost <why>\n" (its board is gone: the test it had goes back to
 *                     the others, who get it first; the worker quits)
 *
 * A worker with nothing left to take waits while others still run tests, so
 * that a test handed back by a lost board still finds a worker.
 *
 * A worker ends with the parent (PR_SET_PDEATHSIG: SIGTERM, handled as an
 * interruption), and stops its device and broker, also when the parent was
 * killed by SIGKILL.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workers.h"

#define LINE_CAP (256 * 1024)

typedef struct {
    pid_t pid;
    int cmd, res; /* pipe ends: commands out, results in */
    char *buf;    /* partial line from res */
    size_t len;
    int alive, ready, lost, idle;
    long running; /* index of the test in flight, -1 when idle */
    long *ran;    /* indexes in the order handed out */
    size_t nran;
    char fw[72];
    long off; /* bytes of its trace already taken */
} worker;

/* ---- the run's trace ---- */

static int put_record(FILE *out, double t, const char *dev, ota_trace_event ev, const char *info,
                      const char *json)
{
    ota_trace_rec r;
    char *line = NULL;
    int rc;

    memset(&r, 0, sizeof(r));
    r.t = t;
    r.kind = OTA_TR_TEST;
    r.event = ev;
    snprintf(r.dev, sizeof(r.dev), "%s", dev);
    snprintf(r.info, sizeof(r.info), "%s", info);
    r.payload = (unsigned char *)json;
    r.payload_len = json ? strlen(json) : 0;
    rc = ota_trace_encode(&r, &line);
    if (rc == OTA_OK)
        fprintf(out, "%s\n", line);
    free(line);
    return rc == OTA_OK ? 0 : -1;
}

static int grow(ct_text *x, const char *more, size_t n)
{
    char *g = realloc(x->s, x->len + n + 1);
    if (!g)
        return -1;
    x->s = g;
    memcpy(x->s + x->len, more, n);
    x->len += n;
    x->s[x->len] = '\0';
    return 0;
}

/*
 * The complete lines worker k wrote since the last call, added to *x and to
 * the run's trace at once. A torn last line (a worker still writing, or one
 * that died) waits for the next call.
 */
static void take_lines(ct_workers *j, worker *w, int k, ct_text *x)
{
    char path[4200], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/worker-%d.jsonl", j->scratch, k + 1);
    f = fopen(path, "r");
    if (!f)
        return;
    if (fseek(f, w->off, SEEK_SET) == 0) {
        while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
            if (grow(x, line, (size_t)n) != 0)
                break;
            w->off += n;
            if (j->out)
                fwrite(line, 1, (size_t)n, j->out);
        }
    }
    free(line);
    fclose(f);
    if (j->out)
        fflush(j->out);
}

/* The time of the last record in x (0 when none): where a test's trace stopped. */
static double last_time(const ct_text *x)
{
    ota_trace_rec r;
    size_t end, start;
    double t = 0;

    if (!x->s || x->len < 2)
        return 0;
    end = x->len - 1; /* its newline */
    for (start = end; start > 0 && x->s[start - 1] != '\n'; start--)
        ;
    if (ota_trace_decode(x->s + start, end - start, &r) == OTA_OK) {
        t = r.t;
        ota_trace_rec_clear(&r);
    }
    return t;
}

/* The end record of a test whose worker died during it: the parent's verdict. */
static void put_end(ct_workers *j, long idx)
{
    const rp_test *t = &j->results[idx];
    char *json = rp_test_to_json(t), info[256];
    FILE *mem;
    char *buf = NULL;
    size_t n = 0;

    snprintf(info, sizeof(info), "end %s/%s FAIL", t->group, t->name);
    mem = open_memstream(&buf, &n);
    if (mem) {
        put_record(mem, last_time(&j->chunks[idx]), j->dev, OTA_EV_TEST_END, info, json);
        fclose(mem);
        grow(&j->chunks[idx], buf, n);
        if (j->out) {
            fwrite(buf, 1, n, j->out);
            fflush(j->out);
        }
    }
    free(buf);
    free(json);
}

void ct_workers_put_test(ct_workers *j, long idx, const rp_test *t)
{
    ct_text *x = idx >= 0 && (size_t)idx < j->ncases ? &j->chunks[idx] : &j->tail;
    char *json = rp_test_to_json(t), info[320], *buf = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&buf, &n);

    if (mem) {
        snprintf(info, sizeof(info), "begin %s/%s %s", t->group, t->name, t->rules);
        put_record(mem, 0, j->dev, OTA_EV_TEST_BEGIN, info, json);
        snprintf(info, sizeof(info), "end %s/%s %s", t->group, t->name,
                 rp_verdict_name(t->verdict));
        put_record(mem, 0, j->dev, OTA_EV_TEST_END, info, json);
        fclose(mem);
        grow(x, buf, n);
    }
    free(buf);
    free(json);
}

void ct_workers_failed(rp_test *t, const ct_case *c)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", c->name);
    snprintf(t->group, sizeof(t->group), "%s", c->group);
    snprintf(t->rules, sizeof(t->rules), "%s", c->rules);
    t->verdict = RP_FAIL;
    sscanf(c->rules, "%15s", t->failed_rule);
}

static int send_cmd(worker *w, long idx)
{
    char line[32];
    int n = idx < 0 ? snprintf(line, sizeof(line), "quit\n")
                    : snprintf(line, sizeof(line), "%ld\n", idx);
    return write(w->cmd, line, (size_t)n) == n ? 0 : -1;
}

static int any_running(const worker *ws, int n)
{
    for (int k = 0; k < n; k++)
        if (ws[k].alive && ws[k].running >= 0)
            return 1;
    return 0;
}

/*
 * Give worker w a test handed back by a lost board, else the next one (in
 * j->order). With none left it waits while others still run (one of them
 * may hand a test back), and quits when none does.
 */
static void hand_out(ct_workers *j, worker *ws, worker *w, size_t *next)
{
    int again = j->nagain > 0;
    size_t idx = again                           ? (size_t)j->again[j->nagain - 1]
                 : *next < j->ncases && j->order ? j->order[*next]
                                                 : *next;

    w->idle = 0;
    if ((again || *next < j->ncases) && !ct_interrupted && send_cmd(w, (long)idx) == 0) {
        w->running = (long)idx;
        w->ran[w->nran++] = (long)idx;
        if (j->on_start)
            j->on_start(idx, j->ud);
        if (again)
            j->nagain--;
        else
            (*next)++;
        return;
    }
    w->running = -1;
    if (!ct_interrupted && any_running(ws, j->nworkers)) {
        w->idle = 1;
        return;
    }
    send_cmd(w, -1);
    for (int k = 0; k < j->nworkers; k++) /* the last test is done: the waiting ones quit too */
        if (ws[k].alive && ws[k].idle) {
            ws[k].idle = 0;
            send_cmd(&ws[k], -1);
        }
}

/* A lost board's test goes to a waiting worker at once, if one waits. */
static void hand_back(ct_workers *j, worker *ws, worker *w, size_t *next)
{
    if (w->running >= 0 && !j->done[w->running]) {
        j->again[j->nagain++] = w->running;
        if (w->nran && w->ran[w->nran - 1] == w->running)
            w->nran--; /* it did not run it */
    }
    w->running = -1;
    for (int k = 0; k < j->nworkers && j->nagain; k++)
        if (ws[k].alive && ws[k].idle)
            hand_out(j, ws, &ws[k], next);
}

static void on_line(ct_workers *j, worker *ws, int k, char *line, size_t *next)
{
    worker *w = &ws[k];

    if (!strcmp(line, "ready")) {
        w->ready = 1;
        hand_out(j, ws, w, next);
    } else if (!strncmp(line, "done ", 5)) {
        char *json;
        long idx = strtol(line + 5, &json, 10);
        if (idx < 0 || (size_t)idx >= j->ncases || idx != w->running)
            return;
        take_lines(j, w, k, &j->chunks[idx]);
        if (rp_test_from_json(json, &j->results[idx]) == RP_OK) {
            j->done[idx] = 1;
            if (j->on_result)
                j->on_result(&j->results[idx], j->ud);
        }
        hand_out(j, ws, w, next);
    } else if (!strncmp(line, "lost ", 5)) {
        w->lost = 1;
        if (j->on_lost)
            j->on_lost(k, line + 5, j->ud);
        hand_back(j, ws, w, next);
    } else if (!strncmp(line, "fw ", 3)) {
        snprintf(w->fw, sizeof(w->fw), "%.64s", line + 3);
    } else if (!strncmp(line, "boot ", 5) && !j->boot_failed) {
        j->boot_failed = rp_test_from_json(line + 5, &j->boot) == RP_OK;
    }
}

/*
 * The worker's pipe closed: reap it; a test it was running fails with the
 * reason. A lost board's last lines (the test it handed back) stay out of
 * the run's trace: that test's records come from the board that runs it.
 */
static void on_eof(ct_workers *j, worker *ws, worker *w, int k, size_t *next)
{
    int status = 0;

    close(w->res);
    close(w->cmd);
    w->alive = 0;
    w->idle = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!w->lost)
        take_lines(j, w, k,
                   w->running >= 0 && !j->done[w->running] ? &j->chunks[w->running] : &j->tail);
    if (w->running >= 0 && !j->done[w->running]) {
        rp_test *t = &j->results[w->running];
        ct_workers_failed(t, j->cases[w->running]);
        snprintf(t->message, sizeof(t->message),
                 "worker %d, the process testing this device instance, ended during the test "
                 "(%s %d); its trace shows how far it got",
                 k + 1, WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        j->done[w->running] = 1;
        /* No end record came: the parent's verdict closes the test in the trace. */
        put_end(j, w->running);
        if (j->on_result)
            j->on_result(t, j->ud);
    }
    w->running = -1;
    /* Waiting workers wait for running ones: with none left running, they quit. */
    for (int m = 0; m < j->nworkers && !any_running(ws, j->nworkers); m++)
        if (ws[m].alive && ws[m].idle)
            hand_out(j, ws, &ws[m], next);
}

static void read_from(ct_workers *j, worker *ws, int k, size_t *next)
{
    worker *w = &ws[k];
    ssize_t n = read(w->res, w->buf + w->len, LINE_CAP - 1 - w->len);
    char *nl;

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        on_eof(j, ws, w, k, next);
        return;
    }
    w->len += (size_t)n;
    w->buf[w->len] = '\0';
    while ((nl = memchr(w->buf, '\n', w->len)) != NULL) {
        size_t used = (size_t)(nl - w->buf) + 1;
        *nl = '\0';
        on_line(j, ws, k, w->buf, next);
        memmove(w->buf, w->buf + used, w->len - used);
        w->len -= used;
    }
    if (w->len == LINE_CAP - 1) /* a line longer than any test: drop it */
        w->len = 0;
}

static int spawn(ct_workers *j, worker *w, int k)
{
    int to_w[2], from_w[2];

    if (pipe(to_w) != 0)
        return -1;
    if (pipe(from_w) != 0) {
        close(to_w[0]);
        close(to_w[1]);
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    w->pid = fork();
    if (w->pid < 0)
        return -1;
    if (w->pid == 0) {
        /* Ends with the parent, even one killed by SIGKILL: SIGTERM, so that it stops its
         * device and broker and removes its folders as an interrupted run does. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(3);
        close(to_w[1]);
        close(from_w[0]);
        signal(SIGPIPE, SIG_IGN);
        _exit(j->worker(k, to_w[0], from_w[1], j->ud));
    }
    close(to_w[0]);
    close(from_w[1]);
    w->cmd = to_w[1];
    w->res = from_w[0];
    w->alive = 1;
    w->running = -1;
    return 0;
}

int ct_workers_run(ct_workers *j)
{
    worker *ws = calloc((size_t)j->nworkers, sizeof(*ws));
    struct pollfd *pf = calloc((size_t)j->nworkers, sizeof(*pf));
    size_t next = 0;
    int rc = 0, alive;

    j->done = calloc(j->ncases ? j->ncases : 1, 1);
    j->chunks = calloc(j->ncases ? j->ncases : 1, sizeof(*j->chunks));
    j->ran = calloc((size_t)j->nworkers, sizeof(*j->ran));
    j->nran = calloc((size_t)j->nworkers, sizeof(*j->nran));
    j->again = calloc(j->ncases ? j->ncases : 1, sizeof(*j->again));
    j->out = fopen(j->trace, "w");
    if (!ws || !pf || !j->done || !j->chunks || !j->ran || !j->nran || !j->again || !j->out ||
        put_record(j->out, 0, j->dev, OTA_EV_RUN_BEGIN, "run-begin", j->run_begin) != 0) {
        free(ws);
        free(pf);
        return -1;
    }
    fflush(j->out);
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < j->nworkers; k++) {
        ws[k].buf = malloc(LINE_CAP);
        ws[k].ran = calloc(j->ncases ? j->ncases : 1, sizeof(long));
        if (!ws[k].buf || !ws[k].ran || spawn(j, &ws[k], k) != 0) {
            rc = -1;
            break;
        }
    }
    if (j->on_spawned)
        j->on_spawned(j->ud);
    /* The workers exist (and inherited the blocked signals): now the parent takes them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
    for (int forwarded = 0;;) {
        int n = 0;
        if (ct_interrupted && !forwarded) { /* a terminal's Ctrl-C reached them; a kill did not */
            for (int k = 0; k < j->nworkers; k++)
                if (ws[k].alive)
                    kill(ws[k].pid, SIGINT);
            forwarded = 1;
        }
        for (int k = 0; k < j->nworkers; k++)
            if (ws[k].alive)
                pf[n++] = (struct pollfd){.fd = ws[k].res, .events = POLLIN};
        if (!n)
            break;
        if (poll(pf, (nfds_t)n, 250) < 0 && errno != EINTR)
            break;
        n = 0;
        for (int k = 0; k < j->nworkers; k++) {
            if (!ws[k].alive)
                continue;
            if (pf[n++].revents)
                read_from(j, ws, k, &next);
        }
        /* Every worker died before taking its share: the tests left can not run. */
        alive = 0;
        for (int k = 0; k < j->nworkers; k++)
            alive += ws[k].alive;
        if (!alive && (next < j->ncases || j->nagain) && rc == 0 && !ct_interrupted)
            rc = -1;
    }
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    for (int k = 0; k < j->nworkers; k++) {
        j->ran[k] = ws[k].ran;
        j->nran[k] = ws[k].nran;
        snprintf(j->fw[k < CT_MAX_WORKERS ? k : 0], sizeof(j->fw[0]), "%s", ws[k].fw);
        free(ws[k].buf);
    }
    free(ws);
    free(pf);
    return rc;
}

int ct_workers_finish(ct_workers *j, const char *run_end)
{
    char tmp[4200];
    FILE *f;
    int rc = 0;

    if (j->out) {
        fclose(j->out);
        j->out = NULL;
    }
    snprintf(tmp, sizeof(tmp), "%s.sorting", j->trace);
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    put_record(f, 0, j->dev, OTA_EV_RUN_BEGIN, "run-begin", j->run_begin);
    for (size_t i = 0; j->chunks && i < j->ncases; i++)
        if (j->chunks[i].s)
            fwrite(j->chunks[i].s, 1, j->chunks[i].len, f);
    if (j->tail.s)
        fwrite(j->tail.s, 1, j->tail.len, f);
    put_record(f, 0, j->dev, OTA_EV_RUN_END, "run-end", run_end);
    if (fclose(f) != 0 || rename(tmp, j->trace) != 0) {
        unlink(tmp);
        rc = -1;
    }
    return rc;
}

void ct_workers_free(ct_workers *j)
{
    if (j->out)
        fclose(j->out);
    j->out = NULL;
    for (size_t i = 0; j->chunks && i < j->ncases; i++)
        free(j->chunks[i].s);
    free(j->chunks);
    free(j->tail.s);
    j->chunks = NULL;
    j->tail.s = NULL;
    for (int k = 0; j->ran && k < j->nworkers; k++)
        free(j->ran[k]);
    free(j->ran);
    free(j->nran);
    free(j->done);
    free(j->again);
    j->again = NULL;
    j->ran = NULL;
    j->nran = NULL;
    j->done = NULL;
}
