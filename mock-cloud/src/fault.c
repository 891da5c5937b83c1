/*
 * Fault plans: each fault fires after `skip` matching events, `count` times
 * (or forever with -1). The table of kinds and their seams is here, and so
 * is what each kind does there; the transports and the OTA logic only call
 * the seam hooks. Plans are data (fixtures/scenarios, one JSON file each),
 * read by mc_scenario_parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mock_priv.h"

#define MC_SCENARIO_MAX 8192

/*
 * Every fault kind: its name in plans and the seam where it acts. What a
 * kind does at its seam is in that seam's hook below; nothing outside this
 * file tells kinds apart.
 */
static const struct {
    const char *name;
    mc_fault_seam seam;
} kinds[MC_FAULT__COUNT] = {
    [MC_FAULT_NONE] = {"none", MC_SEAM_NONE},
    [MC_FAULT_HTTP_STATUS] = {"http-status", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_TRUNCATE] = {"http-truncate", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_CLOSE] = {"http-close", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_RESET] = {"http-reset", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_CORRUPT] = {"http-corrupt", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_THROTTLE] = {"http-throttle", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_PAUSE] = {"http-pause", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_STALL] = {"http-stall", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_NO_LENGTH] = {"http-no-length", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_CHUNKED] = {"http-chunked", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_IGNORE_RANGE] = {"http-ignore-range", MC_SEAM_HTTP},
    [MC_FAULT_HTTP_EXPIRE] = {"http-expire", MC_SEAM_HTTP},
    [MC_FAULT_BLOCK_BAD_CRC] = {"block-bad-crc", MC_SEAM_FRAME},
    [MC_FAULT_BLOCK_CORRUPT] = {"block-corrupt", MC_SEAM_BLOCK},
    [MC_FAULT_BLOCK_CRC_BE] = {"block-crc-be", MC_SEAM_FRAME},
    [MC_FAULT_BLOCK_BSIZE] = {"block-bsize", MC_SEAM_BLOCK},
    [MC_FAULT_BLOCK_OFFSET] = {"block-offset", MC_SEAM_BLOCK},
    [MC_FAULT_BLOCK_DUPLICATE] = {"block-duplicate", MC_SEAM_FRAME},
    [MC_FAULT_BLOCK_DROP] = {"block-drop", MC_SEAM_FRAME},
    [MC_FAULT_BLOCK_DELAY] = {"block-delay", MC_SEAM_FRAME},
    [MC_FAULT_BLOCK_ERROR] = {"block-error", MC_SEAM_BLOCK},
    [MC_FAULT_BLOCK_TRUNCATE] = {"block-truncate", MC_SEAM_FRAME},
    [MC_FAULT_PUSH_WRONG_DIGEST] = {"push-wrong-digest", MC_SEAM_PUSH},
    [MC_FAULT_PUSH_WRONG_SIZE] = {"push-wrong-size", MC_SEAM_PUSH},
    [MC_FAULT_PUSH_MISSING] = {"push-missing", MC_SEAM_PUSH},
    [MC_FAULT_PUSH_WRONG_TYPES] = {"push-wrong-types", MC_SEAM_PUSH},
    [MC_FAULT_PUSH_MALFORMED] = {"push-malformed", MC_SEAM_PUSH},
    [MC_FAULT_PUSH_FILES] = {"push-files", MC_SEAM_PUSH},
    [MC_FAULT_SESSION_KICK] = {"session-kick", MC_SEAM_SESSION},
    /* It acts on the URL the push names: the download then meets the foreign certificate. */
    [MC_FAULT_HTTP_FOREIGN_CERT] = {"http-foreign-cert", MC_SEAM_PUSH},
    [MC_FAULT_SESSION_RESTART] = {"session-broker-restart", MC_SEAM_SESSION},
};

static const char *const seam_names[MC_SEAM__COUNT] = {"none",  "http", "block",
                                                       "frame", "push", "session"};

const char *mc_fault_kind_name(mc_fault_kind k)
{
    return (unsigned)k < MC_FAULT__COUNT ? kinds[k].name : "unknown";
}

int mc_fault_kind_parse(const char *name, mc_fault_kind *out)
{
    for (int k = 0; k < MC_FAULT__COUNT; k++)
        if (name && !strcmp(name, kinds[k].name)) {
            *out = (mc_fault_kind)k;
            return MC_OK;
        }
    return MC_ERR_NOTFOUND;
}

