/* CRC-16/ARC over the data of one download_reply block (spec section 6.3). */
#include "otaproto/crypto.h"

uint16_t ota_crc16_arc_update(uint16_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

uint16_t ota_crc16_arc(const void *data, size_t len)
{
    return ota_crc16_arc_update(0, data, len);
}
