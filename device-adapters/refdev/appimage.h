/*
 * The reference device's app image (--image-check) and its differential
 * package, shared by ota-ref-device and the ota-image tool: a header with a
 * magic, the version the image carries, its product, the body's size and the
 * SHA-256 of the body, then the body. A diff holds the target image XOR the
 * base image, and the base's SHA-256. It does not download or flash.
 */
#ifndef APPIMAGE_H
#define APPIMAGE_H

#include <stddef.h>

#include "otaproto/otaproto.h"

#define RD_IMG_MAGIC       "OTAIMG1" /* 8 bytes with its NUL */
#define RD_IMG_VERSION_LEN 64
#define RD_IMG_PRODUCT_LEN 32
#define RD_IMG_HDR         176 /* magic 8, version 64, product 32, size 4, 0 4, sha256 hex 64 */
#define RD_DIFF_MAGIC      "OTADIF1"
#define RD_DIFF_HDR        80               /* magic 8, base sha256 hex 64, target size 4, 0 4 */
#define RD_IMG_PRODUCT     "ota-ref-device" /* the product the reference device takes */
#define RD_IMG_MAX         (64u * 1024 * 1024)

typedef struct {
    char version[RD_IMG_VERSION_LEN + 1];
    char product[RD_IMG_PRODUCT_LEN + 1];
    size_t body;
    char sha256[65];
} rd_img_hdr;

/* A whole file into a malloc'd buffer (at most RD_IMG_MAX); NULL with why. */
unsigned char *rd_img_load(const char *path, size_t *len, char *why, size_t cap);
/* Write buf to path (created or replaced); -1 with why. */
int rd_img_save(const char *path, const unsigned char *buf, size_t len, char *why, size_t cap);
/*
 * Read the header of an image in memory (no body check): -1 with why when it
 * is too short, the magic is wrong or a field is not terminated.
 */
int rd_img_header(const unsigned char *img, size_t len, rd_img_hdr *out, char *why, size_t cap);
/*
 * The device's check: a header, the product it takes (NULL: any), a body of
 * the size the header says whose SHA-256 matches. 0 with *out, -1 with why.
 */
int rd_img_check(const unsigned char *img, size_t len, const char *product, rd_img_hdr *out,
                 char *why, size_t cap);
/* A new image around body; the caller frees it. NULL when out of memory. */
unsigned char *rd_img_wrap(const char *version, const char *product, const unsigned char *body,
                           size_t n, size_t *len);
/* A diff that turns base into target; the caller frees it. */
unsigned char *rd_diff_make(const unsigned char *base, size_t nbase, const unsigned char *target,
                            size_t ntarget, size_t *len);
/*
 * The target a diff makes from base: -1 with why when it is not a diff or
 * base is not the image it was made against (unless any_base).
 */
unsigned char *rd_diff_apply(const unsigned char *base, size_t nbase, const unsigned char *diff,
                             size_t ndiff, int any_base, size_t *len, char *why, size_t cap);
/* 1 when buf starts with a diff's magic. */
int rd_diff_is(const unsigned char *buf, size_t len);

#endif
