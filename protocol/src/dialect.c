/*
 * The dialect tables and the functions that build, parse and judge through
 * them. Aliyun's entry reproduces topic.c, msg_upgrade.c and msg_progress.c
 * exactly; the others differ only in what their table says.
 */
#include <string.h>

#include "otaproto/dialect.h"
#include "proto_priv.h"

static const ota_dialect dialects[OTA_DIALECT__COUNT] = {
    [OTA_DIALECT_ALIYUN] =
        {
            .name = "aliyun",
            .title = "Aliyun IoT Platform OTA",
            .topics =
                {
                    [OTA_TOPIC_INFORM] = PT_ALI_INFORM,
                    [OTA_TOPIC_UPGRADE] = PT_ALI_UPGRADE,
                    [OTA_TOPIC_PROGRESS] = PT_ALI_PROGRESS,
                    [OTA_TOPIC_FW_GET] = PT_ALI_FW_GET,
                    [OTA_TOPIC_FW_GET_REPLY] = PT_ALI_FW_GET_REPLY,
                    [OTA_TOPIC_REQUEST] = PT_ALI_REQUEST,
                    [OTA_TOPIC_FILE_DOWNLOAD] = PT_ALI_FILE_DOWNLOAD,
                    [OTA_TOPIC_FILE_DOWNLOAD_REPLY] = PT_ALI_FILE_DOWNLOAD_REPLY,
                },
            .push_key = "data",
            .progress_wrapped = 1,
            .ident = OTA_IDENT_TOPIC,
            .auth = OTA_AUTH_SIGNED,
            .success = OTA_SUCCESS_INFORM_VERSION,
        },
    /* thingspanel-ota.md: v1.x docs for the push topic, the stock server's typo as alternate. */
    [OTA_DIALECT_THINGSPANEL] =
        {
            .name = "thingspanel",
            .title = "ThingsPanel OTA (v1.x)",
            .topics =
                {
                    [OTA_TOPIC_UPGRADE] = "ota/devices/inform/{dn}",
                    [OTA_TOPIC_PROGRESS] = "ota/devices/progress",
                },
            .push_alt = "ota/devices/infrom/{dn}",
            .push_key = "params",
            .progress_wrapped = 0,
            .size_zero_unknown = 1,
            .sign_empty_skips = 1,
            .module_ignored = 1,
            .ident = OTA_IDENT_CONNECTION,
            .auth = OTA_AUTH_TOKEN,
            .success = OTA_SUCCESS_STEP_100,
        },
};

static const char *const values_names[OTA_VALUES__COUNT] = {"code", "doc"};
static const char *const push_on_names[OTA_PUSH_ON__COUNT] = {"both", "inform", "infrom"};

const ota_dialect *ota_dialect_get(ota_dialect_id id)
{
    return (unsigned)id < OTA_DIALECT__COUNT ? &dialects[id] : NULL;
}

const ota_dialect *ota_dialect_find(const char *name)
{
    if (!name || !*name)
        return &dialects[OTA_DIALECT_ALIYUN];
    for (int i = 0; i < OTA_DIALECT__COUNT; i++)
        if (!strcmp(dialects[i].name, name))
            return &dialects[i];
    return NULL;
}

const char *ota_dialect_name(const ota_dialect *d)
{
    return d ? d->name : dialects[OTA_DIALECT_ALIYUN].name;
}

int ota_dialect_has(const ota_dialect *d, ota_topic_kind k)
{
    return d && (unsigned)k < OTA_TOPIC__COUNT && d->topics[k] != NULL;
}

static int name_lookup(const char *const *names, int count, const char *name, int *out)
{
    for (int i = 0; name && i < count; i++) {
        if (!strcmp(names[i], name)) {
            *out = i;
            return OTA_OK;
        }
    }
    return OTA_ERR_ARG;
}

const char *ota_values_name(ota_values v)
{
    return (unsigned)v < OTA_VALUES__COUNT ? values_names[v] : "unknown";
}

