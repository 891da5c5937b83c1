/*
 * ThingsPanel's push and progress: the package under "params" with code and
 * size as strings (the stock server) or numbers (its docs), and a bare
 * progress object with no id. Field parsing is shared with the Aliyun
 * modules; only the envelope and the value types differ here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otaproto/dialect.h"
#include "proto_priv.h"

/* A size may come as a decimal string; make it a number so the shared parser reads it. */
static int size_to_number(cJSON *params, ota_values *values)
{
    cJSON *size = cJSON_GetObjectItemCaseSensitive(params, "size");
    const char *s;
    char *end;
    long long v;

    *values = OTA_VALUES_DOC;
    if (!cJSON_IsString(size))
        return OTA_OK;
    s = size->valuestring;
    if (!*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return OTA_ERR_TYPE;
    v = strtoll(s, &end, 10);
    *values = OTA_VALUES_CODE;
    return cJSON_ReplaceItemInObjectCaseSensitive(params, "size", cJSON_CreateNumber((double)v))
               ? OTA_OK
               : OTA_ERR_NOMEM;
}

static int tp_envelope(const cJSON *root, ota_push *out)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "code");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");

    if (code && !cJSON_IsString(code) && !cJSON_IsNumber(code))
        return OTA_ERR_TYPE;
    if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id))
        return OTA_ERR_TYPE;
    out->envelope = cJSON_IsNumber(code) ? OTA_ENVELOPE_DOC : OTA_ENVELOPE_LIVE;
    if (cJSON_IsString(id))
        out->id = strtoull(id->valuestring, NULL, 10);
    else if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 9007199254740992.0)
        out->id = (unsigned long long)id->valuedouble;
    return OTA_OK;
}

int pd_params_push_parse(const char *json, size_t len, ota_push *out, ota_values *values)
{
    cJSON *root = NULL, *params;
    ota_values v = OTA_VALUES_DOC;
    int rc;

    if (!out)
        return OTA_ERR_ARG;
    ota_push_init(out);
    rc = pj_parse(json, len, &root, NULL);
    if (rc != OTA_OK)
        return rc;
    rc = tp_envelope(root, out);
    if (rc == OTA_OK)
        rc = pu_wrapper(root, "params", &params);
    if (rc == OTA_OK)
        rc = size_to_number(params, &v);
    if (rc == OTA_OK)
        rc = pu_push_fields(params, out);
    if (values)
        *values = v;
    cJSON_Delete(root);
    return rc;
}

/* Field order as the backend builds the push: version, size, url, signMethod, sign, module,
 * extData. */
int pd_params_push_build(const ota_push *p, ota_values values, char *buf, size_t cap)
{
    cJSON *root, *params;
    char text[32];

    if (!p || !buf)
        return OTA_ERR_ARG;
    root = cJSON_CreateObject();
    if (!root)
        return OTA_ERR_NOMEM;
    snprintf(text, sizeof(text), "%llu", p->id);
    cJSON_AddStringToObject(root, "id", text);
    if (values == OTA_VALUES_CODE)
        cJSON_AddStringToObject(root, "code", "200");
    else
        cJSON_AddNumberToObject(root, "code", 200);
    params = cJSON_AddObjectToObject(root, "params");
    if (!params) {
        cJSON_Delete(root);
        return OTA_ERR_NOMEM;
    }
    if (p->has_version)
        cJSON_AddStringToObject(params, "version", p->version);
    snprintf(text, sizeof(text), "%lld", p->size >= 0 ? p->size : 0);
    if (values == OTA_VALUES_CODE)
        cJSON_AddStringToObject(params, "size", text);
    else
        cJSON_AddNumberToObject(params, "size", (double)(p->size >= 0 ? p->size : 0));
    if (p->has_url)
        cJSON_AddStringToObject(params, "url", p->url);
    cJSON_AddStringToObject(params, "signMethod", p->has_sign_method ? p->sign_method : "MD5");
    cJSON_AddStringToObject(params, "sign", p->sign);
    /* The platform always names the module; the default one by that name. */
    cJSON_AddStringToObject(params, "module", p->has_module ? p->module : "default");
    cJSON_AddObjectToObject(params, "extData");
    return pj_print_take(root, buf, cap);
}

int pd_bare_progress_parse(const char *json, size_t len, ota_progress *out)
{
    return pp_progress_parse(json, len, NULL, out);
}

int pd_bare_progress_build(int step, int step_as_number, const char *desc, const char *module,
                           char *buf, size_t cap)
{
    cJSON *root;

    if (!buf)
        return OTA_ERR_ARG;
    root = cJSON_CreateObject();
    if (!root)
        return OTA_ERR_NOMEM;
    pp_progress_add(root, step, step_as_number, desc, module);
    return pj_print_take(root, buf, cap);
}
