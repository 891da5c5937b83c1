/*
 * Build and parse the JSON messages of Aliyun OTA: inform, progress, upgrade
 * push and get_reply (both envelopes), firmware/get and the block request.
 * Parsers are lenient only where real SDKs are sloppy (spec section 10) and
 * return a specific ota_err for everything else; they never crash on input.
 * Builders write NUL-terminated JSON into a caller buffer (OTA_ERR_SPACE when
 * it does not fit).
 */
#ifndef OTAPROTO_MSG_H
#define OTAPROTO_MSG_H

#include "otaproto/base.h"
#include "otaproto/crypto.h"

/*
 * The one normalising pass run before cJSON on device JSON: drops a trailing
 * comma before '}' or ']' (4.x block requests) and escapes raw control
 * characters inside strings (3.x desc). Capped at OTA_MAX_PAYLOAD input bytes;
 * out needs 6 * len + 1 bytes at most. *changed tells whether anything was.
 */
int ota_json_normalize(const char *in, size_t len, char *out, size_t cap, int *changed);

/* ---- inform: /ota/device/inform/pk/dn ---- */
typedef struct {
    ota_msg_id id;
    char version[OTA_MAX_VERSION + 1];
    int has_module;
    char module[OTA_MAX_MODULE + 1];
} ota_inform;

/* OTA_ERR_MISSING without params.version; OTA_ERR_TYPE when not a string. */
int ota_inform_parse(const char *json, size_t len, ota_inform *out);
/* id_text NULL: numeric id id_num; module NULL: default module. */
int ota_inform_build(const char *id_text, unsigned long id_num, const char *version,
                     const char *module, char *buf, size_t cap);

/* ---- progress: /ota/device/progress/pk/dn ---- */
typedef struct {
    ota_msg_id id;
    int step;
    int step_is_string; /* 0: a JSON number (a quirk the judge decides on) */
    int has_desc;
    char desc[OTA_MAX_DESC_BYTES + 1]; /* truncated copy */
    size_t desc_chars;                 /* length in code points, untruncated */
    int has_module;
    char module[OTA_MAX_MODULE + 1];
} ota_progress;

/*
 * OTA_ERR_TYPE: step neither a decimal string nor an integer, or desc/module
 * not strings. OTA_ERR_RANGE: step outside -4..100 (out->step is still set).
 */
int ota_progress_parse(const char *json, size_t len, ota_progress *out);
int ota_progress_build(const char *id_text, int step, int step_as_number, const char *desc,
                       const char *module, char *buf, size_t cap);

/* ---- upgrade push and get_reply ---- */
typedef enum { OTA_ENVELOPE_LIVE = 0, OTA_ENVELOPE_DOC, OTA_ENVELOPE__COUNT } ota_envelope;
const char *ota_envelope_name(ota_envelope e);

typedef struct {
    ota_envelope envelope;
    unsigned long long id; /* ms timestamp (live) or a counter (doc) */
    int has_version;
    char version[OTA_MAX_VERSION + 1];
    long long size; /* -1: absent */
    int has_url;
    char url[OTA_MAX_URL + 1];
    int has_sign_method;
    char sign_method[16]; /* as sent, e.g. "Md5" */
    char sign[129];
    char md5[65];
    int has_module;
    char module[OTA_MAX_MODULE + 1];
    int has_dprotocol;
    char dprotocol[16];
    long long stream_id;      /* -1: absent */
    long long stream_file_id; /* -1: absent */
    int file_count;           /* elements of files[]; 0 when absent. Without a top-level url,
                                 url/size/sign/md5 come from the first element's
                                 fileUrl/fileSize/fileSign/fileMd5 */
    int is_diff;              /* isDiff 1: a differential package against the running image */
} ota_push;

/* A push with every optional field absent. */
void ota_push_init(ota_push *p);
/* Writes the envelope with data fields in the live cloud's order; only set fields are written. */
int ota_push_build(const ota_push *p, char *buf, size_t cap);
/* get_reply with no pending job: the envelope around an empty data object. */
int ota_get_reply_empty_build(ota_envelope e, unsigned long long id, char *buf, size_t cap);
/*
 * Parse either envelope. OTA_ERR_MISSING: no data object, or an empty one (no
 * pending job). Missing url/version etc. are reported through the has_ flags;
 * the device decides whether the push is usable.
 */
int ota_push_parse(const char *json, size_t len, ota_push *out);

/* ---- firmware/get ---- */
typedef struct {
    ota_msg_id id;
    int has_params;
    int has_module;
    char module[OTA_MAX_MODULE + 1];
} ota_fw_get;

int ota_fw_get_parse(const char *json, size_t len, ota_fw_get *out);
int ota_fw_get_build(unsigned long id, const char *module, char *buf, size_t cap);

/* ---- block request: /sys/pk/dn/thing/file/download ---- */
typedef struct {
    ota_msg_id id;
    char file_token[64];
    long long stream_id;
    long long file_id;
    long long size;
    long long offset;
    int normalized; /* the normalising pass had to repair it (DL-6) */
} ota_block_request;

/* OTA_ERR_RANGE: negative size or offset; OTA_ERR_MISSING: a required field absent. */
int ota_block_request_parse(const char *json, size_t len, ota_block_request *out);
int ota_block_request_build(const char *id_text, long long stream_id, long long file_id,
                            long long size, long long offset, char *buf, size_t cap);

#endif