mc_fault_seam mc_fault_seam_of(mc_fault_kind k)
{
    return (unsigned)k < MC_FAULT__COUNT ? kinds[k].seam : MC_SEAM_NONE;
}

const char *mc_fault_seam_name(mc_fault_seam s)
{
    return (unsigned)s < MC_SEAM__COUNT ? seam_names[s] : "unknown";
}

int mc_fault_active(const mc_fault *f)
{
    return f->kind != MC_FAULT_NONE;
}

int mc_fault_fires(mc_fault *f, int *seen)
{
    int n = (*seen)++;

    if (f->kind == MC_FAULT_NONE || n < f->skip)
        return 0;
    return f->count < 0 || n - f->skip < f->count;
}

/* A fault that acts for the rest of the job: count -1, or block-corrupt's damaged byte. */
static int persists(const mc_fault *f)
{
    return f->count < 0 || f->kind == MC_FAULT_BLOCK_CORRUPT;
}

void mc_fault_next(mc_job *j)
{
    const mc_fault *f = &j->fault;

    /* Spent: it fired its count (a one-shot session fault clears its kind itself). */
    if (j->then_at >= j->nthen || persists(f) ||
        (f->kind != MC_FAULT_NONE && j->fault_seen < f->skip + f->count))
        return;
    j->fault = j->then[j->then_at++];
    j->fault_seen = 0;
}

/* An optional whole number in [lo, hi]; 0 when absent or fine. */
static int num(const cJSON *o, const char *key, long long lo, long long hi, long long *out,
               char *err, size_t errcap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi) ||
        v->valuedouble != (double)(long long)v->valuedouble) {
        snprintf(err, errcap, "\"%s\" must be a whole number from %lld to %lld", key, lo, hi);
        return -1;
    }
    *out = (long long)v->valuedouble;
    return 0;
}

static int parse_fault(const cJSON *f, mc_fault *out, char *err, size_t errcap)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(f, "kind");
    long long skip = 0, count = 1;

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(f) || !cJSON_IsString(kind)) {
        snprintf(err, errcap, "\"fault\" must be an object with a \"kind\" string");
        return MC_ERR_FIXTURE;
    }
    if (mc_fault_kind_parse(kind->valuestring, &out->kind) != MC_OK) {
        snprintf(err, errcap, "unknown fault kind \"%.40s\"", kind->valuestring);
        return MC_ERR_FIXTURE;
    }
    if (num(f, "at", 0, 1LL << 40, &out->at, err, errcap) ||
        num(f, "value", -1000000, 1LL << 40, &out->value, err, errcap) ||
        num(f, "skip", 0, 1000000, &skip, err, errcap) ||
        num(f, "count", -1, 1000000, &count, err, errcap))
        return MC_ERR_FIXTURE;
    if (count == 0) {
        snprintf(err, errcap, "\"count\" 0 would never fire: use -1 for a persistent fault");
        return MC_ERR_FIXTURE;
    }
    out->skip = (int)skip;
    out->count = (int)count;
    return MC_OK;
}

/*
 * "faults": a sequence of at most MC_FAULT_SEQ_MAX, one after another (see
 * MC_FAULT_SEQ_MAX): no push kinds (a push happens once), and only the last
 * may be persistent, since a fault that never ends never hands over.
 */
static int parse_faults(const cJSON *arr, mc_scenario *out, char *err, size_t errcap)
{
    int n = cJSON_GetArraySize(arr), i = 0, rc;
    const cJSON *f;

    if (!cJSON_IsArray(arr) || n < 1 || n > MC_FAULT_SEQ_MAX) {
        snprintf(err, errcap, "\"faults\" must be an array of 1 to %d faults", MC_FAULT_SEQ_MAX);
        return MC_ERR_FIXTURE;
    }
    cJSON_ArrayForEach(f, arr)
    {
        mc_fault *slot = i ? &out->then[i - 1] : &out->fault;
        char why[160];

        rc = parse_fault(f, slot, why, sizeof(why));
        if (rc == MC_OK && mc_fault_seam_of(slot->kind) == MC_SEAM_PUSH && n > 1) {
            snprintf(why, sizeof(why), "a push fault (%s) cannot be one of a sequence",
                     mc_fault_kind_name(slot->kind));
            rc = MC_ERR_FIXTURE;
        } else if (rc == MC_OK && persists(slot) && i < n - 1) {
            snprintf(why, sizeof(why),
                     "only the last may be persistent (count -1, or block-corrupt): the ones "
                     "after it would never act");
            rc = MC_ERR_FIXTURE;
        }
        if (rc != MC_OK) {
            snprintf(err, errcap, "\"faults\"[%d]: %s", i, why);
            return rc;
        }
        i++;
    }
    out->nthen = n - 1;
    return MC_OK;
}

