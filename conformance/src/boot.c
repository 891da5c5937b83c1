/*
 * Boots and settling: the device's first boot, reboots, reconnects, the
 * settling between tests (its boot report, then quiet), and the module
 * switch. What an upgrade attempt makes of a boot is attempt.c's.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "harness_int.h"

/* Any connect of the device: where its current connection began. */
static int any_connect(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return ct_is_connect_rec(r);
}

static int inform_or_refused(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_up(r, i, NULL) || ct_is_refused(r, i, NULL);
}

/*
 * Settled on record i, a boot report (0); -1 on a refused login (ct.refused
 * says why) or when no record came (i < 0).
 */
static int settled(long i)
{
    const ota_trace_rec *r = i >= 0 ? mc_trace_at(ct.cloud, (size_t)i) : NULL;

    if (r && ct_is_refused(r, i, NULL)) {
        snprintf(ct.refused, sizeof(ct.refused), "%s", r->info);
        return -1;
    }
    ct.refused[0] = '\0';
    return r != NULL ? 0 : -1;
}

/* The device stopped: its process ended, or (seen on the network) its connection. */
static int is_stop(const ota_trace_rec *r)
{
    if (ct.boot_by_connect)
        return ct_is_disconnect_rec(r);
    return ct_is_dut_event(r, OTA_EV_EXIT) || ct_is_dut_event(r, OTA_EV_CRASH) ||
           ct_is_dut_event(r, OTA_EV_KILLED);
}

/*
 * Where the device's current run began: its last start record, or the next
 * one when it stopped after that start (a reboot or crash still in
 * flight). A device seen only on the network began with its current
 * connection (a boot, or a reconnect after the cloud dropped it): the last
 * connect, or the next one when it is disconnected.
 */
static long last_start(void)
{
    size_t n = mc_trace_count(ct.cloud), i = n;
    ct_pred start = ct.boot_by_connect ? any_connect : ct_is_start;

    while (i-- > 0) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        if (start(r, i, NULL))
            return (long)i;
        if (is_stop(r))
            return ct_find(i, ct.bounds.boot, start, NULL);
    }
    return ct_find(0, ct.bounds.boot, start, NULL);
}

/*
 * The device's last boot, for a device seen only on the network: the last
 * connect the cloud did not cause. A reconnect after a kick need not bring a
 * version report (VER-7 allows none), so what the device
 * reported is judged from its boot. -1 when none is in the trace.
 */
static long last_boot(void)
{
    for (size_t i = mc_trace_count(ct.cloud); i-- > 0;) {
        if (ct_is_start(mc_trace_at(ct.cloud, i), i, NULL))
            return (long)i;
    }
    return -1;
}

void ct_need_seen_boot(long s, const char *rule)
{
    if (ct.can_reset || s < 0)
        return;
    for (size_t i = (size_t)s; i-- > 0;)
        if (ct_is_connect_rec(mc_trace_at(ct.cloud, i)))
            return; /* it connected before: s is a boot the suite saw */
    if (ct_scan((size_t)s, mc_trace_count(ct.cloud), ct_is_inform, NULL) < 0)
        ct_inconclusive("%s is judged at a boot, and the suite has not seen this device boot: it "
                        "was running when the run began (connected again without a version "
                        "report), and the suite cannot reboot it",
                        rule);
}

const char *ct_boot_words(void)
{
    return ct.can_reset ? "a power cycle"
                        : "its last boot (the suite cannot reboot it; its last boot is judged)";
}

/* Whether the device stopped (a disconnect, an exit or a crash) between records from and to. */
static int has_stopped_between(size_t from, size_t to)
{
    for (size_t i = from + 1; i < to; i++)
        if (is_stop(mc_trace_at(ct.cloud, i)))
            return 1;
    return 0;
}

/* The device's boot report since start record s; reboot once if it never came. */
static int settle_boot(void)
{
    long s = last_start(), b = ct.boot_by_connect ? last_boot() : -1;
    size_t n;

    if (s >= 0 && b >= 0 && b < s)
        s = b; /* connected again since its boot: the boot brought the version report */
    const ota_trace_rec *r = s >= 0 ? mc_trace_at(ct.cloud, (size_t)s) : NULL;
    /* Already waited VER-1's bound for this boot (a silent device): do not wait again. */
    double waited = r ? mc_now(ct.cloud) - r->t : 0;

    double bound = ct.bounds.inform;
    long i = s >= 0
                 ? ct_find((size_t)s, waited > ct_secs(bound) ? 0 : bound, inform_or_refused, NULL)
                 : -1;

    if (settled(i) == 0)
        return 0;
    if (ct.refused[0] || !ct.can_reset)
        return -1; /* rebooting will not fix a refused login; some devices we cannot reboot */
    n = mc_trace_count(ct.cloud);
    s = ct_reboot();
    /*
     * A reset that could not be made (a board in a boot loop whose USB port is away at that
     * moment) hands back the device's last boot; when that boot ended before this reset, its
     * version report is history, not the device up now.
     */
    if (s >= 0 && (size_t)s < n && has_stopped_between((size_t)s, n))
        s = -1;
    i = s >= 0 ? ct_find((size_t)s, bound, inform_or_refused, NULL) : -1;
    return settled(i);
}

