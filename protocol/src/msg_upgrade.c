/*
 * The upgrade push and the get_reply, in the live cloud's envelope
 * ("code":"1000", numeric id, "message":"success") or the documented one
 * ("code":200, string id). Data fields keep the live cloud's order, with
 * extData last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otaproto/msg.h"
#include "proto_priv.h"

const char *ota_envelope_name(ota_envelope e)
{
    return e == OTA_ENVELOPE_LIVE ? "live" : e == OTA_ENVELOPE_DOC ? "doc" : "unknown";
}

void ota_push_init(ota_push *p)
{
    memset(p, 0, sizeof(*p));
    p->size = -1;
    p->stream_id = -1;
    p->stream_file_id = -1;
}

static cJSON *envelope_new(ota_envelope e, unsigned long long id, cJSON **data)
{
    cJSON *root = cJSON_CreateObject();
    char idtext[32];

    if (!root)
        return NULL;
    if (e == OTA_ENVELOPE_DOC) {
        snprintf(idtext, sizeof(idtext), "%llu", id);
        cJSON_AddStringToObject(root, "id", idtext);
        cJSON_AddNumberToObject(root, "code", 200);
        *data = cJSON_AddObjectToObject(root, "data");
    } else {
        cJSON_AddStringToObject(root, "code", "1000");
        *data = cJSON_AddObjectToObject(root, "data");
        cJSON_AddNumberToObject(root, "id", (double)id);
        cJSON_AddStringToObject(root, "message", "success");
    }
    return root;
}

int ota_push_build(const ota_push *p, char *buf, size_t cap)
{
    cJSON *data = NULL, *root;

    if (!p || !buf)
        return OTA_ERR_ARG;
    root = envelope_new(p->envelope, p->id, &data);
    if (!root || !data) {
        cJSON_Delete(root);
        return OTA_ERR_NOMEM;
    }
    if (p->size >= 0)
        cJSON_AddNumberToObject(data, "size", (double)p->size);
    if (p->stream_id >= 0)
        cJSON_AddNumberToObject(data, "streamId", (double)p->stream_id);
    if (p->has_version)
        cJSON_AddStringToObject(data, "version", p->version);
    if (p->has_url)
        cJSON_AddStringToObject(data, "url", p->url);
    if (p->has_sign_method)
        cJSON_AddStringToObject(data, "signMethod", p->sign_method);
    if (p->sign[0])
        cJSON_AddStringToObject(data, "sign", p->sign);
    if (p->md5[0])
        cJSON_AddStringToObject(data, "md5", p->md5);
    if (p->has_dprotocol)
        cJSON_AddStringToObject(data, "dProtocol", p->dprotocol);
    if (p->stream_file_id >= 0)
        cJSON_AddNumberToObject(data, "streamFileId", (double)p->stream_file_id);
    if (p->has_module)
        cJSON_AddStringToObject(data, "module", p->module);
    if (p->is_diff)
        cJSON_AddNumberToObject(data, "isDiff", 1);
    cJSON_AddObjectToObject(data, "extData");
    return pj_print_take(root, buf, cap);
}

int ota_get_reply_empty_build(ota_envelope e, unsigned long long id, char *buf, size_t cap)
{
    cJSON *data = NULL, *root = envelope_new(e, id, &data);

    if (!root || !data) {
        cJSON_Delete(root);
        return OTA_ERR_NOMEM;
    }
    return pj_print_take(root, buf, cap);
}

static int parse_envelope(const cJSON *root, ota_push *out)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "code");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");

    if (cJSON_IsNumber(code))
        out->envelope = OTA_ENVELOPE_DOC;
    else if (cJSON_IsString(code) || !code)
        out->envelope = OTA_ENVELOPE_LIVE;
    else
        return OTA_ERR_TYPE;
    if (id && !cJSON_IsNumber(id) && !cJSON_IsString(id))
        return OTA_ERR_TYPE;
    /* A push id is a millisecond timestamp: wider than a device id. */
    if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 9007199254740992.0)
        out->id = (unsigned long long)id->valuedouble;
    else if (cJSON_IsString(id))
        out->id = strtoull(id->valuestring, NULL, 10);
    return OTA_OK;
}

