/*
 * The mock cloud's life cycle and its handling of device messages: inform
 * updates the registry and judges jobs, progress moves jobs along,
 * firmware/get is answered with the pending job, block requests go to the
 * block server (blocks.c). Bad input is refused with an error record in the
 * trace, never a crash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mock_priv.h"

const char *mc_strerror(int rc)
{
    static const char *const texts[MC_ERR__COUNT] = {
        "success",
        "invalid argument",
        "out of memory",
        "input/output error",
        "malformed device profile",
        "broker unavailable",
        "MQTT operation failed",
        "HTTP server failed",
        "not found",
        "the job is already finished",
    };
    return (rc >= 0 && rc < MC_ERR__COUNT) ? texts[rc] : "unknown error";
}

/* The cloud whose lock this thread holds (the lock is not recursive: at most one). */
static _Thread_local const mc_cloud *lock_held;

void mc_cloud_lock(mc_cloud *c)
{
    pthread_mutex_lock(&c->lock);
    lock_held = c;
}

void mc_cloud_unlock(mc_cloud *c)
{
    lock_held = NULL;
    pthread_mutex_unlock(&c->lock);
    mc_trace_flush(c); /* what was traced under the lock goes to the file now */
}

int mc_cloud_lock_held(const mc_cloud *c)
{
    return lock_held == c;
}

static void on_inform(mc_cloud *c, mc_device *d, const char *p, size_t len)
{
    ota_inform in;
    mc_job *j;
    int rc = ota_inform_parse(p, len, &in);

    if (rc != OTA_OK) {
        mc_trace_add(c, OTA_TR_ERROR, d->info.dn, NULL, NULL, 0, "inform refused: %s (%s)",
                     ota_strerror(rc), ota_err_name(rc));
        return;
    }
    snprintf(d->info.reported_version, sizeof(d->info.reported_version), "%s", in.version);
    d->info.informs++;
    j = mc_job_open_for(c, d->info.dn, in.has_module ? in.module : NULL);
    if (j)
        mc_job_feed(c, j, strcmp(in.version, j->version) ? MC_EV_INFORM_OTHER : MC_EV_INFORM_TARGET,
                    0);
}

static void on_progress(mc_cloud *c, mc_device *d, const char *p, size_t len)
{
    ota_progress pr;
    mc_job *j;
    int rc = ota_dialect_progress_parse(c->dialect, p, len, &pr);

    if (rc != OTA_OK) {
        mc_trace_add(c, OTA_TR_ERROR, d->info.dn, NULL, NULL, 0, "progress refused: %s (%s)",
                     ota_strerror(rc), ota_err_name(rc));
        return;
    }
    /* A cloud that ignores the module (ThingsPanel) reports on the device's current task. */
    j = c->dialect->module_ignored
            ? mc_job_open_any(c, d->info.dn)
            : mc_job_open_for(c, d->info.dn, pr.has_module ? pr.module : NULL);
    if (j)
        mc_job_feed(c, j, pr.step < 0 ? MC_EV_FAIL_STEP : MC_EV_PROGRESS, pr.step);
    /* Where step 100 alone is success (ThingsPanel), it ends the job as an inform would. */
    if (j && pr.step == 100 &&
        ota_dialect_upgrade_succeeded(c->dialect, pr.step, NULL, j->version)) {
        /* the platform now records the target as the device's version */
        snprintf(d->info.reported_version, sizeof(d->info.reported_version), "%s", j->version);
        mc_job_feed(c, j, MC_EV_INFORM_TARGET, 0);
    }
}

static void on_fw_get(mc_cloud *c, mc_device *d, const char *p, size_t len, char *reply, size_t cap)
{
    ota_fw_get g;
    mc_job *j;
    int rc = ota_fw_get_parse(p, len, &g);

    if (rc != OTA_OK) {
        mc_trace_add(c, OTA_TR_ERROR, d->info.dn, NULL, NULL, 0, "firmware/get refused: %s (%s)",
                     ota_strerror(rc), ota_err_name(rc));
        return;
    }
    j = mc_job_open_for(c, d->info.dn, g.has_module ? g.module : NULL);
    if (j)
        snprintf(reply, cap, "%s", j->push);
    else
        ota_get_reply_empty_build(OTA_ENVELOPE_LIVE, g.id.value, reply, cap);
}

