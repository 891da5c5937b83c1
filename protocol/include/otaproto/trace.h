/*
 * The trace record: one JSON line per event (a message in or out, an HTTP
 * request, a fault, a device log line, a test boundary). Encoding and
 * decoding only; the mock cloud owns the file.
 */
#ifndef OTAPROTO_TRACE_H
#define OTAPROTO_TRACE_H

#include "otaproto/base.h"

typedef enum {
    OTA_TR_MQTT_IN = 0, /* device -> cloud */
    OTA_TR_MQTT_OUT,    /* cloud -> device */
    OTA_TR_HTTP,        /* one HTTP request served */
    OTA_TR_FAULT,       /* a fault the mock injected */
    OTA_TR_LOG,         /* a device log line */
    OTA_TR_DUT,         /* device start, exit, crash, ready */
    OTA_TR_TEST,        /* test begin and end */
    OTA_TR_CLOUD,       /* job state changes and cloud notes */
    OTA_TR_ERROR,       /* bad input the cloud refused (or the broker: logins, topics) */
    OTA_TR_BROKER,      /* what the broker plugin saw: connects, disconnects, kicks */
    OTA_TR__COUNT
} ota_trace_kind;

const char *ota_trace_kind_name(ota_trace_kind k);
int ota_trace_kind_parse(const char *s, ota_trace_kind *out);

#define OTA_TRACE_MAX_INFO 512

typedef struct {
    double t; /* seconds on the run's monotonic clock */
    ota_trace_kind kind;
    char dev[OTA_MAX_NAME + 1];
    char topic[OTA_MAX_TOPIC + 1];
    char info[OTA_TRACE_MAX_INFO + 1];
    unsigned char *payload; /* heap, NUL-terminated for convenience; NULL when none */
    size_t payload_len;
    int binary; /* payload stored as hex in the line */
} ota_trace_rec;

/* One line without the newline; *line_out is heap memory the caller frees. */
int ota_trace_encode(const ota_trace_rec *r, char **line_out);
/* Decode one line; the record's payload is heap memory freed by ota_trace_rec_clear. */
int ota_trace_decode(const char *line, size_t len, ota_trace_rec *out);
void ota_trace_rec_clear(ota_trace_rec *r);

#endif
