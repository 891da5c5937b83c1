/*
 * Deterministic firmware images: byte i of the image of seed s is
 * (31 i + 7 + s) mod 251. An image is its size and seed, never held in
 * memory: any slice is written on demand (a file server read, a block reply,
 * the trace writing a block it kept by reference), so a job costs no memory
 * for its image, open or finished. A firmware file (file.c) is read from
 * its descriptor instead.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
    out->file = NULL;
    return MC_OK;
}

/*
 * A file's bytes (file.c keeps the descriptor open while a reader holds it).
 * A file cut short or closed under us reads as zeros: the digest then tells
 * the device, as it would a damaged download.
 */
static void file_read(const mc_file *f, size_t off, unsigned char *p, size_t n)
{
    while (n) {
        ssize_t got = f->fd >= 0 ? pread(f->fd, p, n, (off_t)off) : -1;
        if (got <= 0) {
            memset(p, 0, n);
            return;
        }
        p += got;
        off += (size_t)got;
        n -= (size_t)got;
    }
}

void mc_image_read(const mc_image *img, size_t off, void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t phase = (off % PERIOD + (size_t)(img->seed % PERIOD) * INV31) % PERIOD;

    if (img->file) {
        file_read(img->file, off, p, n);
        return;
    }
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
    int rc;

    if (img->file) { /* computed once when the file was opened */
        snprintf(hex, cap, "%s",
                 kind == OTA_DIGEST_MD5 ? img->file->md5_hex : img->file->sha256_hex);
        return MC_OK;
    }
    rc = ota_digest_new(kind, &d);

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
