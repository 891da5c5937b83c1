/*
 * What a device that checks its images does between the digest check and
 * the flash (--image-check): a differential package is applied to the
 * running image, and the result must be an app image for this product whose
 * header and body agree; the version to install comes from that header. The
 * bug switches ignores-image-check, reports-pushed-version and
 * diff-wrong-base-flashed break it the ways real firmware does. Without
 * --image-check every verified download is installed as the pushed version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appimage.h"
#include "refdev.h"

/* A diff in `part` replaced by the image it makes from the running one; -1 with why. */
static int apply_diff(const char *part, char *why, size_t cap)
{
    size_t nbase = 0, ndiff = 0, n = 0;
    unsigned char *base = rd_flash_image(&nbase), *diff = NULL, *img = NULL;
    int rc = -1, any = rd_has_bug(BUG_DIFF_WRONG_BASE);

    if (!base) {
        snprintf(why, cap, "the running image cannot be read as a diff's base");
        goto out;
    }
    diff = rd_img_load(part, &ndiff, why, cap);
    if (diff)
        img = rd_diff_apply(base, nbase, diff, ndiff, any, &n, why, cap);
    if (img && any)
        rd_log("(bug diff-wrong-base-flashed) the diff is applied without checking its base");
    if (img)
        rc = rd_img_save(part, img, n, why, cap);
out:
    free(base);
    free(diff);
    free(img);
    return rc;
}

int rd_image_install(const ota_push *p, const char *part, char *version, size_t vcap, char *why,
                     size_t cap)
{
    unsigned char *img;
    size_t n = 0;
    rd_img_hdr h;
    int rc;

    if (rd.swu_cert[0])
        return rd_swu_install(p, part, version, vcap, why, cap);
    snprintf(version, vcap, "%s", p->version);
    if (!rd.image_check)
        return 0;
    if (p->is_diff && apply_diff(part, why, cap) != 0)
        return -1;
    if (p->is_diff && rd_has_bug(BUG_DIFF_WRONG_BASE)) {
        rd_log("(bug diff-wrong-base-flashed) flashing what the diff made, unchecked");
        return 0;
    }
    img = rd_img_load(part, &n, why, cap);
    if (!img)
        return -1;
    rc = rd_img_check(img, n, RD_IMG_PRODUCT, &h, why, cap);
    free(img);
    if (rc != 0 && rd_has_bug(BUG_IGNORES_IMAGE_CHECK)) {
        rd_log("(bug ignores-image-check) %s: flashed anyway", why);
        return 0;
    }
    if (rc != 0)
        return -1;
    if (rd_has_bug(BUG_REPORTS_PUSHED_VER)) {
        rd_log("(bug reports-pushed-version) the image holds %s; %s is recorded", h.version,
               p->version);
        return 0;
    }
    if (strcmp(h.version, p->version) != 0)
        rd_log("the image holds version %s (pushed as %s): installing %s", h.version, p->version,
               h.version);
    snprintf(version, vcap, "%s", h.version);
    return 0;
}

int rd_image_boot_version(char *version, size_t vcap)
{
    char why[300];
    unsigned char *img;
    size_t n = 0;
    rd_img_hdr h;
    int rc = -1;

    if (rd.swu_cert[0])
        return rd_swu_boot(version, vcap);
    if (!rd.image_check)
        return -1;
    img = rd_flash_image(&n);
    /* The bootloader starts no image whose header or body is broken: a bricked board. */
    if (img && n > 0 && rd_img_check(img, n, NULL, &h, why, sizeof(why)) != 0) {
        free(img);
        rd_log("bootloader: the image in flash fails its check (%s); the device cannot start", why);
        abort();
    }
    if (img && n > 0 && !rd_has_bug(BUG_REPORTS_PUSHED_VER)) {
        snprintf(version, vcap, "%s", h.version);
        rc = 0;
    }
    free(img);
    return rc;
}
