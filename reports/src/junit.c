/*
 * JUnit XML: one <testsuites> root, one <testsuite> per group, one
 * <testcase> per test with the rule IDs as properties, <failure> with the
 * explanation, <skipped> with the N/A reason, and the test's trace slice in
 * <system-out>. Text is escaped and bytes XML 1.0 forbids are replaced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_priv.h"

const char *rp_verdict_name(rp_verdict v)
{
    static const char *const names[RP_VERDICT__COUNT] = {
        "pass", "fail", "n/a", "unfinished", "inconclusive", "not run", "waived"};
    return (unsigned)v < RP_VERDICT__COUNT ? names[v] : "unknown";
}

/* Length of a valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    size_t n;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0 && s[0] >= 0xC2)
        n = 2;
    else if ((s[0] & 0xF0) == 0xE0)
        n = 3;
    else if ((s[0] & 0xF8) == 0xF0 && s[0] <= 0xF4)
        n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

void rp_xml_escape(const char *in, char *out, size_t cap)
{
    size_t o = 0;

    if (!cap)
        return;
    for (const unsigned char *s = (const unsigned char *)in; s && *s;) {
        const char *rep = NULL;
        char one[8];
        size_t n = utf8_seq(s), len;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            if (n == 0 || (*s < 0x20 && *s != '\n' && *s != '\t' && *s != '\r')) {
                rep = "?";
                n = 1;
            } else {
                memcpy(one, s, n);
                one[n] = '\0';
                rep = one;
            }
        }
        len = strlen(rep);
        if (o + len >= cap)
            break;
        memcpy(out + o, rep, len);
        o += len;
        s += n ? n : 1;
    }
    out[o] = '\0';
}

void rp_xml_put(FILE *f, const char *s)
{
    size_t cap = 6 * strlen(s) + 1;
    char *buf = malloc(cap);
    if (!buf)
        return;
    rp_xml_escape(s, buf, cap);
    fputs(buf, f);
    free(buf);
}

/* The baseline row of test x when the run was compared with one. */
static const rp_diff *row_of(const rp_run *r, const rp_test *x)
{
    return r->report ? rp_compare_row(r->report, (int)(x - r->tests)) : NULL;
}

/* Under --baseline-strict a test that got worse than the baseline fails (if it did not already). */
static int baseline_fails(const rp_run *r, const rp_test *x)
{
    const rp_diff *d = row_of(r, x);
    return d && d->worse && r->report->cmp->strict && x->verdict != RP_FAIL &&
           x->verdict != RP_UNFINISHED;
}

static void counts(const rp_run *r, const char *group, int *n, int *fail, int *skip, int *errors,
                   double *t)
{
    *n = *fail = *skip = *errors = 0;
    *t = 0;
    for (int i = 0; i < r->ntests; i++) {
        const rp_test *x = &r->tests[i];
        if (group && strcmp(x->group, group))
            continue;
        (*n)++;
        *fail += x->verdict == RP_FAIL || x->verdict == RP_UNFINISHED || baseline_fails(r, x);
        *skip += x->verdict == RP_NA && !baseline_fails(r, x);
        *errors += x->verdict == RP_INCONCLUSIVE || x->verdict == RP_NOT_RUN;
        *t += x->seconds;
    }
}

static void put_property(FILE *f, const char *name, const char *value)
{
    fputs("        <property name=\"", f);
    rp_xml_put(f, name);
    fputs("\" value=\"", f);
    rp_xml_put(f, value);
    fputs("\"/>\n", f);
}

/* The test's cost, and with a baseline its figures there and what changed. */
static void put_figures(FILE *f, const rp_run *r, const rp_test *x)
{
    rp_figure fig[16];
    const rp_diff *d = row_of(r, x);
    int n = rp_cost_figures(&x->cost, fig, 16);
    char name[48], value[32];

    for (int i = 0; i < n; i++)
        put_property(f, fig[i].name, fig[i].value);
    if (!d)
        return;
    if (d->before >= 0) {
        const rp_test *b = &r->report->cmp->before->tests[d->before];
        put_property(f, "baseline.verdict", rp_verdict_name(b->verdict));
        for (int m = RP_METRIC_MESSAGES; m < RP_METRIC__COUNT; m++) {
            double v = rp_metric_value(b, (rp_metric)m);
            snprintf(name, sizeof(name), "baseline.%s", rp_metric_name((rp_metric)m));
            snprintf(value, sizeof(value), "%.*f", m == RP_METRIC_TIME ? 3 : 0, v);
            if (m != RP_METRIC_TIME || v >= 0)
                put_property(f, name, value);
        }
    }
    if (d->text[0])
        put_property(f, d->worse ? "baseline.worse" : "baseline.change", d->text);
}

/*
 * The test's trace slice; a test that passed with warnings says so on its
 * first lines, where a CI page shows it (the verdict property is "pass").
 */
static void put_output(FILE *f, const rp_test *x)
{
    int warned = x->verdict == RP_PASS && x->nwarnings;

    if (!x->system_out && !warned && x->verdict != RP_WAIVED)
        return;
    fputs("      <system-out>", f);
    if (x->verdict == RP_WAIVED) {
        fputs("WAIVED: ", f);
        rp_xml_put(f, x->waiver);
        fputs("\n  the failure it waives, ", f);
        rp_xml_put(f, x->failed_rule);
        fputs(": ", f);
        rp_xml_put(f, x->message);
        fputs("\n", f);
    }
    if (warned)
        fprintf(f, "PASSED WITH %d WARNING%s\n", x->nwarnings, x->nwarnings == 1 ? "" : "S");
    for (int w = 0; warned && w < x->nwarnings; w++) {
        fputs("  warning ", f);
        rp_xml_put(f, x->warnings[w].rule);
        fputs(": ", f);
        rp_xml_put(f, x->warnings[w].text);
        fputs("\n", f);
    }
    if (x->system_out)
        rp_xml_put(f, x->system_out);
    fputs("</system-out>\n", f);
}

