/*
 * Device profiles as data: a table of fields (where each lives in the JSON,
 * its type, its bounds) read by one loop. Unknown fields are refused with
 * their path, so a typo ("mqtPort") is an error, not a silent default.
 * "about" and fields starting with "_" are comments.
 */
#include <errno.h>
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otadut/profile.h"
#include "otaproto/dialect.h"
#include "otaproto/limits.h"

typedef enum { F_STR = 0, F_PORT, F_BOOL, F_NUM, F_ADAPTER, F_RESET, F_CAPS, F_BAUD } ftype;

typedef struct {
    const char *section; /* NULL: top level */
    const char *key;
    ftype type;
    size_t off;
    size_t size;   /* strings: the buffer */
    double lo, hi; /* numbers */
    int required;
} field;

#define S(sec, k, m, req)                                                                          \
    {                                                                                              \
        sec, k, F_STR, offsetof(dut_profile, m), sizeof(((dut_profile *)0)->m), 0, 0, req          \
    }
#define P(sec, k, m)                                                                               \
    {                                                                                              \
        sec, k, F_PORT, offsetof(dut_profile, m), 0, 0, 65535, 0                                   \
    }
#define N(sec, k, m, l, h)                                                                         \
    {                                                                                              \
        sec, k, F_NUM, offsetof(dut_profile, m), 0, l, h, 0                                        \
    }

static const field fields[] = {
    S(NULL, "productKey", pk, 1),
    S(NULL, "deviceName", dn, 1),
    S(NULL, "deviceSecret", secret, 1),
    S(NULL, "module", module, 0),
    S(NULL, "firmwareVersion", firmware_version, 0),
    S(NULL, "dialect", dialect, 0),
    {NULL, "adapter", F_ADAPTER, offsetof(dut_profile, adapter), 0, 0, 0, 0},
    S(NULL, "command", command, 0),
    {NULL, "compiledIn", F_BOOL, offsetof(dut_profile, compiled_in), 0, 0, 0, 0},
    {NULL, "capabilities", F_CAPS, offsetof(dut_profile, caps), sizeof(((dut_profile *)0)->caps), 0,
     0, 0},
    {NULL, "tls", F_BOOL, offsetof(dut_profile, tls), 0, 0, 0, 0},
    S(NULL, "flashCommand", flash_cmd, 0),
    S(NULL, "powerCycleCommand", power_cmd, 0),
    N(NULL, "timeScale", time_scale, 0.01, 100),
    S("endpoints", "listen", listen, 0),
    P("endpoints", "mqttPort", mqtt_port),
    P("endpoints", "mqttsPort", mqtts_port),
    P("endpoints", "httpPort", http_port),
    P("endpoints", "httpsPort", https_port),
    S("endpoints", "urlHost", url_host, 0),
    {"endpoints", "urlPort", F_BOOL, offsetof(dut_profile, url_port), 0, 0, 0, 0},
    {"reset", "method", F_RESET, offsetof(dut_profile, reset), 0, 0, 0, 0},
    S("reset", "sequence", reset_seq, 0),
    S("reset", "command", reset_cmd, 0),
    N("timeBounds", "inform", bounds.inform, 1, 3600),
    N("timeBounds", "react", bounds.react, 1, 3600),
    N("timeBounds", "failure", bounds.failure, 1, 3600),
    N("timeBounds", "final", bounds.final, 1, 3600),
    N("timeBounds", "boot", bounds.boot, 1, 3600),
    S("serial", "port", serial_port, 0),
    {"serial", "baud", F_BAUD, offsetof(dut_profile, baud), 0, 50, 4000000, 0},
    S("serial", "framing", framing, 0),
    N("serial", "reopenWindow", reopen_window, 0.1, 600),
    N("serial", "readyTimeout", ready_timeout, 0.1, 600),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *const sections[] = {"endpoints", "reset", "timeBounds", "serial"};

static int is_comment(const char *key);

const char *dut_adapter_kind_name(dut_adapter_kind k)
{
    static const char *const names[DUT_ADAPTER__COUNT] = {"reference", "process", "serial",
                                                          "network"};
    return (unsigned)k < DUT_ADAPTER__COUNT ? names[k] : "unknown";
}

int dut_adapter_kind_parse(const char *name, dut_adapter_kind *out)
{
    for (int k = 0; name && k < DUT_ADAPTER__COUNT; k++)
        if (!strcmp(name, dut_adapter_kind_name((dut_adapter_kind)k))) {
            *out = (dut_adapter_kind)k;
            return DUT_OK;
        }
    return DUT_ERR_ARG;
}

void dut_profile_defaults(dut_profile *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->module, sizeof(p->module), "default");
    snprintf(p->firmware_version, sizeof(p->firmware_version), "1.0.0");
    snprintf(p->dialect, sizeof(p->dialect), "aliyun");
    p->adapter = DUT_ADAPTER_REFERENCE;
    p->url_port = 1;
    p->reset = DUT_RESET_CHANNEL;
    p->time_scale = 1.0;
    /* judging.md's bounds, from the protocol's table; boot depends on the adapter (below). */
    p->bounds = (dut_bounds){ota_bound_s(OTA_BOUND_INFORM), ota_bound_s(OTA_BOUND_REACT),
                             ota_bound_s(OTA_BOUND_FAILURE), ota_bound_s(OTA_BOUND_FINAL), 0};
    p->baud = 115200;
    snprintf(p->framing, sizeof(p->framing), "8N1");
    p->reopen_window = 10;
    p->ready_timeout = 15;
}