int mc_scenario_parse(const char *json, size_t len, mc_scenario *out, char *err, size_t errcap)
{
    cJSON *o;
    const cJSON *name, *about, *tr, *seq;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > MC_SCENARIO_MAX) {
        snprintf(err, errcap, "scenario of %zu bytes is over the %d-byte cap", len,
                 MC_SCENARIO_MAX);
        return MC_ERR_FIXTURE;
    }
    o = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(o)) {
        snprintf(err, errcap, "scenario is not a JSON object");
        cJSON_Delete(o);
        return MC_ERR_FIXTURE;
    }
    name = cJSON_GetObjectItemCaseSensitive(o, "name");
    about = cJSON_GetObjectItemCaseSensitive(o, "about");
    tr = cJSON_GetObjectItemCaseSensitive(o, "transport");
    seq = cJSON_GetObjectItemCaseSensitive(o, "faults");
    rc = MC_ERR_FIXTURE;
    if (!cJSON_IsString(name) || !*name->valuestring ||
        strlen(name->valuestring) >= sizeof(out->name))
        snprintf(err, errcap, "\"name\" must be a string of 1 to %zu characters",
                 sizeof(out->name) - 1);
    else if (tr && !(cJSON_IsString(tr) &&
                     (!strcmp(tr->valuestring, "http") || !strcmp(tr->valuestring, "mqtt"))))
        snprintf(err, errcap, "\"transport\" must be \"http\" or \"mqtt\"");
    else if (seq && cJSON_GetObjectItemCaseSensitive(o, "fault"))
        snprintf(err, errcap, "a scenario has \"fault\" or \"faults\", not both");
    else if (seq)
        rc = parse_faults(seq, out, err, errcap);
    else
        rc = parse_fault(cJSON_GetObjectItemCaseSensitive(o, "fault"), &out->fault, err, errcap);
    if (rc == MC_OK) {
        snprintf(out->name, sizeof(out->name), "%s", name->valuestring);
        if (cJSON_IsString(about))
            snprintf(out->about, sizeof(out->about), "%s", about->valuestring);
        out->mqtt = tr && !strcmp(tr->valuestring, "mqtt");
    }
    cJSON_Delete(o);
    return rc;
}

int mc_scenario_load(const char *dir, const char *name, mc_scenario *out, char *err, size_t errcap)
{
    char path[1024], *buf;
    FILE *f;
    size_t n;
    int rc;

    if (!dir || !name || strchr(name, '/') || !*name)
        return MC_ERR_ARG;
    snprintf(path, sizeof(path), "%s/%s.json", dir, name);
    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "no scenario %s", path);
        return MC_ERR_NOTFOUND;
    }
    buf = malloc(MC_SCENARIO_MAX + 1);
    n = buf ? fread(buf, 1, MC_SCENARIO_MAX + 1, f) : 0;
    fclose(f);
    if (!buf)
        return MC_ERR_NOMEM;
    rc = mc_scenario_parse(buf, n, out, err, errcap);
    free(buf);
    if (rc == MC_OK && strcmp(out->name, name)) {
        snprintf(err, errcap, "%s names itself \"%s\"", path, out->name);
        rc = MC_ERR_FIXTURE;
    }
    return rc;
}

/* ---- push seam ---- */

void mc_fault_push_edit(const mc_fault *f, mc_push_edit *out)
{
    memset(out, 0, sizeof(*out));
    out->size_less = f->kind == MC_FAULT_PUSH_WRONG_SIZE;
    out->wrong_digest = f->kind == MC_FAULT_PUSH_WRONG_DIGEST;
    out->foreign_url = f->kind == MC_FAULT_HTTP_FOREIGN_CERT;
}

