/*
 * Firmware files served from disk (mc_job_spec.image_path): one table entry
 * per file, opened once, its MD5 and SHA-256 computed once, its bytes read
 * with pread whenever a response or a block reply needs them. Jobs point at
 * an entry and copy nothing, so a hundred jobs of one 16 MiB file cost one
 * descriptor and no image memory. It does not decide what a fault does to
 * the bytes: fault.c does, as for a generated image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mock_priv.h"

static long long mtime_ns_of(const struct stat *st)
{
    return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* The entry for this very file (same path, inode, size and time), or NULL (c->lock held). */
static mc_file *find(mc_cloud *c, const char *path, const struct stat *st)
{
    for (mc_file *f = c->files; f; f = f->next)
        if (!f->gone && !strcmp(f->path, path) && f->dev == st->st_dev && f->ino == st->st_ino &&
            f->size == (size_t)st->st_size && f->mtime_ns == mtime_ns_of(st))
            return f;
    return NULL;
}

/* Both digests of the open file, read once in 64 KiB slices. */
static int digests(mc_file *f, char *err, size_t errcap)
{
    static const size_t slice = 64 * 1024;
    unsigned char *buf = malloc(slice);
    ota_digest *md5 = NULL, *sha = NULL;
    int rc = MC_ERR_NOMEM;

    if (!buf || ota_digest_new(OTA_DIGEST_MD5, &md5) || ota_digest_new(OTA_DIGEST_SHA256, &sha))
        goto out;
    for (size_t at = 0; at < f->size;) {
        ssize_t n = pread(f->fd, buf, f->size - at < slice ? f->size - at : slice, (off_t)at);
        if (n <= 0) {
            snprintf(err, errcap, "cannot read %.300s at byte %zu: %s", f->path, at,
                     n < 0 ? strerror(errno) : "it became shorter");
            rc = MC_ERR_IO;
            goto out;
        }
        ota_digest_update(md5, buf, (size_t)n);
        ota_digest_update(sha, buf, (size_t)n);
        at += (size_t)n;
    }
    if (ota_digest_final_hex(md5, f->md5_hex, sizeof(f->md5_hex)) == OTA_OK &&
        ota_digest_final_hex(sha, f->sha256_hex, sizeof(f->sha256_hex)) == OTA_OK)
        rc = MC_OK;
out:
    ota_digest_free(md5);
    ota_digest_free(sha);
    free(buf);
    return rc;
}

/* A new entry for the file at path, opened and digested (no lock held). */
static int open_file(const char *path, mc_file **out, char *err, size_t errcap)
{
    struct stat st;
    mc_file *f = calloc(1, sizeof(*f));
    int rc = MC_ERR_NOMEM;

    if (!f)
        return MC_ERR_NOMEM;
    f->fd = -1;
    if (!(f->path = strdup(path)))
        goto fail;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "cannot open the firmware file %.300s: %s", path,
                 f->fd < 0 ? strerror(errno) : "not a regular file");
        rc = MC_ERR_IO;
        goto fail;
    }
    if (st.st_size <= 0 || (unsigned long long)st.st_size > 0xFFFFFFFFull) {
        snprintf(err, errcap, "the firmware file %.300s has %lld bytes (1 byte to 4 GiB)", path,
                 (long long)st.st_size);
        rc = MC_ERR_ARG;
        goto fail;
    }
    f->size = (size_t)st.st_size;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->mtime_ns = mtime_ns_of(&st);
    rc = digests(f, err, errcap);
    if (rc != MC_OK)
        goto fail;
    *out = f;
    return MC_OK;
fail:
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
    return rc;
}

int mc_file_get(mc_cloud *c, const char *path, mc_file **out, char *err, size_t errcap)
{
    struct stat st;
    mc_file *f, *fresh = NULL;
    int rc;

    if (stat(path, &st) != 0) {
        snprintf(err, errcap, "cannot open the firmware file %.300s: %s", path, strerror(errno));
        return MC_ERR_IO;
    }
    mc_cloud_lock(c);
    f = find(c, path, &st);
    mc_cloud_unlock(c);
    if (f) {
        *out = f;
        return MC_OK;
    }
    rc = open_file(path, &fresh, err, errcap);
    if (rc != MC_OK)
        return rc;
    mc_cloud_lock(c);
    f = find(c, path, &st); /* another job opened it meanwhile */
    if (!f) {
        fresh->next = c->files;
        c->files = f = fresh;
        fresh = NULL;
    }
    mc_cloud_unlock(c);
    if (fresh) {
        close(fresh->fd);
        free(fresh->path);
        free(fresh);
    }
    *out = f;
    return MC_OK;
}

int mc_file_read_start(mc_cloud *c, mc_file *f)
{
    int rc = MC_OK;

    mc_cloud_lock(c);
    if (f->gone)
        rc = MC_ERR_NOTFOUND;
    else
        f->readers++;
    mc_cloud_unlock(c);
    return rc;
}

void mc_file_read_stop(mc_cloud *c, mc_file *f)
{
    mc_cloud_lock(c);
    if (--f->readers == 0 && f->gone && f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    mc_cloud_unlock(c);
}

int mc_image_forget(mc_cloud *c, const char *path, int *job_id)
{
    int rc = MC_OK;

    if (!c || !path)
        return MC_ERR_ARG;
    mc_cloud_lock(c);
    for (int i = 0; i < c->njobs; i++) {
        const mc_job *j = c->jobs[i];
        if (j->image.file && !j->image.file->gone && !strcmp(j->image.file->path, path) &&
            (j->state == MC_JOB_PENDING || j->state == MC_JOB_UPGRADING)) {
            if (job_id)
                *job_id = j->id;
            rc = MC_ERR_STATE;
            goto out;
        }
    }
    for (mc_file *f = c->files; f; f = f->next) {
        if (f->gone || strcmp(f->path, path))
            continue;
        f->gone = 1;
        if (f->readers == 0 && f->fd >= 0) {
            close(f->fd);
            f->fd = -1;
        }
    }
out:
    mc_cloud_unlock(c);
    return rc;
}

void mc_files_free(mc_cloud *c)
{
    while (c->files) {
        mc_file *f = c->files;
        c->files = f->next;
        if (f->fd >= 0)
            close(f->fd);
        free(f->path);
        free(f);
    }
}
