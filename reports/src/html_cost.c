/*
 * The HTML report's figures: what each test cost the device (a line in its
 * article), the cost summed up per fault kind, and, with a baseline, the two
 * runs side by side. Layout only; cost.c and baseline.c compute.
 */
#include <stdio.h>
#include <string.h>

#include "report_priv.h"

#define MAX_KINDS 64

static void anchor(FILE *f, const rp_test *t)
{
    fputs("#t-", f);
    rp_xml_put(f, t->group);
    fputc('-', f);
    rp_xml_put(f, t->name);
}

void rp_html_cost_line(FILE *f, const rp_test *t)
{
    const rp_cost *c = &t->cost;

    if (!c->measured || (!c->requests && !c->bytes && !c->pushes))
        return;
    fprintf(f, "<p class=\"cost\">cost: %lld bytes downloaded", c->bytes);
    if (c->image_bytes > 0)
        fprintf(f, " for %lld of image (<b>%.2fx</b>)", c->image_bytes, c->amplification);
    fprintf(f, ", %d request%s, %d retr%s", c->requests, c->requests == 1 ? "" : "s", c->retries,
            c->retries == 1 ? "y" : "ies");
    if (c->gap_min >= 0)
        fprintf(f, " (%.2f s apart at least, %.2f s on average)", c->gap_min, c->gap_mean);
    fprintf(f, ", %d message%s sent", c->messages, c->messages == 1 ? "" : "s");
    if (c->fault_to_report >= 0) {
        fputs(", from the fault (", f);
        rp_xml_put(f, c->fault);
        fprintf(f, ") to the device's report %.2f s", c->fault_to_report);
    }
    if (c->push_to_final >= 0)
        fprintf(f, ", push to final report %.2f s", c->push_to_final);
    fputs("</p>\n", f);
}

void rp_html_cost(FILE *f, const rp_report *r)
{
    rp_cost_kind kinds[MAX_KINDS];
    int n = rp_cost_kinds(r, kinds, MAX_KINDS);

    if (!n)
        return;
    fputs("<section id=\"cost\"><h2>Cost of an update</h2>\n<p>Bytes the device downloaded "
          "against the image, per fault kind (the first fault of each test that downloaded "
          "an image).</p>\n<table class=\"rules cost-kinds\"><tr><th>fault</th><th>tests</th>"
          "<th>amplification</th><th>min</th><th>max</th><th>retries per test</th>"
          "<th>fault to report</th></tr>\n",
          f);
    for (int k = 0; k < n; k++) {
        fputs("<tr class=\"cost-kind\" data-fault=\"", f);
        rp_xml_put(f, kinds[k].fault);
        fputs("\"><td>", f);
        rp_xml_put(f, kinds[k].fault[0] ? kinds[k].fault : "none");
        fprintf(f, "</td><td>%d</td><td>%.2fx</td><td>%.2fx</td><td>%.2fx</td><td>%.1f</td>",
                kinds[k].tests, kinds[k].amp_sum / kinds[k].tests, kinds[k].amp_min,
                kinds[k].amp_max, (double)kinds[k].retries / kinds[k].tests);
        if (kinds[k].reported)
            fprintf(f, "<td>%.2f s</td></tr>\n", kinds[k].report_sum / kinds[k].reported);
        else
            fputs("<td>–</td></tr>\n", f);
    }
    fputs("</table></section>\n", f);
}

/* One figure of both runs; a changed one marked, "worse" in red. */
static void pair(FILE *f, const rp_diff *d, rp_metric m, const rp_test *a, const rp_test *b)
{
    const char *cls = d->worse & (1u << m)     ? " class=\"worse\""
                      : d->changed & (1u << m) ? " class=\"changed\""
                                               : "";
    double va = a ? rp_metric_value(a, m) : -1, vb = b ? rp_metric_value(b, m) : -1;

    fprintf(f, "<td%s>", cls);
    for (int side = 0; side < 2; side++) {
        const rp_test *t = side ? b : a;
        double v = side ? vb : va;
        if (side)
            fputs(" → ", f);
        if (!t || (m == RP_METRIC_TIME && v < 0))
            fputs("–", f);
        else if (m == RP_METRIC_VERDICT)
            fputs(rp_verdict_name(t->verdict), f);
        else if (m == RP_METRIC_TIME)
            fprintf(f, "%.1f s", v);
        else if (m == RP_METRIC_BYTES && t->cost.image_bytes > 0)
            fprintf(f, "%.0f (%.2fx)", v, t->cost.amplification);
        else
            fprintf(f, "%.0f", v);
    }
    fputs("</td>", f);
}

static void baseline_row(FILE *f, const rp_report *r, const rp_diff *d)
{
    const rp_test *a = d->before >= 0 ? &r->cmp->before->tests[d->before] : NULL;
    const rp_test *b = d->now >= 0 ? &r->tests[d->now] : NULL;

    fprintf(f, "<tr class=\"bl-row%s\" data-changed=\"%d\" data-worse=\"%d\"><td>",
            d->worse     ? " worse"
            : d->changed ? " changed"
                         : "",
            d->changed != 0, d->worse != 0);
    if (b) {
        fputs("<a href=\"", f);
        anchor(f, b);
        fputs("\">", f);
    }
    rp_xml_put(f, d->group);
    fputs("/", f);
    rp_xml_put(f, d->name);
    fputs(b ? "</a></td>" : "</td>", f);
    for (int m = 0; m < RP_METRIC__COUNT; m++)
        pair(f, d, (rp_metric)m, a, b);
    fputs("<td>", f);
    rp_xml_put(f, d->text);
    fputs("</td></tr>\n", f);
}

void rp_html_baseline(FILE *f, const rp_report *r)
{
    const rp_compare *c = r->cmp;

    if (!c)
        return;
    fprintf(f,
            "<section id=\"baseline\" data-changed=\"%d\" data-worse=\"%d\"><h2>Against the "
            "baseline</h2>\n<p>",
            c->changed, c->worse);
    rp_xml_put(f, c->path);
    fputs(" (", f);
    rp_xml_put(f, c->before->info.started);
    fputs(", firmware ", f);
    rp_xml_put(f, c->before->info.fw_before);
    fprintf(f,
            ") on the left, this run on the right. %d test%s differ%s beyond the thresholds, %d "
            "worse%s. Thresholds: messages %g, bytes %g%% of the image, requests %g, retries "
            "%g, time %g s.</p>\n",
            c->changed, c->changed == 1 ? "" : "s", c->changed == 1 ? "s" : "", c->worse,
            c->strict && c->worse ? " (--baseline-strict: they fail)" : "",
            c->th.v[RP_METRIC_MESSAGES], c->th.v[RP_METRIC_BYTES], c->th.v[RP_METRIC_REQUESTS],
            c->th.v[RP_METRIC_RETRIES], c->th.v[RP_METRIC_TIME]);
    fputs("<table class=\"rules baseline\"><tr><th>test</th>", f);
    for (int m = 0; m < RP_METRIC__COUNT; m++)
        fprintf(f, "<th>%s</th>",
                m == RP_METRIC_TIME ? "push to final" : rp_metric_name((rp_metric)m));
    fputs("<th>difference</th></tr>\n", f);
    /* The differences first, then the rest: a reader looks for what changed. */
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < c->nrows; k++)
            if ((c->rows[k].changed != 0) == !pass)
                baseline_row(f, r, &c->rows[k]);
    fputs("</table></section>\n", f);
}