static void put_case(FILE *f, const rp_run *r, const rp_test *x)
{
    fputs("    <testcase name=\"", f);
    rp_xml_put(f, x->name);
    fputs("\" classname=\"", f);
    rp_xml_put(f, x->group);
    fprintf(f, "\" time=\"%.3f\">\n      <properties>\n", x->seconds);
    put_property(f, "rules", x->rules);
    put_property(f, "tiers", x->tiers);
    put_property(f, "verdict", rp_verdict_name(x->verdict));
    if (x->board[0])
        put_property(f, "board", x->board);
    if ((x->verdict == RP_FAIL || x->verdict == RP_UNFINISHED || x->verdict == RP_WAIVED) &&
        x->failed_rule[0])
        put_property(f, "failed_rule", x->failed_rule);
    if (x->verdict == RP_WAIVED) {
        put_property(f, "waived", x->waiver);
        put_property(f, "waived_failure", x->message);
    }
    if (x->nwarnings) {
        char n[16];
        snprintf(n, sizeof(n), "%d", x->nwarnings);
        put_property(f, "warnings", n);
    }
    for (int w = 0; w < x->nwarnings; w++) {
        char text[600];
        snprintf(text, sizeof(text), "%s: %s", x->warnings[w].rule, x->warnings[w].text);
        put_property(f, "warning", text);
    }
    put_figures(f, r, x);
    fputs("      </properties>\n", f);
    if (x->verdict == RP_FAIL || x->verdict == RP_UNFINISHED) {
        fputs("      <failure message=\"", f);
        rp_xml_put(f, x->message);
        fputs("\" type=\"", f);
        rp_xml_put(f, x->failed_rule);
        fputs("\">", f);
        rp_xml_put(f, x->message);
        fputs("</failure>\n", f);
    } else if (baseline_fails(r, x)) {
        fputs("      <failure message=\"worse than the baseline: ", f);
        rp_xml_put(f, row_of(r, x)->text);
        fputs("\" type=\"BASELINE\">worse than the baseline ", f);
        rp_xml_put(f, r->report->cmp->path);
        fputs(": ", f);
        rp_xml_put(f, row_of(r, x)->text);
        fputs("</failure>\n", f);
    } else if (x->verdict == RP_INCONCLUSIVE || x->verdict == RP_NOT_RUN) {
        fputs("      <error message=\"", f);
        rp_xml_put(f, x->message);
        fputs(x->verdict == RP_NOT_RUN ? "\" type=\"not run\">" : "\" type=\"inconclusive\">", f);
        rp_xml_put(f, x->message);
        fputs("</error>\n", f);
    } else if (x->verdict == RP_NA) {
        fputs("      <skipped message=\"", f);
        rp_xml_put(f, x->message);
        fputs("\"/>\n", f);
    }
    put_output(f, x);
    fputs("    </testcase>\n", f);
}

static int seen_before(const rp_run *r, int i)
{
    for (int k = 0; k < i; k++)
        if (!strcmp(r->tests[k].group, r->tests[i].group))
            return 1;
    return 0;
}

static int expired_waivers(const rp_run *r)
{
    return r->report ? r->report->info.nexpired : 0;
}

int rp_junit_write(const rp_run *r, const char *path)
{
    FILE *f;
    int n, fail, skip, err;
    double t;

    if (!r || !path)
        return RP_ERR_ARG;
    f = fopen(path, "w");
    if (!f)
        return RP_ERR_IO;
    counts(r, NULL, &n, &fail, &skip, &err, &t);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"", f);
    rp_xml_put(f, r->suite ? r->suite : "ota-conformance");
    fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\">\n", n,
            fail, err, skip, r->seconds);
    for (int i = 0; i < r->ntests; i++) {
        const char *g = r->tests[i].group;
        if (seen_before(r, i))
            continue;
        counts(r, g, &n, &fail, &skip, &err, &t);
        fputs("  <testsuite name=\"", f);
        rp_xml_put(f, g);
        fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\"", n,
                fail, err, skip, t);
        if (r->timestamp)
            fprintf(f, " timestamp=\"%s\"", r->timestamp);
        fputs(" hostname=\"", f);
        rp_xml_put(f, r->device ? r->device : "dut");
        fputs("\">\n", f);
        /* Another dialect than the default is named, so that its verdicts are not read as
         * Aliyun's; an Aliyun run's XML stays as it was. */
        if ((r->dialect && *r->dialect && strcmp(r->dialect, "aliyun")) || expired_waivers(r)) {
            fputs("    <properties>\n", f);
            if (r->dialect && *r->dialect && strcmp(r->dialect, "aliyun"))
                put_property(f, "dialect", r->dialect);
            /* Loud: an expired waiver waives nothing any more, and every suite says so. */
            for (int e = 0; e < expired_waivers(r); e++)
                put_property(f, "waiver.expired", r->report->info.expired[e]);
            fputs("    </properties>\n", f);
        }
        for (int k = i; k < r->ntests; k++)
            if (!strcmp(r->tests[k].group, g))
                put_case(f, r, &r->tests[k]);
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    return fclose(f) == 0 ? RP_OK : RP_ERR_IO;
}
