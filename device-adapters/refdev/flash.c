/*
 * The reference device's flash: the image and its version in the state
 * folder, the commit that makes an upgrade survive a power cut at any
 * moment (the old firmware or the new one, never a mix), the bootloader's
 * check at boot, and the partial download kept across a reboot. The power
 * bug switches (pwr-*) replace the commit with the ones real firmware gets
 * wrong. It does not download or verify; upgrade.c does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appimage.h"
#include "refdev.h"

/*
 * One erase-and-program of a flash sector takes time on a real part; a
 * power cut lands inside it. The device waits this long after each step of
 * a commit, so that a cut made at a step falls before the next one.
 */
#define RD_FLASH_OP_S 0.05
#define RD_PAGE       1024 /* (bug pwr-in-place) bytes programmed per step */

/* What the writer appends to an image: the bootloader checks the image against it. */
#define TRAILER_TAG "\nOTAREF-IMAGE sha256="
#define TRAILER_LEN (sizeof(TRAILER_TAG) - 1 + 64 + 1)

static void flash_op(void)
{
    ota_sleep(RD_FLASH_OP_S);
}

static void state_remove(const char *name)
{
    char path[600];

    rd_state_path(name, path, sizeof(path));
    if (unlink(path) == 0)
        rd_state_sync();
}

/* SHA-256 of the first len bytes of a file; 0 when read whole. */
static int file_sha256(const char *path, long long len, char hex[65])
{
    unsigned char buf[8192];
    ota_digest *d = NULL;
    FILE *f = fopen(path, "rb");
    int rc = -1;

    if (!f)
        return -1;
    if (ota_digest_new(OTA_DIGEST_SHA256, &d) != OTA_OK)
        goto out;
    while (len > 0) {
        size_t want = len < (long long)sizeof(buf) ? (size_t)len : sizeof(buf);
        size_t n = fread(buf, 1, want, f);
        if (n == 0)
            goto out;
        ota_digest_update(d, buf, n);
        len -= (long long)n;
    }
    rc = ota_digest_final_hex(d, hex, 65) == OTA_OK ? 0 : -1;
out:
    ota_digest_free(d);
    fclose(f);
    return rc;
}

/* Append the trailer (the image's SHA-256) to the verified image, and sync it. */
static int seal(const char *path, char hex[65])
{
    struct stat st;
    FILE *f;
    int rc;

    if (stat(path, &st) != 0 || file_sha256(path, (long long)st.st_size, hex) != 0)
        return -1;
    f = fopen(path, "ab");
    if (!f)
        return -1;
    rc = fprintf(f, "%s%s\n", TRAILER_TAG, hex) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0;
    return fclose(f) != 0 || rc ? -1 : 0;
}

/* The bootloader's check: the trailer is there and the image matches it. 0 with its digest. */
static int image_check(const char *path, char hex[65])
{
    char tail[TRAILER_LEN + 1], body[65];
    struct stat st;
    FILE *f;
    size_t n;

    if (stat(path, &st) != 0 || st.st_size < (off_t)TRAILER_LEN)
        return -1;
    f = fopen(path, "rb");
    if (!f)
        return -1;
    n = fseek(f, st.st_size - (off_t)TRAILER_LEN, SEEK_SET) == 0 ? fread(tail, 1, TRAILER_LEN, f)
                                                                 : 0;
    fclose(f);
    tail[n] = '\0';
    if (n != TRAILER_LEN || strncmp(tail, TRAILER_TAG, sizeof(TRAILER_TAG) - 1) ||
        tail[TRAILER_LEN - 1] != '\n')
        return -1;
    snprintf(hex, 65, "%.64s", tail + sizeof(TRAILER_TAG) - 1);
    if (file_sha256(path, (long long)st.st_size - (long long)TRAILER_LEN, body) != 0)
        return -1;
    return strcmp(body, hex) ? -1 : 0;
}

int rd_flash_boot(char *why, size_t cap)
{
    char pending[OTA_MAX_VERSION + 1], fw[600], part[600], hex[65];

    rd_state_path("firmware.bin", fw, sizeof(fw));
    rd_state_path("download.part", part, sizeof(part));
    /* A commit was under way when the power went: finish it (roll forward). */
    if (rd_state_read("pending", pending, sizeof(pending)) == 0 && pending[0]) {
        if (access(part, F_OK) == 0 && (image_check(part, hex) != 0 || rename(part, fw) != 0)) {
            snprintf(why, cap, "cannot finish the upgrade to %s: %s", pending, strerror(errno));
            return -1;
        }
        rd_state_sync();
        if (rd_state_write("version", pending) != 0) {
            snprintf(why, cap, "cannot write the version: %s", strerror(errno));
            return -1;
        }
        state_remove("pending");
        state_remove("download.job");
        rd_log("bootloader: finished the upgrade to %s that a power cut interrupted", pending);
    }
    rd.image_sha256[0] = '\0';
    if (access(fw, F_OK) == 0 && image_check(fw, rd.image_sha256) != 0) {
        snprintf(why, cap, "the image in %s is broken (its trailer does not match it)", fw);
        return -1;
    }
    return 0;
}

