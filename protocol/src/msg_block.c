/*
 * The block request of MQTT download (thing/file/download). Parsed through
 * the normalising pass, because Link SDK 4.x sends a trailing comma.
 */
#include <stdio.h>
#include <string.h>

#include "otaproto/msg.h"
#include "proto_priv.h"

static int need_int(const cJSON *obj, const char *key, long long *out)
{
    int present = 0, rc;

    if (!obj)
        return OTA_ERR_MISSING;
    if (!cJSON_IsObject(obj))
        return OTA_ERR_TYPE;
    rc = pj_int(obj, key, out, &present);
    if (rc == OTA_OK && !present)
        rc = OTA_ERR_MISSING;
    if (rc == OTA_OK && *out < 0)
        rc = OTA_ERR_RANGE;
    return rc;
}

int ota_block_request_parse(const char *json, size_t len, ota_block_request *out)
{
    cJSON *root = NULL;
    const cJSON *params, *info, *block;
    int rc;

    if (!out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof(*out));
    rc = pj_parse(json, len, &root, &out->normalized);
    if (rc != OTA_OK)
        return rc;
    pj_id(root, &out->id);
    params = cJSON_GetObjectItemCaseSensitive(root, "params");
    info = params ? cJSON_GetObjectItemCaseSensitive(params, "fileInfo") : NULL;
    block = params ? cJSON_GetObjectItemCaseSensitive(params, "fileBlock") : NULL;
    if (!params)
        rc = OTA_ERR_MISSING;
    else if (!cJSON_IsObject(params))
        rc = OTA_ERR_TYPE;
    if (rc == OTA_OK)
        rc = pj_str(params, "fileToken", out->file_token, sizeof(out->file_token), NULL);
    if (rc == OTA_OK)
        rc = need_int(info, "streamId", &out->stream_id);
    if (rc == OTA_OK)
        rc = need_int(info, "fileId", &out->file_id);
    if (rc == OTA_OK)
        rc = need_int(block, "size", &out->size);
    if (rc == OTA_OK)
        rc = need_int(block, "offset", &out->offset);
    cJSON_Delete(root);
    return rc;
}

int ota_block_request_build(const char *id_text, long long stream_id, long long file_id,
                            long long size, long long offset, char *buf, size_t cap)
{
    cJSON *root = cJSON_CreateObject(), *params, *info, *block;

    if (!root)
        return OTA_ERR_NOMEM;
    cJSON_AddStringToObject(root, "id", id_text ? id_text : "1");
    cJSON_AddStringToObject(root, "version", "1.0");
    params = cJSON_AddObjectToObject(root, "params");
    if (params) {
        cJSON_AddStringToObject(params, "fileToken", "default");
        info = cJSON_AddObjectToObject(params, "fileInfo");
        block = cJSON_AddObjectToObject(params, "fileBlock");
        if (info) {
            pj_add_int(info, "streamId", stream_id);
            pj_add_int(info, "fileId", file_id);
        }
        if (block) {
            pj_add_int(block, "size", size);
            pj_add_int(block, "offset", offset);
        }
    }
    return pj_print_take(root, buf, cap);
}
