/*
 * Joining a running ota-mock-cloud: POST /join on its control API claims a
 * device and hands back the broker and the cloud credential that a second
 * cloud client logs in with; DELETE /join/DN gives the device back. HTTP by
 * libcurl. The MQTT login itself is mqtt.c's, with what this returns.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "mock_priv.h"

#define MC_JOIN_MAX_REPLY 8192 /* the daemon's answers are a few hundred bytes */
#define MC_JOIN_TIMEOUT_S 10L

typedef struct {
    char text[MC_JOIN_MAX_REPLY + 1];
    size_t len;
    int over;
} api_reply;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    api_reply *r = ud;
    size_t len = size * n;

    if (r->len + len > MC_JOIN_MAX_REPLY) {
        r->over = 1;
        return 0;
    }
    memcpy(r->text + r->len, p, len);
    r->len += len;
    r->text[r->len] = '\0';
    return len;
}

/* Why the API could not be reached, in words: the system's reason, first letter lower case. */
static void unreachable(CURL *h, CURLcode cc, const char *api, char *err, size_t errcap)
{
    long os = 0;
    char why[128];

    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
    snprintf(why, sizeof(why), "%s", os ? strerror((int)os) : curl_easy_strerror(cc));
    why[0] = (char)tolower((unsigned char)why[0]);
    snprintf(err, errcap, "no ota-mock-cloud control API at %s: %s", api, why);
}

/*
 * One request to the control API. MC_OK with the status and the body, or
 * MC_ERR_BROKER when nothing answered there (err says why).
 */
static int api_call(const char *api, const char *method, const char *path, const char *body,
                    long *status, api_reply *r, char *err, size_t errcap)
{
    char url[512];
    struct curl_slist *hdr = NULL;
    CURL *h;
    CURLcode cc;

    pthread_once(&curl_once, curl_init);
    snprintf(url, sizeof(url), "http://%s%s", api, path);
    h = curl_easy_init();
    if (!h) {
        snprintf(err, errcap, "libcurl could not start a request");
        return MC_ERR_NOMEM;
    }
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (getenv("OTA_API_TOKEN") && *getenv("OTA_API_TOKEN")) { /* a daemon off loopback */
        char auth[160];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %.120s", getenv("OTA_API_TOKEN"));
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* a lab address is never behind a proxy */
    curl_easy_setopt(h, CURLOPT_TIMEOUT, MC_JOIN_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    cc = curl_easy_perform(h);
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    else if (r->over)
        snprintf(err, errcap, "the answer of %s to %s %s is larger than %d bytes", api, method,
                 path, MC_JOIN_MAX_REPLY);
    else
        unreachable(h, cc, api, err, errcap);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return cc == CURLE_OK ? MC_OK : MC_ERR_BROKER;
}

/* The daemon's {"error": …} text, or the status when there is none. */
static void refusal(const api_reply *r, long status, const char *api, char *err, size_t errcap)
{
    cJSON *o = cJSON_ParseWithLength(r->text, r->len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");

    if (cJSON_IsString(e))
        snprintf(err, errcap, "ota-mock-cloud at %s refused: %s (HTTP %ld)", api, e->valuestring,
                 status);
    else
        snprintf(err, errcap, "%s answered HTTP %ld without an error text (is it ota-mock-cloud?)",
                 api, status);
    cJSON_Delete(o);
}

static char *join_body(const mc_device_info *d)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    cJSON_AddStringToObject(o, "productKey", d->pk);
    cJSON_AddStringToObject(o, "deviceName", d->dn);
    cJSON_AddStringToObject(o, "deviceSecret", d->secret);
    cJSON_AddStringToObject(o, "module", d->module[0] ? d->module : "default");
    cJSON_AddStringToObject(o, "firmwareVersion", d->firmware_version);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int get_text(const cJSON *o, const char *key, char *dst, size_t cap, int required)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!j && !required) {
        dst[0] = '\0';
        return 0;
    }
    if (!cJSON_IsString(j) || strlen(j->valuestring) >= cap || (required && !*j->valuestring))
        return -1;
    memcpy(dst, j->valuestring, strlen(j->valuestring) + 1);
    return 0;
}

static int get_int(const cJSON *o, const char *key, int *dst, int lo, int hi)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

    if (cJSON_IsBool(j)) {
        *dst = cJSON_IsTrue(j);
        return 0;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble < lo || j->valuedouble > hi)
        return -1;
    *dst = (int)j->valuedouble;
    return 0;
}

