/* What the report's files share and the public header does not say. */
#ifndef RP_REPORT_PRIV_H
#define RP_REPORT_PRIV_H

#include <stdio.h>

#include "otareport/report.h"

/* Fill t->cost from t's records in r (cost.c). */
void rp_cost_measure(const rp_report *r, rp_test *t);
void rp_compare_free(rp_compare *c);
/* The HTML sections of the cost and of the baseline comparison (html_cost.c). */
void rp_html_cost(FILE *f, const rp_report *r);
void rp_html_baseline(FILE *f, const rp_report *r);
/* The line of a test's article that says what it cost. */
void rp_html_cost_line(FILE *f, const rp_test *t);
/* A test's cost figures as "name=value" pairs, for JUnit properties; how many (at most cap). */
typedef struct {
    char name[32];
    char value[64];
} rp_figure;
int rp_cost_figures(const rp_cost *c, rp_figure *out, int cap);

#endif