/*
 * Ask STATUS whether the device is idle. A device that went away meanwhile
 * (a reboot) is not; one without a channel, or that does not answer, is
 * taken as idle: only the channel can tell.
 */
static int is_device_idle(void)
{
    char reply[DUT_MAX_LINE];
    int rc;

    if (!dut_has_channel(ct.dut))
        return 1;
    rc = dut_command(ct.dut, "STATUS", reply, sizeof(reply), ct_secs(CT_S(STATUS)));
    if (rc == DUT_ERR_CLOSED)
        return 0;
    return rc != DUT_OK || strstr(reply, "state=idle") != NULL;
}

/* Anything the device sends: a message or a download request. */
static int device_speaks(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)i;
    (void)arg;
    return (r->kind == OTA_TR_MQTT_IN || r->kind == OTA_TR_HTTP) && !strcmp(r->dev, ct.dev.dn);
}

int ct_settle(void)
{
    double end = mc_now(ct.cloud) + ct_secs(CT_S(SETTLE));

    while (mc_now(ct.cloud) < end && !ct_interrupted) {
        if (settle_boot() != 0)
            return -1;
        if (is_device_idle()) {
            /* Quiet for a moment, so that nothing of the last test spills into the next. */
            ct_quiet(mc_trace_count(ct.cloud), CT_S(QUIET), device_speaks, NULL, CT_S(QUIET_MAX));
            return 0;
        }
        /* Busy (an upgrade still running): wake on the next event or in 50 ms. */
        mc_trace_wait(ct.cloud, mc_trace_count(ct.cloud), mc_now(ct.cloud) + 0.05);
    }
    return -1;
}

long ct_reboot(void)
{
    size_t n = mc_trace_count(ct.cloud);

    if (!ct.can_reset || dut_restart(ct.dut) != DUT_OK) {
        long b = ct.boot_by_connect ? last_boot() : -1;
        return b >= 0 ? b : ct.boot_by_connect ? last_start() : -1;
    }
    return ct_find(n, ct.bounds.boot, ct_is_start, NULL);
}

long ct_reconnect(void)
{
    size_t n = mc_trace_count(ct.cloud);

    if (ct.can_reset)
        return ct_reboot();
    if (!mc_cloud_plugin(ct.cloud) || mc_device_kick(ct.cloud, ct.dev.dn) != MC_OK)
        return -1;
    return ct_find(n, ct.bounds.boot, any_connect, NULL);
}

/* A sentence about a device that never came up, from what the trace shows. */
static void never_up(size_t from, int crashes, char *err, size_t errcap)
{
    const ota_trace_rec *last_crash = NULL, *refused = NULL;
    int connected = 0;
    char log[1024] = "";

    for (size_t i = from; i < mc_trace_count(ct.cloud); i++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        if (ct_is_dut_event(r, OTA_EV_CRASH))
            last_crash = r;
        if (ct_is_refused(r, i, NULL))
            refused = r;
        connected |= ct_is_connect_rec(r);
    }
    dut_last_log(ct.dut, log, sizeof(log));
    if (crashes && last_crash) {
        char what[720];
        size_t n = (size_t)snprintf(what, sizeof(what), "%.700s", ct_dut_text(last_crash));
        const char *tail = "; last log lines:\n";
        if (n > strlen(tail) && !strcmp(what + n - strlen(tail), tail))
            snprintf(what + n - strlen(tail), sizeof(what) - (n - strlen(tail)),
                     ", printing nothing");
        snprintf(err, errcap, "the device crashed at every boot (%d times): %s", crashes, what);
    } else if (refused)
        snprintf(err, errcap, "the broker refused every login of the device: %.400s",
                 refused->info);
    else if (connected)
        snprintf(err, errcap,
                 "the device connected but never reported its version within %.0f "
                 "s%s%.600s",
                 ct_secs(ct.bounds.boot + ct.bounds.inform),
                 log[0] ? "; its last log lines:\n" : "", log);
    else
        snprintf(err, errcap,
                 "the device never connected to the broker at %s:%d within %.0f "
                 "s%s%.600s",
                 mc_cloud_broker_host(ct.cloud),
                 ct.tls ? mc_cloud_mqtts_port(ct.cloud) : mc_cloud_broker_port(ct.cloud),
                 ct_secs(ct.bounds.boot + ct.bounds.inform),
                 log[0] ? "; its last log lines:\n" : "", log);
}

