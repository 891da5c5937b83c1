/*
 * The run as the trace records it: JSON for the run-begin and test records
 * the runner writes, and the loader that rebuilds tests and their trace
 * slices from a JSONL file, also when the run stopped half-way.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_priv.h"

#define RP_MAX_LINE  (4 * 1024 * 1024)
#define RP_MAX_RECS  2000000
#define RP_KEEP_RECS (RP_MAX_RECS - 65536) /* then only test records */

const char *rp_strerror(int rc)
{
    static const char *const texts[] = {"success", "invalid argument", "input/output error",
                                        "not a trace of ota-conformance", "out of memory"};
    return (rc >= 0 && rc <= RP_ERR_NOMEM) ? texts[rc] : "unknown error";
}

static void put_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(o, k, v ? v : "");
}

static void get_str(const cJSON *o, const char *k, char *dst, size_t cap)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    snprintf(dst, cap, "%s", cJSON_IsString(j) ? j->valuestring : "");
}

static double get_num(const cJSON *o, const char *k)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(j) ? j->valuedouble : 0;
}

static char *print_take(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *rp_run_info_to_json(const rp_run_info *in)
{
    cJSON *o = cJSON_CreateObject(), *rules;

    if (!o)
        return NULL;
    put_str(o, "suite", in->suite);
    put_str(o, "device", in->device);
    put_str(o, "dialect", in->dialect);
    put_str(o, "adapter", in->adapter);
    put_str(o, "dut_cmd", in->dut_cmd);
    put_str(o, "broker", in->broker);
    put_str(o, "fw_before", in->fw_before);
    put_str(o, "fw_after", in->fw_after);
    put_str(o, "started", in->started);
    cJSON_AddNumberToObject(o, "strict", in->strict);
    if (in->auth_off)
        cJSON_AddNumberToObject(o, "auth_off", 1);
    cJSON_AddNumberToObject(o, "time_scale", in->time_scale);
    rules = cJSON_AddArrayToObject(o, "rules");
    for (int i = 0; rules && i < in->nrules; i++) {
        cJSON *r = cJSON_CreateObject();
        put_str(r, "id", in->rules[i].id);
        put_str(r, "tier", in->rules[i].tier);
        cJSON_AddNumberToObject(r, "compat", in->rules[i].compat);
        put_str(r, "text", in->rules[i].text);
        cJSON_AddItemToArray(rules, r);
    }
    rules = in->nexpired ? cJSON_AddArrayToObject(o, "waivers_expired") : NULL;
    for (int i = 0; rules && i < in->nexpired; i++)
        cJSON_AddItemToArray(rules, cJSON_CreateString(in->expired[i]));
    rules = in->nplanned ? cJSON_AddArrayToObject(o, "tests") : NULL;
    for (int i = 0; rules && i < in->nplanned; i++) {
        cJSON *t = cJSON_CreateObject();
        put_str(t, "group", in->planned[i].group);
        put_str(t, "name", in->planned[i].name);
        put_str(t, "rules", in->planned[i].rules);
        put_str(t, "tiers", in->planned[i].tiers);
        cJSON_AddItemToArray(rules, t);
    }
    return print_take(o);
}

/* The tests the run selected (run-begin's "tests"), into in->planned. */
static void planned_from_json(const cJSON *o, rp_run_info *in)
{
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(o, "tests"), *t;
    int n = cJSON_IsArray(tests) ? cJSON_GetArraySize(tests) : 0;

    free(in->planned);
    in->planned = n ? calloc((size_t)n, sizeof(*in->planned)) : NULL;
    in->nplanned = 0;
    cJSON_ArrayForEach(t, tests)
    {
        rp_planned *x;
        if (!in->planned || in->nplanned >= n)
            break;
        x = &in->planned[in->nplanned++];
        get_str(t, "group", x->group, sizeof(x->group));
        get_str(t, "name", x->name, sizeof(x->name));
        get_str(t, "rules", x->rules, sizeof(x->rules));
        get_str(t, "tiers", x->tiers, sizeof(x->tiers));
    }
}

static void info_from_json(const cJSON *o, rp_run_info *in)
{
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(o, "rules"), *r;
    int n = cJSON_IsArray(rules) ? cJSON_GetArraySize(rules) : 0;

    get_str(o, "suite", in->suite, sizeof(in->suite));
    get_str(o, "device", in->device, sizeof(in->device));
    get_str(o, "dialect", in->dialect, sizeof(in->dialect));
    get_str(o, "adapter", in->adapter, sizeof(in->adapter));
    get_str(o, "dut_cmd", in->dut_cmd, sizeof(in->dut_cmd));
    get_str(o, "broker", in->broker, sizeof(in->broker));
    get_str(o, "fw_before", in->fw_before, sizeof(in->fw_before));
    get_str(o, "started", in->started, sizeof(in->started));
    in->strict = (int)get_num(o, "strict");
    in->auth_off = (int)get_num(o, "auth_off");
    in->time_scale = get_num(o, "time_scale");
    in->nexpired = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(o, "waivers_expired"))
    {
        if (in->nexpired < RP_MAX_EXPIRED && cJSON_IsString(r))
            snprintf(in->expired[in->nexpired++], sizeof(in->expired[0]), "%s", r->valuestring);
    }
    free(in->rules);
    in->rules = n ? calloc((size_t)n, sizeof(*in->rules)) : NULL;
    in->nrules = 0;
    cJSON_ArrayForEach(r, rules)
    {
        rp_rule *x;
        if (!in->rules || in->nrules >= n)
            break;
        x = &in->rules[in->nrules++];
        get_str(r, "id", x->id, sizeof(x->id));
        get_str(r, "tier", x->tier, sizeof(x->tier));
        x->compat = (int)get_num(r, "compat");
        get_str(r, "text", x->text, sizeof(x->text));
    }
    planned_from_json(o, in);
}

