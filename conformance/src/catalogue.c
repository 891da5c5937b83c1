/*
 * The test catalogue: the groups in the order they run, each group's table
 * of tests, and the tests that are scenario files. A table row made with
 * CT_SCENARIO names a scenario whose `expect` block gives the test's name,
 * group and rules; a scenario that no row names is appended to its group.
 * What the engine does with an expectation is in engine.c.
 */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine.h"

#define CT_MAX_CASES     256
#define CT_MAX_GROUPS    16
#define CT_MAX_SCENARIOS 128
#define CT_SCENARIO_MAX  8192    /* bytes of one scenario file, as the mock cloud reads it */
#define CT_MAX_RETRIES   1000000 /* an "expect" block's "retries", so it fits an int */

/* The groups in the order they run (and --list prints them). */
static const ct_group *const builtin[] = {&ct_group_security, &ct_group_version, &ct_group_push,
                                          &ct_group_final,    &ct_group_failure, &ct_group_download,
                                          &ct_group_blocks,   &ct_group_power,   &ct_group_image};
#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

static ct_expect expects[CT_MAX_SCENARIOS];
static size_t nexpects;
static ct_case cases[CT_MAX_CASES];
static size_t ncases;
static ct_group groups[CT_MAX_GROUPS];
static size_t ngroups;
static unsigned char used[CT_MAX_SCENARIOS]; /* the scenario has its place in the catalogue */

/* A string member into dst; 0 when absent, -1 when not a string or too long. */
static int str_member(const cJSON *o, const char *key, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) >= cap)
        return -1;
    snprintf(dst, cap, "%s", v->valuestring);
    return 1;
}

static int parse_steps(const cJSON *a, ct_expect *e, char *err, size_t errcap)
{
    const cJSON *s;

    if (!a)
        return 0;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > CT_EXPECT_MAX_STEPS) {
        snprintf(err, errcap, "\"steps\" must be an array of up to %d failure steps",
                 CT_EXPECT_MAX_STEPS);
        return -1;
    }
    cJSON_ArrayForEach(s, a)
    {
        /* The range before the cast: a number beyond int has no int value. */
        if (!cJSON_IsNumber(s) || !(s->valuedouble >= -4 && s->valuedouble <= -1) ||
            !ota_step_name((int)s->valuedouble)) {
            snprintf(err, errcap, "\"steps\" holds a step that is not -1..-4");
            return -1;
        }
        e->steps[e->nsteps++] = (int)s->valuedouble;
    }
    return 0;
}

/* "outcome", "steps", "silence", "version", "retries": what must come of the push. */
static int parse_outcome(const cJSON *x, ct_expect *e, char *err, size_t errcap)
{
    char outcome[16] = "", version[16] = "";
    const cJSON *silence = cJSON_GetObjectItemCaseSensitive(x, "silence");
    const cJSON *retries = cJSON_GetObjectItemCaseSensitive(x, "retries");

    if (str_member(x, "outcome", outcome, sizeof(outcome)) != 1 ||
        (strcmp(outcome, "success") && strcmp(outcome, "failure"))) {
        snprintf(err, errcap, "\"outcome\" must be \"success\" or \"failure\"");
        return -1;
    }
    e->outcome = strcmp(outcome, "success") ? CT_EXPECT_FAILURE : CT_EXPECT_SUCCESS;
    if (parse_steps(cJSON_GetObjectItemCaseSensitive(x, "steps"), e, err, errcap))
        return -1;
    if (silence && !cJSON_IsBool(silence)) {
        snprintf(err, errcap, "\"silence\" must be true or false");
        return -1;
    }
    e->silence = cJSON_IsTrue(silence);
    if (str_member(x, "version", version, sizeof(version)) < 0 ||
        (version[0] && strcmp(version, "target") && strcmp(version, "old") &&
         strcmp(version, "not-target"))) {
        snprintf(err, errcap, "\"version\" must be \"target\", \"old\" or \"not-target\"");
        return -1;
    }
    e->version = !strcmp(version, "old")          ? CT_EXPECT_VERSION_OLD
                 : !strcmp(version, "not-target") ? CT_EXPECT_VERSION_NOT_TARGET
                                                  : CT_EXPECT_VERSION_ANY;
    e->retries = -1;
    if (retries && (!cJSON_IsNumber(retries) ||
                    !(retries->valuedouble >= 0 && retries->valuedouble <= CT_MAX_RETRIES))) {
        snprintf(err, errcap, "\"retries\" must be a number of requests");
        return -1;
    }
    if (retries)
        e->retries = (int)retries->valuedouble;
    char tries[16] = "";
    if (str_member(x, "tries", tries, sizeof(tries)) < 0 ||
        (tries[0] && strcmp(tries, "requests") && strcmp(tries, "downloads"))) {
        snprintf(err, errcap, "\"tries\" must be \"requests\" or \"downloads\"");
        return -1;
    }
    e->tries_downloads = !strcmp(tries, "downloads");
    if (e->outcome == CT_EXPECT_SUCCESS ? e->silence : !strcmp(version, "target")) {
        snprintf(err, errcap,
                 "\"silence\" belongs to a \"failure\" outcome, "
                 "\"version\": \"target\" to a \"success\"");
        return -1;
    }
    return 0;
}