/* (bug pwr-in-place) the running image is overwritten page by page, the version after it. */
static int write_in_place(const char *part, const char *fw, const char *version)
{
    unsigned char buf[RD_PAGE];
    char hex[65];
    struct stat st;
    FILE *in, *out = NULL;
    size_t n;
    int rc = -1;

    if (stat(part, &st) != 0 || file_sha256(part, (long long)st.st_size, hex) != 0)
        return -1;
    in = fopen(part, "rb");
    out = in ? fopen(fw, "wb") : NULL; /* from here the old image is gone */
    if (!out)
        goto out;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        if (fwrite(buf, 1, n, out) != n || fflush(out) != 0)
            goto out;
        flash_op();
    }
    if (fprintf(out, "%s%s\n", TRAILER_TAG, hex) < 0 || fflush(out) != 0)
        goto out;
    rc = 0;
out:
    if (out && fclose(out) != 0)
        rc = -1;
    if (in)
        fclose(in);
    if (rc == 0) {
        unlink(part);
        rc = rd_state_write("version", version);
    }
    return rc;
}

int rd_flash_write(const char *part, const char *version, char *why, size_t cap)
{
    char fw[600], hex[65];
    int rc = -1;

    rd_state_path("firmware.bin", fw, sizeof(fw));
    if (rd_has_bug(BUG_TARGET_RUNS_OLD)) {
        /* (bug reports-target-runs-old) the new image never reaches the boot slot */
        unlink(part);
        rc = rd_state_write("version", version);
    } else if (rd_has_bug(BUG_PWR_IN_PLACE)) {
        rc = write_in_place(part, fw, version);
    } else if (seal(part, hex) != 0) {
        rc = -1;
    } else if (rd_has_bug(BUG_PWR_VERSION_FIRST)) {
        /* the version names an image that is not in place yet */
        rc = rd_state_write("version", version);
        if (rc == 0) {
            flash_op();
            rc = rename(part, fw);
            rd_state_sync();
        }
    } else if (rd_state_write("pending", version) == 0) {
        /* The commit point: from here the bootloader finishes the upgrade after a cut. */
        flash_op();
        rc = rename(part, fw);
        rd_state_sync();
        flash_op();
        if (rc == 0)
            rc = rd_state_write("version", version);
        if (rc == 0)
            flash_op();
        state_remove("pending");
    }
    if (rc != 0) {
        snprintf(why, cap, "flash write failed: %s", strerror(errno));
        return -1;
    }
    state_remove("download.job");
    return 0;
}

/* What a kept partial must match to be resumed: version, size and digest of the push. */
static void identity(const ota_push *p, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %lld %s", p->version, p->size, p->sign[0] ? p->sign : p->md5);
}

long long rd_partial_take(const ota_push *p, const char *part)
{
    char want[OTA_MAX_VERSION + 160], have[OTA_MAX_VERSION + 160] = "";
    struct stat st;
    int same;

    identity(p, want, sizeof(want));
    same = rd_state_read("download.job", have, sizeof(have)) == 0 && !strcmp(have, want);
    if (stat(part, &st) == 0 && st.st_size > 0 && p->size > 0 && st.st_size < p->size &&
        (same || rd_has_bug(BUG_PWR_TRUST_PARTIAL))) {
        if (same)
            rd_log("resuming the download kept from before the reboot at byte %lld",
                   (long long)st.st_size);
        else
            rd_log("(bug pwr-trust-partial) resuming a kept download of another image at byte "
                   "%lld",
                   (long long)st.st_size);
        if (!same)
            rd_state_write("download.job", want);
        return (long long)st.st_size;
    }
    unlink(part);
    if (!same)
        rd_state_write("download.job", want);
    return 0;
}

unsigned char *rd_flash_image(size_t *len)
{
    char fw[600], why[300];
    unsigned char *img;

    rd_state_path("firmware.bin", fw, sizeof(fw));
    if (access(fw, F_OK) != 0) {
        *len = 0;
        return calloc(1, 1); /* the factory image: nothing in flash yet */
    }
    img = rd_img_load(fw, len, why, sizeof(why));
    if (img && *len < TRAILER_LEN) {
        free(img);
        return NULL;
    }
    if (img)
        *len -= TRAILER_LEN;
    return img;
}
