/*
 * Deterministic firmware images: byte i of the image of seed s is
 * (31 i + 7 + s) mod 251. An image is its size and seed, never held in
 * memory: any slice is written on demand (a file server read, a block reply,
 * the trace writing a block it kept by reference), so a job costs no memory
 * for its image, open or finished.
 */
#include <pthread.h>
#include <string.h>

#include "mock_priv.h"

#define PERIOD 251
/* 31 * 81 = 2511 = 10 * 251 + 1: byte i of seed s is pattern[(i + 81 s) mod 251]. */
#define INV31 81
/* The pattern repeated a whole number of periods: a slice goes out in a few memcpy calls. */
#define REPEATS 64

static unsigned char pattern[PERIOD * REPEATS];
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void pattern_init(void)
{
    for (size_t k = 0; k < sizeof(pattern); k++)
        pattern[k] = (unsigned char)((k * 31 + 7) % PERIOD);
}

int mc_image_make(size_t size, unsigned seed, mc_image *out)
{
    if (size > 0xFFFFFFFFu)
        return MC_ERR_ARG; /* mc_image_key packs the size into 32 bits */
    out->size = size;
    out->seed = seed;
    return MC_OK;
}

void mc_image_read(const mc_image *img, size_t off, void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t phase = (off % PERIOD + (size_t)(img->seed % PERIOD) * INV31) % PERIOD;

    pthread_once(&pattern_once, pattern_init);
    while (n) {
        /* pattern + phase holds sizeof(pattern) - phase bytes, at least REPEATS - 1 periods. */
        size_t m = n < (REPEATS - 1) * PERIOD ? n : (REPEATS - 1) * PERIOD;
        memcpy(p, pattern + phase, m);
        p += m;
        n -= m; /* m is a whole number of periods unless this was the last slice */
    }
}

int mc_image_digest(const mc_image *img, ota_digest_kind kind, char *hex, size_t cap)
{
    unsigned char buf[16 * 1024];
    ota_digest *d = NULL;
    int rc = ota_digest_new(kind, &d);

    for (size_t at = 0; rc == OTA_OK && at < img->size; at += sizeof(buf)) {
        size_t n = img->size - at < sizeof(buf) ? img->size - at : sizeof(buf);
        mc_image_read(img, at, buf, n);
        rc = ota_digest_update(d, buf, n);
    }
    if (rc == OTA_OK)
        rc = ota_digest_final_hex(d, hex, cap);
    ota_digest_free(d);
    return rc == OTA_OK ? MC_OK : MC_ERR_NOMEM;
}

unsigned long long mc_image_key(const mc_image *img)
{
    return (unsigned long long)img->seed << 32 | (unsigned long long)(img->size & 0xFFFFFFFFu);
}

void mc_image_read_key(unsigned long long key, long long off, void *buf, size_t n)
{
    mc_image img = {.size = (size_t)(key & 0xFFFFFFFFu), .seed = (unsigned)(key >> 32)};

    mc_image_read(&img, (size_t)off, buf, n);
}
