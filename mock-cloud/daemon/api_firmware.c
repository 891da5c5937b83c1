/*
 * The firmware store of the control API, as the platform's "upgrade
 * packages": POST /firmware (the file as the raw body, streamed to disk),
 * GET /firmware, GET /firmware/N, DELETE /firmware/N, and --firmware
 * FILE@VERSION. Files live in the store's folder (--firmware-dir; else a
 * temporary one removed at exit) next to a small JSON file of what was said
 * about them, and jobs are served from there by the library
 * (mc_job_spec.image_path), never copied per job.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define MAX_SOURCES MCD_FIRMWARE_SOURCES_MAX

typedef struct {
    int id;
    int deleted, preloaded; /* preloaded: served from the user's own path, never removed */
    char name[128], version[OTA_MAX_VERSION + 1], module[OTA_MAX_MODULE + 1];
    char sources[MAX_SOURCES][OTA_MAX_VERSION + 1];
    int nsources;
    ota_digest_kind sign;
    int diff;
    size_t size;
    char md5[33], sha256[65];
    double added; /* seconds since the epoch */
    char path[PATH_MAX];
} firmware;

struct mcd_upload {
    int fd;
    char path[PATH_MAX];
    size_t len;
    int too_big, failed;
};

static struct {
    pthread_mutex_t lock;
    firmware **list; /* never freed before exit: jobs keep pointers into entries */
    int n, next_id;
    char dir[PATH_MAX];
    int temporary; /* made by us: removed at exit */
    size_t max;
    int *job_fw; /* job id -> firmware id (0: none) */
    int njob_fw;
} st = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1};

static unsigned refuse(cJSON **out, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static unsigned refuse(cJSON **out, unsigned status, const char *fmt, ...)
{
    char text[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    *out = cJSON_CreateObject();
    cJSON_AddStringToObject(*out, "error", text);
    return status;
}

/* ---- the entry as JSON, in the answer and in its file beside the firmware ---- */
static cJSON *fw_json(const firmware *f)
{
    cJSON *o = cJSON_CreateObject(), *src = cJSON_CreateArray();

    cJSON_AddNumberToObject(o, "id", f->id);
    cJSON_AddStringToObject(o, "name", f->name);
    cJSON_AddStringToObject(o, "version", f->version);
    cJSON_AddStringToObject(o, "module", f->module);
    for (int i = 0; i < f->nsources; i++)
        cJSON_AddItemToArray(src, cJSON_CreateString(f->sources[i]));
    cJSON_AddItemToObject(o, "sources", src);
    cJSON_AddStringToObject(o, "sign", f->sign == OTA_DIGEST_SHA256 ? "sha256" : "md5");
    cJSON_AddBoolToObject(o, "diff", f->diff);
    cJSON_AddNumberToObject(o, "size", (double)f->size);
    cJSON_AddStringToObject(o, "md5", f->md5);
    cJSON_AddStringToObject(o, "sha256", f->sha256);
    cJSON_AddNumberToObject(o, "added", f->added);
    cJSON_AddBoolToObject(o, "preloaded", f->preloaded);
    cJSON_AddStringToObject(o, "file", f->path);
    return o;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* An entry from its JSON file (a store kept with --firmware-dir); NULL when unusable. */
static firmware *fw_from_json(const cJSON *o)
{
    firmware *f = calloc(1, sizeof(*f));
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "sources"), *v;

    if (!f)
        return NULL;
    f->id = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
    snprintf(f->name, sizeof(f->name), "%s", str_of(o, "name"));
    snprintf(f->version, sizeof(f->version), "%s", str_of(o, "version"));
    snprintf(f->module, sizeof(f->module), "%s", str_of(o, "module"));
    cJSON_ArrayForEach(v, src)
    {
        if (cJSON_IsString(v) && f->nsources < MAX_SOURCES)
            snprintf(f->sources[f->nsources++], sizeof(f->sources[0]), "%s", v->valuestring);
    }
    f->sign = !strcmp(str_of(o, "sign"), "sha256") ? OTA_DIGEST_SHA256 : OTA_DIGEST_MD5;
    f->diff = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "diff"));
    f->size = (size_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "size"));
    snprintf(f->md5, sizeof(f->md5), "%s", str_of(o, "md5"));
    snprintf(f->sha256, sizeof(f->sha256), "%s", str_of(o, "sha256"));
    f->added = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "added"));
    snprintf(f->path, sizeof(f->path), "%s", str_of(o, "file"));
    if (f->id <= 0 || !f->version[0] || !f->path[0] || access(f->path, R_OK) != 0) {
        free(f);
        return NULL;
    }
    return f;
}