char *rp_test_to_json(const rp_test *t)
{
    cJSON *o = cJSON_CreateObject(), *w;

    if (!o)
        return NULL;
    put_str(o, "group", t->group);
    put_str(o, "name", t->name);
    put_str(o, "rules", t->rules);
    put_str(o, "tiers", t->tiers);
    put_str(o, "verdict", rp_verdict_name(t->verdict));
    put_str(o, "failed_rule", t->failed_rule);
    if (t->waiver[0])
        put_str(o, "waiver", t->waiver);
    if (t->board[0])
        put_str(o, "board", t->board);
    put_str(o, "message", t->message);
    cJSON_AddNumberToObject(o, "seconds", t->seconds);
    if (t->has_evidence)
        cJSON_AddNumberToObject(o, "evidence", (double)t->evidence);
    w = cJSON_AddArrayToObject(o, "warnings");
    for (int i = 0; w && i < t->nwarnings; i++) {
        cJSON *x = cJSON_CreateObject();
        put_str(x, "rule", t->warnings[i].rule);
        put_str(x, "text", t->warnings[i].text);
        cJSON_AddItemToArray(w, x);
    }
    return print_take(o);
}

static void test_from_json(const cJSON *o, rp_test *t)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "warnings"), *x;
    char verdict[16];

    get_str(o, "group", t->group, sizeof(t->group));
    get_str(o, "name", t->name, sizeof(t->name));
    get_str(o, "rules", t->rules, sizeof(t->rules));
    get_str(o, "tiers", t->tiers, sizeof(t->tiers));
    get_str(o, "verdict", verdict, sizeof(verdict));
    get_str(o, "failed_rule", t->failed_rule, sizeof(t->failed_rule));
    get_str(o, "board", t->board, sizeof(t->board));
    get_str(o, "message", t->message, sizeof(t->message));
    get_str(o, "waiver", t->waiver, sizeof(t->waiver));
    t->seconds = get_num(o, "seconds");
    t->has_evidence = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "evidence"));
    t->evidence = t->has_evidence ? (long)get_num(o, "evidence") : 0;
    t->verdict = RP_UNFINISHED;
    for (int v = 0; v < RP_VERDICT__COUNT; v++)
        if (!strcmp(verdict, rp_verdict_name((rp_verdict)v)))
            t->verdict = (rp_verdict)v;
    t->nwarnings = 0;
    cJSON_ArrayForEach(x, w)
    {
        if (t->nwarnings >= RP_MAX_WARNINGS)
            break;
        get_str(x, "rule", t->warnings[t->nwarnings].rule, sizeof(t->warnings[0].rule));
        get_str(x, "text", t->warnings[t->nwarnings].text, sizeof(t->warnings[0].text));
        t->nwarnings++;
    }
}

