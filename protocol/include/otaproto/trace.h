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

/*
 * What a record says happened, for code to decide on; `info` is the same in
 * words, for people. Messages and plain notes are OTA_EV_NONE. The broker
 * events carry the names the otaauth plugin sends.
 */
typedef enum {
    OTA_EV_NONE = 0,
    /* the device, from its adapter (OTA_TR_DUT) */
    OTA_EV_START,
    OTA_EV_READY,
    OTA_EV_DUT_EVENT, /* another event line of the device */
    OTA_EV_EXIT,
    OTA_EV_KILLED,
    OTA_EV_CRASH,
    /* the broker (OTA_TR_BROKER; refusals OTA_TR_ERROR) */
    OTA_EV_CONNECT,
    OTA_EV_DISCONNECT,
    OTA_EV_KICK,
    OTA_EV_UNDELIVERED,
    OTA_EV_DROPPED,
    OTA_EV_DELAYED,
    OTA_EV_AUTH_REFUSED,
    OTA_EV_ACL_DENIED,
    OTA_EV_CLOUD_DISCONNECT,
    OTA_EV_CONTROL_REFUSED,
    /* the cloud */
    OTA_EV_FAULT,          /* a fault applied (OTA_TR_FAULT; `fault` names its kind) */
    OTA_EV_BLOCK_FAULT,    /* a fault applied to one block reply (`fault`, `offset`) */
    OTA_EV_SESSION_KICK,   /* the cloud told the broker to drop the device (a kick) */
    OTA_EV_BROKER_RESTART, /* the cloud stops its broker for a while */
    OTA_EV_HTTP_GET,       /* a download request (`offset`: its Range start) */
    OTA_EV_HTTP_HEAD,
    OTA_EV_HTTP_DONE,    /* a response sent whole (`status`, bytes `offset`..`last`) */
    OTA_EV_HTTP_ABORTED, /* a response cut short (the same fields) */
    OTA_EV_URI_REFUSED,  /* a download whose path or query differs from the pushed URL */
    OTA_EV_REPEATED,     /* a count of records not kept (`of`, `count`) */
    /* the runner */
    OTA_EV_LATE,         /* a record of an earlier test's job: shown, not judged */
    OTA_EV_INCONCLUSIVE, /* a situation the test could not create */
    OTA_EV_RUN_BEGIN,
    OTA_EV_RUN_END,
    OTA_EV_TEST_BEGIN,
    OTA_EV_TEST_END,
    /* the broker again (OTA_TR_BROKER): a subscription it granted, the filter in `info` */
    OTA_EV_SUBSCRIBE,
    OTA_EV__COUNT
} ota_trace_event;

const char *ota_trace_event_name(ota_trace_event e);
/* OTA_ERR_RANGE for a name no event has. */
int ota_trace_event_parse(const char *s, ota_trace_event *out);

#define OTA_TRACE_MAX_INFO  512
#define OTA_TRACE_MAX_FAULT 31

typedef struct {
    double t; /* seconds on the run's monotonic clock */
    ota_trace_kind kind;
    char dev[OTA_MAX_NAME + 1];
    char topic[OTA_MAX_TOPIC + 1];
    char info[OTA_TRACE_MAX_INFO + 1];
    unsigned char *payload; /* heap, NUL-terminated for convenience; NULL when none */
    size_t payload_len;
    int binary; /* payload stored as hex in the line */
    ota_trace_event event;
    /* Event fields, written to the line only for the events that have them. */
    char *client;                        /* broker events: the clientId (heap); NULL: none */
    char fault[OTA_TRACE_MAX_FAULT + 1]; /* FAULT, BLOCK_FAULT: the fault kind's name */
    long long offset;   /* FAULT: the file offset it hit; HTTP: Range start, first byte; -1: none */
    long long last;     /* HTTP_DONE, HTTP_ABORTED: the last byte sent */
    int status;         /* HTTP_DONE, HTTP_ABORTED: the status */
    ota_trace_event of; /* REPEATED: the event of the records counted */
    long count;         /* REPEATED: how many were not kept */
    /*
     * Part of the payload held by reference, not copied (the mock cloud's
     * block replies: the image bytes a frame carries). The message as sent
     * is payload[0..ref_at), then the ref_len bytes ref_read(ref_key,
     * ref_off, buf, ref_len) writes, then payload[ref_at..payload_len).
     * ref_len 0: payload is the whole message. ota_trace_encode writes the
     * whole message, so the line is the same either way; a record decoded
     * from a line holds it whole.
     */
    size_t ref_at, ref_len;
    long long ref_off;
    unsigned long long ref_key; /* names the source to ref_read */
    void (*ref_read)(unsigned long long key, long long off, void *buf, size_t n);
    /*
     * Bytes of the record's text (payload, info, topic, device, client,
     * fault) that were not valid UTF-8: ota_trace_encode writes each as
     * U+FFFD and counts them in "bad_utf8"; decoding reads the count back.
     */
    long bad_utf8;
} ota_trace_rec;

/* The size of the message as sent: payload_len plus the bytes held by reference. */
size_t ota_trace_payload_size(const ota_trace_rec *r);
/*
 * The message as sent, whole (heap, *len bytes plus a NUL the caller frees);
 * OTA_ERR_NOMEM when out of memory. A record without a payload gives NULL and 0.
 */
int ota_trace_payload_take(const ota_trace_rec *r, unsigned char **out, size_t *len);
/*
 * A deep copy of src into dst: its own payload (held by reference as in
 * src) and client; cleared with ota_trace_rec_clear. OTA_ERR_NOMEM, dst empty.
 */
int ota_trace_rec_copy(const ota_trace_rec *src, ota_trace_rec *dst);

/* One line without the newline; *line_out is heap memory the caller frees. */
int ota_trace_encode(const ota_trace_rec *r, char **line_out);
/*
 * Decode one line; the record's payload and client are heap memory freed by
 * ota_trace_rec_clear. A line without "event" is OTA_EV_NONE.
 */
int ota_trace_decode(const char *line, size_t len, ota_trace_rec *out);
void ota_trace_rec_clear(ota_trace_rec *r);
/* Give r a copy of the clientId cid (NULL or "": none); OTA_ERR_NOMEM when out of memory. */
int ota_trace_set_client(ota_trace_rec *r, const char *cid);

#endif
