/*
 * --jobs N: the selected tests shared out over N device instances, each in
 * its own worker process with its own broker, mock cloud, device and trace.
 * The parent hands out one test at a time to whichever worker is free (so a
 * slow test never holds up a queue), prints results as they come, and at the
 * end merges the workers' traces into one trace in catalogue order, from
 * which the reports are built as for a run with one device.
 *
 * The wire between parent and worker is lines on two pipes:
 *   parent -> worker: "<index>\n" (run that test), "quit\n"
 *   worker -> parent: "ready\n", "done <index> <test JSON>\n", "fw <version>\n"
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs.h"

#define LINE_CAP (256 * 1024)

typedef struct {
    pid_t pid;
    int cmd, res; /* pipe ends: commands out, results in */
    char *buf;    /* partial line from res */
    size_t len;
    int alive, ready;
    long running; /* index of the test in flight, -1 when idle */
    long *ran;    /* indexes in the order handed out */
    size_t nran;
    char fw[72];
} worker;

static int send_cmd(worker *w, long idx)
{
    char line[32];
    int n = idx < 0 ? snprintf(line, sizeof(line), "quit\n")
                    : snprintf(line, sizeof(line), "%ld\n", idx);
    return write(w->cmd, line, (size_t)n) == n ? 0 : -1;
}

/* Give worker w the next test, or tell it to quit. */
static void hand_out(ct_jobs *j, worker *w, size_t *next)
{
    if (*next < j->ncases && send_cmd(w, (long)*next) == 0) {
        w->running = (long)*next;
        w->ran[w->nran++] = (long)*next;
        if (j->on_start)
            j->on_start(*next, j->ud);
        (*next)++;
        return;
    }
    w->running = -1;
    send_cmd(w, -1);
}

static void on_line(ct_jobs *j, worker *w, char *line, size_t *next)
{
    if (!strcmp(line, "ready")) {
        w->ready = 1;
        hand_out(j, w, next);
    } else if (!strncmp(line, "done ", 5)) {
        char *json;
        long idx = strtol(line + 5, &json, 10);
        if (idx < 0 || (size_t)idx >= j->ncases || idx != w->running)
            return;
        if (rp_test_from_json(json, &j->results[idx]) == RP_OK) {
            j->done[idx] = 1;
            if (j->on_result)
                j->on_result(&j->results[idx], j->ud);
        }
        hand_out(j, w, next);
    } else if (!strncmp(line, "fw ", 3)) {
        snprintf(w->fw, sizeof(w->fw), "%.64s", line + 3);
    }
}

/* The worker's pipe closed: reap it; a test it was running fails with the reason. */
static void on_eof(ct_jobs *j, worker *w, int k)
{
    int status = 0;

    close(w->res);
    close(w->cmd);
    w->alive = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (w->running >= 0 && !j->done[w->running]) {
        rp_test *t = &j->results[w->running];
        const ct_case *c = j->cases[w->running];
        memset(t, 0, sizeof(*t));
        snprintf(t->name, sizeof(t->name), "%s", c->name);
        snprintf(t->group, sizeof(t->group), "%s", c->group);
        snprintf(t->rules, sizeof(t->rules), "%s", c->rules);
        t->verdict = RP_FAIL;
        sscanf(c->rules, "%15s", t->failed_rule);
        snprintf(t->message, sizeof(t->message),
                 "job %d, the runner process testing this device instance, ended during the test "
                 "(%s %d); its trace shows how far it got",
                 k + 1, WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        j->done[w->running] = 1;
        j->died[w->running] = 1;
        if (j->on_result)
            j->on_result(t, j->ud);
    } else if (!w->ready || (WIFEXITED(status) && WEXITSTATUS(status))) {
        j->setup_failures++;
    }
    w->running = -1;
}

static void read_from(ct_jobs *j, worker *w, int k, size_t *next)
{
    ssize_t n = read(w->res, w->buf + w->len, LINE_CAP - 1 - w->len);
    char *nl;

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        on_eof(j, w, k);
        return;
    }
    w->len += (size_t)n;
    w->buf[w->len] = '\0';
    while ((nl = memchr(w->buf, '\n', w->len)) != NULL) {
        size_t used = (size_t)(nl - w->buf) + 1;
        *nl = '\0';
        on_line(j, w, w->buf, next);
        memmove(w->buf, w->buf + used, w->len - used);
        w->len -= used;
    }
    if (w->len == LINE_CAP - 1) /* a line longer than any test: drop it */
        w->len = 0;
}

