/*
 * cJSON helpers for the message modules, and the one normalising pass that
 * repairs what real SDKs send (trailing commas, raw control characters).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otaproto/msg.h"
#include "proto_priv.h"

/* Is the next non-blank character after position i a closing bracket? */
static int closes_next(const char *s, size_t i, size_t len)
{
    for (; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        return c == '}' || c == ']';
    }
    return 0;
}

/*
 * A single pass with a two-state scanner (inside a string or not). Outside
 * strings a comma followed only by blanks and a closing bracket is dropped;
 * inside strings control characters below 0x20 become \u00XX escapes.
 */
int ota_json_normalize(const char *in, size_t len, char *out, size_t cap, int *changed)
{
    size_t o = 0;
    int in_str = 0, esc = 0;

    if (!in || !out || !changed)
        return OTA_ERR_ARG;
    if (len > OTA_MAX_PAYLOAD)
        return OTA_ERR_TOO_LONG;
    if (cap == 0)
        return OTA_ERR_SPACE; /* not even room for the terminator of an empty input */
    *changed = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (in_str) {
            if (esc) {
                esc = 0;
            } else if (c == '\\') {
                esc = 1;
            } else if (c == '"') {
                in_str = 0;
            } else if (c < 0x20) {
                if (o + 6 >= cap)
                    return OTA_ERR_SPACE;
                snprintf(out + o, cap - o, "\\u%04x", c);
                o += 6;
                *changed = 1;
                continue;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ',' && closes_next(in, i + 1, len)) {
            *changed = 1;
            continue;
        }
        if (o + 1 >= cap)
            return OTA_ERR_SPACE;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return OTA_OK;
}

int pj_parse(const char *json, size_t len, cJSON **root, int *normalized)
{
    char *buf;
    int rc, changed = 0;

    *root = NULL;
    if (normalized)
        *normalized = 0;
    if (!json)
        return OTA_ERR_ARG;
    if (len > OTA_MAX_PAYLOAD)
        return OTA_ERR_TOO_LONG;
    buf = malloc(6 * len + 1);
    if (!buf)
        return OTA_ERR_NOMEM;
    rc = ota_json_normalize(json, len, buf, 6 * len + 1, &changed);
    if (rc == OTA_OK) {
        *root = cJSON_Parse(buf);
        if (!*root || !cJSON_IsObject(*root)) {
            cJSON_Delete(*root);
            *root = NULL;
            rc = OTA_ERR_JSON;
        }
    }
    free(buf);
    if (normalized)
        *normalized = changed;
    return rc;
}

static int digits_only(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

void pj_id(const cJSON *root, ota_msg_id *id)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, "id");

    memset(id, 0, sizeof(*id));
    if (!j) {
        id->kind = OTA_ID_ABSENT;
    } else if (cJSON_IsString(j)) {
        id->kind = OTA_ID_STRING;
        snprintf(id->text, sizeof(id->text), "%s", j->valuestring);
        if (digits_only(j->valuestring) && strlen(j->valuestring) <= 10) {
            id->value = strtoull(j->valuestring, NULL, 10);
            id->valid = id->value <= OTA_ID_MAX_VALUE;
        }
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        id->kind = OTA_ID_NUMBER;
        snprintf(id->text, sizeof(id->text), "%.17g", d);
        if (d >= 0 && d <= (double)OTA_ID_MAX_VALUE && floor(d) == d) {
            id->value = (unsigned long long)d;
            id->valid = 1;
        }
    } else {
        id->kind = OTA_ID_OTHER;
    }
}

int pj_str(const cJSON *obj, const char *key, char *dst, size_t cap, int *present)
{
    const cJSON *j = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

    if (present)
        *present = 0;
    if (cap)
        dst[0] = '\0';
    if (!j)
        return OTA_OK;
    if (!cJSON_IsString(j))
        return OTA_ERR_TYPE;
    if (strlen(j->valuestring) >= cap)
        return OTA_ERR_TOO_LONG;
    memcpy(dst, j->valuestring, strlen(j->valuestring) + 1);
    if (present)
        *present = 1;
    return OTA_OK;
}

int pj_int(const cJSON *obj, const char *key, long long *out, int *present)
{
    const cJSON *j = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    double d;

    if (present)
        *present = 0;
    if (!j)
        return OTA_OK;
    if (!cJSON_IsNumber(j))
        return OTA_ERR_TYPE;
    d = j->valuedouble;
    if (floor(d) != d || d > 9007199254740992.0 || d < -9007199254740992.0)
        return OTA_ERR_TYPE;
    *out = (long long)d;
    if (present)
        *present = 1;
    return OTA_OK;
}

/*
 * cJSON prints every number with "%1.15g" and reads it back to check it;
 * an integer under 10^15 prints the same digits as "%lld", which a block
 * download's messages print thousands of times a second, so it goes in as
 * raw text.
 */
cJSON *pj_add_int(cJSON *obj, const char *key, long long v)
{
    char text[24];

    if (v <= -1000000000000000LL || v >= 1000000000000000LL)
        return cJSON_AddNumberToObject(obj, key, (double)v);
    snprintf(text, sizeof(text), "%lld", v);
    return cJSON_AddRawToObject(obj, key, text);
}

int pj_print_take(cJSON *root, char *buf, size_t cap)
{
    char *s;
    int rc = OTA_OK;

    if (!root)
        return OTA_ERR_NOMEM;
    /* Straight into buf; cJSON may want up to 5 bytes more than it writes: then as before. */
    if (cap <= INT_MAX && cJSON_PrintPreallocated(root, buf, (int)cap, 0)) {
        cJSON_Delete(root);
        return OTA_OK;
    }
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return OTA_ERR_NOMEM;
    if (strlen(s) >= cap)
        rc = OTA_ERR_SPACE;
    else
        memcpy(buf, s, strlen(s) + 1);
    cJSON_free(s);
    return rc;
}