/* Append rule to the test's list unless it is there (or the list is full). */
static void cite(ct_expect *e, const char *rule)
{
    char padded[sizeof(e->rules) + 3], word[24];
    size_t n = strlen(e->rules);

    snprintf(padded, sizeof(padded), " %s ", e->rules);
    snprintf(word, sizeof(word), " %s ", rule);
    if (strstr(padded, word) || n + 1 + strlen(rule) >= sizeof(e->rules))
        return;
    snprintf(e->rules + n, sizeof(e->rules) - n, "%s%s", n ? " " : "", rule);
}

/*
 * "rules": {"outcome": ID, "step": ID, "version": ID, "retries": ID}. Only
 * the outcome's is required; the others default to it. The test cites them
 * in that order, each once.
 */
static int parse_rules(const cJSON *r, ct_expect *e, char *err, size_t errcap)
{
    if (!cJSON_IsObject(r) || str_member(r, "outcome", e->rule_outcome, 16) != 1 ||
        str_member(r, "step", e->rule_step, 16) < 0 ||
        str_member(r, "version", e->rule_version, 16) < 0 ||
        str_member(r, "retries", e->rule_retries, 16) < 0) {
        snprintf(err, errcap, "\"rules\" must name at least the \"outcome\" rule, as IDs");
        return -1;
    }
    if (!e->rule_step[0])
        snprintf(e->rule_step, 16, "%s", e->rule_outcome);
    if (!e->rule_version[0])
        snprintf(e->rule_version, 16, "%s", e->rule_outcome);
    if (!e->rule_retries[0])
        snprintf(e->rule_retries, 16, "%s", e->rule_outcome);
    cite(e, e->rule_outcome);
    if (e->outcome == CT_EXPECT_FAILURE && e->nsteps)
        cite(e, e->rule_step);
    if (e->version != CT_EXPECT_VERSION_ANY)
        cite(e, e->rule_version);
    if (e->retries >= 0)
        cite(e, e->rule_retries);
    return 0;
}

/* "bound": a name from the protocol's table; by default FAIL-1, FAIL-2 or FINAL-1. */
static int parse_bound(const cJSON *x, ct_expect *e, char *err, size_t errcap)
{
    char name[32] = "";

    if (str_member(x, "bound", name, sizeof(name)) < 0 ||
        (name[0] && ota_bound_find(name, &e->bound) != OTA_OK)) {
        snprintf(err, errcap, "\"bound\" must name a bound of otaproto/limits.h (\"FAIL-2\")");
        return -1;
    }
    if (!name[0])
        e->bound = e->silence                        ? OTA_BOUND_UNUSABLE
                   : e->outcome == CT_EXPECT_FAILURE ? OTA_BOUND_FAILURE
                                                     : OTA_BOUND_FINAL;
    return 0;
}

/* "push": {"digest": "md5" | "sha256"}: how the job is pushed, beside the plan's fault. */
static int parse_push(const cJSON *p, ct_expect *e, char *err, size_t errcap)
{
    char digest[16] = "";

    e->digest = OTA_DIGEST_MD5;
    if (!p)
        return 0;
    if (!cJSON_IsObject(p) || str_member(p, "digest", digest, sizeof(digest)) < 0 ||
        (digest[0] && ota_sign_method_parse(digest, &e->digest) != OTA_OK)) {
        snprintf(err, errcap, "\"push\" may name a \"digest\": \"md5\" or \"sha256\"");
        return -1;
    }
    return 0;
}

