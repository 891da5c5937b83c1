/*
 * Several boards at once: the boards come from --device given more than
 * once (one profile each) or from a lab file (--lab: each board's profile,
 * port, broker and file-server ports and identity). The runner gives each
 * board a worker process of workers.c, with its own broker and cloud; here
 * each worker takes its board's settings, and learns when its board is
 * gone (its port vanished and did not come back) so that it stops taking
 * tests and the other boards run them. It starts nothing itself.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_priv.h"

#define LAB_MAX (64 * 1024)

/* Is this worker's board still there? Written by the adapter's thread. */
static struct {
    pthread_mutex_t lock;
    int watch; /* a board's worker: a board gone ends the running test at once */
    int gone;
    char why[512];
} lost = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The name a board gets from its profile's file name: "esp32-a.json" is "esp32-a". */
static void name_of_path(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    size_t n;

    base = base ? base + 1 : path;
    n = strcspn(base, ".");
    snprintf(out, cap, "%.*s", (int)n, base);
}

static int str_field(const cJSON *o, const char *key, char *dst, size_t cap, const char *lab, int i)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v)
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
        fprintf(stderr,
                "ota-conformance: %s: boards[%d].%s must be a string of at most %zu "
                "characters\n",
                lab, i, key, cap - 1);
        return -1;
    }
    snprintf(dst, cap, "%s", v->valuestring);
    return 0;
}

static int port_field(const cJSON *o, const char *key, int *dst, const char *lab, int i)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65535) {
        fprintf(stderr, "ota-conformance: %s: boards[%d].%s must be a port from 1 to 65535\n", lab,
                i, key);
        return -1;
    }
    *dst = v->valueint;
    return 0;
}

/* A profile path in a lab file is relative to the lab file's folder. */
static void profile_path(const char *lab, const char *rel, char *out, size_t cap)
{
    const char *slash = strrchr(lab, '/');

    if (rel[0] == '/' || !slash)
        snprintf(out, cap, "%s", rel);
    else
        snprintf(out, cap, "%.*s/%s", (int)(slash - lab), lab, rel);
}

static int lab_board(const cJSON *o, const char *lab, int i, ct_board *b)
{
    char rel[PATH_MAX] = "";

    memset(b, 0, sizeof(*b));
    if (!cJSON_IsObject(o) || str_field(o, "profile", rel, sizeof(rel), lab, i) ||
        str_field(o, "name", b->name, sizeof(b->name), lab, i) ||
        str_field(o, "port", b->port, sizeof(b->port), lab, i) ||
        str_field(o, "productKey", b->pk, sizeof(b->pk), lab, i) ||
        str_field(o, "deviceName", b->dn, sizeof(b->dn), lab, i) ||
        str_field(o, "deviceSecret", b->secret, sizeof(b->secret), lab, i) ||
        port_field(o, "mqttPort", &b->mqtt_port, lab, i) ||
        port_field(o, "httpPort", &b->http_port, lab, i))
        return -1;
    if (!rel[0]) {
        fprintf(stderr, "ota-conformance: %s: boards[%d] names no \"profile\"\n", lab, i);
        return -1;
    }
    profile_path(lab, rel, b->profile, sizeof(b->profile));
    if (!b->name[0])
        snprintf(b->name, sizeof(b->name), "%.63s", b->dn[0] ? b->dn : "board");
    return 0;
}

/* {"boards": [{"name", "profile", "port", "mqttPort", "httpPort", "productKey", ...}]} */
static int load_lab(ct_boards *bs, const char *lab)
{
    char *text = malloc(LAB_MAX + 1);
    FILE *f = fopen(lab, "r");
    size_t n = 0;
    cJSON *root = NULL;
    const cJSON *list, *o;
    int rc = -1;

    if (!text || !f) {
        fprintf(stderr, "ota-conformance: cannot read the lab file %s\n", lab);
        goto out;
    }
    n = fread(text, 1, LAB_MAX + 1, f);
    text[n <= LAB_MAX ? n : LAB_MAX] = '\0';
    root = n <= LAB_MAX ? cJSON_Parse(text) : NULL;
    list = cJSON_GetObjectItemCaseSensitive(root, "boards");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1 ||
        cJSON_GetArraySize(list) > CT_MAX_BOARDS) {
        fprintf(stderr,
                "ota-conformance: %s is no lab file: expected {\"boards\": [...]} with 1 to %d "
                "boards, each with a \"profile\"\n",
                lab, CT_MAX_BOARDS);
        goto out;
    }
    bs->n = 0;
    cJSON_ArrayForEach(o, list)
    {
        if (lab_board(o, lab, bs->n, &bs->b[bs->n]) != 0)
            goto out;
        bs->n++;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    if (f)
        fclose(f);
    free(text);
    return rc;
}

