/* The inform message: a device reports the version of one module. */
#include <stdio.h>
#include <string.h>

#include "otaproto/msg.h"
#include "proto_priv.h"

int ota_inform_parse(const char *json, size_t len, ota_inform *out)
{
    cJSON *root = NULL;
    const cJSON *params;
    int rc, present = 0;

    if (!out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof(*out));
    rc = pj_parse(json, len, &root, NULL);
    if (rc != OTA_OK)
        return rc;
    pj_id(root, &out->id);
    params = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (!params)
        rc = OTA_ERR_MISSING;
    else if (!cJSON_IsObject(params))
        rc = OTA_ERR_TYPE;
    else
        rc = pj_str(params, "version", out->version, sizeof(out->version), &present);
    if (rc == OTA_OK && !present)
        rc = OTA_ERR_MISSING;
    if (rc == OTA_OK)
        rc = pj_str(params, "module", out->module, sizeof(out->module), &out->has_module);
    cJSON_Delete(root);
    return rc;
}

int ota_inform_build(const char *id_text, unsigned long id_num, const char *version,
                     const char *module, char *buf, size_t cap)
{
    cJSON *root, *params;

    if (!version || !buf)
        return OTA_ERR_ARG;
    root = cJSON_CreateObject();
    if (!root)
        return OTA_ERR_NOMEM;
    if (id_text)
        cJSON_AddStringToObject(root, "id", id_text);
    else
        cJSON_AddNumberToObject(root, "id", (double)id_num);
    params = cJSON_AddObjectToObject(root, "params");
    if (params) {
        cJSON_AddStringToObject(params, "version", version);
        if (module)
            cJSON_AddStringToObject(params, "module", module);
    }
    return pj_print_take(root, buf, cap);
}
