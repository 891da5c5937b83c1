/*
 * The firmware file server (libmicrohttpd, a thread per connection): serves
 * each job's image at its signed URL, with Range (206) and Content-Length,
 * never chunked. The exact request URI must match the pushed URL, as OSS
 * checks its signature. Faults fire at the HTTP send seam, once per
 * request; fault.c says what each does to the response and to each slice of
 * the body, and this file performs it while the body is written: the bytes
 * on the wire are exactly what the plan says.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mock_priv.h"
#include "otaproto/porthold.h"

typedef struct {
    mc_cloud *c;
    char uri[OTA_MAX_URL + 1];
    char dn[OTA_MAX_NAME + 1];
    int job;
    int status;
    size_t from, len;
    int streamed; /* the image's body: sent counts what went out */
    size_t sent;  /* body bytes handed to the connection */
} http_req;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    http_req *r = calloc(1, sizeof(*r));
    (void)con;
    if (r) {
        snprintf(r->uri, sizeof(r->uri), "%s", uri);
        r->c = cls;
    }
    return r;
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    mc_cloud *c = cls;
    http_req *r = *con_cls;
    (void)con;

    if (!r)
        return;
    /* The bytes that went out: a body cut short says how far it got (-1: none). */
    long long last = r->streamed ? (r->sent ? (long long)(r->from + r->sent) - 1 : -1)
                                 : (long long)(r->len ? r->from + r->len - 1 : r->from);
    if (r->status)
        mc_trace_event(c, OTA_TR_HTTP,
                       &(mc_trace_ev){.event = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
                                                   ? OTA_EV_HTTP_DONE
                                                   : OTA_EV_HTTP_ABORTED,
                                      .offset = (long long)r->from,
                                      .last = last,
                                      .status = r->status},
                       r->dn, r->uri, NULL, 0, "done %d bytes=%zu-%lld %s", r->status, r->from,
                       last, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "completed" : "aborted");
    free(r);
    *con_cls = NULL;
}