static int dut_crash(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_dut_event(r, OTA_EV_CRASH) || ct_is_up(r, i, NULL) || ct_is_refused(r, i, NULL) ||
           (ct.boot_by_connect && ct_is_connect_rec(r));
}

/*
 * A device we cannot reboot may be running already: connected again (after
 * the broker of an earlier run went away) without a new version report.
 * It is up; its version is the profile's until it reports one.
 */
static void up_without_report(size_t connect_at)
{
    if (ct_find(connect_at, ct.bounds.inform, ct_is_inform, NULL) >= 0)
        return;
    fprintf(stderr,
            "ota-conformance: the device %s connected but reported no version within %.0f s (a "
            "device that was running already reports it only at boot): taking %s, its "
            "profile's firmwareVersion, until it reports one\n",
            ct.dev.dn, ct_secs(ct.bounds.inform), ct.dev.firmware_version);
}

#define CT_MAX_FAILED_BOOTS 3

int ct_first_boot(char *err, size_t errcap)
{
    double end = mc_now(ct.cloud) + ct_secs(ct.bounds.boot + ct.bounds.inform);
    int crashes = 0;
    size_t from = 0;

    while (mc_now(ct.cloud) < end && !ct_interrupted) {
        long i = ct_find(from, (end - mc_now(ct.cloud)) / ct.scale, dut_crash, NULL);
        const ota_trace_rec *r = i >= 0 ? mc_trace_at(ct.cloud, (size_t)i) : NULL;
        if (!r)
            break;
        if (ct_is_up(r, i, NULL) || ct_is_refused(r, i, NULL))
            return 0; /* up; a refused login is judged by SEC-1 in every test */
        if (ct.boot_by_connect && ct_is_connect_rec(r)) {
            up_without_report((size_t)i);
            return 0;
        }
        if (++crashes >= CT_MAX_FAILED_BOOTS)
            break;
        from = (size_t)i + 1;
    }
    if (ct_interrupted)
        return 0;
    never_up(0, crashes, err, errcap);
    return -1;
}

/*
 * Restart the device's process with `module` and tell the cloud (0; -1
 * when the process adapter refused it). What it last reported stays: a
 * dialect without a version report (ThingsPanel) has no boot report to
 * learn it again from, and a test after this one pushes from it.
 */
static int set_module(const char *module)
{
    char kv[OTA_MAX_MODULE + 16];
    mc_device_info now;

    snprintf(kv, sizeof(kv), "OTA_MODULE=%s", module);
    if (dut_process_setenv(ct.dut, kv) != DUT_OK)
        return -1;
    snprintf(ct.dev.module, sizeof(ct.dev.module), "%s", module);
    if (mc_device_get(ct.cloud, ct.dev.dn, &now) == MC_OK)
        snprintf(ct.dev.reported_version, sizeof(ct.dev.reported_version), "%s",
                 now.reported_version);
    mc_device_add(ct.cloud, &ct.dev);
    return 0;
}

int ct_module_switch(const char *module)
{
    char saved[OTA_MAX_MODULE + 1];

    if (ct.module_saved[0] || !ct.can_reset || ct.module_fixed)
        return -1; /* a build with its module compiled in ignores OTA_MODULE */
    snprintf(saved, sizeof(saved), "%s", ct.dev.module);
    if (set_module(module) != 0)
        return -1;
    snprintf(ct.module_saved, sizeof(ct.module_saved), "%s", saved);
    if (ct_reboot() < 0 || ct_settle() != 0)
        ct_fail("VER-1", "the device did not come back after a restart with OTA_MODULE=%s", module);
    return 0;
}

const char *ct_module_hint(void)
{
    static char hint[200];

    if (!ct.module_saved[0])
        return "";
    snprintf(hint, sizeof(hint),
             " (the suite restarted it with OTA_MODULE=%s; a build with its module compiled in "
             "says \"compiledIn\": true in its profile)",
             ct.dev.module);
    return hint;
}

void ct_module_restore(void)
{
    if (!ct.module_saved[0])
        return;
    set_module(ct.module_saved);
    ct.module_saved[0] = '\0';
    ct_reboot();
}
