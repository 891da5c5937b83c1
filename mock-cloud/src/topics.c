/*
 * Uplinks outside OTA: the cloud listens on every device namespace, so the
 * trace (and the daemon's log) shows every topic a device uses, such as the
 * 3.x SDK's /sys/<pk>/<dn>/thing/deviceinfo/update. Such a message is only
 * recorded, never answered, and only for a device in the registry; on a
 * shared broker the rest of the world's traffic is none of our business.
 */
#include <stdio.h>
#include <string.h>

#include "mock_priv.h"

/* The levels of a topic that name the product and the device, by namespace. */
static const struct {
    const char *first; /* the first level; NULL: any */
    int pk, dn;        /* level numbers, the empty level before the first '/' being 0 */
} namespaces[] = {
    {"sys", 2, 3},    /* /sys/pk/dn/... */
    {"ext", 3, 4},    /* /ext/session/pk/dn/..., /ext/ntp/pk/dn/... */
    {"shadow", 3, 4}, /* /shadow/update/pk/dn */
    {"ota", 4, 5},    /* /ota/device/<what>/pk/dn */
    {NULL, 1, 2},     /* /pk/dn/user/... */
};

/* Copy level `n` of the topic into out; 0 when there is no such level or it does not fit. */
static int level(const char *topic, int n, char *out, size_t cap)
{
    const char *p = topic;
    size_t len;

    for (int i = 0; i < n; i++) {
        p = strchr(p, '/');
        if (!p)
            return 0;
        p++;
    }
    len = strcspn(p, "/");
    if (!len || len >= cap)
        return 0;
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
}

static int topic_device(const char *topic, char *pk, char *dn)
{
    char first[16];

    if (topic[0] != '/')
        return 0;
    if (!level(topic, 1, first, sizeof(first)))
        first[0] = '\0';
    for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
        if (namespaces[i].first && strcmp(namespaces[i].first, first))
            continue;
        return level(topic, namespaces[i].pk, pk, OTA_MAX_NAME + 1) &&
               level(topic, namespaces[i].dn, dn, OTA_MAX_NAME + 1);
    }
    return 0;
}

void mc_cloud_on_other_topic(mc_cloud *c, const char *topic, const void *payload, size_t len)
{
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    int known;

    if (!topic_device(topic, pk, dn))
        return;
    mc_cloud_lock(c);
    known = mc_registry_find(c, pk, dn) != NULL;
    mc_cloud_unlock(c);
    if (known)
        mc_trace_add(c, OTA_TR_MQTT_IN, dn, topic, payload, len, NULL);
}
