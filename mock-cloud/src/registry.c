/*
 * The device registry: one JSON profile per device in a fixtures folder
 * (productKey, deviceName, deviceSecret, module, firmwareVersion), plus what
 * the cloud learns at run time (the reported version).
 */
#include <errno.h>
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

int mc_device_parse(const char *json, size_t len, mc_device_info *out, char *err, size_t errcap)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    int bad;

    memset(out, 0, sizeof(*out));
    bad = !cJSON_IsObject(root) || field(root, "productKey", out->pk, sizeof(out->pk), NULL) ||
          field(root, "deviceName", out->dn, sizeof(out->dn), NULL) ||
          field(root, "deviceSecret", out->secret, sizeof(out->secret), NULL) ||
          field(root, "module", out->module, sizeof(out->module), "default") ||
          field(root, "firmwareVersion", out->firmware_version, sizeof(out->firmware_version),
                "1.0.0");
    cJSON_Delete(root);
    if (bad || strpbrk(out->pk, "/+#&.") || strpbrk(out->dn, "/+#&")) {
        snprintf(err, errcap,
                 "productKey, deviceName and deviceSecret must be non-empty strings without "
                 "'/', '+', '#' or '&'");
        return MC_ERR_FIXTURE;
    }
    return MC_OK;
}

int mc_device_load(const char *path, mc_device_info *out, char *err, size_t errcap)
{
    char *text = mc_slurp(path, MC_MAX_PROFILE), why[200];
    int rc;

    memset(out, 0, sizeof(*out));
    if (!text) {
        snprintf(err, errcap, "cannot read device profile %s", path);
        return MC_ERR_IO;
    }
    rc = mc_device_parse(text, strlen(text), out, why, sizeof(why));
    free(text);
    if (rc != MC_OK)
        snprintf(err, errcap, "device profile %s: %s", path, why);
    return rc;
}

static size_t name_hash(const char *s)
{
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Rebuild the name index for at least `want` devices (c->lock held). */
static int index_grow(mc_cloud *c, int want)
{
    size_t cap = 64;
    int *t;

    while (cap < 2 * (size_t)want)
        cap *= 2;
    if (cap <= c->dev_index_cap)
        return MC_OK;
    t = calloc(cap, sizeof(*t));
    if (!t)
        return MC_ERR_NOMEM;
    free(c->dev_index);
    c->dev_index = t;
    c->dev_index_cap = cap;
    for (int i = 0; i < c->ndevices; i++) {
        size_t k = name_hash(c->devices[i].info.dn) & (cap - 1);
        while (t[k])
            k = (k + 1) & (cap - 1);
        t[k] = i + 1;
    }
    return MC_OK;
}

/*
 * The first device of that name (c->lock held), by the index: a fleet of
 * thousands looks a device up for every message. Devices of one name in
 * two products are rare; the caller checks the productKey.
 */
static mc_device *by_name(mc_cloud *c, const char *dn, int *slot_out)
{
    size_t mask = c->dev_index_cap - 1, k;

    if (!c->dev_index_cap)
        return NULL;
    for (k = name_hash(dn) & mask; c->dev_index[k]; k = (k + 1) & mask) {
        mc_device *d = &c->devices[c->dev_index[k] - 1];
        if (!strcmp(d->info.dn, dn)) {
            if (slot_out)
                *slot_out = (int)k;
            return d;
        }
    }
    if (slot_out)
        *slot_out = (int)k;
    return NULL;
}

/* Add or replace one device (c->lock held); the plugin's file is the caller's to sync. */
static int add_locked(mc_cloud *c, const mc_device_info *d)
{
    mc_device *n;
    int slot = -1;

    for (mc_device *o = by_name(c, d->dn, NULL); o; o = NULL) {
        if (!strcmp(o->info.pk, d->pk)) {
            o->info = *d;
            return MC_OK;
        }
        for (int i = 0; i < c->ndevices; i++) /* the same name in another product */
            if (!strcmp(c->devices[i].info.dn, d->dn) && !strcmp(c->devices[i].info.pk, d->pk)) {
                c->devices[i].info = *d;
                return MC_OK;
            }
    }
    if (index_grow(c, c->ndevices + 1) != MC_OK)
        return MC_ERR_NOMEM;
    n = realloc(c->devices, (size_t)(c->ndevices + 1) * sizeof(*n));
    if (!n)
        return MC_ERR_NOMEM;
    c->devices = n;
    memset(&c->devices[c->ndevices], 0, sizeof(c->devices[0]));
    c->devices[c->ndevices++].info = *d;
    if (!by_name(c, d->dn, &slot) && slot >= 0)
        c->dev_index[slot] = c->ndevices; /* the first of its name stays the one found */
    return MC_OK;
}

int mc_devices_add(mc_cloud *c, const mc_device_info *list, int n)
{
    int rc = MC_OK;

    if (!c || n < 0 || (n && !list))
        return MC_ERR_ARG;
    mc_cloud_lock(c);
    for (int i = 0; rc == MC_OK && i < n; i++)
        rc = add_locked(c, &list[i]);
    mc_cloud_unlock(c);
    if (rc == MC_OK)
        rc = mc_registry_sync(c);
    return rc;
}

int mc_device_add(mc_cloud *c, const mc_device_info *d)
{
    return mc_devices_add(c, d, 1);
}

void mc_registry_free(mc_cloud *c)
{
    free(c->devices);
    c->devices = NULL;
    c->ndevices = 0;
    free(c->dev_index);
    c->dev_index = NULL;
    c->dev_index_cap = 0;
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
        snprintf(err, errcap, "cannot open the devices folder %s: %s", dir, strerror(errno));
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
        if (rc == MC_OK) {
            mc_cloud_lock(c);
            rc = add_locked(c, &info);
            mc_cloud_unlock(c);
        }
    }
    closedir(d);
    return rc == MC_OK ? mc_registry_sync(c) : rc; /* the plugin's file once, not per device */
}

mc_device *mc_registry_find(mc_cloud *c, const char *pk, const char *dn)
{
    mc_device *d = by_name(c, dn, NULL);

    if (d && (!pk || !strcmp(d->info.pk, pk)))
        return d;
    if (!d)
        return NULL;
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
