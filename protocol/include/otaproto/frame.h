/*
 * The binary download_reply frame of MQTT block download: BE16 header
 * length, JSON header, data, LE16 CRC-16/ARC of the data. Encoding and
 * decoding only; what a block should contain is the mock cloud's business.
 */
#ifndef OTAPROTO_FRAME_H
#define OTAPROTO_FRAME_H

#include "otaproto/base.h"

typedef struct {
    const char *header; /* points into the frame, not NUL-terminated */
    size_t header_len;
    const uint8_t *data; /* points into the frame */
    size_t data_len;
    uint16_t crc_sent; /* read little-endian */
    int crc_ok;        /* crc_sent equals CRC-16/ARC of the data */
} ota_frame;

/* Total bytes a frame of this header and data takes. */
size_t ota_frame_size(size_t header_len, size_t data_len);
/* Encode into out (cap bytes); *out_len gets the frame length. */
int ota_frame_encode(const char *header, size_t header_len, const void *data, size_t data_len,
                     uint8_t *out, size_t cap, size_t *out_len);
/*
 * Decode a frame. The data length is whatever lies between header and CRC.
 * OTA_ERR_FRAME when the lengths do not add up or the header exceeds
 * OTA_MAX_FRAME_HEADER. f points into buf afterwards.
 */
int ota_frame_decode(const uint8_t *buf, size_t len, ota_frame *f);

typedef struct {
    char id[32];
    int code;
    char msg[128];
    char file_token[64];
    long long file_length;
    long long b_size;
    long long b_offset;
} ota_block_header;

int ota_block_header_build(const ota_block_header *h, char *buf, size_t cap);
int ota_block_header_parse(const char *json, size_t len, ota_block_header *out);

#endif
