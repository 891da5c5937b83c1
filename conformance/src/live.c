/*
 * What ota-conformance shows while it runs: on a terminal the running test,
 * its elapsed time and the count, redrawn by a ticker thread; one line per
 * finished test (with its warnings and failure); the summary line. It
 * writes stdout only; the reports are built from the trace elsewhere.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "otaproto/clock.h"
#include "run_priv.h"

void ct_live_init(ct_live *l)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
}

/*
 * The running test's current wait (ct_live_wait, from the main thread), for
 * the "still waiting" lines of a run without a terminal.
 */
static struct {
    pthread_mutex_t lock;
    double since, secs; /* secs 0: no wait */
    char what[64];
} waiting = {.lock = PTHREAD_MUTEX_INITIALIZER};

void ct_live_wait(double secs, const char *what)
{
    pthread_mutex_lock(&waiting.lock);
    waiting.since = ota_clock_now();
    waiting.secs = secs;
    snprintf(waiting.what, sizeof(waiting.what), "%s", what ? what : "");
    pthread_mutex_unlock(&waiting.lock);
}

/* With l->lock held. */
static void draw(ct_live *l)
{
    if (l->running)
        printf("\r\033[K[%d/%d] %s  %.1fs", l->done, l->total, l->name, ota_clock_now() - l->start);
    fflush(stdout);
}

/*
 * Without a terminal, a line every CT_LIVE_STILL_S while a test runs and
 * nothing else was printed: "still waiting for FINAL-1 in final/x: 30 s of
 * 60", or, between waits, "still running final/x: 30 s". With l->lock held.
 */
static void still(ct_live *l)
{
    double now = ota_clock_now(), since, secs;
    char what[64];

    if (l->inflight <= 0 || now - l->last_line < CT_LIVE_STILL_S)
        return;
    pthread_mutex_lock(&waiting.lock);
    since = waiting.since;
    secs = waiting.secs;
    snprintf(what, sizeof(what), "%s", waiting.what);
    pthread_mutex_unlock(&waiting.lock);
    if (l->inflight > 1) /* --jobs: the waits are the workers' */
        printf("      still running %d tests; the last one started, %s, %.0f s ago\n", l->inflight,
               l->name, now - l->start);
    else if (secs > 0 && since >= l->start)
        printf("      still waiting for %s in %s: %.0f s of %.0f (test running %.0f s)\n",
               what[0] ? what : "the device", l->name, now - since, secs, now - l->start);
    else
        printf("      still running %s: %.0f s\n", l->name, now - l->start);
    fflush(stdout);
    l->last_line = now;
}

static void *tick(void *arg)
{
    ct_live *l = arg;

    for (;;) {
        ota_sleep(0.25);
        pthread_mutex_lock(&l->lock);
        if (l->running < 0) {
            pthread_mutex_unlock(&l->lock);
            return NULL;
        }
        if (l->tty)
            draw(l);
        else
            still(l);
        pthread_mutex_unlock(&l->lock);
    }
}

void ct_live_start(ct_live *l, int quiet, int total)
{
    l->quiet = quiet;
    l->tty = isatty(STDOUT_FILENO) && !quiet;
    l->total = total;
    l->last_line = ota_clock_now();
    l->ticking = !quiet && pthread_create(&l->ticker, NULL, tick, l) == 0;
    if (!l->ticking)
        l->tty = 0;
}

void ct_live_stop(ct_live *l)
{
    if (!l->ticking)
        return;
    pthread_mutex_lock(&l->lock);
    l->running = -1;
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->ticker, NULL);
    l->ticking = 0;
}

void ct_live_begin(ct_live *l, const rp_test *t)
{
    if (l->quiet)
        return;
    pthread_mutex_lock(&l->lock);
    snprintf(l->name, sizeof(l->name), "%s/%s", t->group, t->name);
    l->start = ota_clock_now();
    l->running = l->running < 0 ? -1 : 1;
    l->inflight++;
    if (l->tty)
        draw(l);
    pthread_mutex_unlock(&l->lock);
}

#define WRAP_AT 100

/*
 * The length of the word at p: up to a space or a line break, except inside
 * a JSON object or string (a payload quoted in a message is one word, so
 * that it can be copied whole from the terminal).
 */
static size_t word_len(const char *p)
{
    size_t n = 0;
    int depth = 0, in_str = 0;

    for (; p[n] && p[n] != '\n'; n++) {
        char c = p[n];
        if (in_str) {
            if (c == '\\' && p[n + 1] && p[n + 1] != '\n')
                n++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"' && depth) {
            in_str = 1;
        } else if (c == '{') {
            depth++;
        } else if (c == '}' && depth) {
            depth--;
        } else if (c == ' ' && !depth) {
            break;
        }
    }
    return n;
}

/*
 * Text for a person, indented 6 and wrapped at WRAP_AT columns between
 * words (a word longer than a line, such as a JSON payload, keeps its own
 * line whole); the text's own line breaks are kept.
 */
static void put_wrapped(const char *text)
{
    const char *p = text;
    int col = 0;

    while (*p) {
        size_t word = word_len(p), chars = 0;
        for (size_t i = 0; i < word; i++) /* columns: UTF-8 characters, not bytes */
            chars += ((unsigned char)p[i] & 0xC0) != 0x80;
        if (col == 0) {
            fputs("      ", stdout);
            col = 6;
        } else if (col + 1 + (int)chars > WRAP_AT) {
            fputs("\n      ", stdout);
            col = 6;
        } else {
            fputc(' ', stdout);
            col++;
        }
        fwrite(p, 1, word, stdout);
        col += (int)chars;
        p += word;
        if (*p == '\n') {
            fputc('\n', stdout);
            col = 0;
        }
        if (*p)
            p++;
        while (*p == ' ')
            p++;
    }
    if (col)
        fputc('\n', stdout);
}