/*
 * What the broker plugin saw. Refusals are errors in the trace. A pending
 * job whose device went away (or was offline at the push) is delivered again
 * when the device connects, as the real cloud does on reconnect; a job
 * pushed to a device that stayed connected is not pushed twice.
 */
void mc_cloud_on_broker_event(mc_cloud *c, const void *payload, size_t len)
{
    cJSON *o = len < OTA_MAX_PAYLOAD ? cJSON_ParseWithLength(payload, len) : NULL;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
    const cJSON *dn = cJSON_GetObjectItemCaseSensitive(o, "dn");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(o, "detail");
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(o, "client_id");
    char topics[2][OTA_MAX_TOPIC + 1], push[2048] = "";
    int ntopics = 0;
    const char *what = cJSON_IsString(ev) ? ev->valuestring : "?";
    const char *name = cJSON_IsString(dn) ? dn->valuestring : "";
    mc_trace_ev tev = {.offset = -1, .last = -1};
    mc_job *j;

    if (!o) {
        mc_trace_add(c, OTA_TR_ERROR, NULL, NULL, payload, len, "unreadable broker event");
        return;
    }
    if (mc_claim_skip_event(c, what, name, cJSON_IsString(cid) ? cid->valuestring : NULL)) {
        cJSON_Delete(o);
        return;
    }
    tev.client = cJSON_IsString(cid) ? cid->valuestring : NULL;
    if (ota_trace_event_parse(what, &tev.event) != OTA_OK)
        tev.event = OTA_EV_NONE; /* a plugin newer than this cloud: shown, not acted on */
    mc_trace_event(c,
                   tev.event == OTA_EV_AUTH_REFUSED || tev.event == OTA_EV_ACL_DENIED ||
                           !strcmp(what, "flood") /* no event kind of its own: its text says it */
                       ? OTA_TR_ERROR
                       : OTA_TR_BROKER,
                   &tev, name, NULL, payload, len, "%s: %s%s%s", what,
                   cJSON_IsString(detail) ? detail->valuestring : "",
                   cJSON_IsString(cid) && *cid->valuestring ? " client " : "",
                   cJSON_IsString(cid) ? cid->valuestring : "");
    if (*name && (!strcmp(what, "disconnect") || !strcmp(what, "undelivered"))) {
        mc_cloud_lock(c);
        mc_device *d = mc_registry_find(c, NULL, name);
        j = d ? mc_job_open_for(c, name, d->info.module) : NULL;
        if (j && j->state == MC_JOB_PENDING && !j->pull_only)
            j->redeliver = 1;
        mc_cloud_unlock(c);
    }
    if (!strcmp(what, "connect") && *name) {
        mc_cloud_lock(c);
        mc_device *d = mc_registry_find(c, NULL, name);
        j = d ? mc_job_open_for(c, name, d->info.module) : NULL;
        if (j && j->state == MC_JOB_PENDING && j->redeliver) {
            j->redeliver = 0;
            ntopics = mc_push_topics(c, &d->info, topics);
            snprintf(push, sizeof(push), "%s", j->push);
            mc_trace_add(c, OTA_TR_CLOUD, name, NULL, NULL, 0,
                         "job %d still pending: delivered again on reconnect", j->id);
        }
        mc_cloud_unlock(c);
        for (int i = 0; push[0] && i < ntopics; i++)
            mc_mqtt_publish(c, name, topics[i], push, 1);
    }
    cJSON_Delete(o);
}

/*
 * An uplink the plugin copied to "$ota/up/<pk>/<dn>/<topic>" because its
 * topic names no device: the device is the one the plugin names.
 */
