/*
 * The routes of the control API that the console and the firmware store
 * added: each hands its request to api_firmware.c, api_batches.c, events.c or
 * api_console.c and sends what they answer; and the 401 of a request without
 * the token. main.c's table names them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "daemon.h"

static mc_cloud *cloud;
static mcd_jobs_api jobs_api;

void mcd_routes_init(mc_cloud *c, const mcd_jobs_api *api)
{
    cloud = c;
    jobs_api = *api;
}

static const char *query_arg(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

enum MHD_Result mcd_route_firmware_post(struct MHD_Connection *con, const mcd_call *call)
{
    cJSON *o = NULL;
    unsigned status = mcd_firmware_post(call->req->up, query_arg, con, &o);
    return mcd_reply_json(con, status, o);
}

enum MHD_Result mcd_route_firmware_get(struct MHD_Connection *con, const mcd_call *call)
{
    cJSON *o = NULL;
    unsigned status = *call->rest ? mcd_firmware_get(call->rest, &o) : 200;

    if (!*call->rest)
        o = mcd_firmware_list();
    return mcd_reply_json(con, status, o);
}

enum MHD_Result mcd_route_firmware_delete(struct MHD_Connection *con, const mcd_call *call)
{
    cJSON *o = NULL;
    unsigned status = mcd_firmware_delete(cloud, call->rest, &o);
    return mcd_reply_json(con, status, o);
}

enum MHD_Result mcd_route_page(struct MHD_Connection *con, const mcd_call *call)
{
    struct MHD_Response *r = mcd_console_page_response();
    enum MHD_Result rc;
    (void)call;

    if (!r)
        return MHD_NO;
    rc = MHD_queue_response(con, 200, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result mcd_route_events(struct MHD_Connection *con, const mcd_call *call)
{
    struct MHD_Response *r = mcd_events_response(
        cloud, MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "from"),
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Last-Event-ID"),
        MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "brief") != NULL);
    enum MHD_Result rc;
    (void)call;

    if (!r)
        return MHD_NO;
    rc = MHD_queue_response(con, 200, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result mcd_route_timeline(struct MHD_Connection *con, const mcd_call *call)
{
    cJSON *o = NULL;
    unsigned status =
        mcd_timeline(cloud, MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "job"),
                     MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "device"), &o);
    (void)call;
    return mcd_reply_json(con, status, o);
}

enum MHD_Result mcd_route_batches(struct MHD_Connection *con, const mcd_call *call)
{
    cJSON *o = NULL;
    unsigned status = mcd_batch_get(
        cloud, call->rest, MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "offset"),
        MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "limit"), &jobs_api, &o);
    return mcd_reply_json(con, status, o);
}

enum MHD_Result mcd_route_batch_cancel(struct MHD_Connection *con, const mcd_call *call)
{
    cJSON *o = NULL;
    unsigned status = mcd_batch_cancel(cloud, call->rest, &o);
    return mcd_reply_json(con, status, o);
}

/*
 * A request without the token (or a wrong one): 401, and a record in the
 * trace with the count so far, so a lab sees who knocks.
 */
enum MHD_Result mcd_route_unauthorized(struct MHD_Connection *con, const char *method,
                                       const char *url)
{
    static unsigned long count;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char from[INET_ADDRSTRLEN] = "?";
    unsigned long n;

    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, from,
                  sizeof(from));
    pthread_mutex_lock(&lock);
    n = ++count;
    pthread_mutex_unlock(&lock);
    mc_trace_add(cloud, OTA_TR_ERROR, "", NULL, NULL, 0,
                 "control API: 401 for %.8s %.200s from %s: no API token or a wrong one (%lu "
                 "refused so far)",
                 method, url, from, n);
    return mcd_reply_error(
        con, 401,
        "this API needs its token: send the header 'Authorization: Bearer TOKEN' "
        "(printed by ota-mock-cloud at start, or its --api-token)");
}
