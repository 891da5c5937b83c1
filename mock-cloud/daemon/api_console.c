/*
 * The console's side of the control API: the page at / (embedded at build
 * time from mock-cloud/console/console.html), who may act (a token in a
 * header when the API listens beyond loopback), a page of devices with their
 * live state, and a job's timeline with the offending message marked. The
 * page does everything through the same API a script uses.
 */
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

#define TIMELINE_MAX   1500   /* rows of one timeline */
#define TIMELINE_SCAN  200000 /* records looked at for one */
#define PAGE_LIMIT_MAX 500

extern const unsigned char mcd_console_page[];
extern const size_t mcd_console_page_len;

static char token[80]; /* "": none needed */

int mcd_console_token_init(const char *listen, const char *given, char *err, size_t cap)
{
    unsigned char raw[16];
    int fd;

    if (given) {
        if (strlen(given) < 8 || strlen(given) >= sizeof(token) || strpbrk(given, " \t\r\n")) {
            snprintf(err, cap, "--api-token wants 8 to %zu characters without spaces",
                     sizeof(token) - 1);
            return -1;
        }
        snprintf(token, sizeof(token), "%s", given);
        return 0;
    }
    if (!strncmp(listen, "127.", 4))
        return 0; /* loopback: nothing changes */
    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
        if (fd >= 0)
            close(fd);
        snprintf(err, cap, "cannot read /dev/urandom for the API token");
        return -1;
    }
    close(fd);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

const char *mcd_console_token(void)
{
    return token[0] ? token : NULL;
}

/* Equal strings, in a time that does not depend on where they differ. */
static int same(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = na != nb;

    for (size_t i = 0; i < na && i < nb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int mcd_console_authorized(struct MHD_Connection *con, const char *method, const char *url)
{
    const char *auth, *alt;

    if (!token[0])
        return 1;
    if (!strcmp(method, "GET") && (!strcmp(url, "/") || !strcmp(url, "/index.html")))
        return 1; /* the page holds no data: every call it makes needs the token */
    auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    alt = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Api-Token");
    if (auth && !strncmp(auth, "Bearer ", 7) && same(auth + 7, token))
        return 1;
    return alt && same(alt, token);
}

struct MHD_Response *mcd_console_page_response(void)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        mcd_console_page_len, (void *)mcd_console_page, MHD_RESPMEM_PERSISTENT);

    if (!r)
        return NULL;
    MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    /* Nothing from elsewhere: the page is self-contained, and says so to the browser. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; script-src 'unsafe-inline'; style-src "
                            "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                            "form-action 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    return r;
}

/* ---- GET /devices?limit=N&offset=K&q=TEXT&online=1 ---- */
static int matches(const mc_device_info *d, const char *q)
{
    return !q || !*q || strstr(d->dn, q) || strstr(d->pk, q) || strstr(d->reported_version, q) ||
           strstr(d->module, q);
}

cJSON *mcd_devices_page(mc_cloud *c, const char *offset, const char *limit, const char *q,
                        const char *online, cJSON *(*device_json)(const mc_device_info *d))
{
    long off = offset ? strtol(offset, NULL, 10) : 0, lim = strtol(limit, NULL, 10);
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
    long total = 0, on = 0;
    int only_online = online && !strcmp(online, "1");
    mc_device_info d;

    if (off < 0)
        off = 0;
    if (lim < 1 || lim > PAGE_LIMIT_MAX)
        lim = PAGE_LIMIT_MAX;
    for (int i = 0; mc_device_at(c, i, &d) == MC_OK; i++) {
        int up = mcd_device_online(d.dn);
        on += up;
        if (!matches(&d, q) || (only_online && !up))
            continue;
        if (total >= off && total < off + lim) {
            cJSON *j = device_json(&d);
            mcd_device_state_add(j, d.dn);
            cJSON_AddItemToArray(a, j);
        }
        total++;
    }
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "online", (double)on);
    cJSON_AddNumberToObject(o, "offset", (double)off);
    cJSON_AddItemToObject(o, "devices", a);
    return o;
}

/* ---- GET /timeline?job=N ---- */
static int is_fail_report(const ota_trace_rec *r, int code)
{
    char want[16];

    if (r->kind != OTA_TR_MQTT_IN || !r->payload || !strstr(r->topic, "progress"))
        return 0;
    snprintf(want, sizeof(want), "\"%d\"", code);
    return strstr((const char *)r->payload, want) != NULL;
}

