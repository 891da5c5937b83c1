/* Error names and messages of libotaproto, and the id helpers. */
#include "otaproto/base.h"

static const struct {
    const char *name;
    const char *text;
} errors[OTA_ERR__COUNT] = {
    [OTA_OK] = {"OTA_OK", "success"},
    [OTA_ERR_ARG] = {"OTA_ERR_ARG", "invalid argument"},
    [OTA_ERR_JSON] = {"OTA_ERR_JSON", "malformed JSON or not an object"},
    [OTA_ERR_MISSING] = {"OTA_ERR_MISSING", "required field missing"},
    [OTA_ERR_TYPE] = {"OTA_ERR_TYPE", "field has the wrong type"},
    [OTA_ERR_RANGE] = {"OTA_ERR_RANGE", "value out of range"},
    [OTA_ERR_TOO_LONG] = {"OTA_ERR_TOO_LONG", "input or field too long"},
    [OTA_ERR_FRAME] = {"OTA_ERR_FRAME", "frame lengths inconsistent"},
    [OTA_ERR_TOPIC] = {"OTA_ERR_TOPIC", "not a topic of this dialect"},
    [OTA_ERR_SIGN] = {"OTA_ERR_SIGN", "login signature does not verify"},
    [OTA_ERR_CRYPTO] = {"OTA_ERR_CRYPTO", "cryptographic operation failed"},
    [OTA_ERR_NOMEM] = {"OTA_ERR_NOMEM", "out of memory"},
    [OTA_ERR_SPACE] = {"OTA_ERR_SPACE", "output buffer too small"},
};

const char *ota_strerror(int rc)
{
    if (rc < 0 || rc >= OTA_ERR__COUNT)
        return "unknown error";
    return errors[rc].text;
}

const char *ota_err_name(int rc)
{
    if (rc < 0 || rc >= OTA_ERR__COUNT)
        return "OTA_ERR_UNKNOWN";
    return errors[rc].name;
}

const char *ota_id_kind_name(ota_id_kind k)
{
    static const char *const names[] = {"absent", "number", "string", "other"};
    if ((unsigned)k >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[k];
}
