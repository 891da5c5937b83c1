/*
 * The otaauth plugin's decisions, as pure functions (no broker calls), so
 * they are unit-tested without Mosquitto: who a login is, whether its
 * signature holds, and whether a device may use a topic.
 */
#ifndef OTAAUTH_POLICY_H
#define OTAAUTH_POLICY_H

#include <stddef.h>

#include "otaproto/base.h"
#include "otaproto/dialect.h"

#define OA_MAX_DEVICES 100000

typedef struct {
    char pk[OTA_MAX_NAME + 1];
    char dn[OTA_MAX_NAME + 1];
    char secret[OTA_MAX_SECRET + 1];
} oa_device;

typedef enum {
    OA_LOGIN_DEVICE = 0, /* a device, signature verified (or auth off) */
    OA_LOGIN_CLOUD,      /* the mock cloud's own client */
    OA_LOGIN_REFUSED,    /* see reason */
} oa_login_kind;

typedef struct {
    oa_login_kind kind;
    char pk[OTA_MAX_NAME + 1];
    char dn[OTA_MAX_NAME + 1];
    char reason[400];
} oa_login;

/*
 * Decide a login. devices: the registry; cloud_password: the cloud's
 * credential (username "ota-mock-cloud"); auth_off: accept any device login
 * that names a device by its username, unsigned. Never fails: a bad login is
 * OA_LOGIN_REFUSED with a reason a person can read.
 */
void oa_login_check(const oa_device *devices, size_t n, const char *cloud_password, int auth_off,
                    const char *client_id, const char *username, const char *password,
                    oa_login *out);

/*
 * May device pk/dn publish to (or, with is_filter, subscribe to) topic? Its
 * namespace: /ota/device/+/pk/dn, /sys/pk/dn/..., /pk/dn/..., /shadow/+/pk/dn,
 * with wildcards allowed only inside it.
 */
int oa_acl_allowed(const char *pk, const char *dn, const char *topic, int is_filter);

/*
 * A login by access token (dialects whose auth is OTA_AUTH_TOKEN): the
 * username is the token, looked up in the registry's secret column; the
 * password must be empty, as the platform's broker compares the voucher
 * exactly. The cloud's credential works as in oa_login_check.
 */
void oa_token_login_check(const oa_device *devices, size_t n, const char *cloud_password,
                          const char *username, const char *password, oa_login *out);

/*
 * May device pk/dn use topic in dialect d? Aliyun: oa_acl_allowed. Others:
 * the dialect's own topics, those naming a device naming this one, and no
 * wildcards.
 */
int oa_dialect_acl_allowed(const ota_dialect *d, const char *pk, const char *dn, const char *topic,
                           int is_filter);

/* Parse a devices file (lines "pk<TAB>dn<TAB>secret"); returns the count or -1. */
int oa_devices_parse(const char *text, oa_device *out, size_t cap);

/*
 * Publishes one device connection may send in a second (the default of
 * plugin_opt_max_rate); the rest of that second's are dropped by the broker,
 * counted and reported to the cloud as a "flood" event. Above a fast block
 * download's request rate on one host, below a flood's.
 */
#define OA_MAX_RATE 10000

/* One device's publishes in its current one-second window. */
typedef struct {
    double start; /* seconds on the plugin's clock; 0: no window yet */
    unsigned long seen, dropped;
} oa_rate;

/* Count one publish at time now: 1 to let it through, 0 to drop it (over cap this window). */
int oa_rate_admit(oa_rate *r, double now, unsigned long cap);
/*
 * A window that dropped something and has ended by now: 1, with what it saw
 * and dropped, and the counts start again; 0 when there is nothing to report.
 */
int oa_rate_take(oa_rate *r, double now, unsigned long *seen, unsigned long *dropped);

#endif
