/*
 * The process adapter: runs any command as the device under test, with the
 * contract's environment, its stdin as the control channel and its stdout
 * and stderr as channel lines plus log. A monitor thread restarts it after
 * exit 0 (a reboot), reports crashes with the exit status, and restarts it
 * then too. It does not know about MQTT or the cloud.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapter_priv.h"
#include "otaproto/clock.h"

extern char **environ;

#define LOG_KEEP        20 /* last log lines kept for crash reports */
#define MAX_ENV         256
#define CRASH_BACKOFF_S 0.2

typedef struct {
    dut_adapter base;
    dut_callbacks cb;
    char *cmd;
    char **envp; /* full environment for the child */

    pthread_t monitor;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pid_t pid;
    int in_fd; /* the device's stdin */
    int out_fd;
    int closing, kill_requested, ready, starts;
    char caps[DUT_MAX_LINE];
    unsigned seq;
    unsigned pending_seq;
    int pending_done, pending_rc;
    char pending_reply[DUT_MAX_LINE];
    char log[LOG_KEEP][DUT_MAX_LINE + 1];
    int log_next, log_count;
} proc;

static void proc_last_log(dut_adapter *a, char *buf, size_t cap);

static void emit(proc *p, dut_event_kind k, const char *text)
{
    if (p->cb.on_event)
        p->cb.on_event(p->cb.ud, k, text);
}

/* Our environment with the configured entries replacing same-named ones. */
static char **build_env(const char *const *extra)
{
    size_t n = 0, m = 0;
    char **env;

    while (environ[n])
        n++;
    while (extra && extra[m])
        m++;
    if (n + m >= MAX_ENV * 64)
        return NULL;
    env = calloc(n + m + 1, sizeof(*env));
    if (!env)
        return NULL;
    m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t klen = strcspn(environ[i], "=");
        int overridden = 0;
        for (size_t j = 0; extra && extra[j]; j++)
            if (!strncmp(extra[j], environ[i], klen) && extra[j][klen] == '=')
                overridden = 1;
        if (!overridden)
            env[m++] = strdup(environ[i]);
    }
    for (size_t j = 0; extra && extra[j]; j++)
        env[m++] = strdup(extra[j]);
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