/* The caps array as "a,b,c"; -1 when an element is not a plain word. */
static int read_caps(const cJSON *j, char *dst, size_t cap)
{
    size_t o = 0;
    const cJSON *e;

    if (!cJSON_IsArray(j))
        return -1;
    dst[0] = '\0';
    cJSON_ArrayForEach(e, j)
    {
        if (!cJSON_IsString(e) || !e->valuestring[0] || strpbrk(e->valuestring, ", =") ||
            o + strlen(e->valuestring) + 2 > cap)
            return -1;
        o += (size_t)snprintf(dst + o, cap - o, "%s%s", o ? "," : "", e->valuestring);
    }
    return 0;
}

static int baud_ok(double v)
{
    static const int speeds[] = {9600,   19200,   38400,   57600,   115200,  230400, 460800,
                                 921600, 1000000, 1500000, 2000000, 3000000, 4000000};
    for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
        if (v == speeds[i])
            return 1;
    return 0;
}

/* One field's value into the profile; a sentence in `why` when it is wrong. */
static int read_field(const field *f, const cJSON *j, dut_profile *p, char *why, size_t cap)
{
    char *base = (char *)p + f->off;

    switch (f->type) {
    case F_STR:
        if (!cJSON_IsString(j) || strlen(j->valuestring) >= f->size)
            return snprintf(why, cap, "must be a string of at most %zu characters", f->size - 1),
                   -1;
        memcpy(base, j->valuestring, strlen(j->valuestring) + 1);
        return 0;
    case F_PORT:
    case F_NUM:
    case F_BAUD:
        if (!cJSON_IsNumber(j) || j->valuedouble < f->lo || j->valuedouble > f->hi ||
            (f->type != F_NUM && j->valuedouble != (double)(int)j->valuedouble))
            return snprintf(why, cap, "must be a number from %g to %g", f->lo, f->hi), -1;
        if (f->type == F_BAUD && !baud_ok(j->valuedouble))
            return snprintf(why, cap,
                            "%g is not a speed a serial port supports (9600, 19200, "
                            "38400, 57600, 115200, 230400, 460800, 921600, ...)",
                            j->valuedouble),
                   -1;
        if (f->type == F_NUM)
            *(double *)(void *)base = j->valuedouble;
        else
            *(int *)(void *)base = (int)j->valuedouble;
        return 0;
    case F_BOOL:
        if (!cJSON_IsBool(j))
            return snprintf(why, cap, "must be true or false"), -1;
        *(int *)(void *)base = cJSON_IsTrue(j);
        return 0;
    case F_ADAPTER:
        if (!cJSON_IsString(j) || dut_adapter_kind_parse(j->valuestring, (void *)base) != DUT_OK)
            return snprintf(why, cap, "must be one of reference, process, serial, network"), -1;
        return 0;
    case F_RESET:
        if (!cJSON_IsString(j) || dut_reset_method_parse(j->valuestring, (void *)base) != DUT_OK)
            return snprintf(why, cap, "must be one of none, channel, dtr-rts, command"), -1;
        return 0;
    case F_CAPS:
        if (read_caps(j, base, f->size) != 0)
            return snprintf(why, cap,
                            "must be an array of capability names (\"reset\", "
                            "\"inject-flash\", ...)"),
                   -1;
        return 0;
    }
    return -1;
}

