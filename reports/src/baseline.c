/*
 * This run against an earlier one of the same device (ota-conformance
 * --baseline): per test the verdict, the messages sent, the bytes
 * downloaded, the requests, the retries and the time from the push to the
 * final report. Figures that moved more than their threshold are listed;
 * timing noise between two runs of one build stays under the defaults.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_priv.h"

static const char *const metric_names[RP_METRIC__COUNT] = {"verdict",  "messages", "bytes",
                                                           "requests", "retries",  "time"};

/* The defaults, documented in docs/baseline.md: bytes in percent of the image, time in s. */
static const double defaults[RP_METRIC__COUNT] = {0, 5, 25, 2, 2, 10};

const char *rp_metric_name(rp_metric m)
{
    return (unsigned)m < RP_METRIC__COUNT ? metric_names[m] : "unknown";
}

void rp_thresholds_default(rp_thresholds *th)
{
    memcpy(th->v, defaults, sizeof(th->v));
}

int rp_thresholds_set(rp_thresholds *th, const char *spec)
{
    const char *eq = spec ? strchr(spec, '=') : NULL;
    char *end;
    double v;

    if (!eq)
        return RP_ERR_ARG;
    v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !(v >= 0 && v <= 1e9))
        return RP_ERR_ARG;
    for (int m = RP_METRIC_MESSAGES; m < RP_METRIC__COUNT; m++)
        if (strlen(metric_names[m]) == (size_t)(eq - spec) &&
            !strncmp(spec, metric_names[m], (size_t)(eq - spec))) {
            th->v[m] = v;
            return RP_OK;
        }
    return RP_ERR_ARG;
}

static int verdict_rank(rp_verdict v)
{
    return v == RP_FAIL || v == RP_UNFINISHED || v == RP_WAIVED ? 2 : v == RP_INCONCLUSIVE ? 1 : 0;
}

double rp_metric_value(const rp_test *t, rp_metric m)
{
    const rp_cost *c = &t->cost;
    switch (m) {
    case RP_METRIC_VERDICT:
        return verdict_rank(t->verdict);
    case RP_METRIC_MESSAGES:
        return c->messages;
    case RP_METRIC_BYTES:
        return (double)c->bytes;
    case RP_METRIC_REQUESTS:
        return c->requests;
    case RP_METRIC_RETRIES:
        return c->retries;
    case RP_METRIC_TIME:
        return c->push_to_final;
    default:
        return 0;
    }
}

/* How far metric m may move for this pair of tests. */
static double allowed(const rp_thresholds *th, rp_metric m, const rp_test *a, const rp_test *b)
{
    if (m == RP_METRIC_BYTES) {
        long long img =
            a->cost.image_bytes > b->cost.image_bytes ? a->cost.image_bytes : b->cost.image_bytes;
        double base = img > 0 ? (double)img : fmax((double)a->cost.bytes, (double)b->cost.bytes);
        return base * th->v[m] / 100.0;
    }
    return th->v[m];
}

static void compare_metric(const rp_thresholds *th, rp_metric m, const rp_test *a, const rp_test *b,
                           rp_diff *d)
{
    double va = rp_metric_value(a, m), vb = rp_metric_value(b, m);
    size_t n = strlen(d->text);
    char pa[48], pb[48];

    if (m == RP_METRIC_VERDICT ? a->verdict == b->verdict
                               : fabs(vb - va) <= allowed(th, m, a, b) + 1e-9)
        return;
    if (m == RP_METRIC_TIME && (va < 0 || vb < 0))
        return; /* no final report in one of them: the verdict says it */
    d->changed |= 1u << m;
    if (vb > va)
        d->worse |= 1u << m;
    if (m == RP_METRIC_VERDICT) {
        snprintf(pa, sizeof(pa), "%s", rp_verdict_name(a->verdict));
        snprintf(pb, sizeof(pb), "%s", rp_verdict_name(b->verdict));
    } else if (m == RP_METRIC_TIME) {
        snprintf(pa, sizeof(pa), "%.1f s", va);
        snprintf(pb, sizeof(pb), "%.1f s", vb);
    } else if (m == RP_METRIC_BYTES && a->cost.image_bytes > 0 && b->cost.image_bytes > 0) {
        snprintf(pa, sizeof(pa), "%.0f (%.2fx)", va, a->cost.amplification);
        snprintf(pb, sizeof(pb), "%.0f (%.2fx)", vb, b->cost.amplification);
    } else {
        snprintf(pa, sizeof(pa), "%.0f", va);
        snprintf(pb, sizeof(pb), "%.0f", vb);
    }
    snprintf(d->text + n, sizeof(d->text) - n, "%s%s %s -> %s", n ? ", " : "", metric_names[m], pa,
             pb);
}

