/*
 * The rule catalogue: conformance/requirements/aliyun.json, built into the
 * runner (CMake turns the file into ct_catalogue_json), parsed once at
 * start. The runner refuses to start when the file is malformed, a test
 * cites an ID it does not hold, or a rule has no test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ct.h"

extern const unsigned char ct_catalogue_json[];
extern const unsigned char ct_catalogue_thingspanel_json[];

#define MAX_RULES 128

static ct_rule rules[MAX_RULES];
static size_t nrules, naliyun;

/* The loaded dialect's N/A reasons: rule id and why. */
static struct {
    const char *id, *why;
} na[MAX_RULES];
static size_t nna;

/* The loaded dialect's N/A tests: "group/name" or a whole "group", and why. */
static struct {
    const char *key, *why;
} natests[MAX_RULES];
static size_t nnatests;
/* The loaded dialect's tests whose pushes carry the documented value types, and why. */
static struct {
    char *key, *why;
} doctests[MAX_RULES];
static size_t ndoctests;

/* A string member copied to the heap (kept for the run); NULL when absent or not a string. */
static const char *dup_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* Append the "rules" array of a catalogue file to the table. */
static int load_rules(const cJSON *root, char *err, size_t errcap)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "rules"), *r;
    int rc = 0;

    if (!cJSON_IsArray(list)) {
        snprintf(err, errcap, "the rule catalogue is not valid JSON with a \"rules\" array");
        return -1;
    }
    cJSON_ArrayForEach(r, list)
    {
        const char *tier = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "tier"));
        ct_rule *x = &rules[nrules];
        if (nrules == MAX_RULES) {
            snprintf(err, errcap, "the rule catalogue holds more than %d rules", MAX_RULES);
            rc = -1;
            break;
        }
        x->id = dup_member(r, "id");
        x->text = dup_member(r, "rule");
        x->source = dup_member(r, "source");
        x->needs = dup_member(r, "needs");
        x->compat = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "compat"));
        if (!x->id || !x->text || !tier || (strcmp(tier, "MUST") && strcmp(tier, "SHOULD"))) {
            snprintf(err, errcap,
                     "rule %zu of the catalogue needs an id, a rule and a tier of MUST "
                     "or SHOULD",
                     nrules + 1);
            rc = -1;
            break;
        }
        x->tier = strcmp(tier, "MUST") ? CT_SHOULD : CT_MUST;
        nrules++;
    }
    return rc;
}

int ct_rules_load(char *err, size_t errcap)
{
    cJSON *root;
    int rc;

    if (nrules)
        return 0;
    root = cJSON_Parse((const char *)ct_catalogue_json);
    rc = load_rules(root, err, errcap);
    cJSON_Delete(root);
    naliyun = nrules;
    return rc;
}

/* The built-in catalogue of a dialect other than Aliyun; NULL when it has none. */
static const unsigned char *dialect_json(const ota_dialect *d)
{
    return d && !strcmp(d->name, "thingspanel") ? ct_catalogue_thingspanel_json : NULL;
}

int ct_rules_load_dialect(const ota_dialect *d, char *err, size_t errcap)
{
    const unsigned char *text = dialect_json(d);
    cJSON *root, *why;
    int rc;

    if (!text || nrules > naliyun)
        return 0;
    root = cJSON_Parse((const char *)text);
    rc = load_rules(root, err, errcap);
    cJSON_ArrayForEach(why, cJSON_GetObjectItemCaseSensitive(root, "na"))
    {
        if (nna < MAX_RULES && cJSON_IsString(why) && why->string) {
            na[nna].id = strdup(why->string);
            na[nna++].why = strdup(why->valuestring);
        }
    }
    cJSON_ArrayForEach(why, cJSON_GetObjectItemCaseSensitive(root, "tests"))
    {
        if (nnatests < MAX_RULES && cJSON_IsString(why) && why->string) {
            natests[nnatests].key = strdup(why->string);
            natests[nnatests++].why = strdup(why->valuestring);
        }
    }
    cJSON_ArrayForEach(why, cJSON_GetObjectItemCaseSensitive(root, "documented"))
    {
        if (ndoctests < MAX_RULES && cJSON_IsString(why) && why->string) {
            doctests[ndoctests].key = strdup(why->string);
            doctests[ndoctests++].why = strdup(why->valuestring);
        }
    }
    cJSON_Delete(root);
    return rc;
}

const char *ct_test_na(const char *group, const char *name)
{
    char key[256];

    snprintf(key, sizeof(key), "%s/%s", group, name);
    for (size_t i = 0; i < nnatests; i++)
        if (!strcmp(natests[i].key, group) || !strcmp(natests[i].key, key))
            return natests[i].why;
    return NULL;
}

const char *ct_test_documented(const char *group, const char *name)
{
    char key[256];

    snprintf(key, sizeof(key), "%s/%s", group, name);
    for (size_t i = 0; i < ndoctests; i++)
        if (!strcmp(doctests[i].key, group) || !strcmp(doctests[i].key, key))
            return doctests[i].why;
    return NULL;
}

const char *ct_rule_na(const char *id)
{
    for (size_t i = 0; i < nna; i++)
        if (!strcmp(na[i].id, id))
            return na[i].why;
    return NULL;
}

int ct_rule_of_dialect(const char *id)
{
    for (size_t i = naliyun; i < nrules; i++)
        if (!strcmp(rules[i].id, id))
            return 1;
    return 0;
}

const ct_rule *ct_rule_at(size_t i)
{
    return i < nrules ? &rules[i] : NULL;
}

const ct_rule *ct_rule_find(const char *id)
{
    for (size_t i = 0; i < nrules; i++)
        if (!strcmp(rules[i].id, id))
            return &rules[i];
    return NULL;
}

const char *ct_tier_name(ct_tier t)
{
    return t == CT_MUST ? "MUST" : "SHOULD";
}