int rp_test_from_json(const char *json, rp_test *t)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL;

    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return RP_ERR_FORMAT;
    }
    memset(t, 0, sizeof(*t));
    test_from_json(o, t);
    cJSON_Delete(o);
    return RP_OK;
}

static int add_rec(rp_report *r, const ota_trace_rec *rec, size_t *cap)
{
    if (r->nrecs == *cap) {
        size_t n = *cap ? 2 * *cap : 1024;
        ota_trace_rec *nr;
        if (n > RP_MAX_RECS)
            n = RP_MAX_RECS; /* the last step of growth reaches the cap, not past it */
        if (n <= *cap)
            return RP_ERR_NOMEM;
        nr = realloc(r->recs, n * sizeof(*nr));
        if (!nr)
            return RP_ERR_NOMEM;
        r->recs = nr;
        *cap = n;
    }
    r->recs[r->nrecs++] = *rec;
    return RP_OK;
}

static int read_records(FILE *f, rp_report *r)
{
    char *line = malloc(RP_MAX_LINE);
    size_t cap = 0;
    int rc = RP_OK;

    if (!line)
        return RP_ERR_NOMEM;
    while (rc == RP_OK && fgets(line, RP_MAX_LINE, f)) {
        ota_trace_rec rec;
        size_t n = strcspn(line, "\n");
        if (n == 0)
            continue;
        if (ota_trace_decode(line, n, &rec) != OTA_OK) {
            r->bad_lines++; /* a torn last line of a killed run, most likely */
            continue;
        }
        /* A huge trace still makes a report: past the cap only test records are kept, so
         * every verdict is there; the report says how much was left out. */
        if (r->nrecs >= RP_KEEP_RECS && rec.kind != OTA_TR_TEST) {
            ota_trace_rec_clear(&rec);
            r->not_loaded++;
            continue;
        }
        rc = add_rec(r, &rec, &cap);
        if (rc != RP_OK)
            ota_trace_rec_clear(&rec);
    }
    free(line);
    return rc;
}

static rp_test *new_test(rp_report *r)
{
    rp_test *n = realloc(r->tests, (size_t)(r->ntests + 1) * sizeof(*n));
    if (!n)
        return NULL;
    r->tests = n;
    memset(&n[r->ntests], 0, sizeof(n[0]));
    return &n[r->ntests++];
}

/* Why a listed test never began, in the words of its report. */
static void not_run_reason(const rp_report *r, char *out, size_t cap)
{
    if (r->stopped[0])
        snprintf(out, cap, "not run: the run stopped before this test: %.900s", r->stopped);
    else if (r->interrupted)
        snprintf(out, cap, "not run: the run was interrupted before this test");
    else if (!r->complete)
        snprintf(out, cap, "not run: the run ended before this test (killed or crashed)");
    else
        snprintf(out, cap, "not run");
}

/* Is tests[i] the test p lists, and not taken already? */
static int same_test(const rp_test *t, const rp_planned *p)
{
    return !strcmp(t->group, p->group) && !strcmp(t->name, p->name);
}

/*
 * Every test the run-begin record lists, in its order: those that began as
 * loaded, the others RP_NOT_RUN. Tests it does not list (a test the run
 * added, such as the VER-1 test of a device that never came up) come first.
 */
