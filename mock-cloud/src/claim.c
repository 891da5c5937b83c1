/*
 * Claims: a device that a conformance run joined this cloud to test. The
 * cloud holding the registry (ota-mock-cloud) keeps logging a claimed
 * device's uplinks but acts on none of them until the claim is released, by
 * the control API or when the claiming client's connection ends. On the
 * joining side, the same seams drop what belongs to other devices.
 */
#include <stdio.h>
#include <string.h>

#include "mock_priv.h"

int mc_device_claim(mc_cloud *c, const char *dn, const char *holder)
{
    mc_device *d;
    int rc = MC_OK;

    if (!c || !dn || !holder || !*holder || strlen(holder) >= sizeof(d->claim))
        return MC_ERR_ARG;
    mc_cloud_lock(c);
    d = mc_registry_find(c, NULL, dn);
    if (!d)
        rc = MC_ERR_NOTFOUND;
    else if (d->claim[0] && strcmp(d->claim, holder))
        rc = MC_ERR_ARG;
    else
        snprintf(d->claim, sizeof(d->claim), "%s", holder);
    mc_cloud_unlock(c);
    if (rc != MC_OK)
        return rc;
    mc_jobs_cancel(c, dn); /* its jobs are the run's business now */
    mc_trace_add(c, OTA_TR_CLOUD, dn, NULL, NULL, 0,
                 "claimed by a conformance run (client %s): its messages are logged, not acted on",
                 holder);
    return MC_OK;
}

int mc_device_release(mc_cloud *c, const char *dn)
{
    mc_device *d;
    int rc = MC_ERR_NOTFOUND;

    if (!c || !dn)
        return MC_ERR_ARG;
    mc_cloud_lock(c);
    d = mc_registry_find(c, NULL, dn);
    if (d && d->claim[0]) {
        d->claim[0] = '\0';
        rc = MC_OK;
    }
    mc_cloud_unlock(c);
    if (rc == MC_OK)
        mc_trace_add(c, OTA_TR_CLOUD, dn, NULL, NULL, 0, "released: served by this cloud again");
    return rc;
}

int mc_device_claimed(mc_cloud *c, const char *dn, char *holder, size_t cap)
{
    mc_device *d;
    int claimed;

    mc_cloud_lock(c);
    d = mc_registry_find(c, NULL, dn);
    claimed = d && d->claim[0];
    if (holder && cap)
        snprintf(holder, cap, "%s", claimed ? d->claim : "");
    mc_cloud_unlock(c);
    return claimed;
}

const char *mc_cloud_credential(const mc_cloud *c)
{
    return c && c->embedded && c->plugin ? c->broker.cloud_password : NULL;
}

int mc_claim_skip_uplink(mc_cloud *c, mc_device *d, const char *topic, const void *payload,
                         size_t len)
{
    assert(mc_cloud_lock_held(c));
    if (!d)
        return c->joined; /* another device of the cloud we joined: none of ours */
    if (!d->claim[0])
        return 0;
    mc_trace_add(c, OTA_TR_MQTT_IN, d->info.dn, topic, payload, len,
                 "(claimed by a conformance run)");
    return 1;
}

/* Release every claim the client held (its connection ended without DELETE /join). */
static void release_held_by(mc_cloud *c, const char *client_id) EXCLUDES(MC_NONE_HELD(c))
{
    char dn[OTA_MAX_NAME + 1];

    for (;;) {
        dn[0] = '\0';
        mc_cloud_lock(c);
        for (int i = 0; i < c->ndevices && !dn[0]; i++)
            if (c->devices[i].claim[0] && !strcmp(c->devices[i].claim, client_id))
                snprintf(dn, sizeof(dn), "%s", c->devices[i].info.dn);
        mc_cloud_unlock(c);
        if (!dn[0] || mc_device_release(c, dn) != MC_OK)
            return;
    }
}

int mc_claim_skip_event(mc_cloud *c, const char *what, const char *dn, const char *client_id)
{
    int ours;

    if (!c->joined) {
        if (!strcmp(what, "cloud-disconnect") && client_id && *client_id)
            release_held_by(c, client_id);
        return 0;
    }
    mc_cloud_lock(c);
    ours = *dn && mc_registry_find(c, NULL, dn) != NULL;
    mc_cloud_unlock(c);
    return !ours;
}
