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

#define MAX_RULES 128

static ct_rule rules[MAX_RULES];
static size_t nrules;

/* A string member copied to the heap (kept for the run); NULL when absent or not a string. */
static const char *dup_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

int ct_rules_load(char *err, size_t errcap)
{
    cJSON *root = cJSON_Parse((const char *)ct_catalogue_json);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "rules"), *r;
    int rc = 0;

    if (nrules)
        return 0;
    if (!cJSON_IsArray(list)) {
        snprintf(err, errcap, "the rule catalogue is not valid JSON with a \"rules\" array");
        cJSON_Delete(root);
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
    cJSON_Delete(root);
    return rc;
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
