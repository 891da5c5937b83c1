/* firmware/get: a device asks whether an upgrade is pending for a module. */
#include <string.h>

#include "otaproto/msg.h"
#include "proto_priv.h"

int ota_fw_get_parse(const char *json, size_t len, ota_fw_get *out)
{
    cJSON *root = NULL;
    const cJSON *params;
    int rc;

    if (!out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof(*out));
    rc = pj_parse(json, len, &root, NULL);
    if (rc != OTA_OK)
        return rc;
    pj_id(root, &out->id);
    params = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (params && !cJSON_IsObject(params))
        rc = OTA_ERR_TYPE;
    else if (params)
        out->has_params = 1;
    if (rc == OTA_OK && params)
        rc = pj_str(params, "module", out->module, sizeof(out->module), &out->has_module);
    cJSON_Delete(root);
    return rc;
}

int ota_fw_get_build(unsigned long id, const char *module, char *buf, size_t cap)
{
    cJSON *root = cJSON_CreateObject(), *params;

    if (!root)
        return OTA_ERR_NOMEM;
    cJSON_AddNumberToObject(root, "id", (double)id);
    params = cJSON_AddObjectToObject(root, "params");
    if (params && module)
        cJSON_AddStringToObject(params, "module", module);
    return pj_print_take(root, buf, cap);
}