/* "maxAmplification": a cost limit, bytes downloaded / image size (reports' cost.c). */
static int parse_cost(const cJSON *x, ct_expect *e, char *err, size_t errcap)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(x, "maxAmplification");

    e->max_amp = 0;
    if (!m)
        return 0;
    if (!cJSON_IsNumber(m) || !(m->valuedouble >= 1.0 && m->valuedouble <= 1000.0)) {
        snprintf(err, errcap,
                 "\"maxAmplification\" must be a number from 1 (every byte once) to 1000");
        return -1;
    }
    e->max_amp = m->valuedouble;
    return 0;
}

/* A misspelt field would silently change the test: only these are taken. */
static int known_fields(const cJSON *x, char *err, size_t errcap)
{
    static const char *const known[] = {"test",    "group",   "outcome",         "steps",
                                        "silence", "version", "retries",         "tries",
                                        "bound",   "rules",   "maxAmplification"};
    const cJSON *f;

    cJSON_ArrayForEach(f, x)
    {
        size_t k = 0;
        while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], f->string))
            k++;
        if (k == sizeof(known) / sizeof(known[0])) {
            snprintf(err, errcap, "\"expect\" has no field \"%.40s\" (docs/scenarios.md)",
                     f->string);
            return -1;
        }
    }
    return 0;
}

static int parse_expect(const cJSON *x, const cJSON *push, ct_expect *e, char *err, size_t errcap)
{
    if (cJSON_IsObject(x) && known_fields(x, err, errcap))
        return -1;
    if (!cJSON_IsObject(x) || str_member(x, "test", e->test, sizeof(e->test)) != 1 ||
        str_member(x, "group", e->group, sizeof(e->group)) != 1) {
        snprintf(err, errcap, "\"expect\" must name its \"test\" and \"group\"");
        return -1;
    }
    if (parse_outcome(x, e, err, errcap) || parse_bound(x, e, err, errcap) ||
        parse_rules(cJSON_GetObjectItemCaseSensitive(x, "rules"), e, err, errcap) ||
        parse_push(push, e, err, errcap) || parse_cost(x, e, err, errcap))
        return -1;
    return 0;
}

int ct_expect_parse(const char *json, size_t len, ct_expect *out, char *err, size_t errcap)
{
    cJSON *o = cJSON_ParseWithLength(json, len);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "expect");
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!x) { /* a plain fault plan; the mock cloud judges its form */
        cJSON_Delete(o);
        return 0;
    }
    if (mc_scenario_parse(json, len, &out->sc, err, errcap) != MC_OK ||
        parse_expect(x, cJSON_GetObjectItemCaseSensitive(o, "push"), out, err, errcap))
        rc = -1;
    snprintf(out->plan, sizeof(out->plan), "%s", out->sc.name);
    cJSON_Delete(o);
    return rc ? -1 : 1;
}

/* Read one scenario file; 1 with an expectation, 0 without, -1 with err. */
static int load_file(const char *dir, const char *file, ct_expect *e, char *err, size_t errcap)
{
    char path[4200], why[256] = "", *buf = malloc(CT_SCENARIO_MAX + 1);
    FILE *f;
    size_t n;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = buf ? fopen(path, "rb") : NULL;
    if (!f) {
        snprintf(err, errcap, "cannot read scenario %.300s: %s", path, strerror(errno));
        free(buf);
        return -1;
    }
    n = fread(buf, 1, CT_SCENARIO_MAX + 1, f);
    fclose(f);
    rc = n > CT_SCENARIO_MAX ? -1 : ct_expect_parse(buf, n, e, why, sizeof(why));
    free(buf);
    if (rc > 0 &&
        (strncmp(file, e->plan, strlen(e->plan)) || strcmp(file + strlen(e->plan), ".json"))) {
        snprintf(why, sizeof(why), "it names itself \"%s\"", e->plan);
        rc = -1;
    }
    if (rc < 0)
        snprintf(err, errcap, "scenario %.300s: %s", path, why[0] ? why : "over the size cap");
    return rc;
}

