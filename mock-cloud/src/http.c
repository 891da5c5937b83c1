/*
 * The firmware file server (libmicrohttpd): serves each job's image at its
 * signed URL, with Range (206) and Content-Length, never chunked. The exact
 * request URI must match the pushed URL, as OSS checks its signature. Faults
 * are decided here, at the HTTP send seam, by the job's fault plan.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_priv.h"

typedef struct {
    char uri[OTA_MAX_URL + 1];
    char dn[OTA_MAX_NAME + 1];
    int job;
    int status;
    size_t from, len;
} http_req;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    http_req *r = calloc(1, sizeof(*r));
    (void)cls;
    (void)con;
    if (r)
        snprintf(r->uri, sizeof(r->uri), "%s", uri);
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
    if (r->status)
        mc_trace_add(c, OTA_TR_HTTP, r->dn, r->uri, NULL, 0, "done %d bytes=%zu-%zu %s", r->status,
                     r->from, r->len ? r->from + r->len - 1 : r->from,
                     toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "completed" : "aborted");
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

static enum MHD_Result send_image(struct MHD_Connection *con, http_req *r, const mc_image *img,
                                  const char *range)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char cr[96];
    int rr = parse_range(range, img->size, &r->from, &r->len);

    if (rr < 0) {
        r->status = 416;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        snprintf(cr, sizeof(cr), "bytes */%zu", img->size);
        if (resp)
            MHD_add_response_header(resp, "Content-Range", cr);
    } else {
        if (rr == 0) {
            r->from = 0;
            r->len = img->size;
        }
        r->status = rr ? 206 : 200;
        resp = MHD_create_response_from_buffer(r->len, img->data + r->from, MHD_RESPMEM_PERSISTENT);
        if (resp && rr) {
            snprintf(cr, sizeof(cr), "bytes %zu-%zu/%zu", r->from, r->from + r->len - 1, img->size);
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
    int fault_status;
    mc_image img; /* borrowed: images live until the cloud stops */
} lookup;

/* Find the job named by the path and decide its fault (c->lock held). */
static void find_job(mc_cloud *c, http_req *r, lookup *l)
{
    char file[64], expect[OTA_MAX_URL + 1];
    mc_job *j;
    const char *path;
    int id = 0;

    memset(l, 0, sizeof(*l));
    if (sscanf(r->uri, "/ota/%d/%63[^?]", &id, file) != 2)
        return;
    j = mc_job_find(c, id);
    if (!j || strcmp(j->file, file))
        return;
    l->found = 1;
    r->job = id;
    snprintf(r->dn, sizeof(r->dn), "%s", j->dn);
    path = strstr(j->url, "/ota/");
    snprintf(expect, sizeof(expect), "%s", path ? path : "");
    l->uri_ok = !strcmp(expect, r->uri);
    l->img = j->image;
    if (l->uri_ok && mc_fault_fires(&j->fault, &j->fault_seen) &&
        j->fault.kind == MC_FAULT_HTTP_STATUS)
        l->fault_status = j->fault.param;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    mc_cloud *c = cls;
    http_req *r = *con_cls;
    const char *range = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Range");
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
    pthread_mutex_lock(&c->lock);
    find_job(c, r, &l);
    pthread_mutex_unlock(&c->lock);
    mc_trace_add(c, OTA_TR_HTTP, r->dn, r->uri, NULL, 0, "%s range=%s", method,
                 range ? range : "-");
    if (!l.found) {
        mc_trace_add(c, OTA_TR_ERROR, r->dn, r->uri, NULL, 0, "HTTP 404: no such file");
        return reply_text(con, r, 404, "NoSuchKey\n");
    }
    if (!l.uri_ok) {
        mc_trace_add(c, OTA_TR_ERROR, r->dn, r->uri, NULL, 0,
                     "HTTP 403: request URI differs from the pushed URL (path and query must be "
                     "used verbatim)");
        return reply_text(con, r, 403, "SignatureDoesNotMatch\n");
    }
    if (l.fault_status) {
        mc_trace_add(c, OTA_TR_FAULT, r->dn, r->uri, NULL, 0, "http-status %d", l.fault_status);
        return reply_text(con, r, l.fault_status, "injected fault\n");
    }
    return send_image(con, r, &l.img, range);
}

int mc_http_start(mc_cloud *c, char *err, size_t errcap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    const union MHD_DaemonInfo *info;

    c->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                                on_request, c, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                                MHD_OPTION_URI_LOG_CALLBACK, on_uri, c, MHD_OPTION_NOTIFY_COMPLETED,
                                on_done, c, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!c->httpd) {
        snprintf(err, errcap, "the HTTP file server would not start on 127.0.0.1");
        return MC_ERR_HTTP;
    }
    info = MHD_get_daemon_info(c->httpd, MHD_DAEMON_INFO_BIND_PORT);
    c->http_port = info ? info->port : 0;
    if (!c->http_port) {
        snprintf(err, errcap, "the HTTP file server has no port");
        return MC_ERR_HTTP;
    }
    return MC_OK;
}

void mc_http_stop(mc_cloud *c)
{
    if (c->httpd)
        MHD_stop_daemon(c->httpd);
    c->httpd = NULL;
}