static void meta_path(int id, char *out, size_t cap)
{
    snprintf(out, cap, "%.4000s/fw-%d.json", st.dir, id);
}

static int meta_write(const firmware *f)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    cJSON *o = fw_json(f);
    char *text = cJSON_Print(o);
    FILE *fp;
    int rc = -1;

    cJSON_Delete(o);
    meta_path(f->id, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fp = text ? fopen(tmp, "w") : NULL;
    if (fp) {
        rc = fputs(text, fp) < 0 ? -1 : 0;
        rc |= fclose(fp);
        if (rc == 0)
            rc = rename(tmp, path);
    }
    free(text);
    return rc;
}

/* Add f (heap) to the list (st.lock held); -1 when out of memory. */
static int list_add(firmware *f)
{
    firmware **grown = realloc(st.list, (size_t)(st.n + 1) * sizeof(*grown));

    if (!grown)
        return -1;
    st.list = grown;
    st.list[st.n++] = f;
    if (f->id >= st.next_id)
        st.next_id = f->id + 1;
    return 0;
}

/* Entries a --firmware-dir kept from an earlier run. */
static void load_kept(void)
{
    DIR *d = opendir(st.dir);
    struct dirent *e;

    while (d && (e = readdir(d)) != NULL) {
        char path[PATH_MAX], *text;
        int id;
        if (sscanf(e->d_name, "fw-%d.json", &id) != 1 || strstr(e->d_name, ".tmp"))
            continue;
        snprintf(path, sizeof(path), "%.3800s/%.200s", st.dir, e->d_name);
        FILE *fp = fopen(path, "r");
        text = fp ? calloc(1, 64 * 1024) : NULL;
        if (text)
            fread(text, 1, 64 * 1024 - 1, fp);
        if (fp)
            fclose(fp);
        cJSON *o = text ? cJSON_Parse(text) : NULL;
        firmware *f = o ? fw_from_json(o) : NULL;
        if (f && list_add(f) != 0)
            free(f);
        cJSON_Delete(o);
        free(text);
    }
    if (d)
        closedir(d);
}

int mcd_firmware_init(const char *dir, size_t max, char *err, size_t cap)
{
    st.max = max;
    if (!dir) {
        const char *tmp = getenv("TMPDIR");
        snprintf(st.dir, sizeof(st.dir), "%.4000s/ota-mock-cloud-fw-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(st.dir)) {
            snprintf(err, cap, "cannot make a firmware folder in %s: %s", tmp ? tmp : "/tmp",
                     strerror(errno));
            return -1;
        }
        st.temporary = 1;
        return 0;
    }
    if (!realpath(dir, st.dir) && (mkdir(dir, 0755) != 0 || !realpath(dir, st.dir))) {
        snprintf(err, cap, "--firmware-dir %s: %s", dir, strerror(errno));
        return -1;
    }
    if (access(st.dir, W_OK) != 0) {
        snprintf(err, cap, "--firmware-dir %s is not writable: %s", st.dir, strerror(errno));
        return -1;
    }
    load_kept();
    return 0;
}

const char *mcd_firmware_dir(void)
{
    return st.dir;
}

void mcd_firmware_cleanup(void)
{
    if (!st.temporary)
        return;
    for (int i = 0; i < st.n; i++) {
        char meta[PATH_MAX];
        if (!st.list[i]->preloaded && !st.list[i]->deleted)
            unlink(st.list[i]->path);
        meta_path(st.list[i]->id, meta, sizeof(meta));
        unlink(meta);
    }
    rmdir(st.dir);
}

/* ---- what a firmware is said to be: the query of POST /firmware ---- */

