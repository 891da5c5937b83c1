/*
 * The order --jobs hands tests out in: the longest first, so that the last
 * tests to start are short ones and the device instances finish together
 * (catalogue order puts the longest tests last, and the run then waits for
 * one instance to finish them alone). Only the order changes: every test
 * still runs on a fresh instance state, and results and reports stay in
 * catalogue order.
 *
 * A test's length is what it took in the previous run whose trace is at
 * the run's --trace path, else what it took against the reference device
 * (requirements/durations.json, built in), else CT_ORDER_DEFAULT_S.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "order.h"

extern const unsigned char ct_durations_json[];

/* The seconds of "group/name" in the built-in table; -1 when it has none. */
static double builtin_seconds(const cJSON *table, const ct_case *c)
{
    char key[160];
    const cJSON *v;

    snprintf(key, sizeof(key), "%s/%s", c->group, c->name);
    v = cJSON_GetObjectItemCaseSensitive(table, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : -1;
}

/* The seconds a test-end line of a previous trace gives test c; -1 when it is another test. */
static double line_seconds(const char *line, size_t len, const ct_case *const *cases, size_t n,
                           size_t *which)
{
    ota_trace_rec r;
    rp_test t;
    double s = -1;

    if (!strstr(line, "\"test-end\"") || ota_trace_decode(line, len, &r) != OTA_OK)
        return -1;
    if (r.event == OTA_EV_TEST_END && r.payload &&
        rp_test_from_json((const char *)r.payload, &t) == RP_OK) {
        for (size_t i = 0; i < n; i++)
            if (!strcmp(cases[i]->name, t.name) && !strcmp(cases[i]->group, t.group)) {
                *which = i;
                s = t.seconds;
            }
        free(t.system_out);
    }
    ota_trace_rec_clear(&r);
    return s;
}

/* What a previous run's trace says of each test (secs[i] left as it is for a test it lacks). */
static void previous_run(const char *path, const ct_case *const *cases, size_t n, double *secs)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char *line = NULL;
    size_t cap = 0, which;
    ssize_t len;
    double s;

    if (!f)
        return;
    while ((len = getline(&line, &cap, f)) > 0)
        if ((s = line_seconds(line, (size_t)len, cases, n, &which)) >= 0)
            secs[which] = s;
    free(line);
    fclose(f);
}

typedef struct {
    size_t idx;
    double secs;
} entry;

/* Longest first; equal ones in catalogue order (qsort is not stable). */
static int longer_first(const void *a, const void *b)
{
    const entry *x = a, *y = b;

    if (x->secs != y->secs)
        return x->secs > y->secs ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int ct_order_longest_first(const ct_case *const *cases, size_t n, const char *prev_trace,
                           size_t *order)
{
    cJSON *root = cJSON_Parse((const char *)ct_durations_json);
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(root, "seconds");
    double *secs = calloc(n ? n : 1, sizeof(*secs));
    entry *e = calloc(n ? n : 1, sizeof(*e));
    int rc = -1;

    if (!secs || !e)
        goto out;
    for (size_t i = 0; i < n; i++) {
        secs[i] = builtin_seconds(table, cases[i]);
        if (secs[i] < 0)
            secs[i] = CT_ORDER_DEFAULT_S;
    }
    previous_run(prev_trace, cases, n, secs);
    for (size_t i = 0; i < n; i++)
        e[i] = (entry){i, secs[i]};
    qsort(e, n, sizeof(*e), longer_first);
    for (size_t i = 0; i < n; i++)
        order[i] = e[i].idx;
    rc = 0;
out:
    free(e);
    free(secs);
    cJSON_Delete(root);
    return rc;
}