static int spawn(ct_jobs *j, worker *w, int k)
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
    w->pid = fork();
    if (w->pid < 0)
        return -1;
    if (w->pid == 0) {
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

int ct_jobs_run(ct_jobs *j)
{
    worker *ws = calloc((size_t)j->njobs, sizeof(*ws));
    struct pollfd *pf = calloc((size_t)j->njobs, sizeof(*pf));
    size_t next = 0;
    int rc = 0, alive;

    j->done = calloc(j->ncases ? j->ncases : 1, 1);
    j->died = calloc(j->ncases ? j->ncases : 1, 1);
    j->ran = calloc((size_t)j->njobs, sizeof(*j->ran));
    j->nran = calloc((size_t)j->njobs, sizeof(*j->nran));
    if (!ws || !pf || !j->done || !j->died || !j->ran || !j->nran) {
        free(ws);
        free(pf);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < j->njobs; k++) {
        ws[k].buf = malloc(LINE_CAP);
        ws[k].ran = calloc(j->ncases ? j->ncases : 1, sizeof(long));
        if (!ws[k].buf || !ws[k].ran || spawn(j, &ws[k], k) != 0) {
            rc = -1;
            break;
        }
    }
    for (;;) {
        int n = 0;
        for (int k = 0; k < j->njobs; k++)
            if (ws[k].alive)
                pf[n++] = (struct pollfd){.fd = ws[k].res, .events = POLLIN};
        if (!n)
            break;
        if (poll(pf, (nfds_t)n, 250) < 0 && errno != EINTR)
            break;
        n = 0;
        for (int k = 0; k < j->njobs; k++) {
            if (!ws[k].alive)
                continue;
            if (pf[n++].revents)
                read_from(j, &ws[k], k, &next);
        }
        /* Every worker died before taking its share: the tests left can not run. */
        alive = 0;
        for (int k = 0; k < j->njobs; k++)
            alive += ws[k].alive;
        if (!alive && next < j->ncases && rc == 0)
            rc = -1;
    }
    for (int k = 0; k < j->njobs; k++) {
        j->ran[k] = ws[k].ran;
        j->nran[k] = ws[k].nran;
        snprintf(j->fw[k < CT_MAX_JOBS ? k : 0], sizeof(j->fw[0]), "%s", ws[k].fw);
        free(ws[k].buf);
    }
    j->handed_out = next;
    free(ws);
    free(pf);
    return rc;
}

void ct_jobs_free(ct_jobs *j)
{
    for (int k = 0; j->ran && k < j->njobs; k++)
        free(j->ran[k]);
    free(j->ran);
    free(j->nran);
    free(j->done);
    free(j->died);
    j->ran = NULL;
    j->nran = NULL;
    j->done = j->died = NULL;
}

/* ---- merging the workers' traces ---- */

static int put_record(FILE *out, double t, const char *dev, const char *info, const char *json)
{
    ota_trace_rec r;
    char *line = NULL;
    int rc;

    memset(&r, 0, sizeof(r));
    r.t = t;
    r.kind = OTA_TR_TEST;
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

/* Is the line a test's "end" record? Its time goes to *t. */
static int is_end(const char *line, size_t len, double *t)
{
    ota_trace_rec r;
    int end;

    if (!strstr(line, "\"end ") || ota_trace_decode(line, len, &r) != OTA_OK)
        return 0;
    end = r.kind == OTA_TR_TEST && !strncmp(r.info, "end ", 4);
    *t = r.t;
    ota_trace_rec_clear(&r);
    return end;
}

typedef struct {
    char *text; /* the lines, newline-terminated */
    size_t len;
    double last_t;
} chunk;

/*
 * Split one worker's trace into one chunk per test it ran: everything after
 * the previous test's end up to and including this one's; what follows the
 * last end joins the last chunk.
 */
static int split(const char *path, size_t nran, chunk *chunks)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, k = 0;
    ssize_t n;

    if (!f)
        return -1;
    while ((n = getline(&line, &cap, f)) > 0) {
        size_t at = k < nran ? k : (nran ? nran - 1 : 0);
        chunk *c = &chunks[at];
        char *grown;
        double t = c->last_t;
        if (!nran)
            break;
        if (line[n - 1] != '\n') /* a torn last line of a worker that died */
            break;
        grown = realloc(c->text, c->len + (size_t)n + 1);
        if (!grown)
            break;
        c->text = grown;
        memcpy(c->text + c->len, line, (size_t)n);
        c->len += (size_t)n;
        c->text[c->len] = '\0';
        if (is_end(line, (size_t)n - 1, &t) && k < nran)
            k++;
        c->last_t = t;
    }
    free(line);
    fclose(f);
    return 0;
}

int ct_jobs_merge(const ct_jobs *j, const char *out_path, const char *dev, const char *run_begin,
                  const char *run_end)
{
    chunk **per = calloc((size_t)j->njobs, sizeof(*per));
    FILE *out = fopen(out_path, "w");
    int rc = 0;

    if (!per || !out) {
        free(per);
        if (out)
            fclose(out);
        return -1;
    }
    put_record(out, 0, dev, "run-begin", run_begin);
    for (int k = 0; k < j->njobs; k++) {
        char path[4200];
        per[k] = calloc(j->nran[k] ? j->nran[k] : 1, sizeof(chunk));
        snprintf(path, sizeof(path), "%s/job-%d.jsonl", j->scratch, k + 1);
        if (per[k])
            split(path, j->nran[k], per[k]);
    }
    /* Catalogue order: find which worker ran test i, and as its how-many-th. */
    for (size_t i = 0; i < j->ncases; i++) {
        for (int k = 0; k < j->njobs; k++) {
            for (size_t m = 0; per[k] && m < j->nran[k]; m++) {
                chunk *c = &per[k][m];
                if (j->ran[k][m] != (long)i)
                    continue;
                if (c->text)
                    fputs(c->text, out);
                if (j->died[i]) { /* no end record came: write the parent's verdict */
                    char *json = rp_test_to_json(&j->results[i]);
                    char info[256];
                    snprintf(info, sizeof(info), "end %s/%s FAIL", j->results[i].group,
                             j->results[i].name);
                    put_record(out, c->last_t, dev, info, json);
                    free(json);
                }
            }
        }
    }
    put_record(out, 0, dev, "run-end", run_end);
    for (int k = 0; k < j->njobs; k++) {
        for (size_t m = 0; per[k] && m < j->nran[k]; m++)
            free(per[k][m].text);
        free(per[k]);
    }
    free(per);
    if (fclose(out) != 0)
        rc = -1;
    return rc;
}
