/*
 * The progress message: a percentage "0".."100" or a failure step "-1".."-4".
 * A numeric step parses (real devices send it) but is flagged for the judge.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otaproto/msg.h"
#include "proto_priv.h"

/* Code points of a UTF-8 string: bytes that are not continuation bytes. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int parse_step(const cJSON *j, ota_progress *out)
{
    if (cJSON_IsString(j)) {
        const char *s = j->valuestring;
        char *end;
        long v;
        if (!*s || strlen(s) > 8)
            return OTA_ERR_TYPE;
        v = strtol(s, &end, 10);
        if (*end || ((*s == '+' || *s == ' ')))
            return OTA_ERR_TYPE;
        out->step = (int)v;
        out->step_is_string = 1;
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (floor(d) != d)
            return OTA_ERR_TYPE;
        /* A whole number beyond int is out of range, not a cast of undefined value. */
        out->step = d < INT_MIN ? INT_MIN : d > INT_MAX ? INT_MAX : (int)d;
    } else {
        return OTA_ERR_TYPE;
    }
    return (out->step < -4 || out->step > 100) ? OTA_ERR_RANGE : OTA_OK;
}

static int parse_desc(const cJSON *params, ota_progress *out)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(params, "desc");
    size_t n;

    if (!d)
        return OTA_OK;
    if (!cJSON_IsString(d))
        return OTA_ERR_TYPE;
    out->has_desc = 1;
    out->desc_chars = utf8_chars(d->valuestring);
    n = strlen(d->valuestring);
    if (n > OTA_MAX_DESC_BYTES)
        n = OTA_MAX_DESC_BYTES;
    memcpy(out->desc, d->valuestring, n);
    out->desc[n] = '\0';
    return OTA_OK;
}

/*
 * step, desc and module of the object that holds them: Aliyun's params, or
 * the whole message in dialects that send it bare. A step out of range still
 * reads the rest and returns OTA_ERR_RANGE last.
 */
int pp_progress_fields(const cJSON *params, ota_progress *out)
{
    const cJSON *step = params ? cJSON_GetObjectItemCaseSensitive(params, "step") : NULL;
    int rc, rc_range = OTA_OK;

    if (!params || !step) {
        rc = OTA_ERR_MISSING;
    } else if (!cJSON_IsObject(params)) {
        rc = OTA_ERR_TYPE;
    } else {
        rc = parse_step(step, out);
        if (rc == OTA_ERR_RANGE) {
            rc_range = rc;
            rc = OTA_OK;
        }
    }
    if (rc == OTA_OK)
        rc = parse_desc(params, out);
    if (rc == OTA_OK)
        rc = pj_str(params, "module", out->module, sizeof(out->module), &out->has_module);
    return rc != OTA_OK ? rc : rc_range;
}

int pp_progress_parse(const char *json, size_t len, const char *wrapper, ota_progress *out)
{
    cJSON *root = NULL;
    int rc;

    if (!out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof(*out));
    rc = pj_parse(json, len, &root, NULL);
    if (rc != OTA_OK)
        return rc;
    pj_id(root, &out->id);
    rc = pp_progress_fields(wrapper ? cJSON_GetObjectItemCaseSensitive(root, wrapper) : root, out);
    cJSON_Delete(root);
    return rc;
}

int ota_progress_parse(const char *json, size_t len, ota_progress *out)
{
    return pp_progress_parse(json, len, "params", out);
}

void pp_progress_add(cJSON *obj, int step, int step_as_number, const char *desc, const char *module)
{
    char s[16];

    snprintf(s, sizeof(s), "%d", step);
    if (step_as_number)
        cJSON_AddNumberToObject(obj, "step", step);
    else
        cJSON_AddStringToObject(obj, "step", s);
    cJSON_AddStringToObject(obj, "desc", desc ? desc : "");
    if (module)
        cJSON_AddStringToObject(obj, "module", module);
}

int ota_progress_build(const char *id_text, int step, int step_as_number, const char *desc,
                       const char *module, char *buf, size_t cap)
{
    cJSON *root, *params;

    if (!buf)
        return OTA_ERR_ARG;
    root = cJSON_CreateObject();
    if (!root)
        return OTA_ERR_NOMEM;
    cJSON_AddStringToObject(root, "id", id_text ? id_text : "0");
    params = cJSON_AddObjectToObject(root, "params");
    if (params)
        pp_progress_add(params, step, step_as_number, desc, module);
    return pj_print_take(root, buf, cap);
}