static int find_test(const rp_report *r, const rp_test *t)
{
    for (int i = 0; i < r->ntests; i++)
        if (!strcmp(r->tests[i].group, t->group) && !strcmp(r->tests[i].name, t->name))
            return i;
    return -1;
}

static rp_diff *new_row(rp_compare *c, const rp_test *t, int before, int now)
{
    rp_diff *d = &c->rows[c->nrows++];

    memset(d, 0, sizeof(*d));
    snprintf(d->group, sizeof(d->group), "%s", t->group);
    snprintf(d->name, sizeof(d->name), "%s", t->name);
    d->before = before;
    d->now = now;
    return d;
}

static void compare(rp_compare *c, const rp_report *now)
{
    const rp_report *was = c->before;

    for (int i = 0; i < now->ntests; i++) {
        const rp_test *b = &now->tests[i];
        int k = find_test(was, b);
        rp_diff *d = new_row(c, b, k, i);
        if (k < 0) {
            snprintf(d->text, sizeof(d->text), "not in the baseline");
            continue;
        }
        for (int m = 0; m < RP_METRIC__COUNT; m++)
            compare_metric(&c->th, (rp_metric)m, &was->tests[k], b, d);
        /* Worse is a test that now fails; pass <-> N/A or inconclusive is only a change. */
        if (verdict_rank(b->verdict) < 2)
            d->worse &= ~(1u << RP_METRIC_VERDICT);
        c->changed += d->changed != 0;
        c->worse += d->worse != 0;
    }
    for (int k = 0; k < was->ntests; k++)
        if (find_test(now, &was->tests[k]) < 0)
            snprintf(new_row(c, &was->tests[k], k, -1)->text, sizeof(c->rows[0].text),
                     "not in this run");
}

int rp_report_compare(rp_report *r, const char *baseline_trace, const rp_thresholds *th, int strict,
                      char *err, size_t errcap)
{
    rp_compare *c;
    int rc;

    if (!r || !baseline_trace || !th)
        return RP_ERR_ARG;
    c = calloc(1, sizeof(*c));
    if (!c)
        return RP_ERR_NOMEM;
    rc = rp_report_load(baseline_trace, &c->before, err, errcap);
    if (rc == RP_OK) {
        c->rows = calloc((size_t)(r->ntests + c->before->ntests + 1), sizeof(*c->rows));
        rc = c->rows ? RP_OK : RP_ERR_NOMEM;
    }
    if (rc != RP_OK) {
        rp_compare_free(c);
        return rc;
    }
    snprintf(c->path, sizeof(c->path), "%s", baseline_trace);
    c->th = *th;
    c->strict = strict;
    compare(c, r);
    rp_compare_free(r->cmp);
    r->cmp = c;
    return RP_OK;
}

void rp_compare_free(rp_compare *c)
{
    if (!c)
        return;
    rp_report_free(c->before);
    free(c->rows);
    free(c);
}

const rp_diff *rp_compare_row(const rp_report *r, int i)
{
    if (!r || !r->cmp)
        return NULL;
    for (int k = 0; k < r->cmp->nrows; k++)
        if (r->cmp->rows[k].now == i)
            return &r->cmp->rows[k];
    return NULL;
}

void rp_compare_print(const rp_report *r, FILE *f)
{
    const rp_compare *c = r ? r->cmp : NULL;
    int only_before = 0, only_now = 0;

    if (!c)
        return;
    if (strcmp(c->before->info.device, r->info.device))
        fprintf(f, "baseline: note: the baseline ran device %s, this run %s\n",
                c->before->info.device, r->info.device);
    for (int k = 0; k < c->nrows; k++) {
        only_before += c->rows[k].now < 0;
        only_now += c->rows[k].before < 0;
    }
    if (only_before || only_now)
        fprintf(f, "baseline: %d test%s only in the baseline, %d only in this run (not compared)\n",
                only_before, only_before == 1 ? "" : "s", only_now);
    if (!c->changed) {
        fprintf(f, "baseline %s (%s): no difference beyond the thresholds\n", c->path,
                c->before->info.started);
        return;
    }
    fprintf(f, "baseline %s (%s): %d %s, %d worse%s\n", c->path, c->before->info.started,
            c->changed, c->changed == 1 ? "test differs" : "tests differ", c->worse,
            c->strict && c->worse ? " (--baseline-strict: they fail)" : "");
    for (int k = 0; k < c->nrows; k++) {
        const rp_diff *d = &c->rows[k];
        if (d->changed)
            fprintf(f, "  %s %s/%s: %s\n", d->worse ? "WORSE " : "CHANGE", d->group, d->name,
                    d->text);
    }
}