/* A version or module: 1 to cap - 1 printable characters without quotes or commas. */
static int word_ok(const char *s, size_t cap)
{
    size_t n = strlen(s);

    if (n == 0 || n >= cap)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == '"' || *s == ',' || *s == '\\' || *s == 0x7f)
            return 0;
    return 1;
}

/* The query's fields into f: 0, or the status with *out. */
static unsigned describe(firmware *f, mcd_arg_fn arg, void *ctx, cJSON **out)
{
    const char *version = arg(ctx, "version"), *module = arg(ctx, "module"),
               *name = arg(ctx, "name"), *sources = arg(ctx, "sources"), *sign = arg(ctx, "sign"),
               *diff = arg(ctx, "diff");

    if (!version || !word_ok(version, sizeof(f->version)))
        return refuse(out, 400,
                      "POST /firmware needs ?version=V, the version the firmware holds (1 to %d "
                      "characters, no spaces, quotes or commas)",
                      OTA_MAX_VERSION);
    snprintf(f->version, sizeof(f->version), "%s", version);
    if (module && *module && !word_ok(module, sizeof(f->module)))
        return refuse(out, 400, "\"module\" must be 1 to %d characters without spaces or quotes",
                      OTA_MAX_MODULE);
    snprintf(f->module, sizeof(f->module), "%s", module && *module ? module : "default");
    snprintf(f->name, sizeof(f->name), "%.127s", name && *name ? name : "");
    if (sign && *sign && ota_sign_method_parse(sign, &f->sign) != OTA_OK)
        return refuse(out, 400, "\"sign\" must be md5 or sha256, got '%.40s'", sign);
    if (diff && *diff && strcmp(diff, "0") && strcmp(diff, "1") && strcmp(diff, "true") &&
        strcmp(diff, "false"))
        return refuse(out, 400, "\"diff\" must be 0 or 1, got '%.40s'", diff);
    f->diff = diff && (!strcmp(diff, "1") || !strcmp(diff, "true"));
    for (const char *p = sources ? sources : ""; *p;) {
        size_t n = strcspn(p, ",");
        char one[OTA_MAX_VERSION + 2];
        if (f->nsources == MAX_SOURCES)
            return refuse(out, 400, "at most %d source versions", MAX_SOURCES);
        snprintf(one, sizeof(one), "%.*s", (int)(n < sizeof(one) - 1 ? n : sizeof(one) - 1), p);
        if (n && !word_ok(one, sizeof(f->sources[0])))
            return refuse(out, 400, "the source version '%.70s' is not a version", one);
        if (n)
            memcpy(f->sources[f->nsources++], one, strlen(one) + 1); /* word_ok: it fits */
        p += n + (p[n] == ',');
    }
    return 0;
}

/* Size and both digests of the file at f->path; -1 when it cannot be read. */
static int digest_file(firmware *f)
{
    unsigned char buf[64 * 1024];
    ota_digest *md5 = NULL, *sha = NULL;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC), rc = -1;
    ssize_t n;

    if (fd < 0 || ota_digest_new(OTA_DIGEST_MD5, &md5) || ota_digest_new(OTA_DIGEST_SHA256, &sha))
        goto out;
    f->size = 0;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        ota_digest_update(md5, buf, (size_t)n);
        ota_digest_update(sha, buf, (size_t)n);
        f->size += (size_t)n;
    }
    if (n == 0 && ota_digest_final_hex(md5, f->md5, sizeof(f->md5)) == OTA_OK &&
        ota_digest_final_hex(sha, f->sha256, sizeof(f->sha256)) == OTA_OK)
        rc = 0;
out:
    ota_digest_free(md5);
    ota_digest_free(sha);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- uploads, streamed to a temporary file of the store's folder ---- */
mcd_upload *mcd_upload_begin(void)
{
    mcd_upload *u = calloc(1, sizeof(*u));

    if (!u)
        return NULL;
    snprintf(u->path, sizeof(u->path), "%.4000s/upload-XXXXXX", st.dir);
    u->fd = mkstemp(u->path);
    if (u->fd < 0)
        u->failed = 1;
    return u;
}

