/*
 * Aliyun topic names as a table of templates: "{pk}" and "{dn}" stand for
 * one level each. Building fills them in; parsing matches level by level.
 */
#include <stdio.h>
#include <string.h>

#include "otaproto/topic.h"
#include "proto_priv.h"

static const struct {
    const char *name;
    const char *tmpl;
    const char *filter;
    int uplink;
} topics[OTA_TOPIC__COUNT] = {
    [OTA_TOPIC_INFORM] = {"inform", PT_ALI_INFORM, "/ota/device/inform/+/+", 1},
    [OTA_TOPIC_UPGRADE] = {"upgrade", PT_ALI_UPGRADE, "/ota/device/upgrade/+/+", 0},
    [OTA_TOPIC_PROGRESS] = {"progress", PT_ALI_PROGRESS, "/ota/device/progress/+/+", 1},
    [OTA_TOPIC_FW_GET] = {"firmware/get", PT_ALI_FW_GET, "/sys/+/+/thing/ota/firmware/get", 1},
    [OTA_TOPIC_FW_GET_REPLY] = {"firmware/get_reply", PT_ALI_FW_GET_REPLY,
                                "/sys/+/+/thing/ota/firmware/get_reply", 0},
    [OTA_TOPIC_REQUEST] = {"request", PT_ALI_REQUEST, "/ota/device/request/+/+", 1},
    [OTA_TOPIC_FILE_DOWNLOAD] = {"file/download", PT_ALI_FILE_DOWNLOAD,
                                 "/sys/+/+/thing/file/download", 1},
    [OTA_TOPIC_FILE_DOWNLOAD_REPLY] = {"file/download_reply", PT_ALI_FILE_DOWNLOAD_REPLY,
                                       "/sys/+/+/thing/file/download_reply", 0},
};

const char *ota_topic_kind_name(ota_topic_kind k)
{
    return (unsigned)k < OTA_TOPIC__COUNT ? topics[k].name : "unknown";
}

int ota_topic_is_uplink(ota_topic_kind k)
{
    return (unsigned)k < OTA_TOPIC__COUNT && topics[k].uplink;
}

const char *ota_topic_filter(ota_topic_kind k)
{
    return (unsigned)k < OTA_TOPIC__COUNT ? topics[k].filter : NULL;
}

static int valid_level(const char *s)
{
    return s && *s && strlen(s) <= OTA_MAX_NAME && !strpbrk(s, "/+#");
}

int pt_build(const char *tmpl, const char *pk, const char *dn, int wild, char *buf, size_t cap)
{
    const char *t;
    size_t o = 0;

    for (t = tmpl; *t;) {
        int ph = !strncmp(t, "{pk}", 4) || !strncmp(t, "{dn}", 4);
        const char *part = !ph ? NULL : wild ? "+" : t[1] == 'p' ? pk : dn;
        size_t n;
        if (ph && !wild && !valid_level(part))
            return OTA_ERR_ARG;
        n = part ? strlen(part) : 1;
        if (o + n >= cap)
            return OTA_ERR_SPACE;
        memcpy(buf + o, part ? part : t, n);
        o += n;
        t += part ? 4 : 1;
    }
    buf[o] = '\0';
    return OTA_OK;
}

int ota_topic_build(ota_topic_kind k, const char *pk, const char *dn, char *buf, size_t cap)
{
    if ((unsigned)k >= OTA_TOPIC__COUNT || !valid_level(pk) || !valid_level(dn) || !buf)
        return OTA_ERR_ARG;
    return pt_build(topics[k].tmpl, pk, dn, 0, buf, cap);
}

/* Match topic against one template; fills pk and dn on success. */
int pt_match(const char *tmpl, const char *topic, char *pk, char *dn)
{
    pk[0] = dn[0] = '\0';
    while (*tmpl && *topic) {
        char *dst = !strncmp(tmpl, "{pk}", 4) ? pk : !strncmp(tmpl, "{dn}", 4) ? dn : NULL;
        if (dst) {
            size_t n = strcspn(topic, "/");
            if (n == 0 || n > OTA_MAX_NAME)
                return 0;
            memcpy(dst, topic, n);
            dst[n] = '\0';
            topic += n;
            tmpl += 4;
        } else if (*tmpl++ != *topic++) {
            return 0;
        }
    }
    return !*tmpl && !*topic;
}

int ota_topic_parse(const char *topic, ota_topic_kind *kind, char *pk, char *dn)
{
    if (!topic || !kind || !pk || !dn)
        return OTA_ERR_ARG;
    if (strlen(topic) > OTA_MAX_TOPIC)
        return OTA_ERR_TOO_LONG;
    for (int i = 0; i < OTA_TOPIC__COUNT; i++) {
        if (pt_match(topics[i].tmpl, topic, pk, dn)) {
            *kind = (ota_topic_kind)i;
            return OTA_OK;
        }
    }
    return OTA_ERR_TOPIC;
}