static const field *find_field(const char *section, const char *key)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(fields[i].key, key) &&
            ((!section && !fields[i].section) ||
             (section && fields[i].section && !strcmp(section, fields[i].section))))
            return &fields[i];
    return NULL;
}

static int is_section(const char *key)
{
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        if (!strcmp(key, sections[i]))
            return 1;
    return 0;
}

const char *dut_fw_versions_name(const dut_firmware *fw)
{
    if (fw->versions == DUT_FW_UPWARD)
        return "upward";
    if (fw->versions == DUT_FW_ALTERNATE)
        return "alternate";
    return fw->build[0] && !fw->nfiles ? "upward" : "alternate";
}

/* A string member of the firmware object into dst; -1 with why. */
static int fw_str(const cJSON *j, char *dst, size_t cap, char *why, size_t whycap)
{
    if (!cJSON_IsString(j) || !j->valuestring[0] || strlen(j->valuestring) >= cap)
        return snprintf(why, whycap, "must be a non-empty string of at most %zu characters",
                        cap - 1),
               -1;
    memcpy(dst, j->valuestring, strlen(j->valuestring) + 1);
    return 0;
}

/* One element of firmware.files: {"version", "file", "module"}; the file relative to dir. */
static int fw_file(const cJSON *e, const char *dir, dut_fw_file *f, char *why, size_t cap)
{
    const cJSON *j;
    char file[512];

    if (!cJSON_IsObject(e))
        return snprintf(why, cap, "elements must be objects {\"version\", \"file\"}"), -1;
    cJSON_ArrayForEach(j, e)
    {
        int rc = !strcmp(j->string, "version") ? fw_str(j, f->version, sizeof(f->version), why, cap)
                 : !strcmp(j->string, "file")  ? fw_str(j, file, sizeof(file), why, cap)
                 : !strcmp(j->string, "module") ? fw_str(j, f->module, sizeof(f->module), why, cap)
                 : is_comment(j->string)
                     ? 0
                     : (snprintf(why, cap, "has an unknown member '%s'", j->string), -1);
        if (rc)
            return -1;
    }
    if (!f->version[0] || !cJSON_GetObjectItemCaseSensitive(e, "file"))
        return snprintf(why, cap, "elements need \"version\" and \"file\""), -1;
    if (file[0] == '/' || !dir[0])
        snprintf(f->file, sizeof(f->file), "%s", file);
    else if ((size_t)snprintf(f->file, sizeof(f->file), "%s/%s", dir, file) >= sizeof(f->file))
        return snprintf(why, cap, "a file path is too long"), -1;
    return 0;
}

static int fw_member(const cJSON *j, const char *dir, dut_firmware *fw, char *why, size_t cap)
{
    const char *k = j->string;

    if (!strcmp(k, "build"))
        return fw_str(j, fw->build, sizeof(fw->build), why, cap);
    if (!strcmp(k, "foreign"))
        return fw_str(j, fw->foreign, sizeof(fw->foreign), why, cap);
    if (!strcmp(k, "diff"))
        return fw_str(j, fw->diff, sizeof(fw->diff), why, cap);
    if (!strcmp(k, "cache"))
        return fw_str(j, fw->cache, sizeof(fw->cache), why, cap);
    if (!strcmp(k, "checks") || !strcmp(k, "reflash")) {
        if (!cJSON_IsBool(j))
            return snprintf(why, cap, "must be true or false"), -1;
        *(!strcmp(k, "checks") ? &fw->checks : &fw->reflash) = cJSON_IsTrue(j);
        return 0;
    }
    if (!strcmp(k, "versions")) {
        const char *v = cJSON_IsString(j) ? j->valuestring : "";
        fw->versions = !strcmp(v, "upward")      ? DUT_FW_UPWARD
                       : !strcmp(v, "alternate") ? DUT_FW_ALTERNATE
                                                 : DUT_FW_DEFAULT;
        return fw->versions == DUT_FW_DEFAULT
                   ? (snprintf(why, cap, "must be \"upward\" or \"alternate\""), -1)
                   : 0;
    }
    if (!strcmp(k, "files")) {
        const cJSON *e;
        if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) > DUT_FW_MAX_FILES)
            return snprintf(why, cap, "must be an array of at most %d files", DUT_FW_MAX_FILES), -1;
        cJSON_ArrayForEach(e, j)
        {
            if (fw_file(e, dir, &fw->files[fw->nfiles], why, cap) != 0)
                return -1;
            fw->nfiles++;
        }
        return 0;
    }
    return snprintf(why, cap, "is not a member of firmware"), -1;
}