void mcd_upload_write(mcd_upload *u, const char *data, size_t n)
{
    if (u->len + n > st.max)
        u->too_big = 1;
    if (u->too_big || u->failed) {
        u->len += n; /* counted, not kept */
        return;
    }
    for (size_t at = 0; at < n;) {
        ssize_t w = write(u->fd, data + at, n - at);
        if (w <= 0) {
            u->failed = 1;
            break;
        }
        at += (size_t)w;
    }
    u->len += n;
}

void mcd_upload_free(mcd_upload *u)
{
    if (!u)
        return;
    if (u->fd >= 0) {
        close(u->fd);
        unlink(u->path); /* still here: not taken into the store */
    }
    free(u);
}

size_t mcd_firmware_max(void)
{
    return st.max;
}

/* Take the uploaded file into the store as entry f (st.lock held): its final name. */
static int take_upload(mcd_upload *u, firmware *f)
{
    f->id = st.next_id;
    snprintf(f->path, sizeof(f->path), "%.4000s/fw-%d.bin", st.dir, f->id);
    if (fsync(u->fd) != 0 || rename(u->path, f->path) != 0)
        return -1;
    close(u->fd);
    u->fd = -1;
    return 0;
}

unsigned mcd_firmware_post(mcd_upload *u, mcd_arg_fn arg, void *ctx, cJSON **out)
{
    firmware *f = calloc(1, sizeof(*f));
    unsigned status;

    if (!f)
        return refuse(out, 500, "out of memory");
    status = describe(f, arg, ctx, out);
    if (!status && (!u || u->failed))
        status =
            refuse(out, 500, "the upload could not be written to %s: %s", st.dir, strerror(errno));
    else if (!status && u->too_big)
        status = refuse(out, 413,
                        "the firmware is %zu bytes, over the store's limit of %zu bytes "
                        "(--firmware-max)",
                        u->len, st.max);
    else if (!status && u->len == 0)
        status = refuse(out, 400,
                        "the body is empty: send the firmware file itself as the body "
                        "(curl --data-binary @FILE)");
    if (status) {
        free(f);
        return status;
    }
    pthread_mutex_lock(&st.lock);
    if (take_upload(u, f) != 0 || digest_file(f) != 0) {
        pthread_mutex_unlock(&st.lock);
        free(f);
        return refuse(out, 500, "the upload could not be kept in %s: %s", st.dir, strerror(errno));
    }
    if (!f->name[0])
        snprintf(f->name, sizeof(f->name), "fw-%d.bin", f->id);
    f->added = (double)time(NULL);
    if (list_add(f) != 0 || meta_write(f) != 0) {
        unlink(f->path);
        pthread_mutex_unlock(&st.lock);
        return refuse(out, 500, "the store could not record the firmware");
    }
    *out = fw_json(f);
    pthread_mutex_unlock(&st.lock);
    return 201;
}

int mcd_firmware_preload(const char *spec, char *err, size_t cap)
{
    const char *at = strrchr(spec, '@');
    firmware *f = calloc(1, sizeof(*f));
    char file[PATH_MAX];

    if (!f)
        return -1;
    if (!at || at == spec || !word_ok(at + 1, sizeof(f->version))) {
        snprintf(err, cap, "--firmware wants FILE@VERSION, got '%s'", spec);
        goto fail;
    }
    snprintf(file, sizeof(file), "%.*s", (int)(at - spec), spec);
    if (!realpath(file, f->path) || digest_file(f) != 0 || f->size == 0 || f->size > st.max) {
        snprintf(err, cap, "--firmware %s: %s", file,
                 f->path[0] && f->size ? "over --firmware-max"
                 : f->path[0]          ? "cannot read it, or it is empty"
                                       : strerror(errno));
        goto fail;
    }
    snprintf(f->version, sizeof(f->version), "%s", at + 1);
    snprintf(f->module, sizeof(f->module), "default");
    const char *base = strrchr(f->path, '/');
    snprintf(f->name, sizeof(f->name), "%.127s", base ? base + 1 : f->path);
    f->preloaded = 1;
    f->added = (double)time(NULL);
    pthread_mutex_lock(&st.lock);
    f->id = st.next_id;
    if (list_add(f) != 0) {
        pthread_mutex_unlock(&st.lock);
        goto fail;
    }
    pthread_mutex_unlock(&st.lock);
    return 0;
fail:
    free(f);
    return -1;
}