/* The join answer into out; -1 when a field is missing or out of range. */
static int parse_join(const char *text, size_t len, mc_join_info *out)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    int bad =
        !cJSON_IsObject(o) || get_text(o, "mqttHost", out->mqtt_host, sizeof(out->mqtt_host), 0) ||
        get_int(o, "mqttPort", &out->mqtt_port, 1, 65535) ||
        get_int(o, "mqttsPort", &out->mqtts_port, 0, 65535) ||
        get_text(o, "cloudUser", out->cloud_user, sizeof(out->cloud_user), 1) ||
        get_text(o, "cloudPassword", out->cloud_password, sizeof(out->cloud_password), 1) ||
        get_text(o, "clientId", out->client_id, sizeof(out->client_id), 1) ||
        get_text(o, "listen", out->listen, sizeof(out->listen), 1) ||
        get_text(o, "urlHost", out->url_host, sizeof(out->url_host), 0) ||
        get_int(o, "urlNoPort", &out->url_no_port, 0, 1) || get_int(o, "tls", &out->tls, 0, 1);

    if (!bad && cJSON_GetObjectItemCaseSensitive(o, "authOff"))
        bad = get_int(o, "authOff", &out->auth_off, 0, 1);
    cJSON_Delete(o);
    return bad ? -1 : 0;
}

/* "HOST:PORT" with a port from 1 to 65535; the host part into host. */
static int split_api(const char *api, char *host, size_t cap)
{
    const char *colon = api ? strrchr(api, ':') : NULL;
    char *end;
    long port;

    if (!colon || colon == api || (size_t)(colon - api) >= cap)
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return -1;
    snprintf(host, cap, "%.*s", (int)(colon - api), api);
    return 0;
}

int mc_cloud_join(const char *api, const mc_device_info *dev, mc_join_info *out, char *err,
                  size_t errcap)
{
    api_reply *r = NULL;
    char *body = NULL, host[128];
    long status = 0;
    int rc;

    if (!dev || !out || split_api(api, host, sizeof(host)) != 0 ||
        strlen(api) >= sizeof(out->api)) {
        snprintf(err, errcap, "the ota-mock-cloud API wants HOST:PORT, got '%s'",
                 api ? api : "(none)");
        return MC_ERR_ARG;
    }
    memset(out, 0, sizeof(*out));
    r = calloc(1, sizeof(*r));
    body = join_body(dev);
    if (!r || !body) {
        rc = MC_ERR_NOMEM;
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    rc = api_call(api, "POST", "/join", body, &status, r, err, errcap);
    if (rc != MC_OK)
        goto out;
    if (status != 200) {
        refusal(r, status, api, err, errcap);
        rc = status == 404 ? MC_ERR_HTTP : MC_ERR_ARG; /* 404: an API without /join */
        goto out;
    }
    if (parse_join(r->text, r->len, out) != 0) {
        snprintf(err, errcap, "%s answered POST /join with no usable join (is it ota-mock-cloud?)",
                 api);
        rc = MC_ERR_HTTP;
        goto out;
    }
    snprintf(out->api, sizeof(out->api), "%s", api);
    snprintf(out->dn, sizeof(out->dn), "%s", dev->dn);
    if (!out->mqtt_host[0] || !strcmp(out->mqtt_host, "0.0.0.0")) /* every address: ours too */
        snprintf(out->mqtt_host, sizeof(out->mqtt_host), "%s", host);
out:
    free(body);
    free(r);
    return rc;
}

int mc_cloud_release(const char *api, const char *dn, char *err, size_t errcap)
{
    api_reply *r = calloc(1, sizeof(*r));
    char path[3 * OTA_MAX_NAME + 16], *esc = NULL;
    long status = 0;
    int rc;

    if (!r || !api || !dn) {
        free(r);
        snprintf(err, errcap, "nothing to release");
        return MC_ERR_ARG;
    }
    pthread_once(&curl_once, curl_init);
    esc = curl_easy_escape(NULL, dn, 0);
    snprintf(path, sizeof(path), "/join/%s", esc ? esc : dn);
    curl_free(esc);
    rc = api_call(api, "DELETE", path, NULL, &status, r, err, errcap);
    if (rc == MC_OK && status != 200 && status != 404) { /* 404: released already */
        refusal(r, status, api, err, errcap);
        rc = MC_ERR_ARG;
    }
    free(r);
    return rc;
}

void mc_join_apply(mc_cloud *c, const mc_join_info *j)
{
    c->join = *j;
    c->joined = 1;
    c->plugin = 1; /* the joined broker runs otaauth: downlinks and events go through it */
    snprintf(c->host, sizeof(c->host), "%s", j->mqtt_host);
    c->port = j->mqtt_port;
}

void mc_join_leave(mc_cloud *c)
{
    char err[300], dn[OTA_MAX_NAME + 1];

    if (!c->joined || !c->join.dn[0])
        return; /* not joined, or given back already */
    snprintf(dn, sizeof(dn), "%s", c->join.dn);
    c->join.dn[0] = '\0';
    if (mc_cloud_release(c->join.api, dn, err, sizeof(err)) == MC_OK)
        mc_trace_add(c, OTA_TR_CLOUD, dn, NULL, NULL, 0,
                     "released the device: ota-mock-cloud at %s serves it again", c->join.api);
    else
        mc_trace_add(c, OTA_TR_ERROR, dn, NULL, NULL, 0, "release failed: %s", err);
}
