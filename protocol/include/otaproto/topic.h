/*
 * Aliyun topic names: build one for a device, parse one back into its kind,
 * productKey and deviceName, and the wildcard filter the cloud subscribes to.
 */
#ifndef OTAPROTO_TOPIC_H
#define OTAPROTO_TOPIC_H

#include "otaproto/base.h"

typedef enum {
    OTA_TOPIC_INFORM = 0,          /* device -> cloud */
    OTA_TOPIC_UPGRADE,             /* cloud -> device */
    OTA_TOPIC_PROGRESS,            /* device -> cloud */
    OTA_TOPIC_FW_GET,              /* device -> cloud */
    OTA_TOPIC_FW_GET_REPLY,        /* cloud -> device */
    OTA_TOPIC_REQUEST,             /* legacy 3.x, both directions */
    OTA_TOPIC_FILE_DOWNLOAD,       /* device -> cloud */
    OTA_TOPIC_FILE_DOWNLOAD_REPLY, /* cloud -> device */
    OTA_TOPIC__COUNT
} ota_topic_kind;

const char *ota_topic_kind_name(ota_topic_kind k);
/* 1 when the device publishes this topic, 0 when the cloud does. */
int ota_topic_is_uplink(ota_topic_kind k);
/* Writes the topic; OTA_ERR_ARG for empty names or names holding '/', '+' or '#'. */
int ota_topic_build(ota_topic_kind k, const char *pk, const char *dn, char *buf, size_t cap);
/* The topic with '+' for productKey and deviceName. */
const char *ota_topic_filter(ota_topic_kind k);
/* OTA_ERR_TOPIC when it is none of ours; pk and dn need OTA_MAX_NAME + 1 bytes. */
int ota_topic_parse(const char *topic, ota_topic_kind *kind, char *pk, char *dn);

#endif