static int add_not_run(rp_report *r)
{
    int n = r->info.nplanned, m = 0;
    rp_test *all;
    char *taken;

    if (!n)
        return RP_OK;
    all = calloc((size_t)(n + r->ntests), sizeof(*all));
    taken = calloc((size_t)r->ntests + 1, 1);
    if (!all || !taken) {
        free(all);
        free(taken);
        return RP_ERR_NOMEM;
    }
    for (int i = 0; i < r->ntests; i++) {
        int listed = 0;
        for (int k = 0; k < n && !listed; k++)
            listed = same_test(&r->tests[i], &r->info.planned[k]);
        if (!listed) {
            all[m++] = r->tests[i];
            taken[i] = 1;
        }
    }
    for (int k = 0; k < n; k++) {
        const rp_planned *p = &r->info.planned[k];
        int found = -1;
        for (int i = 0; i < r->ntests && found < 0; i++)
            if (!taken[i] && same_test(&r->tests[i], p))
                found = i;
        if (found >= 0) {
            all[m++] = r->tests[found];
            taken[found] = 1;
            continue;
        }
        rp_test *x = &all[m++];
        snprintf(x->group, sizeof(x->group), "%s", p->group);
        snprintf(x->name, sizeof(x->name), "%s", p->name);
        snprintf(x->rules, sizeof(x->rules), "%s", p->rules);
        snprintf(x->tiers, sizeof(x->tiers), "%s", p->tiers);
        x->verdict = RP_NOT_RUN;
        not_run_reason(r, x->message, sizeof(x->message));
        x->rec_begin = x->rec_end = r->nrecs; /* no records of its own */
    }
    for (int i = 0; i < r->ntests; i++) /* listed twice in the trace: kept, at the end */
        if (!taken[i])
            all[m++] = r->tests[i];
    free(taken);
    free(r->tests);
    r->tests = all;
    r->ntests = m;
    return RP_OK;
}

rp_counts rp_report_counts(const rp_report *r)
{
    rp_counts c;

    memset(&c, 0, sizeof(c));
    for (int i = 0; r && i < r->ntests; i++) {
        const rp_test *t = &r->tests[i];
        c.total++;
        c.ran += t->verdict != RP_NOT_RUN;
        c.pass += t->verdict == RP_PASS;
        c.fail += t->verdict == RP_FAIL;
        c.na += t->verdict == RP_NA;
        c.unfinished += t->verdict == RP_UNFINISHED;
        c.inconclusive += t->verdict == RP_INCONCLUSIVE;
        c.not_run += t->verdict == RP_NOT_RUN;
        c.waived += t->verdict == RP_WAIVED;
        c.warnings += t->nwarnings;
        c.warned += t->nwarnings > 0 && t->verdict == RP_PASS;
    }
    return c;
}

const char *rp_report_outcome(const rp_report *r, int worse)
{
    rp_counts c = rp_report_counts(r);

    if (r->interrupted)
        return "INTERRUPTED";
    if (r->stopped[0])
        return "STOPPED";
    if (!r->complete)
        return "UNFINISHED";
    return c.fail || c.unfinished || worse ? "FAILED" : "PASSED";
}

/* Walk the TEST records: run-begin, begin, end, run-end. */
static int rebuild(rp_report *r)
{
    rp_test *open = NULL;

    for (size_t i = 0; i < r->nrecs; i++) {
        const ota_trace_rec *rec = &r->recs[i];
        cJSON *o;
        if (rec->kind != OTA_TR_TEST || !rec->payload)
            continue;
        o = cJSON_Parse((const char *)rec->payload);
        if (rec->event == OTA_EV_RUN_BEGIN) {
            info_from_json(o, &r->info);
        } else if (rec->event == OTA_EV_RUN_END) {
            r->complete = 1;
            r->seconds = get_num(o, "seconds");
            get_str(o, "fw_after", r->info.fw_after, sizeof(r->info.fw_after));
            r->interrupted = get_num(o, "interrupted") != 0;
            get_str(o, "stopped", r->stopped, sizeof(r->stopped));
        } else if (rec->event == OTA_EV_TEST_BEGIN) {
            open = new_test(r);
            if (!open) {
                cJSON_Delete(o);
                return RP_ERR_NOMEM;
            }
            test_from_json(o, open);
            open->verdict = RP_UNFINISHED;
            open->rec_begin = i;
            open->rec_end = r->nrecs;
        } else if (rec->event == OTA_EV_TEST_END && open) {
            test_from_json(o, open);
            open->rec_end = i + 1;
            open = NULL;
        }
        cJSON_Delete(o);
    }
    if (open) {
        snprintf(open->message, sizeof(open->message),
                 "unfinished: the run ended before this test did (killed or crashed); its trace "
                 "shows how far it got");
        sscanf(open->rules, "%15s", open->failed_rule);
        if (r->nrecs && r->nrecs > open->rec_begin)
            open->seconds = r->recs[r->nrecs - 1].t - r->recs[open->rec_begin].t;
    }
    if (!r->complete && r->nrecs)
        r->seconds = r->recs[r->nrecs - 1].t - r->recs[0].t;
    r->ran = r->ntests;
    if (add_not_run(r) != RP_OK)
        return RP_ERR_NOMEM;
    for (int i = 0; i < r->ntests; i++)
        rp_cost_measure(r, &r->tests[i]);
    return RP_OK;
}