void ct_live_result(ct_live *l, const rp_test *t)
{
    static const char *const tags[] = {"PASS",         "FAIL",    "N/A ",  "UNFINISHED",
                                       "INCONCLUSIVE", "NOT RUN", "WAIVED"};
    char line[2300];

    if (l->quiet)
        return;
    pthread_mutex_lock(&l->lock);
    l->done++;
    l->running = l->running < 0 ? -1 : 0;
    l->inflight -= l->inflight > 0;
    if (l->tty)
        printf("\r\033[K");
    printf("%s  %-8s %-40s [%s] %.2fs%s%s\n",
           t->nwarnings && t->verdict == RP_PASS ? "WARN" : tags[t->verdict], t->group, t->name,
           t->rules, t->seconds, t->board[0] ? " on " : "", t->board);
    for (int w = 0; w < t->nwarnings; w++) {
        snprintf(line, sizeof(line), "warning %s: %s", t->warnings[w].rule, t->warnings[w].text);
        put_wrapped(line);
    }
    if (t->verdict != RP_PASS) {
        int failed = t->verdict == RP_FAIL || t->verdict == RP_WAIVED;
        snprintf(line, sizeof(line), "%s%s%s", failed ? t->failed_rule : "", failed ? ": " : "",
                 t->message);
        put_wrapped(line);
    }
    if (t->verdict == RP_WAIVED) {
        snprintf(line, sizeof(line), "waived: %s", t->waiver);
        put_wrapped(line);
    }
    fflush(stdout);
    l->last_line = ota_clock_now();
    pthread_mutex_unlock(&l->lock);
}

/* The power group's run time, bounded by its cut points (README, "Power loss"). */
static void power_summary(const rp_report *r)
{
    int n = 0;
    double secs = 0;

    for (int i = 0; i < r->ntests; i++)
        if (!strcmp(r->tests[i].group, "power") && r->tests[i].verdict != RP_NA &&
            r->tests[i].verdict != RP_NOT_RUN) {
            n++;
            secs += r->tests[i].seconds;
        }
    if (n)
        printf("power group: %d test%s in %.1f s (at most %d cuts each)\n", n, n == 1 ? "" : "s",
               secs, CT_PWR_MAX_CUTS);
}

/* The summary's first word, from the exit status the run returns. */
static const char *outcome_word(const rp_report *rep, int status)
{
    switch (status) {
    case 0:
        return "PASSED";
    case 1:
        return "FAILED";
    case 130:
        return "INTERRUPTED";
    default:
        return rep && rep->stopped[0] ? "STOPPED" : "ERROR";
    }
}

void ct_live_summary(const ct_run *r, const rp_report *rep, int worse, int status)
{
    rp_counts c = rp_report_counts(rep);
    char ran[64] = "", failed[96] = "", extra[160] = "";
    size_t n = 0;

    /* First what --quiet still shows: the failures; the counts are the last line. */
    for (int i = 0; r->opt.quiet && rep && i < rep->ntests; i++) {
        const rp_test *t = &rep->tests[i];
        if (t->verdict == RP_FAIL || t->verdict == RP_UNFINISHED)
            printf("  FAIL %s/%s %s: %s\n", t->group, t->name, t->failed_rule, t->message);
        else if (t->verdict == RP_WAIVED)
            printf("  WAIVED %s/%s %s: %s\n", t->group, t->name, t->failed_rule, t->waiver);
    }
    for (int e = 0; rep && e < rep->info.nexpired; e++)
        printf("EXPIRED WAIVER: %s\n", rep->info.expired[e]);
    if (rep)
        power_summary(rep);
    if (!rep) {
        printf("%s: the reports could not be built from the trace (see above)\n",
               outcome_word(rep, status));
        fflush(stdout);
        return;
    }
    if (c.not_run)
        snprintf(ran, sizeof(ran), "%d of %d tests ran", c.ran, c.total);
    else
        snprintf(ran, sizeof(ran), "%d test%s", c.total, c.total == 1 ? "" : "s");
    snprintf(failed, sizeof(failed), "%d failed", c.fail + c.unfinished);
    if (c.unfinished)
        snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed), " (%d unfinished)",
                 c.unfinished);
    if (c.inconclusive)
        n += (size_t)snprintf(extra + n, sizeof(extra) - n, ", %d inconclusive", c.inconclusive);
    if (c.not_run)
        n += (size_t)snprintf(extra + n, sizeof(extra) - n, ", %d not run", c.not_run);
    if (c.waived)
        snprintf(extra + n, sizeof(extra) - n, ", %d waived", c.waived);
    printf("%s: %s, %d passed, %s, %d N/A%s, %d warning%s%s%s%s", outcome_word(rep, status), ran,
           c.pass, failed, c.na, extra, c.warnings, c.warnings == 1 ? "" : "s",
           r->opt.strict ? ", strict" : "", r->opt.tls ? ", TLS" : "",
           ct.auth_off ? ", AUTH OFF" : "");
    if (worse)
        printf(", %d worse than the baseline (--baseline-strict)", rep->cmp->worse);
    printf(" (%.1f s)\n", rep->seconds);
    fflush(stdout);
}
