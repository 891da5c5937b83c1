/*
 * ota-image: makes the reference device's app images (--image-check) for a
 * version, and the variants a conformance run needs from them: an image for
 * another product, one with a broken header, and a differential package.
 * It is the `firmware.build`, `foreign` and `diff` command of the reference
 * device's profile (docs/device-profiles.md); it never talks to a device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appimage.h"
#include "otaproto/version.h"

#define FOREIGN_PRODUCT "another-product"
#define DEFAULT_SIZE    (64 * 1024)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ota-image wrap --version V [--size N] [--payload FILE] [--product P] OUT\n"
            "       ota-image foreign --version V [--size N] OUT\n"
            "       ota-image break IN OUT\n"
            "       ota-image diff BASE TARGET OUT\n"
            "       ota-image info FILE\n"
            "       ota-image --version | --help\n"
            "Makes the app images ota-ref-device --image-check takes: a %d-byte header\n"
            "(magic %s, the version, the product, the body's size and SHA-256), then\n"
            "the body.\n"
            "  wrap     an image of version V for the product %s: the body is FILE,\n"
            "           or without --payload bytes made from V; --size N makes the\n"
            "           whole image N bytes (default %d; with --payload: the file's size)\n"
            "  foreign  an image of version V for another product (%s): a device\n"
            "           that checks its images refuses it, though its digest is right\n"
            "  break    a copy of IN whose header's first byte is flipped: not an image\n"
            "  diff     a differential package that makes TARGET from BASE (both images);\n"
            "           a device running another base must refuse it\n"
            "  info     the header of FILE and whether the image passes the check\n"
            "Exit status: 0 done, 1 a file could not be read or written or is not an\n"
            "image, 2 bad usage.\n",
            RD_IMG_HDR, RD_IMG_MAGIC, RD_IMG_PRODUCT, DEFAULT_SIZE, FOREIGN_PRODUCT);
}

/* Bytes made from the version: the same version always gives the same image. */
static unsigned char *body_of(const char *version, size_t n)
{
    unsigned char *b = malloc(n ? n : 1);
    unsigned h = 2166136261u;

    for (const char *s = version; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    for (size_t i = 0; b && i < n; i++)
        b[i] = (unsigned char)((i * 131u + (h >> (i % 24))) & 0xFF);
    return b;
}

typedef struct {
    const char *version, *payload, *product, *out;
    long long size;
} wrap_opts;

static int parse_wrap(int argc, char **argv, wrap_opts *o)
{
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--version") && i + 1 < argc)
            o->version = argv[++i];
        else if (!strcmp(argv[i], "--payload") && i + 1 < argc)
            o->payload = argv[++i];
        else if (!strcmp(argv[i], "--product") && i + 1 < argc)
            o->product = argv[++i];
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            o->size = atoll(argv[++i]);
        else if (argv[i][0] != '-' && !o->out)
            o->out = argv[i];
        else
            return -1;
    }
    if (!o->version || !o->version[0] || strlen(o->version) >= RD_IMG_VERSION_LEN || !o->out ||
        (o->size && (o->size <= RD_IMG_HDR || o->size > (long long)RD_IMG_MAX)))
        return -1;
    return 0;
}

static int cmd_wrap(int argc, char **argv, const char *product)
{
    wrap_opts o = {.product = product};
    unsigned char *body = NULL, *img = NULL;
    size_t n = 0, len = 0;
    char why[300] = "";
    int rc = 1;

    if (parse_wrap(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (o.payload)
        body = rd_img_load(o.payload, &n, why, sizeof(why));
    else
        body = body_of(o.version, n = (size_t)(o.size ? o.size : DEFAULT_SIZE) - RD_IMG_HDR);
    if (body)
        img = rd_img_wrap(o.version, o.product, body, n, &len);
    if (img && rd_img_save(o.out, img, len, why, sizeof(why)) == 0)
        rc = 0;
    if (rc)
        fprintf(stderr, "ota-image: %s\n", why[0] ? why : "out of memory");
    free(body);
    free(img);
    return rc;
}

static int cmd_break(const char *in, const char *out)
{
    char why[300] = "";
    size_t n;
    unsigned char *img = rd_img_load(in, &n, why, sizeof(why));
    int rc = 1;

    if (img && n > 0) {
        img[0] ^= 0xFF;
        rc = rd_img_save(out, img, n, why, sizeof(why)) == 0 ? 0 : 1;
    }
    if (rc)
        fprintf(stderr, "ota-image: %s\n", why[0] ? why : "the image is empty");
    free(img);
    return rc;
}

static int cmd_diff(const char *base_path, const char *target_path, const char *out)
{
    char why[300] = "";
    size_t nb = 0, nt = 0, nd = 0;
    unsigned char *base = rd_img_load(base_path, &nb, why, sizeof(why));
    unsigned char *target = base ? rd_img_load(target_path, &nt, why, sizeof(why)) : NULL;
    unsigned char *d = target ? rd_diff_make(base, nb, target, nt, &nd) : NULL;
    int rc = d && rd_img_save(out, d, nd, why, sizeof(why)) == 0 ? 0 : 1;

    if (rc)
        fprintf(stderr, "ota-image: %s\n", why[0] ? why : "out of memory");
    free(base);
    free(target);
    free(d);
    return rc;
}

static int cmd_info(const char *path)
{
    char why[300] = "";
    size_t n;
    rd_img_hdr h;
    unsigned char *img = rd_img_load(path, &n, why, sizeof(why));
    int rc = 1;

    if (img && rd_diff_is(img, n)) {
        printf("diff against the image of SHA-256 %.64s, %zu bytes\n", (const char *)img + 8,
               n - RD_DIFF_HDR);
        rc = 0;
    } else if (img && rd_img_header(img, n, &h, why, sizeof(why)) == 0) {
        rc = rd_img_check(img, n, NULL, &h, why, sizeof(why)) == 0 ? 0 : 1;
        printf("version=%s product=%s body=%zu sha256=%s check=%s\n", h.version, h.product, h.body,
               h.sha256, rc ? why : "ok");
    } else {
        fprintf(stderr, "ota-image: %s\n", why);
    }
    free(img);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("ota-image %s\n", OTA_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "wrap"))
        return cmd_wrap(argc, argv, RD_IMG_PRODUCT);
    if (!strcmp(cmd, "foreign"))
        return cmd_wrap(argc, argv, FOREIGN_PRODUCT);
    if (!strcmp(cmd, "break") && argc == 4)
        return cmd_break(argv[2], argv[3]);
    if (!strcmp(cmd, "diff") && argc == 5)
        return cmd_diff(argv[2], argv[3], argv[4]);
    if (!strcmp(cmd, "info") && argc == 3)
        return cmd_info(argv[2]);
    usage(stderr);
    return 2;
}