static void on_connection_uplink(mc_cloud *c, const char *via, const void *payload, size_t len)
{
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1], tpk[OTA_MAX_NAME + 1];
    char tdn[OTA_MAX_NAME + 1];
    const char *topic = via + strlen(MC_UP_PREFIX);
    ota_topic_kind kind;
    mc_device *d;

    if (sscanf(topic, "%64[^/]/%64[^/]/", pk, dn) != 2)
        return;
    topic += strlen(pk) + strlen(dn) + 2;
    if (ota_dialect_topic_parse(c->dialect, topic, &kind, tpk, tdn, NULL) != OTA_OK ||
        !ota_topic_is_uplink(kind))
        return;
    mc_cloud_lock(c);
    d = mc_registry_find(c, pk, dn);
    if (d && !mc_claim_skip_uplink(c, d, topic, payload, len)) {
        mc_trace_add(c, OTA_TR_MQTT_IN, dn, topic, payload, len, NULL);
        if (len > OTA_MAX_PAYLOAD)
            mc_trace_add(c, OTA_TR_ERROR, dn, topic, NULL, 0, "payload of %zu bytes over the cap",
                         len);
        else if (kind == OTA_TOPIC_PROGRESS)
            on_progress(c, d, payload, len);
    }
    mc_cloud_unlock(c);
}

void mc_cloud_on_uplink(mc_cloud *c, const char *topic, const void *payload, size_t len)
{
    char pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1], reply_topic[OTA_MAX_TOPIC + 1];
    char reply[2048] = "";
    mc_block_out blk = {0};
    ota_topic_kind kind;
    mc_device *d;

    if (!strncmp(topic, MC_UP_PREFIX, strlen(MC_UP_PREFIX))) {
        on_connection_uplink(c, topic, payload, len);
        return;
    }
    if (ota_topic_parse(topic, &kind, pk, dn) != OTA_OK) {
        mc_cloud_on_other_topic(c, topic, payload, len);
        return;
    }
    if (!ota_topic_is_uplink(kind))
        return; /* our own downlink, heard back on a broker without the plugin */
    mc_cloud_lock(c);
    d = mc_registry_find(c, pk, dn);
    if (mc_claim_skip_uplink(c, d, topic, payload, len)) {
        mc_cloud_unlock(c);
        return;
    }
    mc_trace_add(c, OTA_TR_MQTT_IN, d ? dn : NULL, topic, payload, len, NULL);
    if (!d) {
        mc_trace_add(c, OTA_TR_ERROR, NULL, topic, NULL, 0, "unknown device %s/%s", pk, dn);
    } else if (len > OTA_MAX_PAYLOAD) {
        mc_trace_add(c, OTA_TR_ERROR, dn, topic, NULL, 0, "payload of %zu bytes over the cap", len);
    } else if (kind == OTA_TOPIC_INFORM) {
        on_inform(c, d, payload, len);
    } else if (kind == OTA_TOPIC_PROGRESS) {
        on_progress(c, d, payload, len);
    } else if (kind == OTA_TOPIC_FW_GET) {
        on_fw_get(c, d, payload, len, reply, sizeof(reply));
        ota_topic_build(OTA_TOPIC_FW_GET_REPLY, pk, dn, reply_topic, sizeof(reply_topic));
    } else if (kind == OTA_TOPIC_FILE_DOWNLOAD) {
        mc_blocks_on_request(c, d, payload, len, &blk);
        ota_topic_build(OTA_TOPIC_FILE_DOWNLOAD_REPLY, pk, dn, reply_topic, sizeof(reply_topic));
    }
    mc_cloud_unlock(c);
    if (reply[0])
        mc_mqtt_publish(c, dn, reply_topic, reply, 1);
    if (blk.kick)
        mc_device_kick(c, dn);
    if (blk.restart)
        mc_broker_restart_async(c);
    if (blk.delay > 0 && blk.copies && mc_device_delay_next(c, dn, blk.delay) != MC_OK)
        mc_trace_add(c, OTA_TR_ERROR, dn, NULL, NULL, 0,
                     "block-delay needs the broker plugin: the reply goes out at once");
    for (int i = 0; blk.frame && i < blk.copies; i++)
        mc_mqtt_publish_bin(c, dn, reply_topic, blk.frame, blk.len, &blk.ref, 0);
    free(blk.frame);
}

