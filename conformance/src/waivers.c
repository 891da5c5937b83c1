/*
 * Waivers: a JSON array of {"test" or "rule", "reason", "until"}. Read once
 * before the run (and before --jobs forks its workers, which inherit them);
 * applied to each test as it ends, so the trace, and every report rebuilt
 * from it, carries the waived verdict with its reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "waivers.h"

#define CT_MAX_WAIVERS       64
#define CT_WAIVERS_MAX_BYTES (256 * 1024)

typedef struct {
    char test[160]; /* "name" or "group/name"; "" when it names a rule */
    char rule[16];
    char reason[200];
    char until[11];
    int expired;
} waiver;

static waiver waivers[CT_MAX_WAIVERS];
static int nwaivers;
static char expired[CT_MAX_WAIVERS][RP_WAIVER_TEXT];
static int nexpired;

void ct_waivers_today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Line and column (from 1) of text + at. */
static void where(const char *text, size_t at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Where each element of the top-level array begins: its offset in text. */
static int element_starts(const char *text, size_t *starts, int cap)
{
    int depth = 0, in_str = 0, want = 0, n = 0;

    for (size_t i = 0; text[i]; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\' && text[i + 1])
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (want && depth == 1 && !strchr(" \t\r\n,]", ch)) {
            if (n < cap)
                starts[n++] = i;
            want = 0;
        }
        if (ch == '"')
            in_str = 1;
        else if (ch == '{' || ch == '[')
            want = ++depth == 1;
        else if (ch == '}' || ch == ']')
            depth--;
        else if (ch == ',' && depth == 1)
            want = 1;
    }
    return n;
}

static int is_date(const char *s)
{
    struct tm tm;
    int y, m, d;
    char tail;

    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' ||
        s[7] != '-' || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = 12;
    if (timegm(&tm) == (time_t)-1)
        return 0;
    return tm.tm_mday == d && tm.tm_mon == m - 1; /* 2026-02-30 is not a day */
}

/* A string member into out; 0 absent, 1 taken, -1 not a string or too long. */
static int str_member(const cJSON *o, const char *key, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v)
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return -1;
    snprintf(out, cap, "%s", v->valuestring);
    return 1;
}

/* One waiver: what is wrong with it, or NULL. */
static const char *parse_one(const cJSON *o, waiver *w)
{
    static const char *const known[] = {"test", "rule", "reason", "until"};
    const cJSON *f;
    int t, r;

    memset(w, 0, sizeof(*w));
    if (!cJSON_IsObject(o))
        return "a waiver is an object {\"test\" or \"rule\", \"reason\", \"until\"}";
    cJSON_ArrayForEach(f, o)
    {
        size_t k = 0;
        while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], f->string))
            k++;
        if (k == sizeof(known) / sizeof(known[0]))
            return "unknown field (a waiver has \"test\" or \"rule\", \"reason\", \"until\")";
    }
    t = str_member(o, "test", w->test, sizeof(w->test));
    r = str_member(o, "rule", w->rule, sizeof(w->rule));
    if (t < 0 || r < 0 || (t > 0) == (r > 0) || !(w->test[0] || w->rule[0]))
        return "a waiver names one \"test\" (name or group/name) or one \"rule\" (an ID), as a "
               "string";
    if (str_member(o, "reason", w->reason, sizeof(w->reason)) != 1 || !w->reason[0])
        return "a waiver needs a \"reason\": a non-empty string of under 200 characters";
    if (str_member(o, "until", w->until, sizeof(w->until)) != 1 || !is_date(w->until))
        return "\"until\" must be a date YYYY-MM-DD (the last day the waiver holds)";
    return NULL;
}

static char *read_all(const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f) {
        snprintf(err, errcap, "--waivers %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(CT_WAIVERS_MAX_BYTES + 1);
    n = buf ? fread(buf, 1, CT_WAIVERS_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf || n > CT_WAIVERS_MAX_BYTES) {
        snprintf(err, errcap, "--waivers %s: over %d bytes", path, CT_WAIVERS_MAX_BYTES);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int ct_waivers_load(const char *path, const char *today, char *err, size_t errcap)
{
    char *text = read_all(path, err, errcap);
    size_t starts[CT_MAX_WAIVERS + 1];
    const cJSON *o;
    cJSON *arr;
    int line, col, i = 0, n;

    nwaivers = nexpired = 0;
    if (!text)
        return -1;
    arr = cJSON_Parse(text);
    if (!arr) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + strlen(text) ? (size_t)(at - text) : 0;
        where(text, off, &line, &col);
        snprintf(err, errcap, "--waivers %s:%d:%d: not valid JSON here", path, line, col);
        free(text);
        return -1;
    }
    n = element_starts(text, starts, CT_MAX_WAIVERS + 1);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > CT_MAX_WAIVERS) {
        snprintf(err, errcap, "--waivers %s:1:1: the file is a JSON array of at most %d waivers",
                 path, CT_MAX_WAIVERS);
        cJSON_Delete(arr);
        free(text);
        return -1;
    }
    cJSON_ArrayForEach(o, arr)
    {
        waiver *w = &waivers[i];
        const char *why = parse_one(o, w);
        if (why) {
            where(text, i < n ? starts[i] : 0, &line, &col);
            snprintf(err, errcap, "--waivers %s:%d:%d: waiver %d: %s", path, line, col, i + 1, why);
            cJSON_Delete(arr);
            free(text);
            nwaivers = 0;
            return -1;
        }
        w->expired = strcmp(today, w->until) > 0;
        if (w->expired)
            snprintf(expired[nexpired++], RP_WAIVER_TEXT,
                     "the waiver of %s %s expired on %s and no longer waives (%s)",
                     w->test[0] ? "test" : "rule", w->test[0] ? w->test : w->rule, w->until,
                     w->reason);
        i++;
    }
    nwaivers = i;
    cJSON_Delete(arr);
    free(text);
    return 0;
}

static int matches(const waiver *w, const rp_test *t)
{
    char full[sizeof(t->group) + sizeof(t->name) + 1];

    if (w->rule[0])
        return !strcmp(w->rule, t->failed_rule);
    snprintf(full, sizeof(full), "%s/%s", t->group, t->name);
    return !strcmp(w->test, t->name) || !strcmp(w->test, full);
}

int ct_waivers_apply(rp_test *t)
{
    if (t->verdict != RP_FAIL)
        return 0;
    for (int i = 0; i < nwaivers; i++)
        if (!waivers[i].expired && matches(&waivers[i], t)) {
            t->verdict = RP_WAIVED;
            snprintf(t->waiver, sizeof(t->waiver), "%s (waiver of %s %s, until %s)",
                     waivers[i].reason, waivers[i].test[0] ? "test" : "rule",
                     waivers[i].test[0] ? waivers[i].test : waivers[i].rule, waivers[i].until);
            return 1;
        }
    return 0;
}

const char *ct_waivers_expired(int i)
{
    return i >= 0 && i < nexpired ? expired[i] : NULL;
}
