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

/* With l->lock held. */
static void draw(ct_live *l)
{
    if (l->running)
        printf("\r\033[K[%d/%d] %s  %.1fs", l->done, l->total, l->name, ota_clock_now() - l->start);
    fflush(stdout);
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
        draw(l);
        pthread_mutex_unlock(&l->lock);
    }
}

void ct_live_start(ct_live *l, int quiet, int total)
{
    l->quiet = quiet;
    l->tty = isatty(STDOUT_FILENO) && !quiet;
    l->total = total;
    if (l->tty && pthread_create(&l->ticker, NULL, tick, l) != 0)
        l->tty = 0;
}

void ct_live_stop(ct_live *l)
{
    if (!l->tty)
        return;
    pthread_mutex_lock(&l->lock);
    l->running = -1;
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->ticker, NULL);
}

void ct_live_begin(ct_live *l, const rp_test *t)
{
    if (!l->tty || l->quiet)
        return;
    pthread_mutex_lock(&l->lock);
    snprintf(l->name, sizeof(l->name), "%s/%s", t->group, t->name);
    l->start = ota_clock_now();
    l->running = 1;
    draw(l);
    pthread_mutex_unlock(&l->lock);
}

void ct_live_result(ct_live *l, const rp_test *t)
{
    static const char *const tags[] = {"PASS", "FAIL", "N/A ", "UNFINISHED", "INCONCLUSIVE"};

    if (l->quiet)
        return;
    pthread_mutex_lock(&l->lock);
    l->done++;
    l->running = l->running < 0 ? -1 : 0;
    if (l->tty)
        printf("\r\033[K");
    printf("%s  %-8s %-40s [%s] %.2fs%s%s\n",
           t->nwarnings && t->verdict == RP_PASS ? "WARN" : tags[t->verdict], t->group, t->name,
           t->rules, t->seconds, t->board[0] ? " on " : "", t->board);
    for (int w = 0; w < t->nwarnings; w++)
        printf("      warning %s: %s\n", t->warnings[w].rule, t->warnings[w].text);
    if (t->verdict != RP_PASS)
        printf("      %s%s%s\n", t->verdict == RP_FAIL ? t->failed_rule : "",
               t->verdict == RP_FAIL ? ": " : "", t->message);
    fflush(stdout);
    pthread_mutex_unlock(&l->lock);
}

/* The power group's run time, bounded by its cut points (README, "Power loss"). */
static void power_summary(const ct_run *r)
{
    int n = 0;
    double secs = 0;

    for (int i = 0; i < r->nresults; i++)
        if (!strcmp(r->results[i].group, "power") && r->results[i].verdict != RP_NA) {
            n++;
            secs += r->results[i].seconds;
        }
    if (n)
        printf("power group: %d test%s in %.1f s (at most %d cuts each)\n", n, n == 1 ? "" : "s",
               secs, CT_PWR_MAX_CUTS);
}

void ct_live_summary(const ct_run *r, double secs)
{
    const rp_test *res = r->results;
    int pass = 0, fail = 0, na = 0, warn = 0, unfinished = 0, inconclusive = 0;
    char cut[64] = "";

    for (int i = 0; i < r->nresults; i++) {
        unfinished += res[i].verdict == RP_UNFINISHED;
        pass += res[i].verdict == RP_PASS;
        fail += res[i].verdict == RP_FAIL;
        na += res[i].verdict == RP_NA;
        inconclusive += res[i].verdict == RP_INCONCLUSIVE;
        warn += res[i].nwarnings;
    }
    if (unfinished)
        snprintf(cut, sizeof(cut), ", %d unfinished", unfinished);
    if (inconclusive)
        snprintf(cut + strlen(cut), sizeof(cut) - strlen(cut), ", %d inconclusive", inconclusive);
    printf("%s: %d tests, %d passed, %d failed%s, %d N/A, %d warning%s%s%s%s (%.1f s)\n",
           ct_interrupted ? "INTERRUPTED"
           : fail         ? "FAILED"
                          : "PASSED",
           r->nresults, pass, fail, cut, na, warn, warn == 1 ? "" : "s",
           r->opt.strict ? ", strict" : "", r->opt.tls ? ", TLS" : "",
           ct.auth_off ? ", AUTH OFF" : "", secs);
    power_summary(r);
    for (int i = 0; r->opt.quiet && i < r->nresults; i++)
        if (res[i].verdict == RP_FAIL)
            printf("  FAIL %s/%s %s: %s\n", res[i].group, res[i].name, res[i].failed_rule,
                   res[i].message);
}
