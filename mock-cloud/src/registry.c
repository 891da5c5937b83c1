/*
 * The device registry: one JSON profile per device in a fixtures folder
 * (productKey, deviceName, deviceSecret, module, firmwareVersion), plus what
 * the cloud learns at run time (the reported version).
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_priv.h"

#define MC_MAX_PROFILE (64 * 1024)

char *mc_slurp(const char *path, size_t cap)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f)
        return NULL;
    buf = malloc(cap + 1);
    n = buf ? fread(buf, 1, cap + 1, f) : 0;
    fclose(f);
    if (!buf || n > cap) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static int field(const cJSON *o, const char *key, char *dst, size_t cap, const char *dflt)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!j && dflt) {
        snprintf(dst, cap, "%s", dflt);
        return 0;
    }
    if (!cJSON_IsString(j) || !j->valuestring[0] || strlen(j->valuestring) >= cap)
        return -1;
    memcpy(dst, j->valuestring, strlen(j->valuestring) + 1);
    return 0;
}

int mc_device_load(const char *path, mc_device_info *out, char *err, size_t errcap)
{
    char *text = mc_slurp(path, MC_MAX_PROFILE);
    cJSON *root;
    int bad;

    memset(out, 0, sizeof(*out));
    if (!text) {
        snprintf(err, errcap, "cannot read device profile %s", path);
        return MC_ERR_IO;
    }
    root = cJSON_Parse(text);
    free(text);
    bad = !cJSON_IsObject(root) || field(root, "productKey", out->pk, sizeof(out->pk), NULL) ||
          field(root, "deviceName", out->dn, sizeof(out->dn), NULL) ||
          field(root, "deviceSecret", out->secret, sizeof(out->secret), NULL) ||
          field(root, "module", out->module, sizeof(out->module), "default") ||
          field(root, "firmwareVersion", out->firmware_version, sizeof(out->firmware_version),
                "1.0.0");
    cJSON_Delete(root);
    if (bad || strpbrk(out->pk, "/+#&.") || strpbrk(out->dn, "/+#&")) {
        snprintf(err, errcap,
                 "device profile %s: productKey, deviceName and deviceSecret must be non-empty "
                 "strings without '/', '+', '#' or '&'",
                 path);
        return MC_ERR_FIXTURE;
    }
    return MC_OK;
}

int mc_device_add(mc_cloud *c, const mc_device_info *d)
{
    mc_device *n;
    int rc = MC_OK;

    mc_cloud_lock(c);
    for (int i = 0; i < c->ndevices; i++) {
        if (!strcmp(c->devices[i].info.dn, d->dn) && !strcmp(c->devices[i].info.pk, d->pk)) {
            c->devices[i].info = *d;
            goto out;
        }
    }
    n = realloc(c->devices, (size_t)(c->ndevices + 1) * sizeof(*n));
    if (!n) {
        rc = MC_ERR_NOMEM;
        goto out;
    }
    c->devices = n;
    memset(&c->devices[c->ndevices], 0, sizeof(c->devices[0]));
    c->devices[c->ndevices++].info = *d;
out:
    mc_cloud_unlock(c);
    if (rc == MC_OK)
        rc = mc_registry_sync(c);
    return rc;
}

int mc_registry_sync(mc_cloud *c)
{
    mc_device_info *list;
    int rc = MC_OK;

    if (!c->plugin)
        return MC_OK;
    mc_cloud_lock(c);
    list = calloc((size_t)c->ndevices + 1, sizeof(*list));
    for (int i = 0; list && i < c->ndevices; i++)
        list[i] = c->devices[i].info;
    if (!list || mc_broker_write_devices(&c->broker, list, c->ndevices) != 0)
        rc = MC_ERR_IO;
    mc_cloud_unlock(c);
    free(list);
    return rc;
}

int mc_registry_load(mc_cloud *c, const char *dir, char *err, size_t errcap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = MC_OK;

    if (!d) {
        snprintf(err, errcap, "cannot open the devices folder %s", dir);
        return MC_ERR_IO;
    }
    while (rc == MC_OK && (e = readdir(d)) != NULL) {
        char path[1024];
        mc_device_info info;
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        rc = mc_device_load(path, &info, err, errcap);
        if (rc == MC_OK)
            rc = mc_device_add(c, &info);
    }
    closedir(d);
    return rc;
}

mc_device *mc_registry_find(mc_cloud *c, const char *pk, const char *dn)
{
    for (int i = 0; i < c->ndevices; i++)
        if (!strcmp(c->devices[i].info.dn, dn) && (!pk || !strcmp(c->devices[i].info.pk, pk)))
            return &c->devices[i];
    return NULL;
}

int mc_device_count(mc_cloud *c)
{
    int n;
    mc_cloud_lock(c);
    n = c->ndevices;
    mc_cloud_unlock(c);
    return n;
}

int mc_device_at(mc_cloud *c, int i, mc_device_info *out)
{
    int rc = MC_ERR_NOTFOUND;
    mc_cloud_lock(c);
    if (i >= 0 && i < c->ndevices) {
        *out = c->devices[i].info;
        rc = MC_OK;
    }
    mc_cloud_unlock(c);
    return rc;
}

int mc_device_get(mc_cloud *c, const char *dn, mc_device_info *out)
{
    mc_device *d;
    int rc = MC_ERR_NOTFOUND;

    mc_cloud_lock(c);
    d = mc_registry_find(c, NULL, dn);
    if (d) {
        *out = d->info;
        rc = MC_OK;
    }
    mc_cloud_unlock(c);
    return rc;
}