static int do_restart(mc_cloud *c, double down_s, int foreign)
{
    char err[300];
    double t0 = mc_now(c);
    int rc, before = mc_mqtt_connects(c);

    if (foreign >= 0)
        c->broker.foreign = foreign;
    mc_trace_event(c, OTA_TR_FAULT, MC_EV(OTA_EV_BROKER_RESTART), NULL, NULL, NULL, 0,
                   "broker restart: stopping it (persistence on), down for %.1f s%s", down_s,
                   foreign < 0 ? ""
                   : foreign   ? "; its TLS listener will present a certificate of a foreign CA"
                               : "; its TLS listener will present its own certificate");
    rc = mc_broker_restart_process(&c->broker, down_s, err, sizeof(err));
    /* Back means our own client is back too: commands to the plugin go through it. */
    if (rc == MC_OK && !mc_mqtt_wait_subscribed(c, before)) {
        snprintf(err, sizeof(err), "the cloud's own client did not reconnect");
        rc = MC_ERR_MQTT;
    }
    if (rc == MC_OK)
        mc_trace_add(c, OTA_TR_CLOUD, NULL, NULL, NULL, 0,
                     "broker restart: back on port %d after %.2f s", c->broker.port,
                     mc_now(c) - t0);
    else
        mc_trace_add(c, OTA_TR_ERROR, NULL, NULL, NULL, 0, "broker restart: %s", err);
    return rc;
}

static void *restarter_main(void *arg)
{
    mc_cloud *c = arg;

    pthread_mutex_lock(&c->rlock);
    for (;;) {
        while (!c->r_req && !c->r_stop)
            pthread_cond_wait(&c->rcond, &c->rlock);
        if (c->r_stop)
            break;
        double down = c->r_down;
        int foreign = c->r_foreign;
        c->r_req = 0;
        c->r_busy = 1;
        pthread_mutex_unlock(&c->rlock);
        int rc = do_restart(c, down, foreign);
        pthread_mutex_lock(&c->rlock);
        c->r_busy = 0;
        c->r_rc = rc;
        c->r_done++;
        pthread_cond_broadcast(&c->rcond);
    }
    pthread_mutex_unlock(&c->rlock);
    return NULL;
}

/* Ask for a restart (rlock held); 0 when asked, -1 when one is under way or no thread. */
static int ask_restart(mc_cloud *c, double down_s, int foreign)
{
    if (!c->restarter_up)
        c->restarter_up = pthread_create(&c->restarter, NULL, restarter_main, c) == 0;
    if (!c->restarter_up || c->r_req || c->r_busy)
        return -1;
    c->r_req = 1;
    c->r_down = down_s;
    c->r_foreign = foreign;
    pthread_cond_broadcast(&c->rcond);
    return 0;
}

static int restart_and_wait(mc_cloud *c, double down_s, int foreign)
{
    double until = ota_clock_now() + down_s + 30; /* every wait has a deadline */
    unsigned seq;
    int rc = MC_ERR_BROKER;

    pthread_mutex_lock(&c->rlock);
    seq = c->r_done;
    if (ask_restart(c, down_s, foreign) == 0) {
        while (c->r_done == seq && ota_cond_wait_until(&c->rcond, &c->rlock, until) == 0)
            ;
        rc = c->r_done != seq ? c->r_rc : MC_ERR_BROKER;
    }
    pthread_mutex_unlock(&c->rlock);
    return rc;
}

int mc_broker_restart(mc_cloud *c, double down_s)
{
    if (!c || !c->embedded || down_s < 0 || down_s > 60)
        return MC_ERR_ARG;
    return restart_and_wait(c, down_s, -1);
}

int mc_broker_present_foreign(mc_cloud *c, int foreign)
{
    if (!c || !c->embedded || !c->tls_dir[0])
        return MC_ERR_ARG;
    return restart_and_wait(c, 0, foreign ? 1 : 0);
}

void mc_broker_restart_async(mc_cloud *c)
{
    if (!c->embedded)
        return;
    pthread_mutex_lock(&c->rlock);
    ask_restart(c, 0, -1); /* one under way already: this one is the same fault */
    pthread_mutex_unlock(&c->rlock);
}