/* files[]: the package's url/size/sign/md5 moved into `n` file elements (same file each). */
static void push_as_files(cJSON *data, int n)
{
    static const char *const from[] = {"url", "size", "sign", "md5"};
    static const char *const to[] = {"fileUrl", "fileSize", "fileSign", "fileMd5"};
    cJSON *files = cJSON_AddArrayToObject(data, "files");

    for (int i = 0; files && i < n; i++) {
        cJSON *f = cJSON_CreateObject();
        char name[32];
        snprintf(name, sizeof(name), i ? "part%d.bin" : "app.bin", i + 1);
        cJSON_AddStringToObject(f, "fileName", name);
        for (size_t k = 0; k < sizeof(from) / sizeof(from[0]); k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, from[k]);
            if (v)
                cJSON_AddItemToObject(f, to[k], cJSON_Duplicate(v, 1));
        }
        cJSON_AddItemToArray(files, f);
    }
    for (size_t k = 0; k < sizeof(from) / sizeof(from[0]); k++)
        cJSON_DeleteItemFromObjectCaseSensitive(data, from[k]);
}

int mc_fault_needs_tls(const mc_fault *f)
{
    mc_push_edit edit;

    mc_fault_push_edit(f, &edit);
    return edit.foreign_url;
}

/* The kinds that rewrite the push's JSON; the others leave its text untouched. */
static int push_rewrites(mc_fault_kind k)
{
    return k == MC_FAULT_PUSH_MISSING || k == MC_FAULT_PUSH_WRONG_TYPES ||
           k == MC_FAULT_PUSH_MALFORMED || k == MC_FAULT_PUSH_FILES;
}

int mc_fault_push_apply(const mc_fault *f, const char *wrapper, char *push, size_t cap)
{
    cJSON *root, *data;
    char *text;

    if (!push_rewrites(f->kind))
        return MC_OK;
    if (f->kind == MC_FAULT_PUSH_MALFORMED) {
        push[strlen(push) / 2] = '\0'; /* cut in the middle: not JSON any more */
        return MC_OK;
    }
    root = cJSON_Parse(push);
    data = cJSON_GetObjectItemCaseSensitive(root, wrapper);
    if (!data) {
        cJSON_Delete(root);
        return MC_ERR_NOMEM;
    }
    if (f->kind == MC_FAULT_PUSH_MISSING) {
        cJSON_DeleteItemFromObjectCaseSensitive(data, "version");
        cJSON_DeleteItemFromObjectCaseSensitive(data, "size");
    } else if (f->kind == MC_FAULT_PUSH_WRONG_TYPES) {
        cJSON_ReplaceItemInObjectCaseSensitive(data, "size", cJSON_CreateString("not a number"));
        cJSON_ReplaceItemInObjectCaseSensitive(data, "version", cJSON_CreateNumber(9));
    } else {
        push_as_files(data, f->value > 1 ? (int)f->value : 1);
    }
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text || strlen(text) >= cap) {
        free(text);
        return MC_ERR_NOMEM;
    }
    memcpy(push, text, strlen(text) + 1);
    free(text);
    return MC_OK;
}

/* ---- HTTP seam ---- */

int mc_fault_http_fires(mc_fault *f, int *seen)
{
    mc_fault_seam s = mc_fault_seam_of(f->kind);

    return (s == MC_SEAM_HTTP || s == MC_SEAM_SESSION) && mc_fault_fires(f, seen);
}

/*
 * Kinds whose own effect needs no offset take `at` as an interruption
 * first: the first response they fire on is closed (FIN) after byte `at`
 * of the file, so that the next request is a resume. Ignore-range then
 * answers that resume with 200 and the whole file (DL-4), throttle sends it
 * slowly (progress after a resume, PROG-1).
 */
static int cuts_first(const mc_fault *f)
{
    return (f->kind == MC_FAULT_HTTP_IGNORE_RANGE || f->kind == MC_FAULT_HTTP_THROTTLE) &&
           f->at > 0;
}

void mc_fault_http_request(const mc_fault *f, int seen, mc_fault *out)
{
    *out = *f;
    if (cuts_first(f) && seen - 1 > f->skip)
        out->at = 0; /* only the first response it fires on is cut */
}

void mc_fault_http_plan(const mc_fault *f, mc_http_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->short_len = -1;
    if (f->kind == MC_FAULT_HTTP_STATUS) {
        out->status = (int)f->value;
        out->text = "injected fault\n";
    } else if (f->kind == MC_FAULT_HTTP_EXPIRE) {
        out->status = 403;
        out->text = "Request has expired\n";
    }
    out->ignore_range = f->kind == MC_FAULT_HTTP_IGNORE_RANGE;
    if (f->kind == MC_FAULT_HTTP_TRUNCATE)
        out->short_len = f->at;
    out->unknown_length = f->kind == MC_FAULT_HTTP_NO_LENGTH || f->kind == MC_FAULT_HTTP_CHUNKED;
    out->http10 = f->kind == MC_FAULT_HTTP_NO_LENGTH;
}

