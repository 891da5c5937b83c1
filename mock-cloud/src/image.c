/*
 * Deterministic firmware images: byte i of the image of seed s is
 * (31 i + 7 + s) mod 251. An image is its size and seed, never held in
 * memory: any slice is written on demand (a file server read, a block reply,
 * the trace writing a block it kept by reference), so a job costs no memory
 * for its image, open or finished. A user's own firmware file is mapped
 * once and read from there (mc_image_file).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
    out->data = NULL;
    return MC_OK;
}

void mc_image_read(const mc_image *img, size_t off, void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t phase = (off % PERIOD + (size_t)(img->seed % PERIOD) * INV31) % PERIOD;

    if (img->data) {
        memcpy(buf, img->data + off, n);
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

/* Map path read-only; MC_OK with *out filled, or a sentence in err. */
static int file_map(const char *path, mc_fw_file *out, char *err, size_t errcap)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errcap, "cannot read the firmware file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return MC_ERR_IO;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (unsigned long long)st.st_size > 0xFFFFFFFFull) {
        snprintf(err, errcap, "the firmware file %s is %s", path,
                 !S_ISREG(st.st_mode) ? "not a regular file"
                 : st.st_size <= 0    ? "empty"
                                      : "larger than the cloud serves (4 GiB)");
        close(fd);
        return st.st_size > 0 && S_ISREG(st.st_mode) ? MC_ERR_ARG : MC_ERR_IO;
    }
    out->size = (size_t)st.st_size;
    out->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    out->map = mmap(NULL, out->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (out->map == MAP_FAILED) {
        snprintf(err, errcap, "cannot map the firmware file %s: %s", path, strerror(errno));
        return MC_ERR_IO;
    }
    return MC_OK;
}

int mc_image_file(mc_cloud *c, const char *path, mc_image *out, char *err, size_t errcap)
{
    mc_fw_file probe = {0}, *f;
    struct stat st;
    int rc;

    if (stat(path, &st) == 0)
        for (f = c->files; f; f = f->next)
            if (!strcmp(f->path, path) && f->size == (size_t)st.st_size &&
                f->mtime_ns == (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec)
                goto found;
    rc = file_map(path, &probe, err, errcap);
    if (rc != MC_OK)
        return rc;
    f = calloc(1, sizeof(*f));
    if (f)
        f->path = strdup(path);
    if (!f || !f->path) {
        munmap(probe.map, probe.size);
        free(f);
        return MC_ERR_NOMEM;
    }
    f->size = probe.size;
    f->mtime_ns = probe.mtime_ns;
    f->map = probe.map;
    f->next = c->files;
    c->files = f;
found:
    out->size = f->size;
    out->seed = 0;
    out->data = f->map;
    return MC_OK;
}

void mc_image_files_free(mc_cloud *c)
{
    while (c->files) {
        mc_fw_file *f = c->files;
        c->files = f->next;
        munmap(f->map, f->size);
        free(f->path);
        free(f);
    }
}