/*
 * The firmware object: files relative to the profile's folder (the folder of
 * `name`). Whether it gives images (a build, or two files) is judged by
 * dut_profile_check, once the command line may have given them.
 */
static int read_firmware(const cJSON *o, const char *name, dut_firmware *fw, char *err,
                         size_t errcap)
{
    char dir[512], why[200];
    const char *slash = strrchr(name, '/');
    const cJSON *j;

    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - name) : 0, name);
    if (!cJSON_IsObject(o))
        return snprintf(err, errcap, "device profile %s: field 'firmware' must be an object", name),
               DUT_ERR_ARG;
    fw->present = 1;
    cJSON_ArrayForEach(j, o)
    {
        if (is_comment(j->string))
            continue;
        if (fw_member(j, dir, fw, why, sizeof(why)) != 0)
            return snprintf(err, errcap, "device profile %s: field 'firmware.%s' %s", name,
                            j->string, why),
                   DUT_ERR_ARG;
    }
    return DUT_OK;
}

static int is_comment(const char *key)
{
    return key[0] == '_' || !strcmp(key, "about");
}

/* Every member of one object (the top level or a section) through the table. */
static int read_object(const cJSON *o, const char *section, const char *name, dut_profile *p,
                       char *err, size_t errcap)
{
    const cJSON *j;
    char why[200];

    cJSON_ArrayForEach(j, o)
    {
        const field *f;
        if (is_comment(j->string))
            continue;
        if (!section && !strcmp(j->string, "firmware")) {
            if (read_firmware(j, name, &p->fw, err, errcap) != DUT_OK)
                return DUT_ERR_ARG;
            continue;
        }
        if (!section && is_section(j->string)) {
            if (!cJSON_IsObject(j))
                return snprintf(err, errcap, "device profile %s: field '%s' must be an object",
                                name, j->string),
                       DUT_ERR_ARG;
            if (read_object(j, j->string, name, p, err, errcap) != DUT_OK)
                return DUT_ERR_ARG;
            continue;
        }
        f = find_field(section, j->string);
        if (!f)
            return snprintf(err, errcap,
                            "device profile %s: unknown field '%s%s%s' (see "
                            "docs/device-profiles.md)",
                            name, section ? section : "", section ? "." : "", j->string),
                   DUT_ERR_ARG;
        if (read_field(f, j, p, why, sizeof(why)) != 0)
            return snprintf(err, errcap, "device profile %s: field '%s%s%s' %s", name,
                            section ? section : "", section ? "." : "", j->string, why),
                   DUT_ERR_ARG;
    }
    return DUT_OK;
}

static int check_identity(const dut_profile *p, const cJSON *root, const char *name, char *err,
                          size_t errcap)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (fields[i].required && !cJSON_GetObjectItemCaseSensitive(root, fields[i].key))
            return snprintf(err, errcap, "device profile %s: field '%s' is missing", name,
                            fields[i].key),
                   DUT_ERR_ARG;
    if (!p->pk[0] || !p->dn[0] || !p->secret[0] || strpbrk(p->pk, "/+#&.") ||
        strpbrk(p->dn, "/+#&"))
        return snprintf(err, errcap,
                        "device profile %s: productKey, deviceName and deviceSecret must be "
                        "non-empty, without '/', '+', '#' or '&' (and no '.' in productKey)",
                        name),
               DUT_ERR_ARG;
    if (!p->module[0] || !p->firmware_version[0])
        return snprintf(err, errcap,
                        "device profile %s: module and firmwareVersion must not be "
                        "empty",
                        name),
               DUT_ERR_ARG;
    if (!ota_dialect_find(p->dialect))
        return snprintf(err, errcap,
                        "device profile %s: field 'dialect' is '%s'; only aliyun "
                        "and thingspanel are known",
                        name, p->dialect),
               DUT_ERR_ARG;
    return DUT_OK;
}

