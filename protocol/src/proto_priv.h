/* Helpers shared by the message modules of libotaproto; not installed. */
#ifndef OTAPROTO_PRIV_H
#define OTAPROTO_PRIV_H

#include <cjson/cJSON.h>

#include "otaproto/base.h"
#include "otaproto/dialect.h"
#include "otaproto/msg.h"

/* Normalise (when needed) and parse; the root must be an object. Caller deletes *root. */
int pj_parse(const char *json, size_t len, cJSON **root, int *normalized);
/* Fill id from root's "id" member, whatever its form. */
void pj_id(const cJSON *root, ota_msg_id *id);
/*
 * Copy the string member key of obj into dst. *present tells whether it was
 * there. OTA_ERR_TYPE when not a string, OTA_ERR_TOO_LONG when it exceeds cap-1.
 */
int pj_str(const cJSON *obj, const char *key, char *dst, size_t cap, int *present);
/* Integer member: OTA_ERR_TYPE when not a number holding an integer. */
int pj_int(const cJSON *obj, const char *key, long long *out, int *present);
/* Add an integer member printed exactly as cJSON would, without its round trip; NULL: no memory. */
cJSON *pj_add_int(cJSON *obj, const char *key, long long v);
/* Print root unformatted into buf and delete root, in every case. */
int pj_print_take(cJSON *root, char *buf, size_t cap);

/* Aliyun's topic templates, shared by topic.c and the dialect table. */
#define PT_ALI_INFORM              "/ota/device/inform/{pk}/{dn}"
#define PT_ALI_UPGRADE             "/ota/device/upgrade/{pk}/{dn}"
#define PT_ALI_PROGRESS            "/ota/device/progress/{pk}/{dn}"
#define PT_ALI_FW_GET              "/sys/{pk}/{dn}/thing/ota/firmware/get"
#define PT_ALI_FW_GET_REPLY        "/sys/{pk}/{dn}/thing/ota/firmware/get_reply"
#define PT_ALI_REQUEST             "/ota/device/request/{pk}/{dn}"
#define PT_ALI_FILE_DOWNLOAD       "/sys/{pk}/{dn}/thing/file/download"
#define PT_ALI_FILE_DOWNLOAD_REPLY "/sys/{pk}/{dn}/thing/file/download_reply"

/*
 * Fill a template's "{pk}" and "{dn}" (wild: with '+'); only the names the
 * template uses are checked. OTA_ERR_ARG for an unusable name, OTA_ERR_SPACE.
 */
int pt_build(const char *tmpl, const char *pk, const char *dn, int wild, char *buf, size_t cap);
/* 1 when topic matches tmpl; fills pk and dn (empty when the template lacks them). */
int pt_match(const char *tmpl, const char *topic, char *pk, char *dn);
/* The step parser and the fields after it, on the object that holds step. */
int pp_progress_fields(const cJSON *obj, ota_progress *out);
/* A progress message whose fields are in `wrapper` ("params"), or at its top level (NULL). */
int pp_progress_parse(const char *json, size_t len, const char *wrapper, ota_progress *out);
/* The push's package fields (strings, then numbers and files[]) from its wrapper object. */
int pu_push_fields(const cJSON *data, ota_push *out);
/* The push's wrapper object `name` ("data", "params") of root: present, an object, not empty. */
int pu_wrapper(cJSON *root, const char *name, cJSON **out);
/* The progress fields step, desc and module into obj. */
void pp_progress_add(cJSON *obj, int step, int step_as_number, const char *desc,
                     const char *module);

/* The params-wrapped push and the bare progress (msg_params.c), for dialects that use them. */
int pd_params_push_parse(const char *json, size_t len, ota_push *out, ota_values *values);
int pd_params_push_build(const ota_push *p, ota_values values, char *buf, size_t cap);
int pd_bare_progress_parse(const char *json, size_t len, ota_progress *out);
int pd_bare_progress_build(int step, int step_as_number, const char *desc, const char *module,
                           char *buf, size_t cap);

#endif