/* The dialect options of cfg into c; MC_ERR_ARG with err set for an unknown name. */
static int dialect_apply(mc_cloud *c, const mc_config *cfg, char *err, size_t errcap)
{
    c->dialect = ota_dialect_find(cfg->dialect);
    if (!c->dialect) {
        snprintf(err, errcap, "unknown dialect '%s' (aliyun or thingspanel)", cfg->dialect);
        return MC_ERR_ARG;
    }
    if (cfg->push_on && ota_push_on_from_name(cfg->push_on, &c->push_on) != OTA_OK) {
        snprintf(err, errcap, "unknown push topic '%s' (both, inform or infrom)", cfg->push_on);
        return MC_ERR_ARG;
    }
    if (cfg->push_values && ota_values_from_name(cfg->push_values, &c->push_values) != OTA_OK) {
        snprintf(err, errcap, "unknown push value types '%s' (code or doc)", cfg->push_values);
        return MC_ERR_ARG;
    }
    if (c->dialect->ident == OTA_IDENT_CONNECTION && !cfg->join &&
        (!cfg->plugin_path || cfg->broker_host)) {
        snprintf(err, errcap, "the %s dialect needs the broker plugin (its uplinks name no device)",
                 c->dialect->name);
        return MC_ERR_ARG;
    }
    snprintf(c->broker.dialect, sizeof(c->broker.dialect), "%s",
             c->dialect == ota_dialect_get(OTA_DIALECT_ALIYUN) ? "" : c->dialect->name);
    return MC_OK;
}

int mc_cloud_start(const mc_config *cfg, mc_cloud **out, char *err, size_t errcap)
{
    char dummy[8];
    mc_cloud *c;
    int rc;

    if (!err) {
        err = dummy;
        errcap = sizeof(dummy);
    }
    if (!cfg || !out || !cfg->devices_dir)
        return MC_ERR_ARG;
    c = calloc(1, sizeof(*c));
    if (!c)
        return MC_ERR_NOMEM;
    c->t0 = ota_clock_now();
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->rlock, NULL);
    ota_cond_init_mono(&c->rcond);
    pthread_mutex_init(&c->hlock, NULL);
    ota_cond_init_mono(&c->hcond);
    if (cfg->join)
        mc_join_apply(c, cfg->join); /* first: a failure below gives the device back */
    rc = mc_trace_open(c, cfg->trace_path, cfg->trace_keep);
    if (rc != MC_OK) {
        snprintf(err, errcap, "cannot write the trace to %s: %s", cfg->trace_path, strerror(errno));
        goto fail;
    }
    c->job_timeout_s = cfg->job_timeout_s > 0 ? cfg->job_timeout_s : 0;
    rc = dialect_apply(c, cfg, err, errcap);
    if (rc != MC_OK)
        goto fail;
    rc = mc_ticker_start(c);
    if (rc != MC_OK) {
        snprintf(err, errcap, "cannot start the timer thread");
        goto fail;
    }
    rc = c->joined ? MC_OK : mc_registry_load(c, cfg->devices_dir, err, errcap);
    if (rc != MC_OK)
        goto fail;
    if (cfg->tls_dir && strlen(cfg->tls_dir) >= sizeof(c->tls_dir)) {
        snprintf(err, errcap, "the certificate folder's path is too long");
        rc = MC_ERR_ARG;
        goto fail;
    }
    snprintf(c->tls_dir, sizeof(c->tls_dir), "%s", cfg->tls_dir ? cfg->tls_dir : "");
    snprintf(c->listen_addr, sizeof(c->listen_addr), "%s",
             cfg->listen_addr ? cfg->listen_addr : "127.0.0.1");
    snprintf(c->url_host, sizeof(c->url_host), "%s",
             cfg->url_host                        ? cfg->url_host
             : !strcmp(c->listen_addr, "0.0.0.0") ? "127.0.0.1"
                                                  : c->listen_addr);
    c->https_urls = cfg->https_urls && cfg->tls_dir;
    c->url_no_port = cfg->url_no_port;
    c->want_http_port = cfg->http_port;
    c->want_https_port = cfg->https_port;
    if (c->joined) {
        /* mc_join_apply set the broker; the file server below is ours */
    } else if (cfg->broker_host) {
        snprintf(c->host, sizeof(c->host), "%s", cfg->broker_host);
        c->port = cfg->broker_port;
    } else {
        if (cfg->plugin_path && strlen(cfg->plugin_path) >= sizeof(c->broker.plugin)) {
            snprintf(err, errcap, "the broker plugin's path is too long");
            rc = MC_ERR_ARG;
            goto fail;
        }
        snprintf(c->broker.plugin, sizeof(c->broker.plugin), "%s",
                 cfg->plugin_path ? cfg->plugin_path : "");
        c->broker.auth_off = cfg->auth_off;
        snprintf(c->broker.addr, sizeof(c->broker.addr), "%s", c->listen_addr);
        snprintf(c->broker.tls_dir, sizeof(c->broker.tls_dir), "%s", c->tls_dir);
        c->broker.port = cfg->mqtt_port;
        c->broker.tls_port = cfg->mqtts_port;
        rc = mc_broker_start(cfg->mosquitto_bin, &c->broker, err, errcap);
        if (rc != MC_OK)
            goto fail;
        c->embedded = 1;
        c->plugin = cfg->plugin_path != NULL;
        rc = mc_registry_sync(c);
        if (rc != MC_OK) {
            snprintf(err, errcap, "cannot write the broker's devices file in %s", c->broker.dir);
            goto fail;
        }
        /* Our own client reaches the broker by loopback unless it listens on one address. */
        snprintf(c->host, sizeof(c->host), "%s",
                 strcmp(c->listen_addr, "0.0.0.0") ? c->listen_addr : "127.0.0.1");
        c->port = c->broker.port;
    }
    rc = mc_http_start(c, err, errcap);
    if (rc == MC_OK)
        rc = mc_mqtt_start(c, err, errcap);
    if (rc != MC_OK)
        goto fail;
    /* Only the ports that are on: a port 0 would read as a port. */
    char mqtts[32] = "", https[32] = "";
    if (c->broker.tls_port)
        snprintf(mqtts, sizeof(mqtts), ", mqtts port %d", c->broker.tls_port);
    if (c->https_port)
        snprintf(https, sizeof(https), ", https port %d", c->https_port);
    mc_trace_add(c, OTA_TR_CLOUD, NULL, NULL, NULL, 0,
                 "mock cloud up: broker %s:%d (%s%s)%s, http port %d%s, %d device%s", c->host,
                 c->port,
                 c->embedded ? "embedded"
                 : c->joined ? "joined ota-mock-cloud"
                             : "external",
                 !c->plugin      ? ", no login or topic checks"
                 : cfg->auth_off ? ", auth off"
                                 : "",
                 mqtts, c->http_port, https, c->ndevices, c->ndevices == 1 ? "" : "s");
    *out = c;
    return MC_OK;