/* The kinds that cut a body at a file offset. */
static int cuts(mc_fault_kind k)
{
    return k == MC_FAULT_HTTP_CLOSE || k == MC_FAULT_HTTP_RESET || k == MC_FAULT_HTTP_STALL;
}

/*
 * Where in this body a cut falls. Close, reset and stall act at a file
 * offset: a response that starts past it (a Range resume) is cut at once,
 * so a persistent fault can never be got round by resuming a little at a
 * time. The others count `at` from the body's start.
 */
static size_t cut_in_body(const mc_fault *f, size_t from)
{
    size_t at = (size_t)f->at;

    if (!cuts(f->kind) && !cuts_first(f))
        return at;
    return at > from ? at - from : 0;
}

/* Close, reset, stall and the session kinds: act once the body reaches the cut. */
static mc_slice_act slice_cut(mc_fault *f, size_t at, size_t pos, size_t *n)
{
    mc_fault_kind k = f->kind;

    if (pos < at) {
        if (pos + *n > at)
            *n = at - pos;
        return MC_SLICE_SEND;
    }
    if (k == MC_FAULT_SESSION_KICK || k == MC_FAULT_SESSION_RESTART) {
        f->kind = MC_FAULT_NONE; /* once; the rest of the body goes out */
        return k == MC_FAULT_SESSION_KICK ? MC_SLICE_KICK : MC_SLICE_RESTART;
    }
    return k == MC_FAULT_HTTP_STALL   ? MC_SLICE_STALL
           : k == MC_FAULT_HTTP_RESET ? MC_SLICE_RESET
                                      : MC_SLICE_END;
}

mc_slice_act mc_fault_http_slice(mc_fault *f, size_t from, size_t pos, size_t *n, int *paused,
                                 double *wait)
{
    size_t at = cut_in_body(f, from);

    *wait = 0;
    if (cuts_first(f) && pos >= at)
        return MC_SLICE_END;
    if (cuts_first(f) && pos + *n > at)
        *n = at - pos;
    if (cuts(f->kind) || mc_fault_seam_of(f->kind) == MC_SEAM_SESSION)
        return slice_cut(f, at, pos, n);
    if (f->kind == MC_FAULT_HTTP_PAUSE && !*paused && pos >= at) {
        *paused = 1;
        *wait = (double)f->value / 1000.0;
        return MC_SLICE_PAUSE;
    }
    if (f->kind == MC_FAULT_HTTP_PAUSE && !*paused && pos + *n > at)
        *n = at - pos;
    if (f->kind == MC_FAULT_HTTP_THROTTLE) {
        double rate = f->value > 0 ? (double)f->value : 1.0;
        size_t slice = (size_t)(rate / 20.0) + 1; /* about 20 writes a second */
        if (*n > slice)
            *n = slice;
        *wait = (double)(pos + *n) / rate;
        return MC_SLICE_PACE;
    }
    return MC_SLICE_SEND;
}

void mc_fault_http_bytes(const mc_fault *f, size_t from, size_t pos, char *buf, size_t n)
{
    size_t at = (size_t)f->at; /* corrupt names a file offset */

    if (f->kind == MC_FAULT_HTTP_CORRUPT && at >= from + pos && at < from + pos + n)
        buf[at - from - pos] ^= (char)0xFF;
}

/* ---- block and frame seams ---- */

/* A CRC whose two bytes are equal: written big-endian it is still right. */
static int crc_symmetric(const uint8_t *data, size_t n)
{
    uint16_t crc = ota_crc16_arc(data, n);
    return (crc >> 8) == (crc & 0xFF);
}

/*
 * block-corrupt damages one byte of the file: the middle byte of the block
 * it first fires on. That byte stays damaged in every later reply that holds
 * it, for the whole job (judging.md, FAIL-3T): a device that downloads again
 * after a digest mismatch meets the same bad image, never a clean one. The
 * byte is kept in the job's fault, in `value` (byte + 1; 0 until it fired).
 */