static int parse_strings(const cJSON *data, ota_push *out)
{
    int rc, present = 0;

    rc = pj_str(data, "version", out->version, sizeof(out->version), &out->has_version);
    if (rc == OTA_OK)
        rc = pj_str(data, "url", out->url, sizeof(out->url), &out->has_url);
    if (rc == OTA_OK)
        rc = pj_str(data, "signMethod", out->sign_method, sizeof(out->sign_method),
                    &out->has_sign_method);
    if (rc == OTA_OK)
        rc = pj_str(data, "sign", out->sign, sizeof(out->sign), &present);
    if (rc == OTA_OK)
        rc = pj_str(data, "md5", out->md5, sizeof(out->md5), &present);
    if (rc == OTA_OK)
        rc = pj_str(data, "module", out->module, sizeof(out->module), &out->has_module);
    if (rc == OTA_OK)
        rc = pj_str(data, "dProtocol", out->dprotocol, sizeof(out->dprotocol), &out->has_dprotocol);
    return rc;
}

static int parse_numbers(const cJSON *data, ota_push *out)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(data, "files");
    int rc = pj_int(data, "size", &out->size, NULL);

    if (rc == OTA_OK)
        rc = pj_int(data, "streamId", &out->stream_id, NULL);
    if (rc == OTA_OK)
        rc = pj_int(data, "streamFileId", &out->stream_file_id, NULL);
    if (rc == OTA_OK) { /* isDiff of another type is not ours to refuse: a full image */
        const cJSON *diff = cJSON_GetObjectItemCaseSensitive(data, "isDiff");
        out->is_diff = cJSON_IsNumber(diff) && diff->valuedouble == 1;
    }
    if (rc == OTA_OK && files && !cJSON_IsArray(files))
        rc = OTA_ERR_TYPE;
    if (rc == OTA_OK && files)
        out->file_count = cJSON_GetArraySize(files);
    if (rc == OTA_OK && out->file_count > 0 && !out->has_url) {
        /* A files[] package: the first file's fields stand for the package. */
        const cJSON *f = cJSON_GetArrayItem(files, 0);
        int present = 0;
        if (!cJSON_IsObject(f))
            return OTA_ERR_TYPE;
        rc = pj_str(f, "fileUrl", out->url, sizeof(out->url), &out->has_url);
        if (rc == OTA_OK)
            rc = pj_int(f, "fileSize", &out->size, NULL);
        if (rc == OTA_OK && !out->sign[0])
            rc = pj_str(f, "fileSign", out->sign, sizeof(out->sign), &present);
        if (rc == OTA_OK && !out->md5[0])
            rc = pj_str(f, "fileMd5", out->md5, sizeof(out->md5), &present);
    }
    if (rc == OTA_OK && (out->size < -1 || out->stream_id < -1 || out->stream_file_id < -1))
        rc = OTA_ERR_RANGE;
    return rc;
}

int pu_push_fields(const cJSON *data, ota_push *out)
{
    int rc = parse_strings(data, out);

    return rc == OTA_OK ? parse_numbers(data, out) : rc;
}

int pu_wrapper(cJSON *root, const char *name, cJSON **out)
{
    cJSON *w = cJSON_GetObjectItemCaseSensitive(root, name);

    *out = w;
    if (!w)
        return OTA_ERR_MISSING;
    if (!cJSON_IsObject(w))
        return OTA_ERR_TYPE;
    return w->child ? OTA_OK : OTA_ERR_MISSING;
}

int ota_push_parse(const char *json, size_t len, ota_push *out)
{
    cJSON *root = NULL;
    cJSON *data;
    int rc;

    if (!out)
        return OTA_ERR_ARG;
    ota_push_init(out);
    rc = pj_parse(json, len, &root, NULL);
    if (rc != OTA_OK)
        return rc;
    rc = parse_envelope(root, out);
    if (rc == OTA_OK)
        rc = pu_wrapper(root, "data", &data);
    if (rc == OTA_OK)
        rc = pu_push_fields(data, out);
    cJSON_Delete(root);
    return rc;
}
