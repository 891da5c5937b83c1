/*
 * OTA dialects as data: the topics, envelope, value types, identity and
 * success rule that separate Aliyun (the default) from platforms that copied
 * it, such as ThingsPanel. Callers look a dialect up once and build, parse
 * and judge through its table; adding a dialect means adding a table here,
 * not touching the mock or the runner. Pure functions, no I/O.
 */
#ifndef OTAPROTO_DIALECT_H
#define OTAPROTO_DIALECT_H

#include "otaproto/base.h"
#include "otaproto/msg.h"
#include "otaproto/topic.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { OTA_DIALECT_ALIYUN = 0, OTA_DIALECT_THINGSPANEL, OTA_DIALECT__COUNT } ota_dialect_id;

/* Where the device is named on an uplink. */
typedef enum {
    OTA_IDENT_TOPIC = 0,  /* productKey and deviceName in every topic */
    OTA_IDENT_CONNECTION, /* no name on uplinks: the broker knows the connection's device */
} ota_ident;

/* How a device logs in. */
typedef enum {
    OTA_AUTH_SIGNED = 0, /* HMAC-signed clientId/username/password from a device secret */
    OTA_AUTH_TOKEN,      /* username = access token, password empty */
} ota_auth;

/* What the cloud counts as a finished upgrade. */
typedef enum {
    OTA_SUCCESS_INFORM_VERSION =
        0,                /* the device reports the target version; step 100 alone is not */
    OTA_SUCCESS_STEP_100, /* progress step 100 and nothing else */
} ota_success_rule;

/* Value types of the push: as a stock server writes them, or as the docs show them. */
typedef enum { OTA_VALUES_CODE = 0, OTA_VALUES_DOC, OTA_VALUES__COUNT } ota_values;

/* Which spellings the push goes out on, for dialects whose code and docs disagree. */
typedef enum {
    OTA_PUSH_ON_BOTH = 0, /* the documented topic and the alternate spelling */
    OTA_PUSH_ON_DOC,      /* the documented topic only */
    OTA_PUSH_ON_ALT,      /* the alternate spelling only (the stock server's typo) */
    OTA_PUSH_ON__COUNT
} ota_push_on;

typedef struct {
    const char *name; /* "aliyun", "thingspanel": what --dialect and OTA_DIALECT take */
    const char *title;
    /* Topic templates ("{pk}", "{dn}" one level each); NULL: no such message in this dialect. */
    const char *topics[OTA_TOPIC__COUNT];
    const char *push_alt;  /* a second spelling of the push topic, or NULL */
    const char *push_key;  /* the push's wrapper: "data" or "params" */
    int progress_wrapped;  /* 1: {"id","params":{step...}}; 0: the bare {step...} object */
    int size_zero_unknown; /* a size of 0 means "not known", not an empty image */
    int sign_empty_skips;  /* an empty sign means "no signature", not a bad one */
    int module_ignored;    /* the cloud ignores the module a progress message names */
    ota_ident ident;
    ota_auth auth;
    ota_success_rule success;
} ota_dialect;

/* The table of dialect id; NULL outside the enum. */
const ota_dialect *ota_dialect_get(ota_dialect_id id);
/* By name (case-sensitive); NULL, or the default for a NULL or empty name. */
const ota_dialect *ota_dialect_find(const char *name);
/* "aliyun" for NULL, the dialect's name otherwise. */
const char *ota_dialect_name(const ota_dialect *d);
/* Whether the dialect has this message at all. */
int ota_dialect_has(const ota_dialect *d, ota_topic_kind k);

const char *ota_values_name(ota_values v);
int ota_values_from_name(const char *name, ota_values *out);
const char *ota_push_on_name(ota_push_on p);
int ota_push_on_from_name(const char *name, ota_push_on *out);

/*
 * Topics of dialect d. Build: OTA_ERR_TOPIC when the dialect has no such
 * message, OTA_ERR_ARG for a name the template needs that is empty or holds
 * '/', '+' or '#'. alt: 1 for the push's alternate spelling (OTA_ERR_TOPIC
 * when there is none). Parse: kind, pk and dn (empty when the topic does not
 * carry them; OTA_MAX_NAME + 1 bytes each); *alt tells the spelling (may be NULL).
 */
int ota_dialect_topic_build(const ota_dialect *d, ota_topic_kind k, int alt, const char *pk,
                            const char *dn, char *buf, size_t cap);
int ota_dialect_topic_parse(const ota_dialect *d, const char *topic, ota_topic_kind *kind, char *pk,
                            char *dn, int *alt);
/* The subscription filter ('+' per name) of kind k, or of its alternate spelling; NULL if none. */
int ota_dialect_topic_filter(const ota_dialect *d, ota_topic_kind k, int alt, char *buf,
                             size_t cap);

/*
 * The push in dialect d. For Aliyun this is ota_push_build/ota_push_parse
 * (values ignored: p->envelope decides). For ThingsPanel: {"id","code",
 * "params":{...}} with code and size strings (OTA_VALUES_CODE) or numbers
 * (OTA_VALUES_DOC), sign always written. Parsing accepts either type for id,
 * code and size, an empty sign and a null extData; *values (may be NULL) says
 * which types size came in.
 */
int ota_dialect_push_build(const ota_dialect *d, const ota_push *p, ota_values values, char *buf,
                           size_t cap);
int ota_dialect_push_parse(const ota_dialect *d, const char *json, size_t len, ota_push *out,
                           ota_values *values);

/* Progress in dialect d: wrapped in params with an id (Aliyun) or the bare object. */
int ota_dialect_progress_build(const ota_dialect *d, const char *id_text, int step,
                               int step_as_number, const char *desc, const char *module, char *buf,
                               size_t cap);
/* As ota_progress_parse; for a bare dialect a params wrapper is OTA_ERR_MISSING (no step). */
int ota_dialect_progress_parse(const ota_dialect *d, const char *json, size_t len,
                               ota_progress *out);

/*
 * Whether an upgrade finished: last_step is the device's last progress step,
 * reported the version it reported after it (NULL: none), target the job's.
 */
int ota_dialect_upgrade_succeeded(const ota_dialect *d, int last_step, const char *reported,
                                  const char *target);

#ifdef __cplusplus
}
#endif

#endif