int dut_profile_parse(const char *json, size_t len, const char *name, dut_profile *out, char *err,
                      size_t errcap)
{
    cJSON *root;
    int rc;

    dut_profile_defaults(out);
    root = len <= DUT_PROFILE_MAX_FILE ? cJSON_ParseWithLength(json, len) : NULL;
    if (!cJSON_IsObject(root)) {
        /* The input need not be NUL-terminated: the excerpt stops at its end. */
        const char *at = cJSON_GetErrorPtr();
        int near = !root && at && at >= json && at <= json + len;
        int n = near ? (int)(json + len - at < 40 ? json + len - at : 40) : 0;
        int line = 1, col = 1;
        /* Where the parser stopped, as an editor counts it (columns in bytes). */
        for (const char *c = json; near && c < at; c++) {
            col = *c == '\n' ? 1 : col + 1;
            line += *c == '\n';
        }
        if (near)
            snprintf(err, errcap,
                     "device profile %s: not a JSON object: a JSON error at line %d, column %d "
                     "(near \"%.*s\")",
                     name, line, col, n, at);
        else
            snprintf(err, errcap, "device profile %s: not a JSON object", name);
        cJSON_Delete(root);
        return DUT_ERR_ARG;
    }
    rc = read_object(root, NULL, name, out, err, errcap);
    if (rc == DUT_OK)
        rc = check_identity(out, root, name, err, errcap);
    if (rc == DUT_OK && !out->bounds.boot)
        out->bounds.boot =
            ota_bound_s(out->adapter == DUT_ADAPTER_SERIAL || out->adapter == DUT_ADAPTER_NETWORK
                            ? OTA_BOUND_BOOT_BOARD
                            : OTA_BOUND_BOOT);
    cJSON_Delete(root);
    return rc;
}

int dut_profile_load(const char *path, dut_profile *out, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    int rc;

    if (!f) {
        snprintf(err, errcap, "cannot read device profile %s: %s", path, strerror(errno));
        return DUT_ERR_ARG;
    }
    buf = malloc(DUT_PROFILE_MAX_FILE + 1);
    n = buf ? fread(buf, 1, DUT_PROFILE_MAX_FILE + 1, f) : 0;
    fclose(f);
    if (!buf || n > DUT_PROFILE_MAX_FILE) {
        free(buf);
        snprintf(err, errcap, "device profile %s: larger than %d bytes", path,
                 DUT_PROFILE_MAX_FILE);
        return DUT_ERR_ARG;
    }
    rc = dut_profile_parse(buf, n, path, out, err, errcap);
    free(buf);
    return rc;
}

int dut_profile_check(const dut_profile *p, const char *name, char *err, size_t errcap)
{
    const char *why = NULL;

    if (p->adapter == DUT_ADAPTER_PROCESS && !p->command[0])
        why = "adapter 'process' needs 'command' (or --dut-cmd)";
    else if (p->adapter == DUT_ADAPTER_SERIAL && !p->serial_port[0])
        why = "adapter 'serial' needs 'serial.port' (or --serial-port)";
    else if (p->reset == DUT_RESET_LINES && !p->reset_seq[0])
        why = "reset method 'dtr-rts' needs 'reset.sequence' (\"esp32\", \"stm32-nrst\" or "
              "steps such as \"dtr=0 rts=1 wait=100 rts=0\")";
    else if (p->reset == DUT_RESET_COMMAND && !p->reset_cmd[0] && !p->power_cmd[0])
        why = "reset method 'command' needs 'reset.command' (or 'powerCycleCommand')";
    else if ((p->adapter == DUT_ADAPTER_NETWORK || p->adapter == DUT_ADAPTER_SERIAL) &&
             !(p->tls ? p->mqtts_port : p->mqtt_port))
        why = "a board or a network device has its broker port compiled in: set "
              "'endpoints.mqttPort' (or 'mqttsPort' with tls)";
    else if (p->fw.present && !p->fw.build[0] && p->fw.nfiles < 2)
        why = "field 'firmware' needs 'build' (a command that makes the image of a version) "
              "or 'files' with at least two versions (or on the command line "
              "--firmware-build CMD, or --firmware FILE@VERSION for at least two versions)";
    if (!why)
        return DUT_OK;
    snprintf(err, errcap, "device profile %s: %s", name, why);
    return DUT_ERR_ARG;
}
