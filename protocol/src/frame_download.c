/*
 * The download_reply frame (spec section 6.3): uint16 big-endian header
 * length, the JSON header, the data, and the CRC-16/ARC of the data only,
 * little-endian. Total 2 + L + B + 2 bytes.
 */
#include <stdio.h>
#include <string.h>

#include "otaproto/crypto.h"
#include "otaproto/frame.h"
#include "proto_priv.h"

size_t ota_frame_size(size_t header_len, size_t data_len)
{
    return 2 + header_len + data_len + 2;
}

int ota_frame_encode(const char *header, size_t header_len, const void *data, size_t data_len,
                     uint8_t *out, size_t cap, size_t *out_len)
{
    uint16_t crc;

    if (!header || !out || !out_len || (data_len && !data))
        return OTA_ERR_ARG;
    if (header_len > 0xFFFF || header_len > OTA_MAX_FRAME_HEADER)
        return OTA_ERR_TOO_LONG;
    if (cap < ota_frame_size(header_len, data_len))
        return OTA_ERR_SPACE;
    out[0] = (uint8_t)(header_len >> 8);
    out[1] = (uint8_t)(header_len & 0xFF);
    memcpy(out + 2, header, header_len);
    if (data_len)
        memcpy(out + 2 + header_len, data, data_len);
    crc = ota_crc16_arc(data, data_len);
    out[2 + header_len + data_len] = (uint8_t)(crc & 0xFF);
    out[3 + header_len + data_len] = (uint8_t)(crc >> 8);
    *out_len = ota_frame_size(header_len, data_len);
    return OTA_OK;
}

int ota_frame_decode(const uint8_t *buf, size_t len, ota_frame *f)
{
    size_t hl;

    if (!buf || !f)
        return OTA_ERR_ARG;
    memset(f, 0, sizeof(*f));
    if (len < 4)
        return OTA_ERR_FRAME;
    hl = ((size_t)buf[0] << 8) | buf[1];
    if (hl == 0 || hl > OTA_MAX_FRAME_HEADER || 2 + hl + 2 > len)
        return OTA_ERR_FRAME;
    f->header = (const char *)buf + 2;
    f->header_len = hl;
    f->data = buf + 2 + hl;
    f->data_len = len - 4 - hl;
    f->crc_sent = (uint16_t)(buf[len - 2] | (buf[len - 1] << 8));
    f->crc_ok = f->crc_sent == ota_crc16_arc(f->data, f->data_len);
    return OTA_OK;
}

int ota_block_header_build(const ota_block_header *h, char *buf, size_t cap)
{
    cJSON *root = cJSON_CreateObject(), *data;

    if (!root)
        return OTA_ERR_NOMEM;
    cJSON_AddStringToObject(root, "id", h->id);
    pj_add_int(root, "code", h->code);
    cJSON_AddStringToObject(root, "msg", h->msg);
    data = cJSON_AddObjectToObject(root, "data");
    if (data) {
        cJSON_AddStringToObject(data, "fileToken", h->file_token);
        pj_add_int(data, "fileLength", h->file_length);
        pj_add_int(data, "bSize", h->b_size);
        pj_add_int(data, "bOffset", h->b_offset);
    }
    return pj_print_take(root, buf, cap);
}

int ota_block_header_parse(const char *json, size_t len, ota_block_header *out)
{
    cJSON *root = NULL;
    const cJSON *data;
    long long code = 0;
    int rc, present = 0;

    if (!out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof(*out));
    rc = pj_parse(json, len, &root, NULL);
    if (rc != OTA_OK)
        return rc;
    rc = pj_int(root, "code", &code, &present);
    if (rc == OTA_OK && !present)
        rc = OTA_ERR_MISSING;
    out->code = (int)code;
    if (rc == OTA_OK)
        rc = pj_str(root, "msg", out->msg, sizeof(out->msg), NULL);
    if (rc == OTA_OK)
        rc = pj_str(root, "id", out->id, sizeof(out->id), NULL);
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (rc == OTA_OK && code == 200 && !cJSON_IsObject(data))
        rc = data ? OTA_ERR_TYPE : OTA_ERR_MISSING;
    if (rc == OTA_OK && data) {
        rc = pj_str(data, "fileToken", out->file_token, sizeof(out->file_token), NULL);
        if (rc == OTA_OK)
            rc = pj_int(data, "fileLength", &out->file_length, NULL);
        if (rc == OTA_OK)
            rc = pj_int(data, "bSize", &out->b_size, NULL);
        if (rc == OTA_OK)
            rc = pj_int(data, "bOffset", &out->b_offset, NULL);
    }
    cJSON_Delete(root);
    return rc;
}