int rp_report_load(const char *path, rp_report **out, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    rp_report *r;
    int rc;

    if (!f) {
        snprintf(err, errcap, "cannot read the trace %s: %s", path, strerror(errno));
        return RP_ERR_IO;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        fclose(f);
        return RP_ERR_NOMEM;
    }
    rc = read_records(f, r);
    fclose(f);
    if (rc == RP_OK)
        rc = rebuild(r);
    if (rc == RP_OK && !r->info.suite[0]) {
        snprintf(err, errcap, "%s holds no run-begin record: not a trace of ota-conformance", path);
        rc = RP_ERR_FORMAT;
    }
    if (rc != RP_OK) {
        if (rc == RP_ERR_NOMEM)
            snprintf(err, errcap, "the trace %s is too large", path);
        rp_report_free(r);
        return rc;
    }
    *out = r;
    return RP_OK;
}

void rp_report_free(rp_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrecs; i++)
        ota_trace_rec_clear(&r->recs[i]);
    free(r->recs);
    for (int i = 0; i < r->ntests; i++)
        free(r->tests[i].system_out);
    free(r->tests);
    free(r->info.rules);
    free(r->info.planned);
    rp_compare_free(r->cmp);
    free(r);
}

/* The test's records as JSONL, capped: the system-out of JUnit. */
#define RP_JUNIT_BINARY_HEAD 256

static char *slice_text(const rp_report *r, const rp_test *t, size_t cap)
{
    char *out = malloc(cap + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = t->rec_begin; i < t->rec_end && i < r->nrecs && o + 1 < cap; i++) {
        ota_trace_rec rec = r->recs[i];
        char *line = NULL;
        /* Binary payloads (block frames) only by their head: the header and the first data
         * bytes say what a CI reader needs; the whole frame stays in the trace (and HTML). */
        if (rec.binary && rec.payload_len > RP_JUNIT_BINARY_HEAD) {
            size_t used = strlen(rec.info);
            snprintf(rec.info + used, sizeof(rec.info) - used, "%s%zu bytes, first %d shown",
                     used ? "; " : "", rec.payload_len, RP_JUNIT_BINARY_HEAD);
            rec.payload_len = RP_JUNIT_BINARY_HEAD;
        }
        if (ota_trace_encode(&rec, &line) == OTA_OK) {
            size_t n = strlen(line);
            if (o + n + 1 > cap)
                n = cap - o - 1;
            memcpy(out + o, line, n);
            o += n;
            out[o++] = '\n';
        }
        free(line);
    }
    out[o] = '\0';
    return out;
}

int rp_report_junit(const rp_report *r, const char *path)
{
    rp_run run = {r->info.suite, r->info.device, r->info.started, r->seconds,
                  r->tests,      r->ntests,      r->info.dialect, r};
    int rc;

    for (int i = 0; i < r->ntests; i++) {
        free(r->tests[i].system_out);
        r->tests[i].system_out = slice_text(r, &r->tests[i], 64 * 1024);
    }
    rc = rp_junit_write(&run, path);
    return rc;
}