/* Two boards of one name would make the report ambiguous: the second gets its number. */
static void unique_names(ct_boards *bs)
{
    for (int i = 1; i < bs->n; i++)
        for (int k = 0; k < i; k++)
            if (!strcmp(bs->b[i].name, bs->b[k].name)) {
                char base[48];
                snprintf(base, sizeof(base), "%.47s", bs->b[i].name);
                snprintf(bs->b[i].name, sizeof(bs->b[i].name), "%s-%d", base, i + 1);
                break;
            }
}

int ct_boards_prepare(ct_run *r)
{
    ct_options *o = &r->opt;
    ct_boards *bs = &r->boards;

    memset(bs, 0, sizeof(*bs));
    if (o->lab && o->ndevices) {
        fprintf(stderr, "ota-conformance: --lab names the boards: drop --device\n");
        return -1;
    }
    if (o->lab && load_lab(bs, o->lab) != 0)
        return -1;
    for (int i = 0; !o->lab && o->ndevices > 1 && i < o->ndevices; i++) {
        snprintf(bs->b[i].profile, sizeof(bs->b[i].profile), "%s", o->devices[i]);
        name_of_path(o->devices[i], bs->b[i].name, sizeof(bs->b[i].name));
        bs->n++;
    }
    if (bs->n < 2 && !o->lab)
        return 0;
    if (o->jobs > 1 || o->broker || o->cloud || o->dev.serial_port || o->dut_cmd) {
        fprintf(stderr, "ota-conformance: several boards go with none of --jobs, --broker, "
                        "--cloud, --serial-port and --dut-cmd: each board's profile (or lab "
                        "entry) says how to meet it, and each gets its own broker and cloud\n");
        return -1;
    }
    unique_names(bs);
    ct_boards_apply(r, 0); /* the run's profile, until each worker takes its own */
    r->board_name = NULL;
    return 0;
}

void ct_boards_apply(ct_run *r, int k)
{
    const ct_board *b = &r->boards.b[k];
    ct_options *o = &r->opt;

    o->device = b->profile;
    o->dev.serial_port = b->port[0] ? b->port : NULL;
    o->dev.pk = b->pk[0] ? b->pk : NULL;
    o->dev.dn = b->dn[0] ? b->dn : NULL;
    o->dev.secret = b->secret[0] ? b->secret : NULL;
    if (b->mqtt_port)
        o->dev.mqtt_port = b->mqtt_port;
    if (b->http_port)
        o->dev.http_port = b->http_port;
    r->board_name = b->name;
    pthread_mutex_lock(&lost.lock);
    lost.watch = r->is_worker;
    pthread_mutex_unlock(&lost.lock);
}

/* ---- is the board still there? ---- */

/*
 * The serial adapter says "port-lost", then "port-back" or, after
 * reopenWindow, a crash that the port did not come back: that crash, with
 * no port-back since, is a board gone (unplugged, its hub or its port
 * server down). A firmware crash is not: the port stays. A board's worker
 * then ends its running test as an interrupt would (its waits return at
 * once): the test goes to another board rather than wait out its deadlines.
 */
void ct_boards_note_event(int dut_event, const char *text)
{
    pthread_mutex_lock(&lost.lock);
    if (dut_event == DUT_EV_EVENT && !strncmp(text, "port-back", 9))
        lost.gone = 0;
    if (dut_event == DUT_EV_CRASH && strstr(text, "did not come back")) {
        lost.gone = 1;
        snprintf(lost.why, sizeof(lost.why), "%.*s", (int)strcspn(text, ";\n"), text);
        if (lost.watch)
            ct_interrupted = 1;
    }
    pthread_mutex_unlock(&lost.lock);
}

int ct_boards_lost(char *why, size_t cap)
{
    int gone;

    pthread_mutex_lock(&lost.lock);
    gone = lost.gone;
    snprintf(why, cap, "%s", lost.why);
    pthread_mutex_unlock(&lost.lock);
    return gone;
}