static int spawn(proc *p)
{
    int in[2], out[2];
    pid_t parent = getpid(), pid;

    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pthread_mutex_lock(&p->lock); /* the environment may be changed (dut_process_setenv) */
    pid = fork();
    if (pid != 0)
        pthread_mutex_unlock(&p->lock);
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        execle("/bin/sh", "sh", "-c", p->cmd, (char *)NULL, p->envp);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    pthread_mutex_lock(&p->lock);
    p->pid = pid;
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->starts++;
    p->ready = 0;
    p->log_count = 0; /* a crash report shows the crashing run's own lines */
    p->caps[0] = '\0';
    if (p->closing) { /* closed while we were starting it */
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static void keep_log(proc *p, const char *line)
{
    pthread_mutex_lock(&p->lock);
    snprintf(p->log[p->log_next], sizeof(p->log[0]), "%s", line);
    p->log_next = (p->log_next + 1) % LOG_KEEP;
    if (p->log_count < LOG_KEEP)
        p->log_count++;
    pthread_mutex_unlock(&p->lock);
}

static void on_reply(proc *p, const dut_line *l, const char *raw)
{
    const char *rest = strchr(raw, ' ');

    rest = rest ? strchr(rest + 1, ' ') : NULL; /* after "@seq OK" */
    pthread_mutex_lock(&p->lock);
    if (l->seq == p->pending_seq && !p->pending_done) {
        snprintf(p->pending_reply, sizeof(p->pending_reply), "%s", rest ? rest + 1 : "");
        if (l->kind == DUT_LINE_ERR)
            snprintf(p->pending_reply, sizeof(p->pending_reply), "%s", raw);
        p->pending_rc = l->kind == DUT_LINE_OK ? DUT_OK : DUT_ERR_REFUSED;
        p->pending_done = 1;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
}

static void on_line(proc *p, const char *line)
{
    dut_line l;

    dut_line_parse(line, &l);
    switch (l.kind) {
    case DUT_LINE_OK:
    case DUT_LINE_ERR:
        on_reply(p, &l, line);
        break;
    case DUT_LINE_EVENT:
        if (!strcmp(l.word, "READY")) {
            const char *caps = dut_line_arg(&l, "caps");
            pthread_mutex_lock(&p->lock);
            p->ready = 1;
            snprintf(p->caps, sizeof(p->caps), "%s", caps ? caps : "");
            pthread_mutex_unlock(&p->lock);
            emit(p, DUT_EV_READY, line);
        } else {
            emit(p, DUT_EV_EVENT, line);
        }
        break;
    default:
        keep_log(p, line);
        emit(p, DUT_EV_LOG, line);
        break;
    }
}

/* Split buffered output into lines; an over-long line is cut into pieces. */
static size_t drain_lines(proc *p, char *buf, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' || i - start >= DUT_MAX_LINE) {
            char save = buf[i];
            buf[i] = '\0';
            if (i > start && buf[i - 1] == '\r')
                buf[i - 1] = '\0';
            on_line(p, buf + start);
            buf[i] = save;
            start = save == '\n' ? i + 1 : i;
        }
    }
    memmove(buf, buf + start, len - start);
    return len - start;
}

/* Read the device's output until it has exited and its pipe is drained. */
static int read_until_exit(proc *p)
{
    char buf[4 * DUT_MAX_LINE];
    size_t len = 0;
    int status = 0, exited = 0, eof = 0;

    while (!eof) {
        struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
        int r = poll(&pfd, 1, 100);
        if (r > 0) {
            ssize_t n = read(p->out_fd, buf + len, sizeof(buf) - 1 - len);
            if (n > 0)
                len = drain_lines(p, buf, len + (size_t)n);
            else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                eof = 1;
        } else if (r == 0 && exited) {
            eof = 1; /* a grandchild may hold the pipe; the device itself is gone */
        }
        if (!exited && waitpid(p->pid, &status, WNOHANG) == p->pid)
            exited = 1;
    }
    if (len) {
        buf[len] = '\0';
        on_line(p, buf);
    }
    if (!exited)
        waitpid(p->pid, &status, 0);
    return status;
}

static void describe(int status, char *text, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(text, cap, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(text, cap, "exit status %d", WEXITSTATUS(status));
}

/*
 * Report the exit first, then wake a command still waiting for its reply:
 * whoever learns that the device went away finds the exit in the trace.
 */
static dut_event_kind after_exit(proc *p, int status)
{
    char text[128];
    dut_event_kind kind;
    int killed;

    pthread_mutex_lock(&p->lock);
    killed = p->kill_requested || p->closing;
    p->kill_requested = 0;
    p->ready = 0;
    pthread_mutex_unlock(&p->lock);
    describe(status, text, sizeof(text));
    if (killed) {
        kind = DUT_EV_KILLED;
        emit(p, kind, text);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        kind = DUT_EV_EXIT;
        emit(p, kind, text);
    } else {
        /* The crash report carries the last log lines: they explain it. */
        char report[LOG_KEEP * (DUT_MAX_LINE + 1) + 160];
        size_t n = (size_t)snprintf(report, sizeof(report), "%s; last log lines:\n", text);
        proc_last_log(&p->base, report + n, sizeof(report) - n);
        kind = DUT_EV_CRASH;
        emit(p, kind, report);
    }
    pthread_mutex_lock(&p->lock);
    close(p->in_fd);
    close(p->out_fd);
    p->in_fd = p->out_fd = -1;
    p->pid = 0;
    if (p->pending_seq && !p->pending_done) {
        p->pending_done = 1;
        p->pending_rc = DUT_ERR_CLOSED;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return kind;
}

/* Restart delay after a crash: 0.2 s, doubling with consecutive crashes, at most 1.6 s. */
static void crash_backoff(int crashes)
{
    double s = CRASH_BACKOFF_S * (double)(1 << (crashes < 4 ? crashes - 1 : 3));
    ota_sleep(s);
}

static void *monitor(void *arg)
{
    proc *p = arg;
    int crashes = 0;

    for (;;) {
        char text[64];
        pthread_mutex_lock(&p->lock);
        int closing = p->closing;
        pthread_mutex_unlock(&p->lock);
        if (closing)
            break;
        if (spawn(p) != 0) {
            emit(p, DUT_EV_CRASH, "could not start the device process");
            break;
        }
        snprintf(text, sizeof(text), "pid %d", (int)p->pid);
        emit(p, DUT_EV_START, text);
        if (after_exit(p, read_until_exit(p)) == DUT_EV_CRASH)
            crash_backoff(++crashes);
        else
            crashes = 0;
    }
    return NULL;
}

static int proc_command(dut_adapter *a, const char *verb_args, char *reply, size_t cap,
                        double timeout_s)
{
    proc *p = (proc *)a;
    char line[DUT_MAX_LINE + 2];
    double end = ota_clock_now() + timeout_s;
    int rc, n;

    pthread_mutex_lock(&p->lock);
    if (!p->ready || p->in_fd < 0) {
        pthread_mutex_unlock(&p->lock);
        return DUT_ERR_NOCHANNEL;
    }
    p->pending_seq = ++p->seq;
    p->pending_done = 0;
    n = snprintf(line, sizeof(line), "@%u %s\n", p->pending_seq, verb_args);
    if (n < 0 || (size_t)n > DUT_MAX_LINE + 1 || write(p->in_fd, line, (size_t)n) != n) {
        p->pending_seq = 0;
        pthread_mutex_unlock(&p->lock);
        return n > DUT_MAX_LINE + 1 ? DUT_ERR_ARG : DUT_ERR_CLOSED;
    }
    while (!p->pending_done)
        if (ota_cond_wait_until(&p->cond, &p->lock, end) != 0)
            break;
    rc = p->pending_done ? p->pending_rc : DUT_ERR_TIMEOUT;
    if (reply && cap)
        snprintf(reply, cap, "%s", p->pending_done ? p->pending_reply : "");
    p->pending_seq = 0;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int proc_has_channel(dut_adapter *a)
{
    proc *p = (proc *)a;
    int r;
    pthread_mutex_lock(&p->lock);
    r = p->ready;
    pthread_mutex_unlock(&p->lock);
    return r;
}

static int proc_has_cap(dut_adapter *a, const char *cap)
{
    proc *p = (proc *)a;
    size_t n = strlen(cap);
    int found = 0;

    pthread_mutex_lock(&p->lock);
    for (const char *s = p->caps; p->ready && *s;) {
        size_t len = strcspn(s, ",");
        if (len == n && !strncmp(s, cap, n))
            found = 1;
        s += len + (s[len] ? 1 : 0);
    }
    pthread_mutex_unlock(&p->lock);
    return found;
}

static int proc_restart(dut_adapter *a)
{
    proc *p = (proc *)a;

    pthread_mutex_lock(&p->lock);
    if (p->pid > 0) {
        p->kill_requested = 1;
        kill(-p->pid, SIGKILL);
        kill(p->pid, SIGKILL);
    }
    pthread_mutex_unlock(&p->lock);
    return DUT_OK;
}

static void proc_last_log(dut_adapter *a, char *buf, size_t cap)
{
    proc *p = (proc *)a;
    size_t o = 0;

    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->log_count; i++) {
        int idx = (p->log_next - p->log_count + i + LOG_KEEP) % LOG_KEEP;
        int n = snprintf(buf + o, cap - o, "%s%s", i ? "\n" : "", p->log[idx]);
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
    pthread_mutex_unlock(&p->lock);
}

static int proc_starts(dut_adapter *a)
{
    proc *p = (proc *)a;
    int n;
    pthread_mutex_lock(&p->lock);
    n = p->starts;
    pthread_mutex_unlock(&p->lock);
    return n;
}

static void proc_close(dut_adapter *a)
{
    proc *p = (proc *)a;

    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    if (p->pid > 0) {
        kill(-p->pid, SIGKILL);
        kill(p->pid, SIGKILL);
    }
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->monitor, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free_env(p->envp);
    free(p->cmd);
    free(p);
}

static const dut_ops process_ops = {
    "process",    proc_command,  proc_has_channel, proc_has_cap,
    proc_restart, proc_last_log, proc_starts,      proc_close,
};

int dut_process_setenv(dut_adapter *a, const char *key_value)
{
    proc *p = (proc *)a;
    size_t klen, n = 0;
    char *copy, **grown;
    int rc = DUT_OK;

    if (!a || a->ops != &process_ops || !key_value || !strchr(key_value, '='))
        return DUT_ERR_ARG;
    klen = strcspn(key_value, "=") + 1;
    copy = strdup(key_value);
    if (!copy)
        return DUT_ERR_NOMEM;
    pthread_mutex_lock(&p->lock);
    for (; p->envp[n]; n++) {
        if (!strncmp(p->envp[n], key_value, klen)) {
            free(p->envp[n]);
            p->envp[n] = copy;
            goto out;
        }
    }
    grown = realloc(p->envp, (n + 2) * sizeof(*grown));
    if (!grown) {
        free(copy);
        rc = DUT_ERR_NOMEM;
        goto out;
    }
    p->envp = grown;
    p->envp[n] = copy;
    p->envp[n + 1] = NULL;
out:
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int dut_process_open(const dut_process_config *cfg, const dut_callbacks *cb, dut_adapter **out)
{
    proc *p;

    if (!cfg || !cfg->cmd || !*cfg->cmd || !out)
        return DUT_ERR_ARG;
    signal(SIGPIPE, SIG_IGN); /* a device that dies must not kill us through its stdin */
    p = calloc(1, sizeof(*p));
    if (!p)
        return DUT_ERR_NOMEM;
    p->base.ops = &process_ops;
    p->cb = cb ? *cb : (dut_callbacks){0};
    p->in_fd = p->out_fd = -1;
    p->cmd = strdup(cfg->cmd);
    p->envp = build_env(cfg->env);
    if (!p->cmd || !p->envp) {
        free_env(p->envp);
        free(p->cmd);
        free(p);
        return DUT_ERR_NOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    ota_cond_init_mono(&p->cond);
    if (pthread_create(&p->monitor, NULL, monitor, p) != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free_env(p->envp);
        free(p->cmd);
        free(p);
        return DUT_ERR_SPAWN;
    }
    *out = &p->base;
    return DUT_OK;
}
