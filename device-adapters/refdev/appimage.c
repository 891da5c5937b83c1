/*
 * App images and diffs of the reference device (appimage.h): building them,
 * the header check a bootloader makes, and applying a diff to its base.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appimage.h"

static void put_u32(unsigned char *p, size_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static size_t get_u32(const unsigned char *p)
{
    return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
}

static int sha256_hex(const unsigned char *buf, size_t n, char hex[65])
{
    return ota_digest_hex(OTA_DIGEST_SHA256, buf, n, hex, 65) == OTA_OK ? 0 : -1;
}

unsigned char *rd_img_load(const char *path, size_t *len, char *why, size_t cap)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (!f) {
        snprintf(why, cap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || (unsigned long)n > RD_IMG_MAX ||
        fseek(f, 0, SEEK_SET) != 0) {
        snprintf(why, cap, "%s is not a readable file of at most %u bytes", path, RD_IMG_MAX);
        goto out;
    }
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        snprintf(why, cap, "cannot read %s", path);
        free(buf);
        buf = NULL;
    }
    *len = (size_t)n;
out:
    fclose(f);
    return buf;
}

int rd_img_save(const char *path, const unsigned char *buf, size_t len, char *why, size_t cap)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        snprintf(why, cap, "cannot write %s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return 0;
}

/* A NUL-padded field of n bytes into dst (n + 1); -1 when it has no NUL. */
static int field(const unsigned char *p, size_t n, char *dst)
{
    if (!memchr(p, 0, n))
        return -1;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

int rd_img_header(const unsigned char *img, size_t len, rd_img_hdr *out, char *why, size_t cap)
{
    if (len < RD_IMG_HDR || memcmp(img, RD_IMG_MAGIC, sizeof(RD_IMG_MAGIC)) != 0) {
        snprintf(why, cap, "not a firmware image (no %s header)", RD_IMG_MAGIC);
        return -1;
    }
    if (field(img + 8, RD_IMG_VERSION_LEN, out->version) != 0 || !out->version[0] ||
        field(img + 72, RD_IMG_PRODUCT_LEN, out->product) != 0 || memchr(img + 112, 0, 64)) {
        snprintf(why, cap, "the image header is broken (a field is not terminated)");
        return -1;
    }
    memcpy(out->sha256, img + 112, 64);
    out->sha256[64] = '\0';
    out->body = get_u32(img + 104);
    return 0;
}

int rd_img_check(const unsigned char *img, size_t len, const char *product, rd_img_hdr *out,
                 char *why, size_t cap)
{
    char hex[65];

    if (rd_img_header(img, len, out, why, cap) != 0)
        return -1;
    if (product && strcmp(out->product, product) != 0) {
        snprintf(why, cap, "an image for another product (%s, not %s)", out->product, product);
        return -1;
    }
    if (out->body != len - RD_IMG_HDR) {
        snprintf(why, cap, "the header says %zu body bytes, the image has %zu", out->body,
                 len - RD_IMG_HDR);
        return -1;
    }
    if (sha256_hex(img + RD_IMG_HDR, out->body, hex) != 0 || strcmp(hex, out->sha256) != 0) {
        snprintf(why, cap, "the body does not match the SHA-256 in the image header");
        return -1;
    }
    return 0;
}

unsigned char *rd_img_wrap(const char *version, const char *product, const unsigned char *body,
                           size_t n, size_t *len)
{
    unsigned char *img = calloc(1, RD_IMG_HDR + n);
    char hex[65];

    if (!img || sha256_hex(body, n, hex) != 0) {
        free(img);
        return NULL;
    }
    memcpy(img, RD_IMG_MAGIC, sizeof(RD_IMG_MAGIC));
    memcpy(img + 8, version, strnlen(version, RD_IMG_VERSION_LEN - 1));
    memcpy(img + 72, product, strnlen(product, RD_IMG_PRODUCT_LEN - 1));
    put_u32(img + 104, n);
    memcpy(img + 112, hex, 64);
    memcpy(img + RD_IMG_HDR, body, n);
    *len = RD_IMG_HDR + n;
    return img;
}

int rd_diff_is(const unsigned char *buf, size_t len)
{
    return len >= RD_DIFF_HDR && !memcmp(buf, RD_DIFF_MAGIC, sizeof(RD_DIFF_MAGIC));
}

unsigned char *rd_diff_make(const unsigned char *base, size_t nbase, const unsigned char *target,
                            size_t ntarget, size_t *len)
{
    unsigned char *d = calloc(1, RD_DIFF_HDR + ntarget);
    char hex[65];

    if (!d || sha256_hex(base, nbase, hex) != 0) {
        free(d);
        return NULL;
    }
    memcpy(d, RD_DIFF_MAGIC, sizeof(RD_DIFF_MAGIC));
    memcpy(d + 8, hex, 64);
    put_u32(d + 72, ntarget);
    for (size_t i = 0; i < ntarget; i++)
        d[RD_DIFF_HDR + i] = target[i] ^ (i < nbase ? base[i] : 0);
    *len = RD_DIFF_HDR + ntarget;
    return d;
}

unsigned char *rd_diff_apply(const unsigned char *base, size_t nbase, const unsigned char *diff,
                             size_t ndiff, int any_base, size_t *len, char *why, size_t cap)
{
    char hex[65];
    size_t n;
    unsigned char *out;

    if (!rd_diff_is(diff, ndiff) || (n = get_u32(diff + 72)) != ndiff - RD_DIFF_HDR) {
        snprintf(why, cap, "not a differential package");
        return NULL;
    }
    if (!any_base && (sha256_hex(base, nbase, hex) != 0 || memcmp(hex, diff + 8, 64) != 0)) {
        snprintf(why, cap,
                 "a diff made against another base image (base SHA-256 %.64s, "
                 "running %s)",
                 (const char *)diff + 8, hex);
        return NULL;
    }
    out = malloc(n ? n : 1);
    if (!out) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = diff[RD_DIFF_HDR + i] ^ (i < nbase ? base[i] : 0);
    *len = n;
    return out;
}