static enum MHD_Result reply_text(struct MHD_Connection *con, http_req *r, int status,
                                  const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    r->status = status;
    r->len = strlen(text);
    ret = MHD_queue_response(con, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* "bytes=a-" or "bytes=a-b": 1 and the range; 0 to ignore the header; -1 unsatisfiable. */
static int parse_range(const char *h, size_t size, size_t *from, size_t *len)
{
    unsigned long long a, b;
    char *end;

    if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
        return 0;
    h += 6;
    if (*h < '0' || *h > '9')
        return 0;
    a = strtoull(h, &end, 10);
    if (*end != '-')
        return 0;
    if (end[1] == '\0') {
        b = size ? size - 1 : 0;
    } else {
        b = strtoull(end + 1, &end, 10);
        if (*end || b < a)
            return 0;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *from = (size_t)a;
    *len = (size_t)(b - a + 1);
    return 1;
}

/* The body being written, with the fault that fired for this request (if any). */
typedef struct {
    mc_cloud *c;
    char dn[OTA_MAX_NAME + 1];
    mc_image img; /* its bytes are written slice by slice (image.c) */
    size_t from;  /* file offset of body byte 0 */
    size_t len;   /* body bytes we mean to send */
    mc_fault f;   /* kind NONE when no fault fired */
    int fd;       /* the connection's socket, for a reset */
    int paused;
    double t0;
    size_t *sent; /* the request's count of bytes sent: it outlives every read */
} body;

/* Sleep up to `s` seconds; 0 early when the server stops. */
static int nap(mc_cloud *c, double s) EXCLUDES(MC_NONE_HELD(c))
{
    double end = ota_clock_now() + s;
    int stopping;

    mc_leaf_lock(c, &c->hlock);
    while (!c->http_stopping)
        if (mc_cond_wait_until(&c->hcond, &c->hlock, end) != 0)
            break;
    stopping = c->http_stopping;
    mc_mutex_unlock(&c->hlock);
    return !stopping;
}

/* The fault seam decides what happens to each slice (fault.c); this performs it. */
static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    body *b = cls;
    size_t n;
    double wait;
    mc_slice_act act;

    if (pos >= b->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = b->len - (size_t)pos;
    if (n > max)
        n = max;
    act = mc_fault_http_slice(&b->f, b->from, (size_t)pos, &n, &b->paused, &wait);
    if (act == MC_SLICE_KICK)
        mc_device_kick(b->c, b->dn);
    if (act == MC_SLICE_RESTART)
        mc_broker_restart_async(b->c);
    if (act == MC_SLICE_STALL)
        nap(b->c, 120);
    if (act == MC_SLICE_RESET && b->fd >= 0) {
        struct linger l = {1, 0}; /* close with RST, not FIN */
        setsockopt(b->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    if (act == MC_SLICE_END || act == MC_SLICE_RESET || act == MC_SLICE_STALL)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (act == MC_SLICE_PAUSE) /* the moment the pause begins: a power test cuts here */
        mc_trace_event(b->c, OTA_TR_FAULT,
                       &(mc_trace_ev){.event = OTA_EV_FAULT,
                                      .fault = "http-pause",
                                      .offset = (long long)(b->from + (size_t)pos),
                                      .last = -1},
                       b->dn, NULL, NULL, 0, "http-pause: paused at byte %zu for %.1f s",
                       b->from + (size_t)pos, wait);
    if ((act == MC_SLICE_PAUSE && !nap(b->c, wait)) ||
        (act == MC_SLICE_PACE && !nap(b->c, b->t0 + wait - ota_clock_now())))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    mc_image_read(&b->img, b->from + (size_t)pos, buf, n);
    mc_fault_http_bytes(&b->f, b->from, (size_t)pos, buf, n);
    if (*b->sent < (size_t)pos + n)
        *b->sent = (size_t)pos + n;
    return (ssize_t)n;
}

static void body_free(void *cls)
{
    body *b = cls;

    if (b->img.file)
        mc_file_read_stop(b->c, b->img.file);
    free(b);
}

static enum MHD_Result send_image(struct MHD_Connection *con, http_req *r, const mc_image *img,
                                  const char *range, const mc_fault *f)
{
    mc_http_plan plan;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char cr[96];
    size_t size;
    int rr;
    uint64_t total;
    body *b;

    mc_fault_http_plan(f, &plan);
    /* A short file is short for every request: a Range is served from the short file. */
    size = plan.short_len >= 0 && (size_t)plan.short_len < img->size ? (size_t)plan.short_len
                                                                     : img->size;
    rr = plan.ignore_range ? 0 : parse_range(range, size, &r->from, &r->len);
    if (rr < 0) {
        r->status = 416;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        snprintf(cr, sizeof(cr), "bytes */%zu", size);
        if (resp)
            MHD_add_response_header(resp, "Content-Range", cr);
    } else {
        if (rr == 0) {
            r->from = 0;
            r->len = size; /* under http-truncate, a short file announced as such */
        }
        r->status = rr ? 206 : 200;
        if (img->file && mc_file_read_start(r->c, img->file) != MC_OK)
            return reply_text(con, r, 404, "NoSuchKey\n"); /* deleted since the lookup */
        b = calloc(1, sizeof(*b));
        if (!b) {
            if (img->file)
                mc_file_read_stop(r->c, img->file);
            return MHD_NO;
        }
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        b->c = r->c;
        snprintf(b->dn, sizeof(b->dn), "%s", r->dn);
        b->img = *img;
        b->from = r->from;
        b->len = r->len;
        b->f = *f;
        b->fd = ci ? ci->connect_fd : -1;
        b->t0 = ota_clock_now();
        b->sent = &r->sent;
        r->streamed = 1;
        total = plan.unknown_length ? MHD_SIZE_UNKNOWN : r->len;
        resp = MHD_create_response_from_callback(total, 16384, body_read, b, body_free);
        if (!resp)
            free(b);
        if (resp && plan.http10)
            MHD_set_response_options(
                resp, MHD_RF_HTTP_VERSION_1_0_ONLY | MHD_RF_HTTP_VERSION_1_0_RESPONSE, MHD_RO_END);
        if (resp && rr) {
            snprintf(cr, sizeof(cr), "bytes %zu-%zu/%zu", r->from, r->from + r->len - 1, size);
            MHD_add_response_header(resp, "Content-Range", cr);
        }
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    ret = MHD_queue_response(con, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

typedef struct {
    int found;
    int uri_ok;
    int mqtt_only;  /* the job is pushed for block download: no HTTP file */
    mc_fault fault; /* the fault that fired for this request; kind NONE if none */
    mc_image img;   /* the job's image (its size and seed) */
} lookup;

/* Find the job named by the path and decide its fault (c->lock held). */
static void find_job(mc_cloud *c, http_req *r, lookup *l) REQUIRES(c->lock)
{
    char file[64], expect[OTA_MAX_URL + 1];
    mc_job *j;
    const char *path;
    int id = 0;

    assert(mc_cloud_lock_held(c));
    memset(l, 0, sizeof(*l));
    if (sscanf(r->uri, "/ota/%d/%63[^?]", &id, file) != 2)
        return;
    j = mc_job_find(c, id);
    if (!j || strcmp(j->file, file) || (j->image.file && j->image.file->gone))
        return; /* no such job, or its firmware was deleted (mc_image_forget) */
    l->found = 1;
    r->job = id;
    snprintf(r->dn, sizeof(r->dn), "%s", j->dn);
    path = strstr(j->url, "/ota/");
    snprintf(expect, sizeof(expect), "%s", path ? path : "");
    l->uri_ok = !strcmp(expect, r->uri);
    l->img = j->image;
    l->mqtt_only = j->mqtt;
    if (!l->uri_ok || l->mqtt_only)
        return;
    if (mc_fault_http_fires(&j->fault, &j->fault_seen))
        mc_fault_http_request(&j->fault, j->fault_seen, &l->fault);
    mc_fault_next(j);
}

/* The event of an HTTP fault applied to a whole response (no block offset). */
static const mc_trace_ev *fault_ev(mc_trace_ev *ev, mc_fault_kind k)
{
    *ev = (mc_trace_ev){
        .event = OTA_EV_FAULT, .fault = mc_fault_kind_name(k), .offset = -1, .last = -1};
    return ev;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    mc_cloud *c = cls;
    http_req *r = *con_cls;
    const char *range = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Range");
    mc_http_plan plan;
    mc_trace_ev ev = {.offset = -1, .last = -1};
    lookup l;
    (void)url;
    (void)version;
    (void)upload;

    if (!r)
        return MHD_NO;
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply_text(con, r, 405, "method not allowed\n");
    mc_cloud_lock(c);
    find_job(c, r, &l);
    mc_cloud_unlock(c);
    ev.event = strcmp(method, "GET") ? OTA_EV_HTTP_HEAD : OTA_EV_HTTP_GET;
    ev.offset = range && !strncmp(range, "bytes=", 6) ? strtoll(range + 6, NULL, 10) : -1;
    if (range)
        mc_trace_event(c, OTA_TR_HTTP, &ev, r->dn, r->uri, NULL, 0, "%s range=%s", method, range);
    else
        mc_trace_event(c, OTA_TR_HTTP, &ev, r->dn, r->uri, NULL, 0, "%s no Range", method);
    if (!l.found) {
        mc_trace_add(c, OTA_TR_ERROR, r->dn, r->uri, NULL, 0, "HTTP 404: no such file");
        return reply_text(con, r, 404, "NoSuchKey\n");
    }
    if (!l.uri_ok) {
        mc_trace_event(c, OTA_TR_ERROR, MC_EV(OTA_EV_URI_REFUSED), r->dn, r->uri, NULL, 0,
                       "HTTP 403: request URI differs from the pushed URL (path and query must be "
                       "used verbatim)");
        return reply_text(con, r, 403, "SignatureDoesNotMatch\n");
    }
    if (l.mqtt_only) {
        mc_trace_add(c, OTA_TR_ERROR, r->dn, r->uri, NULL, 0,
                     "HTTP 404: this job was pushed for MQTT block download");
        return reply_text(con, r, 404, "NoSuchKey\n");
    }
    mc_fault_http_plan(&l.fault, &plan);
    if (plan.status) {
        int status = plan.status;
        mc_trace_event(c, OTA_TR_FAULT, fault_ev(&ev, l.fault.kind), r->dn, r->uri, NULL, 0,
                       "%s %d", mc_fault_kind_name(l.fault.kind), status);
        return reply_text(con, r, status, plan.text);
    }
    if (mc_fault_active(&l.fault))
        mc_trace_event(c, OTA_TR_FAULT, fault_ev(&ev, l.fault.kind), r->dn, r->uri, NULL, 0,
                       "%s at=%lld value=%lld", mc_fault_kind_name(l.fault.kind), l.fault.at,
                       l.fault.value);
    return send_image(con, r, &l.img, range, &l.fault);
}

/* A PEM file of the TLS folder, NUL-terminated, heap; NULL when unreadable. */
static char *read_pem(const char *dir, const char *name)
{
    char path[400];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return mc_slurp(path, 64 * 1024);
}

/*
 * One file server on the listen address: plain HTTP, or HTTPS with the
 * certificate `name`.pem/.key of the TLS folder. *port: in, the port wanted
 * (0: any free one); out, the port it listens on.
 */
static int start_server(mc_cloud *c, const char *name, struct MHD_Daemon **d, int *port, char *err,
                        size_t errcap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    const union MHD_DaemonInfo *info;
    char file[64], *key = NULL, *cert = NULL;

    if (inet_pton(AF_INET, c->listen_addr, &a.sin_addr) != 1) {
        snprintf(err, errcap, "the listen address %.60s is not an IPv4 address", c->listen_addr);
        return MC_ERR_ARG;
    }
    if (name) {
        snprintf(file, sizeof(file), "%s.key", name);
        key = read_pem(c->tls_dir, file);
        snprintf(file, sizeof(file), "%s.pem", name);
        cert = read_pem(c->tls_dir, file);
        if (!key || !cert) {
            free(key);
            free(cert);
            snprintf(err, errcap,
                     "cannot read %s.pem and %s.key in %.200s (build the project: "
                     "it makes the test certificates)",
                     name, name, c->tls_dir);
            return MC_ERR_IO;
        }
        flags |= MHD_USE_TLS;
    }
    *d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, c, MHD_OPTION_SOCK_ADDR,
                          (struct sockaddr *)&a, MHD_OPTION_URI_LOG_CALLBACK, on_uri, c,
                          MHD_OPTION_NOTIFY_COMPLETED, on_done, c, MHD_OPTION_CONNECTION_TIMEOUT,
                          30u, name ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, key,
                          MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
    free(key);
    free(cert);
    if (!*d) {
        char who[128] = "";
        if (*port && ota_port_holder(*port, who, sizeof(who)) >= 0)
            snprintf(err, errcap,
                     "the %s file server would not start on %s port %d: it is "
                     "taken by %s",
                     name ? "HTTPS" : "HTTP", c->listen_addr, *port, who);
        else
            snprintf(err, errcap, "the %s file server would not start on %s port %d%s",
                     name ? "HTTPS" : "HTTP", c->listen_addr, *port,
                     *port ? " (taken, or below 1024 without the right to bind it?)" : "");
        return MC_ERR_HTTP;
    }
    info = MHD_get_daemon_info(*d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    if (!*port) {
        snprintf(err, errcap, "the file server has no port");
        return MC_ERR_HTTP;
    }
    return MC_OK;
}

int mc_http_start(mc_cloud *c, char *err, size_t errcap)
{
    int rc;

    mc_leaf_lock(c, &c->hlock);
    c->http_stopping = 0;
    mc_mutex_unlock(&c->hlock);
    c->http_port = c->want_http_port;
    rc = start_server(c, NULL, &c->httpd, &c->http_port, err, errcap);
    if (rc != MC_OK || !c->tls_dir[0])
        return rc;
    c->https_port = c->want_https_port;
    rc = start_server(c, "server", &c->httpsd, &c->https_port, err, errcap);
    c->foreign_port = 0;
    if (rc == MC_OK)
        rc = start_server(c, "foreign", &c->foreignd, &c->foreign_port, err, errcap);
    return rc;
}

void mc_http_stop(mc_cloud *c)
{
    mc_leaf_lock(c, &c->hlock);
    c->http_stopping = 1; /* ends throttles, pauses and stalls */
    pthread_cond_broadcast(&c->hcond);
    mc_mutex_unlock(&c->hlock);
    if (c->httpd)
        MHD_stop_daemon(c->httpd);
    if (c->httpsd)
        MHD_stop_daemon(c->httpsd);
    if (c->foreignd)
        MHD_stop_daemon(c->foreignd);
    c->httpd = c->httpsd = c->foreignd = NULL;
}