int ota_values_from_name(const char *name, ota_values *out)
{
    int i = 0, rc = name_lookup(values_names, OTA_VALUES__COUNT, name, &i);

    if (rc == OTA_OK)
        *out = (ota_values)i;
    return rc;
}

const char *ota_push_on_name(ota_push_on p)
{
    return (unsigned)p < OTA_PUSH_ON__COUNT ? push_on_names[p] : "unknown";
}

int ota_push_on_from_name(const char *name, ota_push_on *out)
{
    int i = 0, rc = name_lookup(push_on_names, OTA_PUSH_ON__COUNT, name, &i);

    if (rc == OTA_OK)
        *out = (ota_push_on)i;
    return rc;
}

static const char *template_of(const ota_dialect *d, ota_topic_kind k, int alt)
{
    if (!ota_dialect_has(d, k))
        return NULL;
    if (!alt)
        return d->topics[k];
    return k == OTA_TOPIC_UPGRADE ? d->push_alt : NULL;
}

int ota_dialect_topic_build(const ota_dialect *d, ota_topic_kind k, int alt, const char *pk,
                            const char *dn, char *buf, size_t cap)
{
    const char *t = template_of(d, k, alt);

    if (!buf || !d)
        return OTA_ERR_ARG;
    return t ? pt_build(t, pk, dn, 0, buf, cap) : OTA_ERR_TOPIC;
}

int ota_dialect_topic_filter(const ota_dialect *d, ota_topic_kind k, int alt, char *buf, size_t cap)
{
    const char *t = template_of(d, k, alt);

    if (!buf || !d)
        return OTA_ERR_ARG;
    return t ? pt_build(t, NULL, NULL, 1, buf, cap) : OTA_ERR_TOPIC;
}

int ota_dialect_topic_parse(const ota_dialect *d, const char *topic, ota_topic_kind *kind, char *pk,
                            char *dn, int *alt)
{
    if (!d || !topic || !kind || !pk || !dn)
        return OTA_ERR_ARG;
    if (strlen(topic) > OTA_MAX_TOPIC)
        return OTA_ERR_TOO_LONG;
    for (int i = 0; i < OTA_TOPIC__COUNT; i++) {
        for (int a = 0; a < 2; a++) {
            const char *t = template_of(d, (ota_topic_kind)i, a);
            if (t && pt_match(t, topic, pk, dn)) {
                *kind = (ota_topic_kind)i;
                if (alt)
                    *alt = a;
                return OTA_OK;
            }
        }
    }
    return OTA_ERR_TOPIC;
}

int ota_dialect_push_build(const ota_dialect *d, const ota_push *p, ota_values values, char *buf,
                           size_t cap)
{
    if (!d || !strcmp(d->push_key, "data"))
        return ota_push_build(p, buf, cap);
    return pd_params_push_build(p, values, buf, cap);
}

int ota_dialect_push_parse(const ota_dialect *d, const char *json, size_t len, ota_push *out,
                           ota_values *values)
{
    if (!d || !strcmp(d->push_key, "data")) {
        if (values)
            *values = OTA_VALUES_CODE;
        return ota_push_parse(json, len, out);
    }
    return pd_params_push_parse(json, len, out, values);
}

int ota_dialect_progress_build(const ota_dialect *d, const char *id_text, int step,
                               int step_as_number, const char *desc, const char *module, char *buf,
                               size_t cap)
{
    if (!d || d->progress_wrapped)
        return ota_progress_build(id_text, step, step_as_number, desc, module, buf, cap);
    return pd_bare_progress_build(step, step_as_number, desc, module, buf, cap);
}

int ota_dialect_progress_parse(const ota_dialect *d, const char *json, size_t len,
                               ota_progress *out)
{
    if (!d || d->progress_wrapped)
        return ota_progress_parse(json, len, out);
    return pd_bare_progress_parse(json, len, out);
}

int ota_dialect_upgrade_succeeded(const ota_dialect *d, int last_step, const char *reported,
                                  const char *target)
{
    if (d && d->success == OTA_SUCCESS_STEP_100)
        return last_step == 100;
    return reported && target && !strcmp(reported, target);
}