static int is_json(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

/* Every scenario of dir with an expect block, in file-name order. */
static int load_expects(const char *dir, char *err, size_t errcap)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_json, alphasort), rc = 0;

    if (n < 0) {
        snprintf(err, errcap, "cannot read the scenario folder %.300s: %s", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int got = rc ? 0 : load_file(dir, list[i]->d_name, &expects[nexpects], err, errcap);
        if (got > 0 && ++nexpects == CT_MAX_SCENARIOS && i + 1 < n) {
            snprintf(err, errcap, "more than %d scenarios with an expect block", CT_MAX_SCENARIOS);
            got = -1;
        }
        rc |= got < 0;
        free(list[i]);
    }
    free(list);
    return rc ? -1 : 0;
}

const ct_expect *ct_catalogue_expect(const char *plan)
{
    for (size_t i = 0; plan && i < nexpects; i++)
        if (!strcmp(expects[i].plan, plan))
            return &expects[i];
    return NULL;
}

static int add_case(ct_case c, char *err, size_t errcap)
{
    if (ncases == CT_MAX_CASES) {
        snprintf(err, errcap, "more than %d tests", CT_MAX_CASES);
        return -1;
    }
    for (size_t i = 0; i < ncases; i++)
        if (!strcmp(cases[i].name, c.name)) {
            snprintf(err, errcap, "two tests are named %s", c.name);
            return -1;
        }
    cases[ncases++] = c;
    return 0;
}

static ct_case scenario_case(const ct_expect *e)
{
    return (ct_case){e->test, e->group, ct_engine_run, e->rules, e->plan};
}

/* A table row: its own, or the scenario it names, checked to be of this group. */
static int add_row(const ct_group *g, const ct_case *row, char *err, size_t errcap)
{
    const ct_expect *e;

    if (row->fn)
        return add_case(*row, err, errcap);
    e = ct_catalogue_expect(row->arg);
    if (!e || strcmp(e->group, g->name)) {
        snprintf(err, errcap, "group %s names scenario %s, which has no expect block of that group",
                 g->name, row->arg ? row->arg : "(none)");
        return -1;
    }
    used[e - expects] = 1;
    return add_case(scenario_case(e), err, errcap);
}

/* The scenarios of group `name` that no row named, appended in file-name order. */
static int add_unplaced(const char *name, char *err, size_t errcap)
{
    for (size_t i = 0; i < nexpects; i++) {
        if (used[i] || strcmp(expects[i].group, name))
            continue;
        used[i] = 1;
        if (add_case(scenario_case(&expects[i]), err, errcap))
            return -1;
    }
    return 0;
}

static int add_group(const char *name, char *err, size_t errcap)
{
    size_t first = ncases;

    if (ngroups == CT_MAX_GROUPS) {
        snprintf(err, errcap, "more than %d groups", CT_MAX_GROUPS);
        return -1;
    }
    if (add_unplaced(name, err, errcap))
        return -1;
    groups[ngroups++] = (ct_group){name, &cases[first], ncases - first};
    return 0;
}

int ct_catalogue_load(const char *scenarios, char *err, size_t errcap)
{
    if (ngroups)
        return 0;
    if (load_expects(scenarios, err, errcap))
        return -1;
    for (size_t g = 0; g < NBUILTIN; g++) {
        size_t first = ncases;
        for (size_t i = 0; i < builtin[g]->ncases; i++) /* the rows, then unplaced scenarios */
            if (add_row(builtin[g], &builtin[g]->cases[i], err, errcap))
                return -1;
        if (add_unplaced(builtin[g]->name, err, errcap))
            return -1;
        groups[ngroups++] = (ct_group){builtin[g]->name, &cases[first], ncases - first};
    }
    /* The dialect's own tests after Aliyun's; Aliyun has none, so its catalogue is unchanged. */
    if (ct.dialect && !strcmp(ct.dialect->name, "thingspanel")) {
        size_t first = ncases;
        for (size_t i = 0; i < ct_group_thingspanel.ncases; i++)
            if (add_row(&ct_group_thingspanel, &ct_group_thingspanel.cases[i], err, errcap))
                return -1;
        groups[ngroups++] = (ct_group){ct_group_thingspanel.name, &cases[first], ncases - first};
    }
    /* Groups only scenarios make, in the order their first file comes. */
    for (size_t i = 0; i < nexpects; i++)
        if (!used[i] && add_group(expects[i].group, err, errcap))
            return -1;
    return 0;
}

size_t ct_catalogue_ngroups(void)
{
    return ngroups;
}

const ct_group *ct_catalogue_group(size_t i)
{
    return i < ngroups ? &groups[i] : NULL;
}
