/*
 * ota-fleet's client of the ota-mock-cloud control API: one kept-alive
 * libcurl handle, blocking requests with a deadline. Used to register the
 * devices, create their jobs and read the cloud's verdicts and memory.
 */
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

#define FL_API_MAX_REPLY (64L * 1024 * 1024) /* GET /jobs of a large fleet */
#define FL_API_TIMEOUT_S 60L

static CURL *keep; /* one connection for every call */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    fl_reply *r = ud;
    size_t len = size * n;
    char *grown;

    if (r->len + len > (size_t)FL_API_MAX_REPLY)
        return 0;
    grown = realloc(r->body, r->len + len + 1);
    if (!grown)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, p, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

int fl_api(const char *api, const char *method, const char *path, const char *body, fl_reply *r,
           char *err, size_t cap)
{
    char url[512];
    struct curl_slist *hdr = NULL;
    CURLcode cc;

    memset(r, 0, sizeof(*r));
    if (!keep && !(keep = curl_easy_init())) {
        snprintf(err, cap, "libcurl could not start a request");
        return -1;
    }
    curl_easy_reset(keep);
    snprintf(url, sizeof(url), "http://%s%s", api, path);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (getenv("OTA_API_TOKEN") && *getenv("OTA_API_TOKEN")) { /* a daemon off loopback */
        char auth[160];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %.120s", getenv("OTA_API_TOKEN"));
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(keep, CURLOPT_URL, url);
    curl_easy_setopt(keep, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(keep, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(keep, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(keep, CURLOPT_TIMEOUT, FL_API_TIMEOUT_S);
    curl_easy_setopt(keep, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(keep, CURLOPT_WRITEDATA, r);
    if (body) {
        curl_easy_setopt(keep, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(keep, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    cc = curl_easy_perform(keep);
    curl_slist_free_all(hdr);
    if (cc != CURLE_OK) {
        snprintf(err, cap, "%s http://%s%s: %s", method, api, path, curl_easy_strerror(cc));
        fl_reply_free(r);
        return -1;
    }
    curl_easy_getinfo(keep, CURLINFO_RESPONSE_CODE, &r->status);
    if (!r->body)
        r->body = calloc(1, 1);
    return r->body ? 0 : -1;
}

void fl_reply_free(fl_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

void fl_api_close(void)
{
    if (keep)
        curl_easy_cleanup(keep);
    keep = NULL;
}
