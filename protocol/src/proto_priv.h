/* Helpers shared by the message modules of libotaproto; not installed. */
#ifndef OTAPROTO_PRIV_H
#define OTAPROTO_PRIV_H

#include <cjson/cJSON.h>

#include "otaproto/base.h"

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
/* Print root unformatted into buf and delete root, in every case. */
int pj_print_take(cJSON *root, char *buf, size_t cap);

#endif