fail:
    mc_cloud_stop(c);
    return rc;
}

void mc_cloud_stop(mc_cloud *c)
{
    if (!c)
        return;
    mc_join_leave(c);
    mc_ticker_stop(c);
    mc_mqtt_stop(c);
    mc_http_stop(c);
    if (c->restarter_up) {
        pthread_mutex_lock(&c->rlock);
        c->r_stop = 1;
        pthread_cond_broadcast(&c->rcond);
        pthread_mutex_unlock(&c->rlock);
        pthread_join(c->restarter, NULL); /* a restarted broker dies with it (PDEATHSIG) */
    }
    if (c->embedded)
        mc_broker_stop(&c->broker);
    mc_jobs_free(c);
    mc_files_free(c);
    mc_registry_free(c);
    mc_trace_close(c);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->rlock);
    pthread_cond_destroy(&c->rcond);
    pthread_mutex_destroy(&c->hlock);
    pthread_cond_destroy(&c->hcond);
    free(c);
}

const char *mc_cloud_broker_host(const mc_cloud *c)
{
    return c->host;
}

int mc_cloud_broker_port(const mc_cloud *c)
{
    return c->port;
}

int mc_cloud_broker_embedded(const mc_cloud *c)
{
    return c->embedded;
}

int mc_cloud_plugin(const mc_cloud *c)
{
    return c->plugin;
}

int mc_cloud_broker_pid(const mc_cloud *c)
{
    return c->embedded ? (int)c->broker.pid : 0;
}

int mc_cloud_http_port(const mc_cloud *c)
{
    return c->http_port;
}

int mc_cloud_mqtts_port(const mc_cloud *c)
{
    return c->embedded ? c->broker.tls_port : c->joined ? c->join.mqtts_port : 0;
}

int mc_cloud_https_port(const mc_cloud *c)
{
    return c->https_port;
}

int mc_cloud_foreign_https_port(const mc_cloud *c)
{
    return c->foreign_port;
}