static void corrupt_decide(mc_fault *f, int *seen, long long offset, size_t n, mc_block_seam *out)
{
    long long byte;

    if (!f->value) {
        if (!n || !mc_fault_fires(f, seen))
            return;
        f->value = offset + (long long)(n / 2) + 1;
    }
    byte = f->value - 1;
    if (byte < offset || byte >= offset + (long long)n)
        return;
    out->act = MC_BLOCK_SEAM_REPLY;
    out->fault = *f;
}

void mc_fault_block_decide(mc_fault *f, int *seen, long long offset, const uint8_t *data, size_t n,
                           mc_block_seam *out)
{
    mc_fault_seam s = mc_fault_seam_of(f->kind);

    memset(out, 0, sizeof(*out));
    if (f->kind == MC_FAULT_BLOCK_CORRUPT) {
        corrupt_decide(f, seen, offset, n, out);
        return;
    }
    if (s == MC_SEAM_SESSION) {
        /* Session faults count the requests at or past `at`, as block faults count every one. */
        if (offset >= f->at && mc_fault_fires(f, seen))
            out->act =
                f->kind == MC_FAULT_SESSION_KICK ? MC_BLOCK_SEAM_KICK : MC_BLOCK_SEAM_RESTART;
        return;
    }
    if ((s != MC_SEAM_BLOCK && s != MC_SEAM_FRAME) || !mc_fault_fires(f, seen))
        return;
    if (f->kind == MC_FAULT_BLOCK_CRC_BE && crc_symmetric(data, n)) {
        /* Both byte orders read the same: swapping them damages nothing. The next block. */
        (*seen)--;
        out->act = MC_BLOCK_SEAM_MOVED;
        return;
    }
    out->act = MC_BLOCK_SEAM_REPLY;
    out->fault = *f;
}

/* The block seam: header and data, before the frame is encoded. */
static void block_apply(const mc_fault *f, mc_block_reply *r)
{
    ota_block_header *h = &r->h;
    long long n = (long long)r->len;

    if (f->kind == MC_FAULT_BLOCK_CORRUPT && r->len && f->value > h->b_offset &&
        f->value - 1 - h->b_offset < n) {
        r->corrupt_at = (long)(f->value - 1 - h->b_offset);
    } else if (f->kind == MC_FAULT_BLOCK_BSIZE) {
        h->b_size = n + 1;
    } else if (f->kind == MC_FAULT_BLOCK_OFFSET) {
        h->b_offset = h->b_offset >= n ? h->b_offset - n : h->b_offset + n;
    } else if (f->kind == MC_FAULT_BLOCK_ERROR) {
        h->code = f->value ? (int)f->value : 500;
        snprintf(h->msg, sizeof(h->msg), "injected error");
        h->b_size = 0;
        r->len = 0;
    }
}

/* The frame seam: how the encoded frame is damaged, how often and when it goes out. */
static void frame_apply(const mc_fault *f, mc_block_reply *r)
{
    if (f->kind == MC_FAULT_BLOCK_BAD_CRC)
        r->damage = MC_FRAME_BAD_CRC;
    else if (f->kind == MC_FAULT_BLOCK_CRC_BE)
        r->damage = MC_FRAME_CRC_SWAPPED;
    else if (f->kind == MC_FAULT_BLOCK_TRUNCATE)
        r->damage = MC_FRAME_CUT;
    else if (f->kind == MC_FAULT_BLOCK_DUPLICATE)
        r->copies = 2;
    else if (f->kind == MC_FAULT_BLOCK_DROP)
        r->copies = 0;
    else if (f->kind == MC_FAULT_BLOCK_DELAY)
        r->delay_s = (double)f->value / 1000.0;
}

void mc_fault_block_apply(const mc_fault *f, mc_block_reply *r)
{
    mc_fault_seam s = mc_fault_seam_of(f->kind);

    if (s == MC_SEAM_BLOCK)
        block_apply(f, r);
    else if (s == MC_SEAM_FRAME)
        frame_apply(f, r);
}

void mc_fault_frame_damage(mc_frame_damage d, uint8_t *frame, size_t *len)
{
    uint8_t t;

    if (*len < 3)
        return;
    if (d == MC_FRAME_BAD_CRC) {
        frame[*len - 2] ^= 0x5A;
    } else if (d == MC_FRAME_CRC_SWAPPED) {
        t = frame[*len - 2];
        frame[*len - 2] = frame[*len - 1];
        frame[*len - 1] = t;
    } else if (d == MC_FRAME_CUT) {
        *len -= 3;
    }
}