static cJSON *row_json(const ota_trace_rec *r, size_t idx, int offending)
{
    cJSON *o = cJSON_CreateObject();
    char payload[401];
    size_t n = r->payload_len < sizeof(payload) - 1 ? r->payload_len : sizeof(payload) - 1;

    cJSON_AddNumberToObject(o, "i", (double)idx);
    cJSON_AddNumberToObject(o, "t", r->t);
    cJSON_AddStringToObject(o, "kind", ota_trace_kind_name(r->kind));
    if (r->event)
        cJSON_AddStringToObject(o, "event", ota_trace_event_name(r->event));
    cJSON_AddStringToObject(o, "topic", r->topic);
    cJSON_AddStringToObject(o, "info", r->info);
    if (r->payload && !r->binary) {
        memcpy(payload, r->payload, n);
        payload[n] = '\0';
        cJSON_AddStringToObject(o, "payload", payload);
    } else if (r->payload) {
        snprintf(payload, sizeof(payload), "(%zu bytes, binary)", ota_trace_payload_size(r));
        cJSON_AddStringToObject(o, "payload", payload);
    }
    if (offending)
        cJSON_AddBoolToObject(o, "offending", 1);
    return o;
}

/* A device's timeline: its newest TIMELINE_MAX records among the last TIMELINE_SCAN. */
static unsigned device_timeline(mc_cloud *c, const char *dn, cJSON **out)
{
    size_t end = mc_trace_count(c), from = end > TIMELINE_SCAN ? end - TIMELINE_SCAN : 0;
    size_t *idx = malloc(TIMELINE_MAX * sizeof(*idx)), n = 0;
    mc_device_info d;
    cJSON *rows;

    *out = cJSON_CreateObject();
    if (!idx || mc_device_get(c, dn, &d) != MC_OK) {
        free(idx);
        cJSON_AddStringToObject(*out, "error", "no such device (GET /devices lists them)");
        return 404;
    }
    if (from < mc_trace_first(c))
        from = mc_trace_first(c);
    for (size_t i = from; i < end; i++) { /* a ring of the newest indexes */
        const ota_trace_rec *r;
        ota_trace_rec copy;
        if (mc_trace_copy(c, i, &copy) != MC_OK)
            continue;
        r = &copy;
        if (!strcmp(r->dev, dn))
            idx[n++ % TIMELINE_MAX] = i;
        ota_trace_rec_clear(&copy);
    }
    cJSON_AddStringToObject(*out, "device", dn);
    rows = cJSON_AddArrayToObject(*out, "rows");
    for (size_t k = n > TIMELINE_MAX ? n - TIMELINE_MAX : 0; k < n; k++) {
        ota_trace_rec r;
        if (mc_trace_copy(c, idx[k % TIMELINE_MAX], &r) != MC_OK)
            continue;
        cJSON_AddItemToArray(rows, row_json(&r, idx[k % TIMELINE_MAX], 0));
        ota_trace_rec_clear(&r);
    }
    free(idx);
    return 200;
}

unsigned mcd_timeline(mc_cloud *c, const char *job, const char *device, cJSON **out)
{
    mc_job_info j, next;
    cJSON *rows;
    size_t from, end;
    long id = job ? strtol(job, NULL, 10) : 0;
    int marked = 0, started = 0;
    char created[48];

    if (!job && device)
        return device_timeline(c, device, out);
    if (id <= 0 || mc_job_get(c, (int)id, &j) != MC_OK) {
        *out = cJSON_CreateObject();
        cJSON_AddStringToObject(*out, "error",
                                "GET /timeline?job=N names a job (GET /jobs), or ?device=DN a "
                                "device");
        return 404;
    }
    from = j.trace_at > 3 ? j.trace_at - 3 : 0; /* its creation notes come just before */
    end = mc_trace_count(c);
    for (int k = (int)id + 1; mc_job_get(c, k, &next) == MC_OK; k++)
        if (!strcmp(next.dn, j.dn)) { /* the device's next job ends this one's timeline */
            end = next.trace_at > 3 ? next.trace_at - 3 : next.trace_at;
            break;
        }
    if (from < mc_trace_first(c))
        from = mc_trace_first(c);
    if (end > from + TIMELINE_SCAN)
        end = from + TIMELINE_SCAN;
    *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(*out, "job", (double)id);
    cJSON_AddStringToObject(*out, "device", j.dn);
    rows = cJSON_AddArrayToObject(*out, "rows");
    snprintf(created, sizeof(created), "job %ld created", id);
    for (size_t i = from, n = 0; i < end && n < TIMELINE_MAX; i++) {
        ota_trace_rec r;
        if (mc_trace_copy(c, i, &r) != MC_OK)
            continue;
        /* It starts at the job's creation (unless --trace-keep let that record go). */
        if (!started && r.kind == OTA_TR_CLOUD && !strncmp(r.info, created, strlen(created))) {
            started = 1;
            cJSON_Delete(cJSON_DetachItemFromObject(*out, "rows"));
            rows = cJSON_AddArrayToObject(*out, "rows");
            n = 0;
        }
        if (!strcmp(r.dev, j.dn)) {
            int off = j.state == MC_JOB_FAILED && !marked && is_fail_report(&r, j.fail_code);
            marked |= off;
            cJSON_AddItemToArray(rows, row_json(&r, i, off));
            n++;
        }
        ota_trace_rec_clear(&r);
    }
    return 200;
}