/* The live entry of id (st.lock held); NULL when none. */
static firmware *find(int id)
{
    for (int i = 0; i < st.n; i++)
        if (st.list[i]->id == id && !st.list[i]->deleted)
            return st.list[i];
    return NULL;
}

static int id_of(const char *rest)
{
    char *end;
    long id = strtol(rest, &end, 10);

    return end != rest && !*end && id > 0 && id < 1000000000L ? (int)id : 0;
}

cJSON *mcd_firmware_list(void)
{
    cJSON *a = cJSON_CreateArray();

    pthread_mutex_lock(&st.lock);
    for (int i = 0; i < st.n; i++)
        if (!st.list[i]->deleted)
            cJSON_AddItemToArray(a, fw_json(st.list[i]));
    pthread_mutex_unlock(&st.lock);
    return a;
}

unsigned mcd_firmware_get(const char *rest, cJSON **out)
{
    firmware *f;
    unsigned status = 200;

    pthread_mutex_lock(&st.lock);
    f = find(id_of(rest));
    if (f)
        *out = fw_json(f);
    else
        status = refuse(out, 404, "no such firmware (GET /firmware lists them)");
    pthread_mutex_unlock(&st.lock);
    return status;
}

unsigned mcd_firmware_delete(mc_cloud *c, const char *rest, cJSON **out)
{
    firmware *f;
    char meta[PATH_MAX];
    int job = 0;
    unsigned status = 200;

    pthread_mutex_lock(&st.lock);
    f = find(id_of(rest));
    if (!f) {
        status = refuse(out, 404, "no such firmware (GET /firmware lists them)");
    } else if (mc_image_forget(c, f->path, &job) == MC_ERR_STATE) {
        status = refuse(out, 409,
                        "firmware %d is used by open job %d: cancel it first "
                        "(POST /jobs/%d/cancel)",
                        f->id, job, job);
    } else {
        f->deleted = 1;
        if (!f->preloaded)
            unlink(f->path);
        meta_path(f->id, meta, sizeof(meta));
        unlink(meta);
        *out = cJSON_CreateObject();
        cJSON_AddNumberToObject(*out, "deleted", f->id);
    }
    pthread_mutex_unlock(&st.lock);
    return status;
}

int mcd_firmware_find(int id, mcd_firmware_ref *out)
{
    firmware *f;

    pthread_mutex_lock(&st.lock);
    f = find(id);
    if (f) {
        /* The entry is never freed: these pointers stay valid. */
        out->id = f->id;
        out->path = f->path;
        out->version = f->version;
        out->module = f->module;
        out->sign = f->sign;
        out->nsources = f->nsources;
        for (int i = 0; i < f->nsources; i++)
            out->sources[i] = f->sources[i];
    }
    pthread_mutex_unlock(&st.lock);
    return f ? 0 : -1;
}

void mcd_firmware_job_note_path(int job_id, const char *path)
{
    int fw_id = 0;

    pthread_mutex_lock(&st.lock);
    for (int i = 0; i < st.n && !fw_id; i++)
        if (st.list[i]->path == path)
            fw_id = st.list[i]->id;
    if (job_id >= st.njob_fw) {
        int cap = job_id * 2 + 16;
        int *grown = realloc(st.job_fw, (size_t)cap * sizeof(*grown));
        if (grown) {
            memset(grown + st.njob_fw, 0, (size_t)(cap - st.njob_fw) * sizeof(*grown));
            st.job_fw = grown;
            st.njob_fw = cap;
        }
    }
    if (job_id < st.njob_fw)
        st.job_fw[job_id] = fw_id;
    pthread_mutex_unlock(&st.lock);
}

int mcd_firmware_of_job(int job_id)
{
    int id = 0;

    pthread_mutex_lock(&st.lock);
    if (job_id >= 0 && job_id < st.njob_fw)
        id = st.job_fw[job_id];
    pthread_mutex_unlock(&st.lock);
    return id;
}
